/* Softmax and log-softmax over the last axis of scale * x + mask.
 *
 * The mask is additive (0 keeps a key, -INFINITY removes it), never
 * differentiated, and broadcast to x under NumPy rules with x's shape as the
 * result: [B,1,1,Lk] key padding or [Lq,Lk] causal masks against attention
 * scores [B,H,Lq,Lk], for instance.
 *
 * Removed entries (a logit of -inf after masking) and fully removed rows:
 *   softmax      removed entries are 0; a fully removed row is all zeros.
 *   log_softmax  removed entries are -inf (the log of softmax's 0); a fully
 *                removed row is all -inf. -inf outputs are constants: they
 *                get no gradient and pass none on, so such rows and entries
 *                give x a zero gradient (never NaN).
 * Rows are independent and each is computed by one thread in a fixed order,
 * so results do not depend on the thread count. */
#include "ops/ops.h"

#include "core/threads.h"
#include "ops/softmax_rows.h"

#include <math.h>

int ak_mask_map_init(ak_mask_map *mm, int ndim, const int64_t *shape, const ak_tensor *mask)
{
    int64_t xs[4], ms[4];
    for (int i = 0; i < 4; i++)
        xs[i] = ms[i] = 1;
    for (int i = 0; i < ndim; i++)
        xs[4 - ndim + i] = shape[i];
    mm->m = NULL;
    mm->o[0] = xs[0];
    mm->o[1] = xs[1];
    mm->o[2] = xs[2];
    mm->ms[0] = mm->ms[1] = mm->ms[2] = mm->ms[3] = 0;
    if (!mask)
        return 0;
    if (mask->ndim > ndim)
        return -1;
    for (int i = 0; i < mask->ndim; i++)
        ms[4 - mask->ndim + i] = mask->shape[i];
    int64_t s = 1;
    for (int i = 3; i >= 0; i--) {
        if (ms[i] != xs[i] && ms[i] != 1)
            return -1;
        mm->ms[i] = ms[i] == 1 ? 0 : s;
        s *= ms[i];
    }
    mm->m = mask->data;
    return 0;
}

/* Sums run in double. */
void ak_softmax_row(const float *x, const float *m, int64_t mstride, float scale, int64_t L, int log_out, float *y)
{
    float mx = -INFINITY;
    for (int64_t j = 0; j < L; j++) {
        float z = scale * x[j] + (m ? m[j * mstride] : 0.0f);
        y[j] = z;
        mx = z > mx ? z : mx;
    }
    if (mx == -INFINITY) { /* every key removed */
        for (int64_t j = 0; j < L; j++)
            y[j] = log_out ? -INFINITY : 0.0f;
        return;
    }
    double sum = 0;
    if (log_out) {
        for (int64_t j = 0; j < L; j++)
            sum += expf(y[j] - mx);
        /* (z - max) - log(sum), not z - (max + log(sum)): the rounding of
         * a large max would swamp log(sum). -inf stays -inf. */
        /* sum >= 1: the max term is exp(0). */
        float ls = (float)log(sum); // cppcheck-suppress invalidFunctionArg
        for (int64_t j = 0; j < L; j++)
            y[j] = (y[j] - mx) - ls;
    } else {
        for (int64_t j = 0; j < L; j++) {
            y[j] = expf(y[j] - mx);
            sum += y[j];
        }
        float inv = (float)(1.0 / sum);
        for (int64_t j = 0; j < L; j++)
            y[j] *= inv;
    }
}

void ak_softmax_row_backward(const float *y, const float *dy, float scale, int64_t L, float *dx)
{
    double dot = 0;
    for (int64_t j = 0; j < L; j++)
        dot += (double)dy[j] * y[j];
    float d = (float)dot;
    for (int64_t j = 0; j < L; j++)
        dx[j] += scale * y[j] * (dy[j] - d);
}

