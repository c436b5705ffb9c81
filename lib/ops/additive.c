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

/* The row loops compiled for AVX-512 and the default, picked at load time;
 * -std=c11 turns contraction off, so both clones round alike. */
#define AK_ADD_VCLONE __attribute__((target_clones("avx512f", "default")))
/* The same with a clone that has FMA without AVX-512, where fmaf must be
 * one instruction rather than a library call. */
#define AK_ADD_FMA_CLONE __attribute__((target_clones("avx512f", "arch=haswell", "default")))

/* ak_sgemm's K block (kernels/gemm.h): its sums run over blocks of this many
 * values of k, each from 0, added to C block after block. */
enum { GEMM_KC = 256 };

/* One row of t = tanh(q + k): ak_add then ak_tanh (ak_vtanhf, ops/vexp.h). */
AK_ADD_VCLONE static void tanh_row(const float *restrict q, const float *restrict k, float *restrict t, int64_t A)
{
#pragma omp simd
    for (int64_t a = 0; a < A; a++)
        t[a] = ak_vtanhf(q[a] + k[a]);
}

/* One row of the backward: t = tanh(q + k) as above, ds = dt * (1 - t^2)
 * with dt = de v, and the row's term of dv += de^T t. The composition
 * computes dt as a GEMM with K = 1 accumulating onto zeros (one product,
 * rounded once, added to 0 on every GEMM path) and then tanh's backward onto
 * zeros: the same two roundings and the two additions of 0 are written out.
 * dv (NULL: none) is the running sum of the row's K block, continued as the
 * GEMM's micro-kernel does: a fused multiply-add on its FMA paths (fused),
 * a product then a sum on the generic one. */
AK_ADD_FMA_CLONE static void tanh_grad_row(const float *restrict q, const float *restrict k, float de,
                                           const float *restrict v, float *restrict ds, float *restrict dv, int fused,
                                           int64_t A)
{
    if (dv && fused) {
#pragma omp simd
        for (int64_t a = 0; a < A; a++) {
            float y = ak_vtanhf(q[a] + k[a]);
            ds[a] = 0.0f + (0.0f + de * v[a]) * (1.0f - y * y);
            dv[a] = fmaf(de, y, dv[a]);
        }
    } else if (dv) {
#pragma omp simd
        for (int64_t a = 0; a < A; a++) {
            float y = ak_vtanhf(q[a] + k[a]);
            ds[a] = 0.0f + (0.0f + de * v[a]) * (1.0f - y * y);
            dv[a] = dv[a] + de * y;
        }
    } else {
#pragma omp simd
        for (int64_t a = 0; a < A; a++) {
            float y = ak_vtanhf(q[a] + k[a]);
            ds[a] = 0.0f + (0.0f + de * v[a]) * (1.0f - y * y);
        }
    }
}

/* The same for a row when its dq and dk sums can be made in the pass (one
 * query per batch row, see additive_scores_backward): ds is not stored but
 * added to the row's running dq sum (dq, from 0 over j) and, the row being
 * its key's only term, to dk as 0 + ds (add's broadcast backward with one
 * term). dv, dq, dk may point at one scratch row when not wanted. */
AK_ADD_FMA_CLONE static void tanh_grad_row_sums(const float *restrict q, const float *restrict k, float de,
                                                const float *restrict v, float *dv, int fused, float *dq, float *dk,
                                                int64_t A)
{
    if (fused) {
#pragma omp simd
        for (int64_t a = 0; a < A; a++) {
            float y = ak_vtanhf(q[a] + k[a]);
            float ds = 0.0f + (0.0f + de * v[a]) * (1.0f - y * y);
            dv[a] = fmaf(de, y, dv[a]);
            dq[a] += ds;
            dk[a] += 0.0f + ds;
        }
    } else {
#pragma omp simd
        for (int64_t a = 0; a < A; a++) {
            float y = ak_vtanhf(q[a] + k[a]);
            float ds = 0.0f + (0.0f + de * v[a]) * (1.0f - y * y);
            dv[a] = dv[a] + de * y;
            dq[a] += ds;
            dk[a] += 0.0f + ds;
        }
    }
}

/* g[a] += sum_{i < n} x[i * stride + a], each sum from 0 in increasing i (the
 * broadcast backward of ak_add), a block of columns at a time so that the
 * partial sums stay in registers. */
