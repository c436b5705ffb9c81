/* Shape ops: reshape and detach (views sharing x's data), permute/transpose,
 * concat and slice (copies). A reshape shares x's gradient buffer too
 * (ak_node.grad_alias): whatever flows into the view's gradient lands in x's,
 * so its backward copies nothing. */
#include "ops/ops.h"

#include "core/threads.h"

#include <stdio.h>
#include <string.h>

/* "[4, -1]" or "(0, 2, 1)" from a raw list, for messages. */
static char *list_str(const int64_t *v, int n, char open, char close, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "%c", open);
    for (int i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? ", %lld" : "%lld", (long long)v[i]);
    if (k < cap)
        snprintf(buf + k, cap - k, "%c", close);
    return buf;
}

/* A fresh header from the arena (zeroed: no data, grad or node yet). */
static ak_tensor *new_header(ak_ctx *ctx)
{
    ak_tensor *t = ak_arena_calloc(&ctx->arena, sizeof *t);
    return t ? t : ak_ctx_fail(ctx, "out of memory for a tensor header");
}

/* x viewed as [outer, n, inner] around axis ax. */
static void split3(const ak_tensor *x, int ax, int64_t *outer, int64_t *inner)
{
    *outer = *inner = 1;
    for (int i = 0; i < ax; i++)
        *outer *= x->shape[i];
    for (int i = ax + 1; i < x->ndim; i++)
        *inner *= x->shape[i];
}

/* ---- reshape ----------------------------------------------------------- */

/* y = x with another shape (same elements in the same order): dx += dy.
 * Normally dy is dx's own buffer (grad_alias) and there is nothing to do;
 * the loop only runs when a caller gave y a gradient buffer of its own. */
static void reshape_backward(ak_ctx *ctx, ak_node *n)
{
    float *gx = ak_grad(ctx, n->in[0]);
    const float *gy = n->out->grad;
    if (gy == gx)
        return;
    int64_t m = n->out->size;
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
    for (int64_t i = 0; i < m; i++)
        gx[i] += gy[i];
}

ak_tensor *ak_reshape(ak_ctx *ctx, ak_tensor *x, int ndim, const int64_t *shape)
{
    if (!x)
        return NULL;
    char ss[96];
    if (ndim < 0 || ndim > AK_MAX_DIMS)
        return ak_ctx_fail(ctx, "reshape: expected 0 to %d dimensions, got %d", AK_MAX_DIMS, ndim);
    int64_t out[AK_MAX_DIMS], known = 1;
    int infer = -1, bad = 0;
    for (int i = 0; i < ndim; i++) {
        out[i] = shape[i];
        if (shape[i] == -1 && infer < 0)
            infer = i;
        else if (shape[i] < 0)
            return ak_ctx_fail(ctx, "reshape: bad target shape %s (at most one -1, other dimensions >= 0)",
                               list_str(shape, ndim, '[', ']', ss, sizeof ss));
        else if (shape[i] && known > INT64_MAX / shape[i])
            bad = 1;
        else
            known *= shape[i];
    }
    if (infer >= 0 && !bad && known > 0 && x->size % known == 0)
        out[infer] = x->size / known;
    else if (infer >= 0 || known != x->size)
        bad = 1;
    if (bad) {
        char sx[64];
        return ak_ctx_fail(ctx, "reshape: cannot view %s (%lld elements) as %s", ak_shape_str(x, sx, sizeof sx),
                           (long long)x->size, list_str(shape, ndim, '[', ']', ss, sizeof ss));
    }
    ak_tensor *y = new_header(ctx);
    if (!y)
        return NULL;
    ak_tensor_set_shape(y, ndim, out); /* validated above */
    y->data = x->data;
    ak_node *node = ak_tape_record(ctx, y, "reshape", reshape_backward, 1, &x);
    if (node) {
        node->grad_alias = 1;
        node->reads = AK_READS_NONE; /* the backwards below read gradients only */
    }
    return y;
}

/* ---- permute / transpose ----------------------------------------------- */

/* Right-aligned 4-D walk of y: y's dimension d reads x with stride st[d]. */
typedef struct perm_map {
    int64_t shape[4], st[4];
} perm_map;

static perm_map map_of(const ak_tensor *x, const int64_t *perm)
{
    int64_t xst[AK_MAX_DIMS] = {0}, s = 1;
    for (int i = x->ndim - 1; i >= 0; i--) {
        xst[i] = s;
        s *= x->shape[i];
    }
    perm_map m;
    int pad = 4 - x->ndim;
    for (int d = 0; d < 4; d++) {
        m.shape[d] = d < pad ? 1 : x->shape[perm[d - pad]];
        m.st[d] = d < pad ? 0 : xst[perm[d - pad]];
    }
    return m;
}

