/* Matrix products: matmul (2-D and batched, either operand transposed) and
 * linear (x @ w^T + bias). Every product, forward and backward, is one
 * ak_sgemm / ak_sgemm_batched call with the transposes absorbed by its flags
 * (one exception: the gradient of a 2-D b shared by a transposed batched a is
 * one call per batch entry, see matmul_backward); nothing is transposed by
 * copying. */
#include "ops/ops.h"

#include "core/threads.h"
#include "kernels/gemm.h"
#include "ops/linear_grad.h"

#include <string.h>

/* ---- matmul ------------------------------------------------------------ */

/* How a matmul maps onto GEMM calls. a is [batch..., rows, cols] with
 * op(a) = M x K; b is [batch..., ...] or 2-D with op(b) = K x N. When b is 2-D
 * and a is not transposed, a's batch rows are contiguous M x K blocks, so
 * they fold into one tall product (M *= batch, batch = 1). */
typedef struct mm_plan {
    int64_t M, N, K, batch;
    int64_t lda, ldb, ldy; /* row lengths of a, b and y as stored (>= 1) */
    int64_t sa, sb, sy;    /* per-batch strides; sb == 0 when b is shared */
} mm_plan;

/* A leading dimension for the GEMM, which wants >= 1 even when the matrix
 * is empty (nothing is read or written then). */
static inline int64_t ld(int64_t n) { return n > 0 ? n : 1; }

static mm_plan plan_of(const ak_tensor *a, const ak_tensor *b, int ta, int tb)
{
    mm_plan p;
    int64_t ar = a->shape[a->ndim - 2], ac = a->shape[a->ndim - 1];
    int64_t br = b->shape[b->ndim - 2], bc = b->shape[b->ndim - 1];
    p.M = ta ? ac : ar;
    p.K = ta ? ar : ac;
    p.N = tb ? br : bc;
    p.lda = ld(ac);
    p.ldb = ld(bc);
    p.ldy = ld(p.N);
    p.batch = 1;
    for (int i = 0; i < a->ndim - 2; i++)
        p.batch *= a->shape[i];
    int shared = b->ndim == 2;
    if (shared && !ta) {
        p.M *= p.batch;
        p.batch = 1;
    }
    p.sa = p.M * p.K;
    p.sb = shared ? 0 : p.K * p.N;
    p.sy = p.M * p.N;
    return p;
}

/* y = op(a) op(b).
 * d op(a) = dy op(b)^T, so
 *   ta == 0: da (M x K) += dy op(b)^T         -> gemm(0, !tb)
 *   ta != 0: da (K x M) += op(b) dy^T         -> gemm(tb, 1)
 * d op(b) = op(a)^T dy, so
 *   tb == 0: db (K x N) += op(a)^T dy         -> gemm(!ta, 0)
 *   tb != 0: db (N x K) += dy^T op(a)         -> gemm(1, ta)
 * A b shared by a batch (sb == 0) receives the sum over the batch: one GEMM
 * when the batch was folded into M, otherwise the batch's products added one
 * after another in batch order (fixed, so deterministic). */
static void matmul_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *a = n->in[0], *b = n->in[1];
    int ta = (int)n->iarg[0], tb = (int)n->iarg[1];
    mm_plan p = plan_of(a, b, ta, tb);
    const float *dy = n->out->grad;
    float *ga = ak_grad(ctx, a), *gb = ak_grad(ctx, b);
    if (ga) {
        if (!ta)
            ak_sgemm_batched(0, !tb, p.M, p.K, p.N, 1.0f, dy, p.ldy, p.sy, b->data, p.ldb, p.sb, 1.0f, ga, p.lda, p.sa,
                             p.batch);
        else
            ak_sgemm_batched(tb, 1, p.K, p.M, p.N, 1.0f, b->data, p.ldb, p.sb, dy, p.ldy, p.sy, 1.0f, ga, p.lda, p.sa,
                             p.batch);
    }
    if (gb) {
        int64_t steps = p.sb ? 1 : p.batch;  /* shared b: one product at a time */
        int64_t batch = p.sb ? p.batch : 1;
        for (int64_t s = 0; s < steps; s++) {
            const float *as = a->data + s * p.sa, *dys = dy + s * p.sy;
            if (!tb)
                ak_sgemm_batched(!ta, 0, p.K, p.N, p.M, 1.0f, as, p.lda, p.sa, dys, p.ldy, p.sy, 1.0f, gb, p.ldb, p.sb,
                                 batch);
            else
                ak_sgemm_batched(1, ta, p.N, p.K, p.M, 1.0f, dys, p.ldy, p.sy, as, p.lda, p.sa, 1.0f, gb, p.ldb, p.sb,
                                 batch);
        }
    }
}

