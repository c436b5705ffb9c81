/* AVX2 packing for the avx2 path (same layouts as gemm_pack.c): the
 * transposing gathers go through 8 x 8 in-register transposes, the
 * contiguous copies through masked loads/stores that also write the zero
 * padding. Same reason as gemm_pack_avx512.c: the scalar gather costs about
 * a cycle per element, a visible share of the small products. */
#include "kernels/gemm_internal.h"

#if defined(AK_GEMM_X86)
#include <immintrin.h>

#define AK_AVX2 __attribute__((target("avx2")))

/* Lane mask with the first n (clamped to 0..8) lanes set. */
AK_AVX2 static __m256i first_lanes(int64_t n)
{
    int c = n < 0 ? 0 : n > 8 ? 8 : (int)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* In-place transpose of the 8 x 8 block r[0..7] (row i = r[i]). */
AK_AVX2 static void transpose8(__m256 r[8])
{
    __m256 t[8], s[8];
#pragma GCC unroll 4
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 2
    for (int i = 0; i < 8; i += 4) {
        s[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
    }
}

/* dst[k*w + r] = src[r*ld + k] for r < m, 0 for m <= r < w (w <= 16). */
AK_AVX2 static void gather_avx2(const float *src, int64_t ld, int m, int64_t kc, int w, float *dst)
{
    for (int g = 0; g < w; g += 8) { /* groups of 8 destination lanes */
        __m256i store = first_lanes(w - g);
        int rows = m - g < 0 ? 0 : m - g > 8 ? 8 : m - g;
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8) {
            __m256 r[8];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                r[i] = i < rows ? _mm256_loadu_ps(src + (g + i) * ld + k) : _mm256_setzero_ps();
            transpose8(r);
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                _mm256_maskstore_ps(dst + (k + i) * w + g, store, r[i]);
        }
        for (; k < kc; k++) /* tail: fewer than 8 values of k */
            for (int i = 0; i < 8 && g + i < w; i++)
                dst[k * w + g + i] = i < rows ? src[(g + i) * ld + k] : 0.0f;
    }
}

/* dst[k*w + r] = src[k*ld + r] for r < m, 0 for m <= r < w (w <= 16). */
AK_AVX2 static void copy_avx2(const float *src, int64_t ld, int m, int64_t kc, int w, float *dst)
{
    __m256i load0 = first_lanes(m), load1 = first_lanes(m - 8);
    __m256i store0 = first_lanes(w), store1 = first_lanes(w - 8);
    for (int64_t k = 0; k < kc; k++) {
        const float *s = src + k * ld;
        float *d = dst + k * w;
        _mm256_maskstore_ps(d, store0, _mm256_maskload_ps(s, load0));
        if (w > 8)
            _mm256_maskstore_ps(d + 8, store1, _mm256_maskload_ps(s + 8, load1));
    }
}

void ak_gemm_pack_a_avx2(int ta, const float *A, int64_t lda, int64_t i0, int m, int64_t k0, int64_t kc, int mr,
                         float *dst)
{
    if (!ta)
        gather_avx2(A + i0 * lda + k0, lda, m, kc, mr, dst);
    else
        copy_avx2(A + k0 * lda + i0, lda, m, kc, mr, dst);
}

void ak_gemm_pack_b_avx2(int tb, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int n, int nr,
                         float *dst)
{
    if (!tb)
        copy_avx2(B + k0 * ldb + j0, ldb, n, kc, nr, dst);
    else
        gather_avx2(B + j0 * ldb + k0, ldb, n, kc, nr, dst);
}

#else
typedef int ak_gemm_pack_avx2_unused; /* ISO C forbids an empty file */
#endif
