/* Multi-head attention products on heads kept side by side (sdpa.h).
 *
 * Each (batch, head) pair is one task: its products go through
 * ak_sgemm_small, reading the head's columns of q, k, v (row stride d) where
 * they lie, and its softmax rows through softmax.c's row kernel. Tasks write
 * disjoint parts of every output and gradient (their own head's columns or
 * their own [Lq, Lk] block), each with a fixed order of operations, so any
 * thread count gives the same bits. */
#include "ops/sdpa.h"

#include "core/threads.h"
#include "kernels/sgemm_small.h"
#include "ops/softmax_rows.h"

/* Sizes of one call: batch, heads, query and key lengths, model and head
 * widths. */
typedef struct sdpa_dims {
    int64_t B, H, Lq, Lk, d, dh;
} sdpa_dims;

/* Parallel over tasks only when there is enough work to pay for the fork:
 * products of B * H * Lq * Lk * dh multiply-adds. */
static int worth_threads(const sdpa_dims *s)
{
    return (double)s->B * (double)s->H * (double)s->Lq * (double)s->Lk * (double)s->dh >= (double)AK_PAR_MIN;
}

/* ---- probabilities -------------------------------------------------------- */

/* P = softmax(z), z = scale * Q_h K_h^T + mask per (b, h):
 *   dz = P * (dP - rowsum(dP * P)) * scale    (softmax.c's row backward)
 *   dQ_h += dz K_h,   dK_h += dz^T Q_h
 * dz goes through a zeroed scratch block: the same additions as the
 * composition, whose scores gradient starts at zero. */
static void probs_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *q = n->in[0], *k = n->in[1];
    const ak_tensor *y = n->out;
    float *gq = ak_grad(ctx, q), *gk = ak_grad(ctx, k);
    if (!gq && !gk)
        return;
    sdpa_dims s = {y->shape[0], y->shape[1], y->shape[2], y->shape[3], q->shape[2], q->shape[2] / y->shape[1]};
    size_t bytes = (size_t)y->size * sizeof(float);
    float *dz = ak_arena_calloc_recycled(&ctx->arena, bytes);
    if (!dz) {
        ak_ctx_fail(ctx, "sdpa_probs: out of memory for a scratch gradient of %lld floats", (long long)y->size);
        return;
    }
    float scale = n->farg[0];
    const int64_t blk = s.Lq * s.Lk;
#pragma omp parallel for schedule(static) if (worth_threads(&s))
    for (int64_t bh = 0; bh < s.B * s.H; bh++) {
        int64_t b = bh / s.H, h = bh % s.H;
        const float *p = y->data + bh * blk, *dp = y->grad + bh * blk;
        float *z = dz + bh * blk;
        for (int64_t i = 0; i < s.Lq; i++)
            ak_softmax_row_backward(p + i * s.Lk, dp + i * s.Lk, scale, s.Lk, z + i * s.Lk);
        int64_t qo = b * s.Lq * s.d + h * s.dh, ko = b * s.Lk * s.d + h * s.dh;
        if (gq)
            ak_sgemm_small(s.Lq, s.dh, s.Lk, z, s.Lk, 1, k->data + ko, s.d, 1, 1.0f, gq + qo, s.d);
        if (gk)
            ak_sgemm_small(s.Lk, s.dh, s.Lq, z, 1, s.Lk, q->data + qo, s.d, 1, 1.0f, gk + ko, s.d);
    }
    ak_arena_release(&ctx->arena, dz, bytes);
}

