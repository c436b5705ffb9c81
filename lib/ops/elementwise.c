/* Binary elementwise ops with NumPy broadcasting, and scale. */
#include "ops/ops.h"

#include "core/threads.h"

#include <string.h>

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV };
static const char *const NAMES[] = {"add", "sub", "mul", "div"};

/* Shapes right-aligned to 4-D; strides are 0 along broadcast dimensions so
 * one formula indexes both operands. */
typedef struct bcast {
    int64_t out[4], sa[4], sb[4];
} bcast;

static void pad4(const ak_tensor *t, int64_t shape[4])
{
    for (int i = 0; i < 4; i++)
        shape[i] = 1;
    for (int i = 0; i < t->ndim; i++)
        shape[4 - t->ndim + i] = t->shape[i];
}

static void strides_for(const int64_t shape[4], const int64_t out[4], int64_t st[4])
{
    int64_t s = 1;
    for (int i = 3; i >= 0; i--) {
        st[i] = shape[i] == 1 && out[i] != 1 ? 0 : s;
        s *= shape[i];
    }
}

static void make_bcast(const ak_tensor *a, const ak_tensor *b, const ak_tensor *y, bcast *bc)
{
    int64_t as[4], bs[4];
    pad4(a, as);
    pad4(b, bs);
    pad4(y, bc->out);
    strides_for(as, bc->out, bc->sa);
    strides_for(bs, bc->out, bc->sb);
}

static inline float apply(int op, float x, float z)
{
    switch (op) {
    case OP_ADD: return x + z;
    case OP_SUB: return x - z;
    case OP_MUL: return x * z;
    default: return x / z;
    }
}

static void forward(int op, const ak_tensor *a, const ak_tensor *b, ak_tensor *y)
{
    const float *pa = a->data, *pb = b->data;
    float *py = y->data;
    int64_t n = y->size;
    if (a->size == n && b->size == n) {
#pragma omp parallel for schedule(static) if (n >= AK_PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            py[i] = apply(op, pa[i], pb[i]);
        return;
    }
    bcast bc;
    make_bcast(a, b, y, &bc);
    const int64_t *o = bc.out;
    int64_t rows = o[0] * o[1] * o[2];
#pragma omp parallel for schedule(static) if (n >= AK_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t i0 = r / (o[1] * o[2]), i1 = r / o[2] % o[1], i2 = r % o[2];
        const float *ra = pa + i0 * bc.sa[0] + i1 * bc.sa[1] + i2 * bc.sa[2];
        const float *rb = pb + i0 * bc.sb[0] + i1 * bc.sb[1] + i2 * bc.sb[2];
        float *ry = py + r * o[3];
        for (int64_t i3 = 0; i3 < o[3]; i3++)
            ry[i3] = apply(op, ra[i3 * bc.sa[3]], rb[i3 * bc.sb[3]]);
    }
}

/* d(a op b)/da and /db, times the upstream gradient g. */
static inline float dfa(int op, float g, float b)
{
    return op == OP_MUL ? g * b : op == OP_DIV ? g / b : g;
}
static inline float dfb(int op, float g, float a, float b)
{
    return op == OP_ADD ? g : op == OP_SUB ? -g : op == OP_MUL ? g * a : -g * a / (b * b);
}

/* Accumulates into the gradient of one operand (`self`, 0 = a, 1 = b). Each
 * element of that operand sums, in a fixed order (increasing output index),
 * every output it was broadcast to, then adds the sum to its gradient. */
