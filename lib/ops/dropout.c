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

/* Vector clones. The library is built for generic x86-64 (SSE2); the
 * element loops below are compiled twice, for AVX-512 and the default, and
 * the loader picks one (target_clones). Every clone is a loop over a range of
 * whole mask words or elements, called once per fixed chunk of a parallel
 * loop; the helpers they call are static inline so that they are compiled
 * inside each clone with its instruction set. The per-element arithmetic is
 * the same in every clone (one multiply, one select), so the bits are too. */
#define AK_VCLONE __attribute__((target_clones("avx512f", "default")))

/* Mask words per chunk of the parallel loops: 64 words = 4096 elements. */
#define DROP_CHUNK_WORDS 64

/* Philox4x32-10 (core/rng.c's ak_philox, the same bits) of the 16 blocks
 * first .. first + 15, lane by lane so that it vectorizes: in the AVX-512
 * clones all 16 at once (vpmuludq). */
static inline void philox16(uint64_t seed, uint64_t stream, uint64_t first, uint32_t out[4][16])
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
static inline uint64_t keep_word(uint64_t seed, uint64_t stream, int64_t w, float p)
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

/* ---- element loops (vector clones) -------------------------------------- */

/* Element j of a full mask word is kept when bit j is set. The loops run
 * over the word's two 32-bit halves so that the bit test is a per-lane shift
 * and the choice a select (a masked blend in the AVX-512 clone), no branch on
 * the random bit. A last partial word takes the scalar loop (same
 * expressions). */
#define WORD_LOOP(bits, i0, n, BODY)                                                                                   \
    do {                                                                                                               \
        if ((n) == 64) {                                                                                               \
            for (int h = 0; h < 2; h++) {                                                                              \
                const uint32_t b_ = (uint32_t)((bits) >> (32 * h));                                                    \
                const int64_t o_ = (i0) + 32 * h;                                                                      \
                _Pragma("omp simd") for (int j_ = 0; j_ < 32; j_++)                                                    \
                {                                                                                                      \
                    const int64_t i = o_ + j_;                                                                         \
                    const int kept = (int)(b_ >> j_ & 1u);                                                             \
                    BODY;                                                                                              \
                }                                                                                                      \
            }                                                                                                          \
        } else {                                                                                                       \
            for (int64_t j_ = 0; j_ < (n); j_++) {                                                                     \
                const int64_t i = (i0) + j_;                                                                           \
                const int kept = (int)((bits) >> j_ & 1u);                                                             \
                BODY;                                                                                                  \
            }                                                                                                          \
        }                                                                                                              \
    } while (0)

/* Forward of the three ops over mask words [w0, w1) of m elements; keep
 * (when not NULL) receives the words (bits past m cleared). */
enum { FWD_DROP, FWD_RELU_DROP, FWD_RESIDUAL };

AK_VCLONE static void drop_forward_words(int kind, uint64_t seed, uint64_t stream, float p, float scale,
                                         const float *restrict x, const float *restrict f, float *restrict y,
                                         uint64_t *restrict keep, int64_t w0, int64_t w1, int64_t m)
{
    for (int64_t w = w0; w < w1; w++) {
        int64_t i0 = w * 64, n = m - i0 < 64 ? m - i0 : 64;
        uint64_t bits = keep_word(seed, stream, w, p);
        if (n < 64)
            bits &= (UINT64_C(1) << n) - 1; /* no bits past the end */
        if (keep)
            keep[w] = bits;
        switch (kind) {
        case FWD_DROP: /* y = keep * x / (1 - p) */
            WORD_LOOP(bits, i0, n, y[i] = kept ? x[i] * scale : 0.0f);
            break;
        case FWD_RELU_DROP: /* y = keep * max(x, 0) / (1 - p) */
            WORD_LOOP(bits, i0, n, {
                float v = x[i];
                v = v > 0.0f ? v : 0.0f;
                y[i] = kept ? v * scale : 0.0f;
            });
            break;
        default: /* y = x + keep * f / (1 - p) */
            WORD_LOOP(bits, i0, n, y[i] = x[i] + (kept ? f[i] * scale : 0.0f));
            break;
        }
    }
}

/* Runs drop_forward_words over all words of m elements in fixed chunks of
 * DROP_CHUNK_WORDS (elementwise, so the split does not change any bit). */
static void drop_forward(int kind, uint64_t seed, uint64_t stream, float p, float scale, const float *x, const float *f,
                         float *y, uint64_t *keep, int64_t m)
{
    int64_t nw = (m + 63) / 64, nc = (nw + DROP_CHUNK_WORDS - 1) / DROP_CHUNK_WORDS;
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
    for (int64_t c = 0; c < nc; c++) {
        int64_t w0 = c * DROP_CHUNK_WORDS, w1 = w0 + DROP_CHUNK_WORDS < nw ? w0 + DROP_CHUNK_WORDS : nw;
        drop_forward_words(kind, seed, stream, p, scale, x, f, y, keep, w0, w1, m);
    }
}

/* y = x * keep / (1 - p):  dx += dy * keep / (1 - p), over words [w0, w1).
 * A dropped element's gradient is left as it was (not += 0: -0 stays -0). */