ak_tensor *ak_sdpa_probs(ak_ctx *ctx, ak_tensor *q, ak_tensor *k, int64_t heads, const ak_tensor *mask, float scale)
{
    if (!q || !k)
        return NULL;
    char sq[64], sk[64], sm[64];
    if (q->ndim != 3 || k->ndim != 3 || q->shape[0] != k->shape[0] || q->shape[2] != k->shape[2] || heads < 1 ||
        q->shape[2] % heads)
        return ak_ctx_fail(ctx,
                           "sdpa_probs: expected q [B, Lq, d] and k [B, Lk, d] with %lld heads dividing d, got q %s "
                           "and k %s",
                           (long long)heads, ak_shape_str(q, sq, sizeof sq), ak_shape_str(k, sk, sizeof sk));
    sdpa_dims s = {q->shape[0], heads, q->shape[1], k->shape[1], q->shape[2], q->shape[2] / heads};
    const int64_t shape[4] = {s.B, s.H, s.Lq, s.Lk};
    ak_mask_map mm;
    if (ak_mask_map_init(&mm, 4, shape, mask) != 0)
        return ak_ctx_fail(ctx, "sdpa_probs: mask %s does not broadcast to the scores [%lld, %lld, %lld, %lld]",
                           ak_shape_str(mask, sm, sizeof sm), (long long)s.B, (long long)s.H, (long long)s.Lq,
                           (long long)s.Lk);
    ak_tensor *y = ak_tensor_new(ctx, 4, shape);
    if (!y)
        return NULL;
    const int64_t blk = s.Lq * s.Lk;
#pragma omp parallel for schedule(static) if (worth_threads(&s))
    for (int64_t bh = 0; bh < s.B * s.H; bh++) {
        int64_t b = bh / s.H, h = bh % s.H;
        float *z = y->data + bh * blk;
        /* z = Q_h K_h^T: B(c, j) = k[b, j, h*dh + c], a transposed read. */
        ak_sgemm_small(s.Lq, s.Lk, s.dh, q->data + b * s.Lq * s.d + h * s.dh, s.d, 1,
                       k->data + b * s.Lk * s.d + h * s.dh, 1, s.d, 0.0f, z, s.Lk);
        for (int64_t i = 0; i < s.Lq; i++)
            ak_softmax_row(z + i * s.Lk, mm.m ? ak_mask_map_row(&mm, bh * s.Lq + i) : NULL, mm.ms[3], scale, s.Lk, 0,
                           z + i * s.Lk);
    }
    ak_tensor *in[2] = {q, k};
    ak_node *node = ak_tape_record(ctx, y, "sdpa_probs", probs_backward, 2, in);
    if (node)
        node->farg[0] = scale;
    return y;
}

/* ---- context -------------------------------------------------------------- */

/* ctx_h = P_h V_h per (b, h):
 *   dP_h += dctx_h V_h^T,   dV_h += P_h^T dctx_h */
static void context_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *p = n->in[0], *v = n->in[1];
    const ak_tensor *y = n->out;
    float *gp = ak_grad(ctx, p), *gv = ak_grad(ctx, v);
    if (!gp && !gv)
        return;
    sdpa_dims s = {p->shape[0], p->shape[1], p->shape[2], p->shape[3], v->shape[2], v->shape[2] / p->shape[1]};
    const int64_t blk = s.Lq * s.Lk;
#pragma omp parallel for schedule(static) if (worth_threads(&s))
    for (int64_t bh = 0; bh < s.B * s.H; bh++) {
        int64_t b = bh / s.H, h = bh % s.H;
        const float *dy = y->grad + b * s.Lq * s.d + h * s.dh;
        int64_t vo = b * s.Lk * s.d + h * s.dh;
        if (gp)
            ak_sgemm_small(s.Lq, s.Lk, s.dh, dy, s.d, 1, v->data + vo, 1, s.d, 1.0f, gp + bh * blk, s.Lk);
        if (gv)
            ak_sgemm_small(s.Lk, s.dh, s.Lq, p->data + bh * blk, 1, s.Lk, dy, s.d, 1, 1.0f, gv + vo, s.d);
    }
}

ak_tensor *ak_sdpa_context(ak_ctx *ctx, ak_tensor *p, ak_tensor *v)
{
    if (!p || !v)
        return NULL;
    char sp[64], sv[64];
    if (p->ndim != 4 || v->ndim != 3 || p->shape[0] != v->shape[0] || p->shape[3] != v->shape[1] || p->shape[1] < 1 ||
        v->shape[2] % p->shape[1])
        return ak_ctx_fail(ctx,
                           "sdpa_context: expected p [B, H, Lq, Lk] and v [B, Lk, d] with H dividing d, got p %s and "
                           "v %s",
                           ak_shape_str(p, sp, sizeof sp), ak_shape_str(v, sv, sizeof sv));
    sdpa_dims s = {p->shape[0], p->shape[1], p->shape[2], p->shape[3], v->shape[2], v->shape[2] / p->shape[1]};
    ak_tensor *y = ak_tensor_new(ctx, 3, ak_shape(s.B, s.Lq, s.d));
    if (!y)
        return NULL;
    const int64_t blk = s.Lq * s.Lk;
#pragma omp parallel for schedule(static) if (worth_threads(&s))
    for (int64_t bh = 0; bh < s.B * s.H; bh++) {
        int64_t b = bh / s.H, h = bh % s.H;
        ak_sgemm_small(s.Lq, s.dh, s.Lk, p->data + bh * blk, s.Lk, 1, v->data + b * s.Lk * s.d + h * s.dh, s.d, 1, 0.0f,
                       y->data + b * s.Lq * s.d + h * s.dh, s.d);
    }
    ak_tensor *in[2] = {p, v};
    ak_tape_record(ctx, y, "sdpa_context", context_backward, 2, in);
    return y;
}
