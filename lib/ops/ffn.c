/* ak_relu_dropout_linear: Linear(Drop(ReLU(a))) with the hidden kept packed
 * (see ffn.h). */
#include "ops/ffn.h"

#include "core/threads.h"
#include "kernels/nzpack.h"
#include "ops/linear_grad.h"
#include "ops/ops.h"

typedef struct ffn_saved {
    uint64_t *mask; /* ak_nz_mask of h */
    float *vals;    /* its nonzero entries (the front of h's memory) */
    float scale;    /* 1 / (1 - p); 0 for ReLU alone (eval mode or p == 0) */
    int64_t rows;   /* h viewed as [rows, k] */
} ffn_saved;

/* Mask words per chunk of the elementwise loop: 64 words = 4096 elements
 * (fixed, so the split does not depend on the thread count; it could not
 * change the bits anyway). */
#define FFN_CHUNK_WORDS 64

/* relu_dropout's backward, da += [h > 0] dh * scale, over mask words
 * [w0, w1) of m elements: h > 0 exactly where its packing bit is set (h is
 * a ReLU output: +0.0f or positive, never -0.0f or NaN). With relu_only
 * (eval mode, p == 0) it is ReLU's, da += [a > 0] dh: h > 0 exactly where
 * a > 0. The bit test is a per-lane shift and the choice a select, as in
 * ops/dropout.c's loops. */
__attribute__((target_clones("avx512f", "default"))) static void
hidden_backward_words(const uint64_t *restrict mask, const float *restrict dh, float scale, int relu_only,
                      float *restrict ga, int64_t w0, int64_t w1, int64_t m)
{
    for (int64_t w = w0; w < w1; w++) {
        int64_t i0 = w * 64, n = m - i0 < 64 ? m - i0 : 64;
        uint64_t bits = mask[w];
        if (n < 64) {
            for (int64_t j = 0; j < n; j++)
                ga[i0 + j] += bits >> j & 1u ? (relu_only ? dh[i0 + j] : dh[i0 + j] * scale) : 0.0f;
            continue;
        }
        for (int half = 0; half < 2; half++) {
            const uint32_t b = (uint32_t)(bits >> (32 * half));
            const int64_t o = i0 + 32 * half;
            if (relu_only) {
#pragma omp simd
                for (int j = 0; j < 32; j++)
                    ga[o + j] += b >> j & 1u ? dh[o + j] : 0.0f;
            } else {
#pragma omp simd
                for (int j = 0; j < 32; j++)
                    ga[o + j] += b >> j & 1u ? dh[o + j] * scale : 0.0f;
            }
        }
    }
}

/* The backwards of linear (with x = h) and of relu_dropout, in the order
 * the composition's tape runs them; dh in a fresh zeroed buffer as ak_grad
 * would give it. */
static void relu_dropout_linear_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *a = n->in[0], *w = n->in[1], *bias = n->n_in > 2 ? n->in[2] : NULL;
    const ffn_saved *sv = n->saved;
    const int64_t m = a->size;
    const size_t bytes = sizeof(float) * (size_t)m;
    float *h = ak_arena_alloc_recycled(&ctx->arena, bytes);
    float *ga = ak_grad(ctx, a);
    float *gh = ga ? ak_arena_calloc_recycled(&ctx->arena, bytes) : NULL;
    float *gw = ak_grad(ctx, w), *gb = bias ? ak_grad(ctx, bias) : NULL;
    if (!h || (ga && !gh)) {
        ak_ctx_fail(ctx, "relu_dropout_linear: out of memory for the hidden of %lld floats", (long long)m);
        return;
    }
    ak_nz_unpack(sv->mask, sv->vals, m, h);
    ak_linear_grad(sv->rows, w->shape[1], w->shape[0], n->out->grad, h, w->data, gh, gw, gb);
    if (ga) {
        const int64_t nw = ak_nz_words(m), nc = (nw + FFN_CHUNK_WORDS - 1) / FFN_CHUNK_WORDS;
        const float scale = sv->scale;
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
        for (int64_t c = 0; c < nc; c++) {
            int64_t w0 = c * FFN_CHUNK_WORDS, w1 = w0 + FFN_CHUNK_WORDS < nw ? w0 + FFN_CHUNK_WORDS : nw;
            hidden_backward_words(sv->mask, gh, scale, scale == 0.0f, ga, w0, w1, m);
        }
        ak_arena_release(&ctx->arena, gh, bytes);
    }
    ak_arena_release(&ctx->arena, h, bytes);
}

ak_tensor *ak_relu_dropout_linear(ak_ctx *ctx, ak_tensor *a, float p, ak_tensor *w, ak_tensor *bias)
{
    if (!a || !w)
        return NULL;
    /* The composition, unrecorded; relu_dropout takes the call number and
     * decides between dropout and ReLU alone exactly as on its own. */
    const int relu_only = !ctx->training || p == 0.0f;
    int grad = ak_set_grad_enabled(ctx, 0);
    ak_tensor *h = ak_relu_dropout(ctx, a, p);
    ak_tensor *y = ak_linear(ctx, h, w, bias);
    ak_set_grad_enabled(ctx, grad);
    if (!y)
        return NULL;
    const size_t bytes = sizeof(float) * (size_t)h->size;
    ak_tensor *in[3] = {a, w, bias};
    ak_node *node =
        grad ? ak_tape_record(ctx, y, "relu_dropout_linear", relu_dropout_linear_backward, bias ? 3 : 2, in) : NULL;
    if (!node) { /* nothing to keep for a backward pass */
        ak_arena_give_back(&ctx->arena, h->data, bytes);
        return ctx->failed ? NULL : y;
    }
    /* h is this op's own scratch: packed in place, its front keeps the
     * values and the rest goes back to the arena at once. */
    const int64_t m = h->size;
    ffn_saved *sv = ak_arena_alloc(&ctx->arena, sizeof *sv);
    uint64_t *mask = ak_arena_alloc(&ctx->arena, sizeof(uint64_t) * (size_t)(ak_nz_words(m) ? ak_nz_words(m) : 1));
    if (!sv || !mask)
        return ak_ctx_fail(ctx, "relu_dropout_linear: out of memory for the packed hidden");
    float *vals = h->data;
    size_t keep = sizeof(float) * (size_t)ak_nz_pack(vals, m, mask);
    keep = (keep + AK_ARENA_ALIGN - 1) & ~(size_t)(AK_ARENA_ALIGN - 1);
    if (keep < bytes)
        ak_arena_give_back(&ctx->arena, (unsigned char *)vals + keep, bytes - keep);
    *sv = (ffn_saved){.mask = mask, .vals = vals, .scale = relu_only ? 0.0f : 1.0f / (1.0f - p), .rows = ak_rows(a)};
    node->saved = sv;
    node->reads = AK_READS_IN(1); /* w; h comes from the packed copy */
    return y;
}