/* y[i0, i1, i2, i3] = x[sum_d i_d st_d] (a bijection), so with back = 1:
 * dx[sum_d i_d st_d] += dy[i0, i1, i2, i3]; no two y elements share an x
 * element, hence no write races. */
static void permute_walk(const perm_map *m, const float *src, float *dst, int back, int64_t n)
{
    const int64_t *o = m->shape, *st = m->st;
    int64_t rows = o[0] * o[1] * o[2];
#pragma omp parallel for schedule(static) if (n >= AK_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t i0 = r / (o[1] * o[2]), i1 = r / o[2] % o[1], i2 = r % o[2];
        int64_t base = i0 * st[0] + i1 * st[1] + i2 * st[2];
        if (back) {
            const float *gy = src + r * o[3];
            for (int64_t i3 = 0; i3 < o[3]; i3++)
                dst[base + i3 * st[3]] += gy[i3];
        } else {
            float *y = dst + r * o[3];
            for (int64_t i3 = 0; i3 < o[3]; i3++)
                y[i3] = src[base + i3 * st[3]];
        }
    }
}

static void permute_backward(ak_ctx *ctx, ak_node *n)
{
    float *gx = ak_grad(ctx, n->in[0]);
    perm_map m = map_of(n->in[0], n->iarg);
    permute_walk(&m, n->out->grad, gx, 1, n->out->size);
}

ak_tensor *ak_permute(ak_ctx *ctx, ak_tensor *x, const int *perm)
{
    if (!x)
        return NULL;
    int64_t p[AK_MAX_DIMS] = {0}, raw[AK_MAX_DIMS];
    int seen = 0, ok = 1;
    for (int i = 0; i < x->ndim; i++) {
        raw[i] = perm[i];
        p[i] = ak_axis(x, perm[i]);
        ok = ok && p[i] >= 0 && !(seen & (1 << p[i]));
        if (p[i] >= 0)
            seen |= 1 << p[i];
    }
    if (!ok) {
        char sx[64], sp[96];
        return ak_ctx_fail(ctx, "permute: %s is not a permutation of the axes of %s",
                           list_str(raw, x->ndim, '(', ')', sp, sizeof sp), ak_shape_str(x, sx, sizeof sx));
    }
    int64_t shape[AK_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++)
        shape[i] = x->shape[p[i]];
    ak_tensor *y = ak_tensor_new(ctx, x->ndim, shape);
    if (!y)
        return NULL;
    perm_map m = map_of(x, p);
    permute_walk(&m, x->data, y->data, 0, y->size);
    ak_node *node = ak_tape_record(ctx, y, "permute", permute_backward, 1, &x);
    if (node) {
        memcpy(node->iarg, p, sizeof p);
        node->reads = AK_READS_NONE;
    }
    return y;
}

ak_tensor *ak_transpose(ak_ctx *ctx, ak_tensor *x, int d0, int d1)
{
    if (!x)
        return NULL;
    int a0 = ak_axis(x, d0), a1 = ak_axis(x, d1);
    if (a0 < 0 || a1 < 0) {
        char sx[64];
        return ak_ctx_fail(ctx, "transpose: axes %d and %d out of range for shape %s", d0, d1,
                           ak_shape_str(x, sx, sizeof sx));
    }
    int perm[AK_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++)
        perm[i] = i;
    perm[a0] = a1;
    perm[a1] = a0;
    return ak_permute(ctx, x, perm);
}

/* ---- concat ------------------------------------------------------------ */

/* y = [x_0, x_1, ...] along axis: dx_i += dy[..., off_i : off_i + len_i, ...] */
static void concat_backward(ak_ctx *ctx, ak_node *n)
{
    int ax = (int)n->iarg[0];
    const ak_tensor *y = n->out;
    int64_t outer, inner, total = y->shape[ax], off = 0;
    split3(y, ax, &outer, &inner);
    for (int i = 0; i < n->n_in; i++) {
        ak_tensor *x = ak_node_in(n, i);
        int64_t len = x->shape[ax];
        float *gx = ak_grad(ctx, x);
        if (gx) {
            const float *gy = y->grad;
            int64_t o0 = off;
#pragma omp parallel for schedule(static) if (x->size >= AK_PAR_MIN)
            for (int64_t o = 0; o < outer; o++)
                for (int64_t j = 0; j < len * inner; j++)
                    gx[o * len * inner + j] += gy[(o * total + o0) * inner + j];
        }
        off += len;
    }
}

