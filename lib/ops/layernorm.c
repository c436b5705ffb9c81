/* Layer normalisation over the last axis.
 *
 * Forward keeps the per-row mean and 1/sqrt(var + eps) for the backward
 * pass. Row statistics are computed in double, two passes (mean, then the
 * centred sum of squares), so a large common offset costs no precision.
 *
 * Determinism: rows are independent in the forward and in dx. The gamma and
 * beta gradients are column sums over rows; rows are cut into blocks of
 * LN_ROW_BLOCK (a size fixed by the problem, not the thread count), each block
 * sums its rows in order into its own partial [D], and the partials are then
 * added in block order, column by column. */
#include "ops/ops.h"

#include "core/threads.h"

#include <math.h>

#define LN_ROW_BLOCK 32

typedef struct ln_saved {
    float *mean, *rstd; /* one per row */
    float eps;
} ln_saved;

/* y = xhat * gamma + beta, xhat = (x - mean) * rstd, rstd = 1/sqrt(var + eps),
 * with mean and var (biased) over the D entries of a row. With g = dy * gamma
 * (g = dy without gamma):
 *   dx     += rstd * (g - mean_j(g) - xhat * mean_j(g * xhat))
 *   dgamma += sum over rows of dy * xhat
 *   dbeta  += sum over rows of dy */
static void layernorm_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *x = n->in[0];
    ak_tensor *gamma = n->iarg[0] >= 0 ? n->in[n->iarg[0]] : NULL;
    ak_tensor *beta = n->iarg[1] >= 0 ? n->in[n->iarg[1]] : NULL;
    const ln_saved *sv = n->saved;
    const ak_tensor *y = n->out;
    int64_t D = ak_dim(x, -1), rows = ak_rows(x);
    float *gx = ak_grad(ctx, x);
    float *gg = gamma ? ak_grad(ctx, gamma) : NULL;
    float *gb = beta ? ak_grad(ctx, beta) : NULL;
    int64_t nblk = (rows + LN_ROW_BLOCK - 1) / LN_ROW_BLOCK;
    float *pg = NULL, *pb = NULL;
    if (gg && nblk)
        pg = ak_arena_alloc(&ctx->arena, sizeof(float) * (size_t)(nblk * D));
    if (gb && nblk)
        pb = ak_arena_alloc(&ctx->arena, sizeof(float) * (size_t)(nblk * D));
    if ((gg && nblk && !pg) || (gb && nblk && !pb)) {
        ak_ctx_fail(ctx, "layernorm: out of memory for gradient partials");
        return;
    }
    const float *gm = gamma ? gamma->data : NULL;
#pragma omp parallel for schedule(static) if (x->size >= AK_PAR_MIN)
    for (int64_t b = 0; b < nblk; b++) {
        float *bg = pg ? pg + b * D : NULL, *bb = pb ? pb + b * D : NULL;
        for (int64_t j = 0; j < D; j++) {
            if (bg)
                bg[j] = 0.0f;
            if (bb)
                bb[j] = 0.0f;
        }
        int64_t r1 = (b + 1) * LN_ROW_BLOCK < rows ? (b + 1) * LN_ROW_BLOCK : rows;
        for (int64_t r = b * LN_ROW_BLOCK; r < r1; r++) {
            const float *xr = x->data + r * D, *dy = y->grad + r * D;
            float mu = sv->mean[r], rs = sv->rstd[r];
            if (gx) {
                double sg = 0, sgx = 0;
                for (int64_t j = 0; j < D; j++) {
                    float g = gm ? dy[j] * gm[j] : dy[j];
                    sg += g;
                    sgx += (double)g * ((xr[j] - mu) * rs);
                }
                float mg = (float)(sg / (double)D), mgx = (float)(sgx / (double)D);
                float *dx = gx + r * D;
                for (int64_t j = 0; j < D; j++) {
                    float g = gm ? dy[j] * gm[j] : dy[j];
                    float xh = (xr[j] - mu) * rs;
                    dx[j] += rs * (g - mg - xh * mgx);
                }
            }
            for (int64_t j = 0; j < D; j++) {
                if (bg)
                    bg[j] += dy[j] * ((xr[j] - mu) * rs);
                if (bb)
                    bb[j] += dy[j];
            }
        }
    }
    if (!gg && !gb)
        return;
