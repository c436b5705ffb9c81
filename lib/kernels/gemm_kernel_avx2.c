/* AVX2 + FMA micro-kernel: a 6 x 16 tile of C in 12 ymm accumulators.
 *
 * Per k: two 8-float loads of the B panel, 6 broadcasts of the A panel, 12
 * FMAs; 12 + 2 + 1 registers of the 16 ymm. 12 independent accumulators
 * cover the FMA latency x throughput product (4 x 2 = 8). Edge tiles use the
 * same arithmetic with masked loads/stores (vmaskmov never faults on
 * masked-out lanes), so C outside the m x n corner is never touched.
 *
 * Compiled with a target attribute, so it builds in the default x86-64 build
 * and is only called after a CPU check. */
#include "kernels/gemm_internal.h"

#if defined(AK_GEMM_X86)
#include <immintrin.h>

enum { MR = 6, NR = 16 };

#define AK_AVX2 __attribute__((target("avx2,fma")))

/* Lane mask with the first `n` (clamped to 0..8) lanes set. */
AK_AVX2 static __m256i lanes(int n)
{
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AK_AVX2 static void kernel_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                                float beta, int m, int n)
{
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_ps();

    for (int64_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b);
        __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            __m256 ar = _mm256_broadcast_ss(a + r);
            acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
        }
        a += MR;
        b += NR;
    }

    __m256i m0 = lanes(n), m1 = lanes(n - 8);
    __m256 va = _mm256_set1_ps(alpha);
    __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        if (r < m) {
            float *cr = c + r * ldc;
            __m256 x0 = _mm256_mul_ps(va, acc[r][0]);
            __m256 x1 = _mm256_mul_ps(va, acc[r][1]);
            if (beta != 0.0f) { /* beta == 0: C is not read */
                __m256 c0 = _mm256_maskload_ps(cr, m0);
                __m256 c1 = _mm256_maskload_ps(cr + 8, m1);
                if (beta != 1.0f) {
                    c0 = _mm256_mul_ps(vb, c0);
                    c1 = _mm256_mul_ps(vb, c1);
                }
                x0 = _mm256_add_ps(x0, c0);
                x1 = _mm256_add_ps(x1, c1);
            }
            _mm256_maskstore_ps(cr, m0, x0);
            _mm256_maskstore_ps(cr + 8, m1, x1);
        }
    }
}

static void pack_a(int ta, const float *A, int64_t lda, int64_t i0, int m, int64_t k0, int64_t kc, float *dst)
{
    ak_gemm_pack_a_avx2(ta, A, lda, i0, m, k0, kc, MR, dst);
}

static void pack_b(int tb, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int n, float *dst)
{
    ak_gemm_pack_b_avx2(tb, B, ldb, k0, kc, j0, n, NR, dst);
}

static int supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* Blocking: A block 96 x 256 floats (96 KiB) in L2, B micro-panel
 * 256 x 16 floats (16 KiB) in L1. */
const ak_gemm_isa_desc ak_gemm_isa_avx2 = {
    .name = "avx2",
    .supported = supported,
    .mr = MR,
    .nr = NR,
    .mc = 96,
    .kc = 256,
    .nc = 8192,
    .mcc = 96 * 64,
    .tn = 32 * NR,
    .kernel = kernel_avx2,
    .pack_a = pack_a,
    .pack_b = pack_b,
};

#else
typedef int ak_gemm_avx2_unused; /* ISO C forbids an empty file */
#endif