ak_tensor *ak_concat(ak_ctx *ctx, ak_tensor *const *xs, int n, int axis)
{
    if (n < 1)
        return ak_ctx_fail(ctx, "concat: expected at least one input, got %d", n);
    for (int i = 0; i < n; i++)
        if (!xs[i])
            return NULL;
    const ak_tensor *x0 = xs[0];
    char s0[64], si[64];
    int ax = ak_axis(x0, axis);
    if (ax < 0)
        return ak_ctx_fail(ctx, "concat: axis %d out of range for shape %s", axis, ak_shape_str(x0, s0, sizeof s0));
    int64_t shape[AK_MAX_DIMS], total = 0;
    for (int i = 0; i < n; i++) {
        const ak_tensor *x = xs[i];
        int same = x->ndim == x0->ndim;
        for (int d = 0; same && d < x0->ndim; d++)
            same = d == ax || x->shape[d] == x0->shape[d];
        if (!same)
            return ak_ctx_fail(ctx,
                               "concat: input %d has shape %s, input 0 has %s: they must agree except along axis %d", i,
                               ak_shape_str(x, si, sizeof si), ak_shape_str(x0, s0, sizeof s0), ax);
        total += x->shape[ax];
    }
    memcpy(shape, x0->shape, sizeof shape);
    shape[ax] = total;
    ak_tensor *y = ak_tensor_new(ctx, x0->ndim, shape);
    if (!y)
        return NULL;
    int64_t outer, inner;
    split3(y, ax, &outer, &inner);
#pragma omp parallel for schedule(static) if (y->size >= AK_PAR_MIN)
    for (int64_t o = 0; o < outer; o++) {
        int64_t off = 0;
        for (int i = 0; i < n; i++) {
            int64_t len = xs[i]->shape[ax];
            memcpy(y->data + (o * total + off) * inner, xs[i]->data + o * len * inner,
                   sizeof(float) * (size_t)(len * inner));
            off += len;
        }
    }
    ak_node *node = ak_tape_record(ctx, y, "concat", concat_backward, n, xs);
    if (node) {
        node->iarg[0] = ax;
        node->reads = AK_READS_NONE;
    }
    return y;
}

/* ---- slice ------------------------------------------------------------- */

/* y = x[..., start : start + len, ...]: dx[..., start + k, ...] += dy[..., k, ...] */
static void slice_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *x = n->in[0];
    int ax = (int)n->iarg[0];
    int64_t start = n->iarg[1], len = n->out->shape[ax], dim = x->shape[ax], outer, inner;
    split3(x, ax, &outer, &inner);
    float *gx = ak_grad(ctx, x);
    const float *gy = n->out->grad;
#pragma omp parallel for schedule(static) if (n->out->size >= AK_PAR_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < len * inner; j++)
            gx[(o * dim + start) * inner + j] += gy[o * len * inner + j];
}

ak_tensor *ak_slice(ak_ctx *ctx, ak_tensor *x, int axis, int64_t start, int64_t len)
{
    if (!x)
        return NULL;
    char sx[64];
    int ax = ak_axis(x, axis);
    if (ax < 0)
        return ak_ctx_fail(ctx, "slice: axis %d out of range for shape %s", axis, ak_shape_str(x, sx, sizeof sx));
    int64_t dim = x->shape[ax];
    if (start < 0 || len < 0 || start > dim - len)
        return ak_ctx_fail(ctx, "slice: start %lld, len %lld out of range for axis %d (size %lld) of shape %s",
                           (long long)start, (long long)len, ax, (long long)dim, ak_shape_str(x, sx, sizeof sx));
    int64_t shape[AK_MAX_DIMS], outer, inner;
    memcpy(shape, x->shape, sizeof shape);
    shape[ax] = len;
    ak_tensor *y = ak_tensor_new(ctx, x->ndim, shape);
    if (!y)
        return NULL;
    split3(x, ax, &outer, &inner);
#pragma omp parallel for schedule(static) if (y->size >= AK_PAR_MIN)
    for (int64_t o = 0; o < outer; o++)
        memcpy(y->data + o * len * inner, x->data + (o * dim + start) * inner, sizeof(float) * (size_t)(len * inner));
    ak_node *node = ak_tape_record(ctx, y, "slice", slice_backward, 1, &x);
    if (node) {
        node->iarg[0] = ax;
        node->iarg[1] = start;
        node->reads = AK_READS_NONE;
    }
    return y;
}

/* ---- detach ------------------------------------------------------------ */

ak_tensor *ak_detach(ak_ctx *ctx, ak_tensor *x)
{
    if (!x)
        return NULL;
    ak_tensor *y = new_header(ctx);
    if (!y)
        return NULL;
    ak_tensor_set_shape(y, x->ndim, x->shape);
    y->data = x->data;
    return y;
}
