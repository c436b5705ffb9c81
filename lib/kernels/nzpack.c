/* Packing of mostly-zero float arrays (see nzpack.h). */
#include "kernels/nzpack.h"

#include "core/threads.h"

#include <omp.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define NZ_AVX512 1
#define NZ_TARGET __attribute__((target("avx512f")))
#endif

/* Most threads a packing splits over (ranges are gathered afterwards). */
#define NZ_MAX_THREADS 64

static int g_generic; /* ak_nz_force_generic */

void ak_nz_force_generic(int on)
{
    g_generic = on != 0;
}

static int use_vec(void)
{
#ifdef NZ_AVX512
    return !g_generic && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/* Elements of word w: 64, fewer in the last one. */
static inline int word_len(int64_t w, int64_t n)
{
    return n - w * 64 < 64 ? (int)(n - w * 64) : 64;
}

/* ---- portable loops -------------------------------------------------------- */

/* Packs words [w0, w1) of x into out (at or before x + 64 w0: each element
 * is read before anything is written over it); returns the values written. */
static int64_t pack_generic(float *x, int64_t n, uint64_t *mask, float *out, int64_t w0, int64_t w1)
{
    int64_t c = 0;
    for (int64_t w = w0; w < w1; w++) {
        const float *xw = x + w * 64;
        uint64_t bits = 0;
        for (int j = 0, m = word_len(w, n); j < m; j++) {
            uint32_t u;
            memcpy(&u, xw + j, sizeof u);
            if (u != 0) {
                bits |= (uint64_t)1 << j;
                out[c++] = xw[j];
            }
        }
        mask[w] = bits;
    }
    return c;
}

static void unpack_generic(const uint64_t *mask, const float *in, int64_t n, float *x, int64_t w0, int64_t w1)
{
    for (int64_t w = w0; w < w1; w++) {
        float *xw = x + w * 64;
        for (int j = 0, m = word_len(w, n); j < m; j++)
            xw[j] = mask[w] >> j & 1u ? *in++ : 0.0f;
    }
}

/* ---- AVX-512: 16 lanes at a time, compress / expand in registers ---------- */

#ifdef NZ_AVX512
/* Lanes of the q-th group of 16 in a word of m elements. */
static inline __mmask16 lanes(int m, int q)
{
    int k = m - 16 * q;
    return k >= 16 ? (__mmask16)0xFFFF : k <= 0 ? (__mmask16)0 : (__mmask16)((1u << k) - 1u);
}

/* As pack_generic; a group's store reaches at most the group it loaded. */
NZ_TARGET static int64_t pack_avx512(float *x, int64_t n, uint64_t *mask, float *out, int64_t w0, int64_t w1)
{
    int64_t c = 0;
    for (int64_t w = w0; w < w1; w++) {
        const float *xw = x + w * 64;
        int m = word_len(w, n);
        uint64_t bits = 0;
        for (int q = 0; q < 4; q++) {
            __m512i v = _mm512_maskz_loadu_epi32(lanes(m, q), xw + 16 * q);
            __mmask16 k = _mm512_test_epi32_mask(v, v);
            int kc = __builtin_popcount(k);
            _mm512_mask_storeu_epi32(out + c, (__mmask16)((1u << kc) - 1u), _mm512_maskz_compress_epi32(k, v));
            c += kc;
            bits |= (uint64_t)k << (16 * q);
        }
        mask[w] = bits;
    }
    return c;
}

NZ_TARGET static void unpack_avx512(const uint64_t *mask, const float *in, int64_t n, float *x, int64_t w0, int64_t w1)
{
    for (int64_t w = w0; w < w1; w++) {
        float *xw = x + w * 64;
        int m = word_len(w, n);
        for (int q = 0; q < 4; q++) {
            __mmask16 k = (__mmask16)(mask[w] >> (16 * q));
            int kc = __builtin_popcount(k);
            __m512 v = _mm512_maskz_loadu_ps((__mmask16)((1u << kc) - 1u), in);
            _mm512_mask_storeu_ps(xw + 16 * q, lanes(m, q), _mm512_maskz_expand_ps(k, v));
            in += kc;
        }
    }
}
#endif

/* ---- drivers ---------------------------------------------------------------- */

int64_t ak_nz_pack(float *x, int64_t n, uint64_t *mask)
{
    const int64_t nw = ak_nz_words(n);
    const int vec = use_vec();
    int64_t count[NZ_MAX_THREADS] = {0}, first[NZ_MAX_THREADS] = {0};
    int used = 1;
    /* Each thread packs its range to the range's own front; the ranges are
     * then moved down into place in order (each destination lies at or
     * before its source and after every range already placed). */
#pragma omp parallel if (n >= AK_PAR_MIN)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        if (nt > NZ_MAX_THREADS)
            nt = NZ_MAX_THREADS;
        if (t < nt) {
            int64_t w0 = nw * t / nt, w1 = nw * (t + 1) / nt;
            first[t] = w0 * 64;
#ifdef NZ_AVX512
            if (vec)
                count[t] = pack_avx512(x, n, mask, x + first[t], w0, w1);
            else
#endif
                count[t] = pack_generic(x, n, mask, x + first[t], w0, w1);
        }
        if (t == 0)
            used = nt;
    }
    (void)vec;
    int64_t total = count[0];
    for (int t = 1; t < used; t++) {
        if (count[t] && first[t] != total)
            memmove(x + total, x + first[t], sizeof(float) * (size_t)count[t]);
        total += count[t];
    }
    return total;
}

void ak_nz_unpack(const uint64_t *mask, const float *vals, int64_t n, float *x)
{
    const int64_t nw = ak_nz_words(n);
    const int vec = use_vec();
#pragma omp parallel if (n >= AK_PAR_MIN)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t w0 = nw * t / nt, w1 = nw * (t + 1) / nt, before = 0;
        for (int64_t w = 0; w < w0; w++)
            before += __builtin_popcountll(mask[w]);
#ifdef NZ_AVX512
        if (vec)
            unpack_avx512(mask, vals + before, n, x, w0, w1);
        else
#endif
            unpack_generic(mask, vals + before, n, x, w0, w1);
    }
    (void)vec;
}
