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
 * element of that operand sums, in a fixed order, over every output it was
 * broadcast to, so no two threads write the same element. */
static void accumulate(int op, int self, const ak_tensor *a, const ak_tensor *b, const ak_tensor *y, float *gx)
{
    const int64_t n = y->size;
    if (a->size == n && b->size == n) {
        /* No broadcasting (residual connections, gates): one pass, same
         * per-element formula as the general path below. */
        const float *g = y->grad, *pa = a->data, *pb = b->data;
#pragma omp parallel for schedule(static) if (n >= AK_PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            gx[i] += self ? dfb(op, g[i], pa[i], pb[i]) : dfa(op, g[i], pb[i]);
        return;
    }
    bcast bc;
    make_bcast(a, b, y, &bc);
    const int64_t *own = self ? bc.sb : bc.sa;
    const ak_tensor *x = self ? b : a;
    int64_t xs[4];
    pad4(x, xs);
    const float *g = y->grad, *pa = a->data, *pb = b->data;
    int64_t ys[4] = {bc.out[1] * bc.out[2] * bc.out[3], bc.out[2] * bc.out[3], bc.out[3], 1};
#pragma omp parallel for schedule(static) if (y->size >= AK_PAR_MIN)
    for (int64_t e = 0; e < x->size; e++) {
        int64_t idx[4] = {e / (xs[1] * xs[2] * xs[3]), e / (xs[2] * xs[3]) % xs[1], e / xs[3] % xs[2], e % xs[3]};
        int64_t lo[4], hi[4];
        for (int k = 0; k < 4; k++) {
            int broadcast = own[k] == 0 && bc.out[k] != 1;
            lo[k] = broadcast ? 0 : idx[k];
            hi[k] = broadcast ? bc.out[k] : idx[k] + 1;
        }
        float acc = 0.0f;
        for (int64_t i0 = lo[0]; i0 < hi[0]; i0++)
            for (int64_t i1 = lo[1]; i1 < hi[1]; i1++)
                for (int64_t i2 = lo[2]; i2 < hi[2]; i2++)
                    for (int64_t i3 = lo[3]; i3 < hi[3]; i3++) {
                        int64_t o = i0 * ys[0] + i1 * ys[1] + i2 * ys[2] + i3;
                        int64_t ia = i0 * bc.sa[0] + i1 * bc.sa[1] + i2 * bc.sa[2] + i3 * bc.sa[3];
                        int64_t ib = i0 * bc.sb[0] + i1 * bc.sb[1] + i2 * bc.sb[2] + i3 * bc.sb[3];
                        acc += self ? dfb(op, g[o], pa[ia], pb[ib]) : dfa(op, g[o], pb[ib]);
                    }
        gx[e] += acc;
    }
}

static void binary_backward(ak_ctx *ctx, ak_node *n)
{
    int op = (int)n->iarg[0];
    ak_tensor *a = n->in[0], *b = n->in[1];
    float *ga = ak_grad(ctx, a), *gb = ak_grad(ctx, b);
    if (ga)
        accumulate(op, 0, a, b, n->out, ga);
    if (gb)
        accumulate(op, 1, a, b, n->out, gb);
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
    if (node)
        node->iarg[0] = op;
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
    if (node)
        node->farg[0] = s;
    return y;
}
