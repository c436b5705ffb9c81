#include "autograd/gradcheck.h"

#include "core/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GC_SEED 0x9c5eedull

/* Builds fresh leaves over `vals` and runs f. */
static ak_tensor *run(ak_ctx *ctx, ak_gc_fn f, void *user, int n_in, const ak_gc_input *in, float *const *vals,
                      ak_tensor **leaves)
{
    for (int i = 0; i < n_in; i++) {
        leaves[i] = ak_tensor_from(ctx, in[i].ndim, in[i].shape, vals[i], in[i].requires_grad);
        if (!leaves[i])
            return NULL;
    }
    return f(ctx, leaves, user);
}

static double weighted(const ak_tensor *y, const float *r)
{
    double s = 0;
    for (int64_t i = 0; i < y->size; i++)
        s += (double)r[i] * y->data[i];
    return s;
}

int ak_gradcheck(ak_gc_fn f, void *user, int n_in, const ak_gc_input *in, ak_gc_opts opts, ak_gc_result *res,
                 ak_err *err)
{
    double h = opts.h > 0 ? opts.h : 1e-3;
    memset(res, 0, sizeof *res);
    int status = -1;
    ak_ctx ctx;
    ak_ctx_init(&ctx, 0, GC_SEED);
    ctx.training = opts.training;
    float **vals = calloc((size_t)n_in, sizeof *vals);
    float **grads = calloc((size_t)n_in, sizeof *grads);
    ak_tensor **leaves = calloc((size_t)n_in, sizeof *leaves);
    float *r = NULL;
    if (!vals || !grads || !leaves)
        goto done;
    for (int i = 0; i < n_in; i++) {
        ak_tensor tmp = {0};
        if (ak_tensor_set_shape(&tmp, in[i].ndim, in[i].shape) != 0) {
            ak_errorf(err, "gradcheck: input %d has an invalid shape", i);
            goto done;
        }
        vals[i] = malloc(sizeof(float) * (size_t)(tmp.size ? tmp.size : 1));
        grads[i] = calloc((size_t)(tmp.size ? tmp.size : 1), sizeof(float));
        if (!vals[i] || !grads[i])
            goto done;
        memcpy(vals[i], in[i].data, sizeof(float) * (size_t)tmp.size);
    }

    /* Analytic pass. */
    ak_tensor *y = run(&ctx, f, user, n_in, in, vals, leaves);
    if (!y || ctx.failed) {
        ak_errorf(err, "gradcheck: forward failed: %s", ctx.err.msg);
        goto done;
    }
    r = malloc(sizeof(float) * (size_t)(y->size ? y->size : 1));
    if (!r)
        goto done;
    for (int64_t i = 0; i < y->size; i++)
        r[i] = 2.0f * ak_rng_uniform_at(GC_SEED, 1, (uint64_t)i) - 1.0f;
    if (ak_backward_seeded(&ctx, y, r, err) != 0)
        goto done;
    for (int i = 0; i < n_in; i++)
        if (in[i].requires_grad && leaves[i]->grad)
            memcpy(grads[i], leaves[i]->grad, sizeof(float) * (size_t)leaves[i]->size);
    uint64_t step = ctx.step;

    /* Numeric passes: same step number, so dropout masks repeat. */
    ak_set_grad_enabled(&ctx, 0);
    status = 0;
    for (int i = 0; i < n_in; i++) {
        if (!in[i].requires_grad)
            continue;
        for (int64_t j = 0; j < leaves[i]->size; j++) {
            float keep = vals[i][j];
            double l[2];
            for (int s = 0; s < 2; s++) {
                ak_arena_reset(&ctx.arena);
                ctx.step = step;
                ctx.dropout_calls = 0;
                vals[i][j] = keep + (float)(s ? -h : h);
                ak_tensor *yy = run(&ctx, f, user, n_in, in, vals, leaves);
                if (!yy || ctx.failed) {
                    ak_errorf(err, "gradcheck: forward failed: %s", ctx.err.msg);
                    status = -1;
                    goto done;
                }
                l[s] = weighted(yy, r);
            }
            vals[i][j] = keep;
            /* The actual step, as float rounding moved it. */
            double dx = (double)(keep + (float)h) - (double)(keep - (float)h);
            double num = (l[0] - l[1]) / dx, ana = grads[i][j];
            double tol = opts.atol + opts.rtol * fmax(fabs(ana), fabs(num));
            double e = fabs(ana - num) / (tol > 0 ? tol : 1e-30);
            res->checked++;
            if (!(e <= 1.0)) {
                res->failed++;
                status = 1;
            }
            if (!(e <= res->max_err)) {
                res->max_err = e;
                res->worst_input = i;
                res->worst_index = j;
                res->analytic = ana;
                res->numeric = num;
            }
        }
    }
done:
    if (status == -1 && err && !err->msg[0])
        ak_errorf(err, "gradcheck: out of memory");
    for (int i = 0; i < n_in && vals; i++) {
        free(vals[i]);
        if (grads)
            free(grads[i]);
    }
    free(vals);
    free(grads);
    free(leaves);
    free(r);
    ak_ctx_free(&ctx);
    return status;
}
