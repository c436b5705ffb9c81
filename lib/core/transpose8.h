/* An 8 x 8 float transpose for kernels that keep one row (or one chunk) per
 * vector lane: a reduction that must add each row's elements in index order
 * (a sequential chain, so as not to change the bits) can then still advance
 * eight rows' chains per vector instruction.
 *
 * Only for x86-64 with GCC or Clang (AK_HAVE_LOAD_T8 says so), and only to be
 * called from functions compiled for AVX-512 (target("avx512f")) on machines
 * that have it (__builtin_cpu_supports). */
#ifndef AK_CORE_TRANSPOSE8_H
#define AK_CORE_TRANSPOSE8_H

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdint.h>

#define AK_HAVE_LOAD_T8 1

/* c[t] = x[k * stride + t] for k = 0 .. 7 in lane k: the 8 x 8 block whose
 * row k starts at x + k * stride, transposed (unpack, shuffle, permute: 24
 * shuffles, nothing rounded). The loops are unrolled so that at -O2 the
 * vectors stay in registers. */
__attribute__((target("avx512f"))) static inline void ak_load_t8(const float *x, int64_t stride, __m256 c[8])
{
    __m256 t[8], s[8];
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++)
        c[k] = _mm256_loadu_ps(x + k * stride);
#pragma GCC unroll 8
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_ps(c[k], c[k + 1]);     /* a0 b0 a1 b1 | a4 b4 a5 b5 */
        t[k + 1] = _mm256_unpackhi_ps(c[k], c[k + 1]); /* a2 b2 a3 b3 | a6 b6 a7 b7 */
    }
#pragma GCC unroll 8
    for (int k = 0; k < 8; k += 4) {
        s[k] = _mm256_shuffle_ps(t[k], t[k + 2], 0x44);     /* a0 b0 c0 d0 | a4 b4 c4 d4 */
        s[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], 0xEE); /* column 1 | 5 */
        s[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0x44);
        s[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0xEE);
    }
#pragma GCC unroll 8
    for (int k = 0; k < 4; k++) {
        c[k] = _mm256_permute2f128_ps(s[k], s[k + 4], 0x20);
        c[k + 4] = _mm256_permute2f128_ps(s[k], s[k + 4], 0x31);
    }
}
#endif

#endif