/* y = softmax(z), z = scale * x + mask:
 *   dz = y * (dy - sum_k dy_k y_k),  dx += scale * dz.
 * Removed keys have y = 0, so they get 0; a fully removed row gets 0. */
static void softmax_backward(ak_ctx *ctx, ak_node *n)
{
    float *gx = ak_grad(ctx, n->in[0]);
    if (!gx)
        return;
    const ak_tensor *y = n->out;
    int64_t L = ak_dim(y, -1), rows = ak_rows(y);
    float scale = n->farg[0];
#pragma omp parallel for schedule(static) if (y->size >= AK_PAR_MIN)
    for (int64_t r = 0; r < rows; r++)
        ak_softmax_row_backward(y->data + r * L, y->grad + r * L, scale, L, gx + r * L);
}

/* y = log_softmax(z) = z - logsumexp(z), z = scale * x + mask, over the kept
 * entries K (y finite); y = -inf elsewhere is constant:
 *   dx_j += scale * (dy_j - softmax_j * sum_{k in K} dy_k)  for j in K,
 *   dx_j += 0                                              otherwise,
 * with softmax_j = exp(y_j). */
static void log_softmax_backward(ak_ctx *ctx, ak_node *n)
{
    float *gx = ak_grad(ctx, n->in[0]);
    if (!gx)
        return;
    const ak_tensor *y = n->out;
    int64_t L = ak_dim(y, -1), rows = ak_rows(y);
    float scale = n->farg[0];
#pragma omp parallel for schedule(static) if (y->size >= AK_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const float *yr = y->data + r * L, *dy = y->grad + r * L;
        float *dx = gx + r * L;
        double s = 0;
        for (int64_t j = 0; j < L; j++)
            if (yr[j] != -INFINITY)
                s += dy[j];
        float sf = (float)s;
        for (int64_t j = 0; j < L; j++)
            if (yr[j] != -INFINITY)
                dx[j] += scale * (dy[j] - expf(yr[j]) * sf);
    }
}

static ak_tensor *softmax_common(ak_ctx *ctx, ak_tensor *x, const ak_tensor *mask, float scale, int log_out)
{
    const char *op = log_out ? "log_softmax" : "softmax";
    if (!x)
        return NULL;
    char sx[64], sm[64];
    if (x->ndim < 1)
        return ak_ctx_fail(ctx, "%s: expected at least 1 dimension, got shape %s", op, ak_shape_str(x, sx, sizeof sx));
    ak_mask_map mm;
    if (ak_mask_map_init(&mm, x->ndim, x->shape, mask) != 0)
        return ak_ctx_fail(ctx, "%s: mask %s does not broadcast to x %s", op, ak_shape_str(mask, sm, sizeof sm),
                           ak_shape_str(x, sx, sizeof sx));
    ak_tensor *y = ak_tensor_new(ctx, x->ndim, x->shape);
    if (!y)
        return NULL;
    int64_t L = ak_dim(x, -1), rows = ak_rows(x);
    int64_t mstride = mask ? mm.ms[3] : 0;
#pragma omp parallel for schedule(static) if (x->size >= AK_PAR_MIN)
    for (int64_t r = 0; r < rows; r++)
        ak_softmax_row(x->data + r * L, mask ? ak_mask_map_row(&mm, r) : NULL, mstride, scale, L, log_out,
                       y->data + r * L);
    ak_node *node = ak_tape_record(ctx, y, op, log_out ? log_softmax_backward : softmax_backward, 1, &x);
    if (node)
        node->farg[0] = scale;
    return y;
}

ak_tensor *ak_softmax(ak_ctx *ctx, ak_tensor *x, const ak_tensor *mask, float scale)
{
    return softmax_common(ctx, x, mask, scale, 0);
}

ak_tensor *ak_log_softmax(ak_ctx *ctx, ak_tensor *x, const ak_tensor *mask, float scale)
{
    return softmax_common(ctx, x, mask, scale, 1);
}
