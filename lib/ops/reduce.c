/* Reductions: sum and mean over one axis or over everything. Sums run in
 * double in a fixed order (per-axis: along the axis in increasing index;
 * all-reduction: ak_sum_fixed), so results do not depend on the thread count. */
#include "ops/ops.h"

#include "core/threads.h"

/* x viewed as [outer, n, inner] around the reduced axis. */
typedef struct red_view {
    int64_t outer, n, inner;
} red_view;

static red_view view_of(const ak_tensor *x, int ax)
{
    red_view v = {1, x->shape[ax], 1};
    for (int i = 0; i < ax; i++)
        v.outer *= x->shape[i];
    for (int i = ax + 1; i < x->ndim; i++)
        v.inner *= x->shape[i];
    return v;
}

enum { IB = 64 }; /* inner columns per task */

/* y[o, i] = s * sum_k x[o, k, i], k increasing. Tasks are (o, block of IB
 * inner columns): their boundaries depend only on the shape. */
static void reduce_axis(const float *x, red_view v, double s, float *y)
{
    int64_t blocks = (v.inner + IB - 1) / IB, tasks = v.outer * blocks;
#pragma omp parallel for schedule(static) if (v.outer * v.n * v.inner >= AK_PAR_MIN)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / blocks, i0 = t % blocks * IB, w = v.inner - i0 < IB ? v.inner - i0 : IB;
        double acc[IB] = {0};
        const float *base = x + o * v.n * v.inner + i0;
        for (int64_t k = 0; k < v.n; k++)
            for (int64_t i = 0; i < w; i++)
                acc[i] += base[k * v.inner + i];
        for (int64_t i = 0; i < w; i++)
            y[o * v.inner + i0 + i] = (float)(acc[i] * s);
    }
}

/* y[o, i] = s * sum_k x[o, k, i]  (s = 1 for sum, 1/n for mean):
 * dx[o, k, i] += s * dy[o, i] */
static void axis_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *x = n->in[0];
    float *gx = ak_grad(ctx, x);
    const float *gy = n->out->grad;
    red_view v = view_of(x, (int)n->iarg[0]);
    float s = n->farg[0];
    int64_t rows = v.outer * v.n;
#pragma omp parallel for schedule(static) if (x->size >= AK_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const float *g = gy + r / v.n * v.inner;
        float *d = gx + r * v.inner;
        for (int64_t i = 0; i < v.inner; i++)
            d[i] += s * g[i];
    }
}

static ak_tensor *reduce_op(ak_ctx *ctx, const char *name, int mean, ak_tensor *x, int axis, int keepdim)
{
    if (!x)
        return NULL;
    int ax = ak_axis(x, axis);
    if (ax < 0) {
        char sx[64];
        return ak_ctx_fail(ctx, "%s: axis %d out of range for shape %s", name, axis, ak_shape_str(x, sx, sizeof sx));
    }
    red_view v = view_of(x, ax);
    int64_t shape[AK_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (i != ax)
            shape[nd++] = x->shape[i];
        else if (keepdim)
            shape[nd++] = 1;
    }
    ak_tensor *y = ak_tensor_new(ctx, nd, shape);
    if (!y)
        return NULL;
    /* mean over an empty axis is 0/0 = NaN, as in PyTorch. */
    double s = mean ? 1.0 / (double)v.n : 1.0;
    reduce_axis(x->data, v, s, y->data);
    ak_node *node = ak_tape_record(ctx, y, name, axis_backward, 1, &x);
    if (node) {
        node->iarg[0] = ax;
        node->farg[0] = (float)s;
    }
    return y;
}

ak_tensor *ak_sum(ak_ctx *ctx, ak_tensor *x, int axis, int keepdim)
{
    return reduce_op(ctx, "sum", 0, x, axis, keepdim);
}
ak_tensor *ak_mean(ak_ctx *ctx, ak_tensor *x, int axis, int keepdim)
{
    return reduce_op(ctx, "mean", 1, x, axis, keepdim);
}

/* y = s * sum_j x[j]  (s = 1 or 1/size):  dx[j] += s * dy */
static void all_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *x = n->in[0];
    float *gx = ak_grad(ctx, x);
    float g = n->farg[0] * n->out->grad[0];
    int64_t m = x->size;
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
    for (int64_t i = 0; i < m; i++)
        gx[i] += g;
}

static ak_tensor *reduce_all(ak_ctx *ctx, const char *name, int mean, ak_tensor *x)
{
    if (!x)
        return NULL;
    ak_tensor *y = ak_tensor_new(ctx, 0, NULL);
    if (!y)
        return NULL;
    double s = mean ? 1.0 / (double)x->size : 1.0;
    y->data[0] = (float)(ak_sum_fixed(x->data, x->size) * s);
    ak_node *node = ak_tape_record(ctx, y, name, all_backward, 1, &x);
    if (node)
        node->farg[0] = (float)s;
    return y;
}

ak_tensor *ak_sum_all(ak_ctx *ctx, ak_tensor *x) { return reduce_all(ctx, "sum_all", 0, x); }
ak_tensor *ak_mean_all(ak_ctx *ctx, ak_tensor *x) { return reduce_all(ctx, "mean_all", 1, x); }
