/* Additive (Bahdanau) attention scores, fused:
 *
 *   e[b, i, j] = sum_a v[a] * tanh(q[b, i, a] + k[b, j, a]) + bias
 *
 * the composition ak_linear(ak_tanh(ak_add(q [B,Lq,1,A], k [B,1,Lk,A])), v,
 * bias) without keeping its two [B, Lq, Lk, A] tensors (the broadcast sum and
 * its tanh) until backward: the tanh is built in a scratch buffer taken from
 * the arena's recycling lists and handed back before the op returns, and
 * backward rebuilds it the same way. Every step is the composition's own
 * arithmetic in the same order (the same element-wise expressions, the same
 * GEMM calls, the broadcast gradient sums in increasing output order), so
 * values and gradients are bitwise the composition's
 * (tests/test_ops_fused.c). */
#include "ops/ops.h"

#include "core/threads.h"
#include "kernels/gemm.h"
#include "ops/vexp.h"

#include <math.h>
#include <string.h>

/* t[(b, i, j), a] = tanh(q[b, i, a] + k[b, j, a]): ak_add then ak_tanh
 * (ak_vtanhf, ops/vexp.h). */
static void build_tanh(const ak_tensor *q, const ak_tensor *k, float *t)
{
    int64_t B = q->shape[0], Lq = q->shape[1], Lk = k->shape[1], A = q->shape[2];
    int64_t rows = B * Lq * Lk;
#pragma omp parallel for schedule(static) if (rows * A >= AK_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t j = r % Lk, bi = r / Lk, b = bi / Lq;
        const float *qr = q->data + bi * A, *kr = k->data + (b * Lk + j) * A;
        float *tr = t + r * A;
#pragma omp simd
        for (int64_t a = 0; a < A; a++)
            tr[a] = ak_vtanhf(qr[a] + kr[a]);
    }
}

/* With t = tanh(q + k) (rows x A) and de the upstream gradient (one per row):
 *   dt     = de v                      (linear's dx: gemm(0, 0), K = 1)
 *   dv    += de^T t                    (linear's dw: gemm(1, 0), K = rows)
 *   dbias += sum_r de[r]               (double, rows in order)
 *   ds     = dt * (1 - t^2)            (tanh's backward)
 *   dq[b, i, a] += sum_j ds[b, i, j, a],  dk[b, j, a] += sum_i ds[b, i, j, a]
 *                                      (add's broadcast backward: float sums in
 *                                      increasing output order) */
static void additive_scores_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *q = n->in[0], *k = n->in[1], *v = n->in[2], *bias = n->n_in > 3 ? n->in[3] : NULL;
    int64_t B = q->shape[0], Lq = q->shape[1], Lk = k->shape[1], A = q->shape[2];
    int64_t rows = B * Lq * Lk;
    const float *de = n->out->grad;
    float *gq = ak_grad(ctx, q), *gk = ak_grad(ctx, k), *gv = ak_grad(ctx, v);
    float *gb = bias ? ak_grad(ctx, bias) : NULL;
    size_t bytes = sizeof(float) * (size_t)(rows * A);
    float *t = ak_arena_alloc_recycled(&ctx->arena, bytes);
    float *dt = (gq || gk) ? ak_arena_calloc_recycled(&ctx->arena, bytes) : NULL;
    if (!t || ((gq || gk) && !dt)) {
        ak_ctx_fail(ctx, "additive_scores: out of memory for a scratch of %lld x %lld", (long long)rows, (long long)A);
        return;
    }
    build_tanh(q, k, t);
    if (dt)
        ak_sgemm(0, 0, rows, A, 1, 1.0f, de, 1, v->data, A, 1.0f, dt, A);
    if (gv)
        ak_sgemm(1, 0, 1, A, rows, 1.0f, de, 1, t, A, 1.0f, gv, A);
    if (gb) {
        double acc = 0;
        for (int64_t r = 0; r < rows; r++)
            acc += de[r];
        gb[0] += (float)acc;
    }
    if (dt) {
        int64_t m = rows * A;
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
        for (int64_t i = 0; i < m; i++)
            dt[i] = 0.0f + dt[i] * (1.0f - t[i] * t[i]);
        /* dq: rows (b, i) own their sums over j; dk: batches b own theirs. */
        if (gq) {
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
            for (int64_t bi = 0; bi < B * Lq; bi++) {
                float *g = gq + bi * A;
                for (int64_t a = 0; a < A; a++) {
                    float s = 0.0f;
                    for (int64_t j = 0; j < Lk; j++)
                        s += dt[(bi * Lk + j) * A + a];
                    g[a] += s;
                }
            }
        }
        if (gk) {
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
            for (int64_t b = 0; b < B; b++)
                for (int64_t j = 0; j < Lk; j++)
                    for (int64_t a = 0; a < A; a++) {
                        float s = 0.0f;
                        for (int64_t i = 0; i < Lq; i++)
                            s += dt[((b * Lq + i) * Lk + j) * A + a];
                        gk[(b * Lk + j) * A + a] += s;
                    }
        }
        ak_arena_release(&ctx->arena, dt, bytes);
    }
    ak_arena_release(&ctx->arena, t, bytes);
}

ak_tensor *ak_additive_scores(ak_ctx *ctx, ak_tensor *q, ak_tensor *k, ak_tensor *v, ak_tensor *bias)
{
    if (!q || !k || !v)
        return NULL;
    char s1[64], s2[64], s3[64];
    if (q->ndim != 3 || k->ndim != 3 || q->shape[0] != k->shape[0] || q->shape[2] != k->shape[2] || v->ndim != 2 ||
        v->shape[0] != 1 || v->shape[1] != q->shape[2] || (bias && (bias->ndim != 1 || bias->shape[0] != 1)))
        return ak_ctx_fail(ctx,
                           "additive_scores: expected q [B, Lq, A], k [B, Lk, A], v [1, A] and bias [1] or none, "
                           "got q %s, k %s, v %s",
                           ak_shape_str(q, s1, sizeof s1), ak_shape_str(k, s2, sizeof s2),
                           ak_shape_str(v, s3, sizeof s3));
    int64_t B = q->shape[0], Lq = q->shape[1], Lk = k->shape[1], A = q->shape[2];
    int64_t rows = B * Lq * Lk;
    ak_tensor *e = ak_tensor_new(ctx, 3, ak_shape(B, Lq, Lk));
    if (!e)
        return NULL;
    size_t bytes = sizeof(float) * (size_t)(rows * A);
    float *t = ak_arena_alloc_recycled(&ctx->arena, bytes);
    if (!t)
        return ak_ctx_fail(ctx, "additive_scores: out of memory for a scratch of %lld x %lld", (long long)rows,
                           (long long)A);
    build_tanh(q, k, t);
    /* As ak_linear: the bias first, the GEMM accumulating onto it. */
    if (bias)
        for (int64_t r = 0; r < rows; r++)
            e->data[r] = bias->data[0];
    ak_sgemm(0, 1, rows, 1, A, 1.0f, t, A > 0 ? A : 1, v->data, A > 0 ? A : 1, bias ? 1.0f : 0.0f, e->data, 1);
    ak_arena_release(&ctx->arena, t, bytes);
    ak_tensor *in[4] = {q, k, v, bias};
    ak_tape_record(ctx, e, "additive_scores", additive_scores_backward, bias ? 4 : 3, in);
    return e;
}