enum { COLS = 64 };
AK_ADD_VCLONE static void add_strided_sums(const float *restrict x, int64_t n, int64_t stride, float *restrict g,
                                           int64_t A)
{
    for (int64_t a0 = 0; a0 < A; a0 += COLS) {
        int64_t w = A - a0 < COLS ? A - a0 : COLS;
        float s[COLS];
        for (int64_t a = 0; a < w; a++)
            s[a] = 0.0f;
        for (int64_t i = 0; i < n; i++) {
            const float *xr = x + i * stride + a0;
#pragma omp simd
            for (int64_t a = 0; a < w; a++)
                s[a] += xr[a];
        }
#pragma omp simd
        for (int64_t a = 0; a < w; a++)
            g[a0 + a] += s[a];
    }
}

/* t[(b, i, j), a] = tanh(q[b, i, a] + k[b, j, a]). */
static void build_tanh(const ak_tensor *q, const ak_tensor *k, float *t)
{
    int64_t B = q->shape[0], Lq = q->shape[1], Lk = k->shape[1], A = q->shape[2];
    int64_t rows = B * Lq * Lk;
#pragma omp parallel for schedule(static) if (rows * A >= AK_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t j = r % Lk, bi = r / Lk, b = bi / Lq;
        tanh_row(q->data + bi * A, k->data + (b * Lk + j) * A, t + r * A, A);
    }
}

/* With t = tanh(q + k) (rows x A) and de the upstream gradient (one per row):
 *   dt     = de v                      (linear's dx: gemm(0, 0), K = 1)
 *   dv    += de^T t                    (linear's dw: gemm(1, 0), K = rows)
 *   dbias += sum_r de[r]               (double, rows in order)
 *   ds     = dt * (1 - t^2)            (tanh's backward)
 *   dq[b, i, a] += sum_j ds[b, i, j, a],  dk[b, j, a] += sum_i ds[b, i, j, a]
 *                                      (add's broadcast backward: float sums in
 *                                      increasing output order)
 * t, dt, ds and dv in one pass over the rows, t never stored: the rows go by
 * the GEMM's K blocks (GEMM_KC rows), each block's dv sum is built as the
 * GEMM builds it (tanh_grad_row) and the sums are added to dv in block
 * order, so dv is bitwise the GEMM's whatever thread took which block. */
/* Backward of one query per batch row (a decoder step) when no row's K block
 * cuts a batch row's keys in two: dq and dk summed in the pass, no ds
 * buffer. part: nblk x A zeros, dv's block sums (or scratch). */
static void backward_one_query(const ak_tensor *q, const ak_tensor *k, const ak_tensor *v, const float *de, float *part,
                               float *gq, float *gk, int fused, float *scratch)
{
    int64_t B = q->shape[0], Lk = k->shape[1], A = q->shape[2];
    int64_t rows = B * Lk, nblk = (rows + GEMM_KC - 1) / GEMM_KC;
#pragma omp parallel for schedule(static) if (rows * A >= AK_PAR_MIN)
    for (int64_t kb = 0; kb < nblk; kb++) {
        int64_t end = (kb + 1) * GEMM_KC < rows ? (kb + 1) * GEMM_KC : rows;
        float *qacc = scratch + 2 * kb * A, *dummy = qacc + A;
        for (int64_t r = kb * GEMM_KC; r < end; r++) {
            int64_t j = r % Lk, b = r / Lk;
            if (j == 0)
                for (int64_t a = 0; a < A; a++)
                    qacc[a] = 0.0f;
            tanh_grad_row_sums(q->data + b * A, k->data + r * A, de[r], v->data, part ? part + kb * A : dummy, fused,
                               qacc, gk ? gk + r * A : dummy, A);
            if (j == Lk - 1 && gq)
                for (int64_t a = 0; a < A; a++)
                    gq[b * A + a] += qacc[a];
        }
    }
}

