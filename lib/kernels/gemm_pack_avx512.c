/* AVX-512 packing for the avx512 path (same layouts as gemm_pack.c).
 *
 * Why: at the small shapes of our models (e.g. 384 x 128 x 128) the scalar
 * gather that transposes A (NN) or B (NT) into k-major panels costs about
 * one cycle per element, a fifth of the whole product. Here 16 x 16 blocks
 * are transposed in registers (3 shuffle stages) and stored with lane masks,
 * and the contiguous case is a masked copy (the mask also writes the zero
 * padding), so packing drops to a small fraction of a cycle per element. */
#include "kernels/gemm_internal.h"

#if defined(AK_GEMM_X86)
#include <immintrin.h>

#define AK_AVX512 __attribute__((target("avx512f")))

AK_AVX512 static __mmask16 first_lanes(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* In-place transpose of the 16 x 16 block r[0..15] (row i = r[i]). */
AK_AVX512 static void transpose16(__m512 r[16])
{
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 16; i += 2) { /* interleave pairs of rows */
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 16; i += 4) { /* 4 x 4 blocks within 128-bit lanes */
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) { /* move 128-bit lanes across rows */
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD);
    }
}

/* dst[k*w + r] = src[r*ld + k] for r < m, 0 for m <= r < w (w <= 32). */
AK_AVX512 static void gather_avx512(const float *src, int64_t ld, int m, int64_t kc, int w, float *dst)
{
    for (int g = 0; g < w; g += 16) { /* groups of 16 destination lanes */
        __mmask16 store = first_lanes(w - g);
        int rows = m - g < 0 ? 0 : m - g > 16 ? 16 : m - g;
        int64_t k = 0;
        for (; k + 16 <= kc; k += 16) {
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                r[i] = i < rows ? _mm512_loadu_ps(src + (g + i) * ld + k) : _mm512_setzero_ps();
            transpose16(r);
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                _mm512_mask_storeu_ps(dst + (k + i) * w + g, store, r[i]);
        }
        for (; k < kc; k++) /* tail: fewer than 16 values of k */
            for (int i = 0; i < 16 && g + i < w; i++)
                dst[k * w + g + i] = i < rows ? src[(g + i) * ld + k] : 0.0f;
    }
}

/* dst[k*w + r] = src[k*ld + r] for r < m, 0 for m <= r < w (w <= 32). */
AK_AVX512 static void copy_avx512(const float *src, int64_t ld, int m, int64_t kc, int w, float *dst)
{
    __mmask16 load0 = first_lanes(m), load1 = first_lanes(m - 16);
    __mmask16 store0 = first_lanes(w), store1 = first_lanes(w - 16);
    for (int64_t k = 0; k < kc; k++) {
        const float *s = src + k * ld;
        float *d = dst + k * w;
        _mm512_mask_storeu_ps(d, store0, _mm512_maskz_loadu_ps(load0, s));
        if (w > 16)
            _mm512_mask_storeu_ps(d + 16, store1, _mm512_maskz_loadu_ps(load1, s + 16));
    }
}

void ak_gemm_pack_a_avx512(int ta, const float *A, int64_t lda, int64_t i0, int m, int64_t k0, int64_t kc, int mr,
                           float *dst)
{
    if (!ta)
        gather_avx512(A + i0 * lda + k0, lda, m, kc, mr, dst);
    else
        copy_avx512(A + k0 * lda + i0, lda, m, kc, mr, dst);
}

void ak_gemm_pack_b_avx512(int tb, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int n, int nr,
                           float *dst)
{
    if (!tb)
        copy_avx512(B + k0 * ldb + j0, ldb, n, kc, nr, dst);
    else
        gather_avx512(B + j0 * ldb + k0, ldb, n, kc, nr, dst);
}

#else
typedef int ak_gemm_pack_avx512_unused; /* ISO C forbids an empty file */
#endif
