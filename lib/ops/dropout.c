/* Inverted dropout with a counter-based mask.
 *
 * Element i of the c-th dropout call of step s is dropped when
 *   u = ak_philox(ctx->seed, stream(s, c), i / 4) word i % 4, top 24 bits / 2^24
 * is below p; kept elements are scaled by 1 / (1 - p). The mask is a pure
 * function of (seed, step, call, i): reproducible, independent of the thread
 * count, and the same in every evaluation of a gradient check (which resets
 * ctx->step and ctx->dropout_calls between evaluations).
 *
 * stream(s, c) = 0xD << 60 | (s mod 2^36) << 24 | (c mod 2^24): a stream
 * space of its own (tag 0xD in the top four bits), distinct for every step
 * below 2^36 and every call below 2^24 within a step.
 *
 * Call numbering: every call that does not fail takes the next number
 * (ctx->dropout_calls++), in training mode or not and whatever p, so turning
 * one layer's dropout off leaves the masks of the other layers unchanged.
 *
 * p outside [0, 1) (or NaN) fails the op in any mode, without taking a call
 * number.
 *
 * Identity: when !ctx->training or p == 0 the op returns x itself (the same
 * tensor, no copy, no tape node); gradients flow to x through whatever
 * produced it.
 *
 * The mask is kept for backward as bits (one uint64_t per 64 elements) rather
 * than recomputed. */
#include "ops/ops.h"

#include "core/rng.h"
#include "core/threads.h"

#include <math.h>

typedef struct drop_saved {
    const uint64_t *keep; /* bit i % 64 of word i / 64: element i kept */
    float scale;
} drop_saved;

static uint64_t dropout_stream(uint64_t step, uint64_t call)
{
    return (0xDull << 60) | ((step & ((1ull << 36) - 1)) << 24) | (call & ((1ull << 24) - 1));
}

/* y = x * keep / (1 - p):  dx += dy * keep / (1 - p). */
static void dropout_backward(ak_ctx *ctx, ak_node *n)
{
    float *gx = ak_grad(ctx, n->in[0]);
    if (!gx)
        return;
    const drop_saved *sv = n->saved;
    const float *dy = n->out->grad;
    int64_t m = n->out->size;
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
    for (int64_t i = 0; i < m; i++)
        if (sv->keep[i >> 6] >> (i & 63) & 1)
            gx[i] += dy[i] * sv->scale;
}

/* Philox4x32-10 (core/rng.c's ak_philox, the same bits) of the 16 blocks
 * first .. first + 15, lane by lane so that it vectorizes: the AVX-512 clone
 * runs all 16 at once (vpmuludq), chosen at load time by target_clones. */