#pragma omp parallel for schedule(static) if (x->size >= AK_PAR_MIN)
    for (int64_t j = 0; j < D; j++) {
        float sg = 0.0f, sb = 0.0f;
        for (int64_t b = 0; b < nblk; b++) {
            if (pg)
                sg += pg[b * D + j];
            if (pb)
                sb += pb[b * D + j];
        }
        if (gg)
            gg[j] += sg;
        if (gb)
            gb[j] += sb;
    }
}

static int is_vec(const ak_tensor *t, int64_t D) { return t->ndim == 1 && t->shape[0] == D; }

ak_tensor *ak_layernorm(ak_ctx *ctx, ak_tensor *x, ak_tensor *gamma, ak_tensor *beta, float eps)
{
    if (!x)
        return NULL;
    char sx[64], sp[64];
    if (x->ndim < 1)
        return ak_ctx_fail(ctx, "layernorm: expected at least 1 dimension, got shape %s",
                           ak_shape_str(x, sx, sizeof sx));
    int64_t D = ak_dim(x, -1), rows = ak_rows(x);
    if (gamma && !is_vec(gamma, D))
        return ak_ctx_fail(ctx, "layernorm: expected gamma [%lld] matching the last axis of x, got shapes %s and %s",
                           (long long)D, ak_shape_str(x, sx, sizeof sx), ak_shape_str(gamma, sp, sizeof sp));
    if (beta && !is_vec(beta, D))
        return ak_ctx_fail(ctx, "layernorm: expected beta [%lld] matching the last axis of x, got shapes %s and %s",
                           (long long)D, ak_shape_str(x, sx, sizeof sx), ak_shape_str(beta, sp, sizeof sp));
    if (!(eps >= 0.0f))
        return ak_ctx_fail(ctx, "layernorm: expected eps >= 0, got %g", (double)eps);
    ak_tensor *y = ak_tensor_new(ctx, x->ndim, x->shape);
    ln_saved *sv = ak_arena_alloc(&ctx->arena, sizeof *sv);
    float *stats = ak_arena_alloc(&ctx->arena, sizeof(float) * (size_t)(2 * rows + 1));
    if (!y)
        return NULL;
    if (!sv || !stats)
        return ak_ctx_fail(ctx, "layernorm: out of memory for row statistics of x %s", ak_shape_str(x, sx, sizeof sx));
    sv->mean = stats;
    sv->rstd = stats + rows;
    sv->eps = eps;
    const float *gm = gamma ? gamma->data : NULL, *bt = beta ? beta->data : NULL;
#pragma omp parallel for schedule(static) if (x->size >= AK_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x->data + r * D;
        float *yr = y->data + r * D;
        double s = 0;
        for (int64_t j = 0; j < D; j++)
            s += xr[j];
        double mu = s / (double)D, v = 0;
        for (int64_t j = 0; j < D; j++)
            v += (xr[j] - mu) * (xr[j] - mu);
        float muf = (float)mu, rs = (float)(1.0 / sqrt(v / (double)D + eps));
        sv->mean[r] = muf;
        sv->rstd[r] = rs;
        for (int64_t j = 0; j < D; j++) {
            float xh = (xr[j] - muf) * rs;
            yr[j] = (gm ? xh * gm[j] : xh) + (bt ? bt[j] : 0.0f);
        }
    }
    /* The inputs that exist, in order x, gamma, beta; iarg says where gamma
     * and beta sit (-1 when absent). */
    ak_tensor *in[3] = {x};
    int n_in = 1, ig = -1, ib = -1;
    if (gamma) {
        ig = n_in;
        in[n_in++] = gamma;
    }
    if (beta) {
        ib = n_in;
        in[n_in++] = beta;
    }
    ak_node *node = ak_tape_record(ctx, y, "layernorm", layernorm_backward, n_in, in);
    if (node) {
        node->iarg[0] = ig;
        node->iarg[1] = ib;
        node->saved = sv;
    }
    return y;
}