static int accumulate(ak_ctx *ctx, int op, int self, const ak_tensor *a, const ak_tensor *b, const ak_tensor *y,
                      float *gx)
{
    const int64_t n = y->size;
    if (a->size == n && b->size == n) {
        /* No broadcasting (residual connections, gates): one pass, same
         * per-element formula as the general path below. + and - do not
         * use the operands' values: g stands in for them, so that their
         * data is not read (the node says so, see binary()). */
        const float *g = y->grad;
        const float *pa = op == OP_ADD || op == OP_SUB ? g : a->data, *pb = op == OP_ADD || op == OP_SUB ? g : b->data;
#pragma omp parallel for schedule(static) if (n >= AK_PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            gx[i] += self ? dfb(op, g[i], pa[i], pb[i]) : dfa(op, g[i], pb[i]);
        return 0;
    }
    bcast bc;
    make_bcast(a, b, y, &bc);
    const int64_t *own = self ? bc.sb : bc.sa;
    const ak_tensor *x = self ? b : a;
    int64_t xs[4];
    pad4(x, xs);
    const int64_t *o = bc.out;
    const float *g = y->grad, *pa = a->data, *pb = b->data;
    /* acc[e] collects x element e's terms in increasing output order (one
     * streaming pass over the output, no per-element gather), then
     * gx[e] += acc[e]. Threads take whole slices i0 only when x is not
     * broadcast along dimension 0 (the slices then touch disjoint parts of
     * acc); the terms and their order are the same either way. */
    size_t bytes = sizeof(float) * (size_t)(x->size ? x->size : 1);
    float *acc = ak_arena_calloc_recycled(&ctx->arena, bytes);
    if (!acc)
        return -1;
    const int64_t *sa = bc.sa, *sb = bc.sb, *sx = own;
    int par = own[0] != 0 && o[0] > 1 && n >= AK_PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (int64_t i0 = 0; i0 < o[0]; i0++)
        for (int64_t i1 = 0; i1 < o[1]; i1++)
            for (int64_t i2 = 0; i2 < o[2]; i2++) {
                const float *gr = g + ((i0 * o[1] + i1) * o[2] + i2) * o[3];
                const float *ra = pa + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                const float *rb = pb + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                float *rx = acc + i0 * sx[0] + i1 * sx[1] + i2 * sx[2];
                if (op == OP_ADD && sx[3] == 1) {
                    for (int64_t i3 = 0; i3 < o[3]; i3++)
                        rx[i3] += gr[i3];
                } else if (op == OP_ADD && sx[3] == 0) {
                    float t = rx[0];
                    for (int64_t i3 = 0; i3 < o[3]; i3++)
                        t += gr[i3];
                    rx[0] = t;
                } else if (op == OP_SUB) { /* dfa, dfb without the operands */
                    for (int64_t i3 = 0; i3 < o[3]; i3++)
                        rx[i3 * sx[3]] += self ? -gr[i3] : gr[i3];
                } else {
                    for (int64_t i3 = 0; i3 < o[3]; i3++)
                        rx[i3 * sx[3]] += self ? dfb(op, gr[i3], ra[i3 * sa[3]], rb[i3 * sb[3]])
                                               : dfa(op, gr[i3], rb[i3 * sb[3]]);
                }
            }
    int64_t m = x->size;
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
    for (int64_t e = 0; e < m; e++)
        gx[e] += acc[e];
    ak_arena_release(&ctx->arena, acc, bytes);
    return 0;
}

static void binary_backward(ak_ctx *ctx, ak_node *n)
{
    int op = (int)n->iarg[0];
    ak_tensor *a = n->in[0], *b = n->in[1];
    float *ga = ak_grad(ctx, a), *gb = ak_grad(ctx, b);
    if ((ga && accumulate(ctx, op, 0, a, b, n->out, ga)) || (gb && accumulate(ctx, op, 1, a, b, n->out, gb)))
        ak_ctx_fail(ctx, "%s: out of memory for a gradient", NAMES[op]);
}

static ak_tensor *binary(ak_ctx *ctx, int op, ak_tensor *a, ak_tensor *b)
{
    if (!a || !b)
        return NULL;
    int64_t shape[AK_MAX_DIMS];
    int nd;
    if (ak_broadcast_shape(a, b, shape, &nd) != 0) {
        char sa[64], sb[64];
        return ak_ctx_fail(ctx, "%s: shapes %s and %s do not broadcast", NAMES[op], ak_shape_str(a, sa, sizeof sa),
                           ak_shape_str(b, sb, sizeof sb));
    }
    ak_tensor *y = ak_tensor_new(ctx, nd, shape);
    if (!y)
        return NULL;
    forward(op, a, b, y);
    ak_tensor *in[2] = {a, b};
    ak_node *node = ak_tape_record(ctx, y, NAMES[op], binary_backward, 2, in);
    if (node) {
        node->iarg[0] = op;
        /* + and - need no operand values (accumulate reads none for them) */
        node->reads = op == OP_ADD || op == OP_SUB ? AK_READS_NONE : AK_READS_IN(0) | AK_READS_IN(1);
    }
    return y;
}

ak_tensor *ak_add(ak_ctx *ctx, ak_tensor *a, ak_tensor *b) { return binary(ctx, OP_ADD, a, b); }
ak_tensor *ak_sub(ak_ctx *ctx, ak_tensor *a, ak_tensor *b) { return binary(ctx, OP_SUB, a, b); }
ak_tensor *ak_mul(ak_ctx *ctx, ak_tensor *a, ak_tensor *b) { return binary(ctx, OP_MUL, a, b); }
ak_tensor *ak_div(ak_ctx *ctx, ak_tensor *a, ak_tensor *b) { return binary(ctx, OP_DIV, a, b); }

/* y = s * x;  dx += s * dy */
static void scale_backward(ak_ctx *ctx, ak_node *n)
{
    float *gx = ak_grad(ctx, n->in[0]);
    const float *gy = n->out->grad;
    float s = n->farg[0];
    int64_t m = n->out->size;
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
    for (int64_t i = 0; i < m; i++)
        gx[i] += s * gy[i];
}

ak_tensor *ak_scale(ak_ctx *ctx, ak_tensor *x, float s)
{
    if (!x)
        return NULL;
    ak_tensor *y = ak_tensor_new(ctx, x->ndim, x->shape);
    if (!y)
        return NULL;
    int64_t m = x->size;
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
    for (int64_t i = 0; i < m; i++)
        y->data[i] = s * x->data[i];
    ak_node *node = ak_tape_record(ctx, y, "scale", scale_backward, 1, &x);
    if (node) {
        node->farg[0] = s;
        node->reads = AK_READS_NONE;
    }
    return y;
}