AK_VCLONE static void dropout_backward_words(const uint64_t *restrict keep, float scale, const float *restrict dy,
                                             float *restrict gx, int64_t w0, int64_t w1, int64_t m)
{
    for (int64_t w = w0; w < w1; w++) {
        int64_t i0 = w * 64, n = m - i0 < 64 ? m - i0 : 64;
        uint64_t bits = keep[w];
        WORD_LOOP(bits, i0, n, gx[i] = kept ? gx[i] + dy[i] * scale : gx[i]);
    }
}

/* y = x + keep * f / (1 - p):
 *   dx += dy
 *   df += keep * (0 + dy) / (1 - p)
 * over words [w0, w1) (bitwise ak_add's backward into a fresh buffer for
 * Drop(f), then dropout's backward from it). gx and gf are the same buffer
 * when x and f are the same tensor, so they are not restrict: each loop
 * touches one of them. */
AK_VCLONE static void residual_backward_words(const uint64_t *restrict keep, float scale, const float *restrict dy,
                                              float *gx, float *gf, int64_t w0, int64_t w1, int64_t m)
{
    for (int64_t w = w0; w < w1; w++) {
        int64_t i0 = w * 64, n = m - i0 < 64 ? m - i0 : 64;
        uint64_t bits = keep[w];
        if (gx) {
#pragma omp simd
            for (int64_t i = i0; i < i0 + n; i++)
                gx[i] += dy[i];
        }
        if (gf)
            WORD_LOOP(bits, i0, n, gf[i] += kept ? (0.0f + dy[i]) * scale : 0.0f);
    }
}

/* y = keep * max(x, 0) / (1 - p). y > 0 exactly when the element was kept
 * and x > 0, so nothing but y is needed:
 *   dx += [y > 0] * dy / (1 - p)
 * over elements [i0, i1) (bitwise what relu's and dropout's backward give
 * one after the other: 0 + dy * scale, then added where x > 0). */
AK_VCLONE static void relu_dropout_backward_range(const float *restrict y, const float *restrict dy, float scale,
                                                  float *restrict gx, int64_t i0, int64_t i1)
{
#pragma omp simd
    for (int64_t i = i0; i < i1; i++)
        gx[i] += y[i] > 0.0f ? dy[i] * scale : 0.0f;
}

/* Backward of dropout / residual_dropout over all words in fixed chunks. */
static void masked_backward(const drop_saved *sv, const float *dy, float *gx, float *gf, int residual, int64_t m)
{
    int64_t nw = (m + 63) / 64, nc = (nw + DROP_CHUNK_WORDS - 1) / DROP_CHUNK_WORDS;
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
    for (int64_t c = 0; c < nc; c++) {
        int64_t w0 = c * DROP_CHUNK_WORDS, w1 = w0 + DROP_CHUNK_WORDS < nw ? w0 + DROP_CHUNK_WORDS : nw;
        if (residual)
            residual_backward_words(sv->keep, sv->scale, dy, gx, gf, w0, w1, m);
        else
            dropout_backward_words(sv->keep, sv->scale, dy, gx, w0, w1, m);
    }
}

static void dropout_backward(ak_ctx *ctx, ak_node *n)
{
    float *gx = ak_grad(ctx, n->in[0]);
    if (gx)
        masked_backward(n->saved, n->out->grad, gx, NULL, 0, n->out->size);
}

static void residual_dropout_backward(ak_ctx *ctx, ak_node *n)
{
    float *gx = ak_grad(ctx, n->in[0]), *gf = ak_grad(ctx, n->in[1]);
    if (gx || gf)
        masked_backward(n->saved, n->out->grad, gx, gf, 1, n->out->size);
}

static void relu_dropout_backward(ak_ctx *ctx, ak_node *n)
{
    float *gx = ak_grad(ctx, n->in[0]);
    const float *y = n->out->data, *dy = n->out->grad;
    float scale = n->farg[0];
    int64_t m = n->out->size, ch = DROP_CHUNK_WORDS * 64, nc = (m + ch - 1) / ch;
    if (!gx)
        return;
#pragma omp parallel for schedule(static) if (m >= AK_PAR_MIN)
    for (int64_t c = 0; c < nc; c++)
        relu_dropout_backward_range(y, dy, scale, gx, c * ch, c * ch + ch < m ? c * ch + ch : m);
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
    drop_forward(FWD_RELU_DROP, seed, stream, p, scale, px, NULL, py, NULL, x->size);
    ak_node *node = ak_tape_record(ctx, y, "relu_dropout", relu_dropout_backward, 1, &x);
    if (node) {
        node->farg[0] = scale;
        node->reads = AK_READS_OUT;
    }
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
    drop_forward(FWD_DROP, seed, stream, p, scale, x->data, NULL, y->data, keep, m);
    sv->keep = keep;
    sv->scale = scale;
    ak_node *node = ak_tape_record(ctx, y, "dropout", dropout_backward, 1, &x);
    if (node) {
        node->saved = sv;
        node->reads = AK_READS_NONE; /* the mask only */
    }
    return y;
}

/* ---- residual_dropout: x + Drop(f) in one pass -------------------------- */

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
    drop_forward(FWD_RESIDUAL, seed, stream, p, scale, px, pf, py, keep, m);
    sv->keep = keep;
    sv->scale = scale;
    ak_tensor *in[2] = {x, f};
    ak_node *node = ak_tape_record(ctx, y, "residual_dropout", residual_dropout_backward, 2, in);
    if (node) {
        node->saved = sv;
        node->reads = AK_READS_NONE; /* the mask only */
    }
    return y;
}