ak_tensor *ak_matmul(ak_ctx *ctx, ak_tensor *a, ak_tensor *b, int ta, int tb)
{
    if (!a || !b)
        return NULL;
    ta = ta != 0;
    tb = tb != 0;
    char sa[64], sb[64];
    if (a->ndim < 2 || b->ndim < 2)
        return ak_ctx_fail(ctx, "matmul: expected operands of at least 2 dimensions, got a %s and b %s",
                           ak_shape_str(a, sa, sizeof sa), ak_shape_str(b, sb, sizeof sb));
    int64_t ka = a->shape[a->ndim - 2 + !ta], kb = b->shape[b->ndim - 2 + tb];
    if (ka != kb)
        return ak_ctx_fail(ctx, "matmul: inner dimensions differ: a %s (ta=%d), b %s (tb=%d)",
                           ak_shape_str(a, sa, sizeof sa), ta, ak_shape_str(b, sb, sizeof sb), tb);
    int batch_ok = b->ndim == 2 || b->ndim == a->ndim;
    for (int i = 0; batch_ok && b->ndim > 2 && i < a->ndim - 2; i++)
        batch_ok = a->shape[i] == b->shape[i];
    if (!batch_ok)
        return ak_ctx_fail(ctx, "matmul: batch dimensions differ: a %s, b %s (b must be 2-D or share a's leading "
                           "dimensions)",
                           ak_shape_str(a, sa, sizeof sa), ak_shape_str(b, sb, sizeof sb));

    mm_plan p = plan_of(a, b, ta, tb);
    int64_t shape[AK_MAX_DIMS];
    for (int i = 0; i < a->ndim - 2; i++)
        shape[i] = a->shape[i];
    shape[a->ndim - 2] = ta ? a->shape[a->ndim - 1] : a->shape[a->ndim - 2];
    shape[a->ndim - 1] = p.N;
    ak_tensor *y = ak_tensor_new(ctx, a->ndim, shape);
    if (!y)
        return NULL;
    ak_sgemm_batched(ta, tb, p.M, p.N, p.K, 1.0f, a->data, p.lda, p.sa, b->data, p.ldb, p.sb, 0.0f, y->data, p.ldy,
                     p.sy, p.batch);
    ak_tensor *in[2] = {a, b};
    ak_node *node = ak_tape_record(ctx, y, "matmul", matmul_backward, 2, in);
    if (node) {
        node->iarg[0] = ta;
        node->iarg[1] = tb;
        node->reads = AK_READS_IN(0) | AK_READS_IN(1);
    }
    return y;
}

/* ---- linear ------------------------------------------------------------ */

/* y = x w^T + bias, x viewed as [rows, in], w [out, in]:
 *   dx (rows x in) += dy w            -> gemm(0, 0)
 *   dw (out x in)  += dy^T x          -> gemm(1, 0), one product over all rows
 *   dbias[j]       += sum_r dy[r, j]  (rows in fixed order) */
static void linear_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *x = n->in[0], *w = n->in[1], *bias = n->n_in > 2 ? n->in[2] : NULL;
    float *gx = ak_grad(ctx, x), *gw = ak_grad(ctx, w), *gbias = bias ? ak_grad(ctx, bias) : NULL;
    ak_linear_grad(n->iarg[0], w->shape[1], w->shape[0], n->out->grad, x->data, w->data, gx, gw, gbias);
}

ak_tensor *ak_linear(ak_ctx *ctx, ak_tensor *x, ak_tensor *w, ak_tensor *bias)
{
    if (!x || !w)
        return NULL;
    char s1[64], s2[64];
    if (w->ndim != 2 || x->ndim < 1 || x->shape[x->ndim - 1] != w->shape[1])
        return ak_ctx_fail(ctx, "linear: expected x [..., in] and w [out, in], got x %s and w %s",
                           ak_shape_str(x, s1, sizeof s1), ak_shape_str(w, s2, sizeof s2));
    int64_t out = w->shape[0], in = w->shape[1];
    if (bias && (bias->ndim != 1 || bias->shape[0] != out))
        return ak_ctx_fail(ctx, "linear: expected bias [%lld] for w %s, got bias %s", (long long)out,
                           ak_shape_str(w, s1, sizeof s1), ak_shape_str(bias, s2, sizeof s2));

    int64_t shape[AK_MAX_DIMS], rows = 1;
    for (int i = 0; i < x->ndim - 1; i++) {
        shape[i] = x->shape[i];
        rows *= x->shape[i];
    }
    shape[x->ndim - 1] = out;
    ak_tensor *y = ak_tensor_new(ctx, x->ndim, shape);
    if (!y)
        return NULL;
    /* The bias goes in first and the GEMM accumulates onto it (beta = 1), so
     * the product's single pass over y also adds the bias. */
    if (bias) {
        const float *pb = bias->data;
        float *py = y->data;
#pragma omp parallel for schedule(static) if (y->size >= AK_PAR_MIN)
        for (int64_t r = 0; r < rows; r++)
            memcpy(py + r * out, pb, sizeof(float) * (size_t)out);
    }
    ak_sgemm(0, 1, rows, out, in, 1.0f, x->data, ld(in), w->data, ld(in), bias ? 1.0f : 0.0f, y->data, ld(out));
    ak_tensor *ins[3] = {x, w, bias};
    ak_node *node = ak_tape_record(ctx, y, "linear", linear_backward, bias ? 3 : 2, ins);
    if (node) {
        node->iarg[0] = rows;
        node->reads = AK_READS_IN(0) | AK_READS_IN(1); /* x and w; not y, not the bias */
    }
    return y;
}