__attribute__((target_clones("avx512f", "default"))) static void philox16(uint64_t seed, uint64_t stream,
                                                                           uint64_t first, uint32_t out[4][16])
{
#pragma omp simd
    for (int l = 0; l < 16; l++) {
        uint64_t index = first + (uint64_t)l;
        uint32_t c0 = (uint32_t)index, c1 = (uint32_t)(index >> 32);
        uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
        for (int round = 0; round < 10; round++) {
            uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
            c0 = n0;
            c1 = (uint32_t)p1;
            c2 = n2;
            c3 = (uint32_t)p0;
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        out[0][l] = c0;
        out[1][l] = c1;
        out[2][l] = c2;
        out[3][l] = c3;
    }
}

/* Keep bits of elements 64 w .. 64 w + 63 (bit j: element 64 w + j kept),
 * as the file comment defines them: block i / 4, word i % 4. */
static uint64_t keep_word(uint64_t seed, uint64_t stream, int64_t w, float p)
{
    uint32_t r[4][16];
    philox16(seed, stream, (uint64_t)w * 16, r);
    uint64_t bits = 0;
    for (int j = 0; j < 64; j++) {
        float u = (float)(r[j & 3][j >> 2] >> 8) * (1.0f / 16777216.0f);
        bits |= (uint64_t)(u >= p) << j;
    }
    return bits;
}

/* Takes the next dropout call number; 0 and a message on a bad p. */
static int take_call(ak_ctx *ctx, const char *op, const ak_tensor *x, float p, uint64_t *stream)
{
    if (!(p >= 0.0f && p < 1.0f)) {
        char sx[64];
        ak_ctx_fail(ctx, "%s: expected p in [0, 1), got %g for x %s", op, (double)p, ak_shape_str(x, sx, sizeof sx));
        return 0;
    }
    *stream = dropout_stream(ctx->step, ctx->dropout_calls++);
    return 1;
}

/* ---- relu_dropout: Drop(relu(x)) in one pass ---------------------------- */

/* y = keep * max(x, 0) / (1 - p). y > 0 exactly when the element was kept
 * and x > 0, so nothing but y is needed:
 *   dx += [y > 0] * dy / (1 - p)
 * (bitwise what relu's and dropout's backward give one after the other:
 * 0 + dy * scale, then added where x > 0). */
static void relu_dropout_backward(ak_ctx *ctx, ak_node *n)
{
    float *gx = ak_grad(ctx, n->in[0]);
    const float *y = n->out->data, *dy = n->out->grad;
    float scale = n->farg[0];
    int64_t m = n->out->size;
#pragma omp parallel for simd schedule(static) if (m >= AK_PAR_MIN)
    for (int64_t i = 0; i < m; i++)
        gx[i] += y[i] > 0.0f ? dy[i] * scale : 0.0f;
}

ak_tensor *ak_relu_dropout(ak_ctx *ctx, ak_tensor *x, float p)
{
    if (!x)
        return NULL;
    uint64_t stream;
    if (!take_call(ctx, "relu_dropout", x, p, &stream))
        return NULL;
    if (!ctx->training || p == 0.0f)
        return ak_relu(ctx, x);
    ak_tensor *y = ak_tensor_new(ctx, x->ndim, x->shape);
    if (!y)
        return NULL;
    uint64_t seed = ctx->seed;
    float scale = 1.0f / (1.0f - p);
    const float *px = x->data;
    float *py = y->data;
    int64_t m = x->size, nw = (m + 63) / 64;
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
    for (int64_t w = 0; w < nw; w++) {
        uint64_t bits = keep_word(seed, stream, w, p);
        int64_t i0 = w * 64, n = m - i0 < 64 ? m - i0 : 64;
        for (int64_t j = 0; j < n; j++) {
            float v = px[i0 + j];
            v = v > 0.0f ? v : 0.0f;
            py[i0 + j] = bits >> j & 1 ? v * scale : 0.0f;
        }
    }
    ak_node *node = ak_tape_record(ctx, y, "relu_dropout", relu_dropout_backward, 1, &x);
    if (node)
        node->farg[0] = scale;
    return y;
}

ak_tensor *ak_dropout(ak_ctx *ctx, ak_tensor *x, float p)
{
    if (!x)
        return NULL;
    if (!(p >= 0.0f && p < 1.0f)) {
        char sx[64];
        return ak_ctx_fail(ctx, "dropout: expected p in [0, 1), got %g for x %s", (double)p,
                           ak_shape_str(x, sx, sizeof sx));
    }
    uint64_t call = ctx->dropout_calls++;
    if (!ctx->training || p == 0.0f)
        return x;
    ak_tensor *y = ak_tensor_new(ctx, x->ndim, x->shape);
    int64_t m = x->size, nw = (m + 63) / 64;
    uint64_t *keep = ak_arena_alloc(&ctx->arena, sizeof(uint64_t) * (size_t)(nw ? nw : 1));
    drop_saved *sv = ak_arena_alloc(&ctx->arena, sizeof *sv);
    if (!y)
        return NULL;
    if (!keep || !sv)
        return ak_ctx_fail(ctx, "dropout: out of memory for a mask of %lld elements", (long long)m);
    uint64_t seed = ctx->seed, stream = dropout_stream(ctx->step, call);
    float scale = 1.0f / (1.0f - p);
    /* One word of the mask (64 elements, 16 Philox blocks) per iteration. */
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
    for (int64_t w = 0; w < nw; w++) {
        int64_t i0 = w * 64, n = m - i0 < 64 ? m - i0 : 64;
        uint64_t bits = keep_word(seed, stream, w, p);
        if (n < 64)
            bits &= (UINT64_C(1) << n) - 1; /* no bits past the end */
        for (int64_t j = 0; j < n; j++)
            y->data[i0 + j] = bits >> j & 1 ? x->data[i0 + j] * scale : 0.0f;
        keep[w] = bits;
    }
    sv->keep = keep;
    sv->scale = scale;
    ak_node *node = ak_tape_record(ctx, y, "dropout", dropout_backward, 1, &x);
    if (node)
        node->saved = sv;
    return y;
}

/* ---- residual_dropout: x + Drop(f) in one pass -------------------------- */

/* y = x + keep * f / (1 - p):
 *   dx += dy
 *   df += keep * (0 + dy) / (1 - p)
 * (bitwise ak_add's backward into a fresh buffer for Drop(f), then
 * dropout's backward from it). */
static void residual_dropout_backward(ak_ctx *ctx, ak_node *n)
{
    float *gx = ak_grad(ctx, n->in[0]), *gf = ak_grad(ctx, n->in[1]);
    const drop_saved *sv = n->saved;
    const float *dy = n->out->grad;
    float scale = sv->scale;
    int64_t m = n->out->size, nw = (m + 63) / 64;
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
    for (int64_t w = 0; w < nw; w++) {
        int64_t i0 = w * 64, k = m - i0 < 64 ? m - i0 : 64;
        uint64_t bits = sv->keep[w];
        if (gx)
            for (int64_t j = 0; j < k; j++)
                gx[i0 + j] += dy[i0 + j];
        if (gf)
            for (int64_t j = 0; j < k; j++)
                gf[i0 + j] += bits >> j & 1 ? (0.0f + dy[i0 + j]) * scale : 0.0f;
    }
}

ak_tensor *ak_residual_dropout(ak_ctx *ctx, ak_tensor *x, ak_tensor *f, float p)
{
    if (!x || !f)
        return NULL;
    if (!ak_same_shape(x, f)) {
        char sx[64], sf[64];
        return ak_ctx_fail(ctx, "residual_dropout: expected x and f of the same shape, got x %s and f %s",
                           ak_shape_str(x, sx, sizeof sx), ak_shape_str(f, sf, sizeof sf));
    }
    uint64_t stream;
    if (!take_call(ctx, "residual_dropout", f, p, &stream))
        return NULL;
    if (!ctx->training || p == 0.0f)
        return ak_add(ctx, x, f);
    ak_tensor *y = ak_tensor_new(ctx, x->ndim, x->shape);
    int64_t m = x->size, nw = (m + 63) / 64;
    uint64_t *keep = ak_arena_alloc(&ctx->arena, sizeof(uint64_t) * (size_t)(nw ? nw : 1));
    drop_saved *sv = ak_arena_alloc(&ctx->arena, sizeof *sv);
    if (!y)
        return NULL;
    if (!keep || !sv)
        return ak_ctx_fail(ctx, "residual_dropout: out of memory for a mask of %lld elements", (long long)m);
    uint64_t seed = ctx->seed;
    float scale = 1.0f / (1.0f - p);
    const float *px = x->data, *pf = f->data;
    float *py = y->data;
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
    for (int64_t w = 0; w < nw; w++) {
        int64_t i0 = w * 64, n = m - i0 < 64 ? m - i0 : 64;
        uint64_t bits = keep_word(seed, stream, w, p);
        if (n < 64)
            bits &= (UINT64_C(1) << n) - 1;
        for (int64_t j = 0; j < n; j++)
            py[i0 + j] = px[i0 + j] + (bits >> j & 1 ? pf[i0 + j] * scale : 0.0f);
        keep[w] = bits;
    }
    sv->keep = keep;
    sv->scale = scale;
    ak_tensor *in[2] = {x, f};
    ak_node *node = ak_tape_record(ctx, y, "residual_dropout", residual_dropout_backward, 2, in);
    if (node)
        node->saved = sv;
    return y;
}