static void additive_scores_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *q = n->in[0], *k = n->in[1], *v = n->in[2], *bias = n->n_in > 3 ? n->in[3] : NULL;
    int64_t B = q->shape[0], Lq = q->shape[1], Lk = k->shape[1], A = q->shape[2];
    int64_t rows = B * Lq * Lk, nblk = (rows + GEMM_KC - 1) / GEMM_KC;
    const float *de = n->out->grad;
    float *gq = ak_grad(ctx, q), *gk = ak_grad(ctx, k), *gv = ak_grad(ctx, v);
    float *gb = bias ? ak_grad(ctx, bias) : NULL;
    int fused = strcmp(ak_sgemm_isa(), "generic") != 0;
    if (Lq == 1 && (rows <= GEMM_KC || GEMM_KC % Lk == 0)) {
        size_t pbytes = sizeof(float) * (size_t)(nblk * A), sbytes = 2 * pbytes;
        float *part = gv ? ak_arena_calloc_recycled(&ctx->arena, pbytes) : NULL;
        float *scratch = ak_arena_alloc_recycled(&ctx->arena, sbytes);
        if ((gv && !part) || !scratch) {
            ak_ctx_fail(ctx, "additive_scores: out of memory for a scratch of %lld x %lld", (long long)nblk,
                        (long long)A);
            return;
        }
        backward_one_query(q, k, v, de, part, gq, gk, fused, scratch);
        if (gv) {
            for (int64_t kb = 0; kb < nblk; kb++)
                for (int64_t a = 0; a < A; a++)
                    gv[a] = part[kb * A + a] + gv[a];
            ak_arena_release(&ctx->arena, part, pbytes);
        }
        ak_arena_release(&ctx->arena, scratch, sbytes);
        if (gb) {
            double acc = 0;
            for (int64_t r = 0; r < rows; r++)
                acc += de[r];
            gb[0] += (float)acc;
        }
        return;
    }
    size_t bytes = sizeof(float) * (size_t)(rows * A), pbytes = sizeof(float) * (size_t)(nblk * A);
    float *ds = ak_arena_alloc_recycled(&ctx->arena, bytes);
    float *part = gv ? ak_arena_calloc_recycled(&ctx->arena, pbytes) : NULL;
    if (!ds || (gv && !part)) {
        ak_ctx_fail(ctx, "additive_scores: out of memory for a scratch of %lld x %lld", (long long)rows, (long long)A);
        return;
    }
#pragma omp parallel for schedule(static) if (rows * A >= AK_PAR_MIN)
    for (int64_t kb = 0; kb < nblk; kb++) {
        int64_t end = (kb + 1) * GEMM_KC < rows ? (kb + 1) * GEMM_KC : rows;
        for (int64_t r = kb * GEMM_KC; r < end; r++) {
            int64_t j = r % Lk, bi = r / Lk, b = bi / Lq;
            tanh_grad_row(q->data + bi * A, k->data + (b * Lk + j) * A, de[r], v->data, ds + r * A,
                          part ? part + kb * A : NULL, fused, A);
        }
    }
    if (gv) {
        for (int64_t kb = 0; kb < nblk; kb++)
            for (int64_t a = 0; a < A; a++)
                gv[a] = part[kb * A + a] + gv[a];
        ak_arena_release(&ctx->arena, part, pbytes);
    }
    if (gb) {
        double acc = 0;
        for (int64_t r = 0; r < rows; r++)
            acc += de[r];
        gb[0] += (float)acc;
    }
    /* dq: rows (b, i) own their sums over j; dk: batches b own theirs. */
    if (gq) {
#pragma omp parallel for schedule(static) if (rows * A >= AK_PAR_MIN)
        for (int64_t bi = 0; bi < B * Lq; bi++)
            add_strided_sums(ds + bi * Lk * A, Lk, A, gq + bi * A, A);
    }
    if (gk) {
#pragma omp parallel for schedule(static) if (rows * A >= AK_PAR_MIN)
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < Lk; j++)
                add_strided_sums(ds + (b * Lq * Lk + j) * A, Lq, Lk * A, gk + (b * Lk + j) * A, A);
    }
    ak_arena_release(&ctx->arena, ds, bytes);
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
    /* e^T = v t^T: the composition's product t v^T with the roles swapped,
     * each element the same multiply-add chain (a product's operands
     * commute), but a GEMM with one row and `rows` columns fills the
     * micro-tiles far better than one with `rows` rows and one column. */
    ak_sgemm(0, 1, 1, rows, A, 1.0f, v->data, A > 0 ? A : 1, t, A > 0 ? A : 1, bias ? 1.0f : 0.0f, e->data,
             rows > 0 ? rows : 1);
    ak_arena_release(&ctx->arena, t, bytes);
    ak_tensor *in[4] = {q, k, v, bias};
    ak_tape_record(ctx, e, "additive_scores", additive_scores_backward, bias ? 4 : 3, in);
    return e;
}
