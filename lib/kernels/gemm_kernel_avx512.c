/* AVX-512F micro-kernel: a 12 x 32 tile of C held in 24 zmm accumulators.
 *
 * Per k it loads two 16-float vectors of the B panel and broadcasts 12 values
 * of the A panel: 24 FMAs against 14 loads, and 24 + 2 + broadcast registers
 * fit the 32 zmm registers without spilling. 24 independent accumulators
 * cover the FMA latency x throughput product (4 cycles x 2 pipes) three times
 * over. Edge tiles use the same arithmetic with masked loads/stores, so the
 * kernel never touches C outside the m x n corner.
 *
 * Compiled with a target attribute, so the file builds in the default
 * (-O2, no -march) x86-64 build and is only called after a CPU check. */
#include "kernels/gemm_internal.h"

#if defined(AK_GEMM_X86)
#include <immintrin.h>

enum { MR = 12, NR = 32 };

#define AK_AVX512 __attribute__((target("avx512f")))

AK_AVX512 static void kernel_avx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                                    float beta, int m, int n)
{
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++)
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();

    for (int64_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b);
        __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            __m512 ar = _mm512_set1_ps(a[r]);
            acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
        }
        a += MR;
        b += NR;
    }

    /* Columns n.. of the tile are padding: masked out of loads and stores. */
    __mmask16 m0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
    __mmask16 m1 = n >= 32 ? (__mmask16)0xFFFF : n > 16 ? (__mmask16)((1u << (n - 16)) - 1) : (__mmask16)0;
    __m512 va = _mm512_set1_ps(alpha);
    __m512 vb = _mm512_set1_ps(beta);
    /* beta == 0: C is not read (it may hold NaN); beta == 1 saves a multiply
     * on the K blocks after the first. The row loop is unrolled so that acc
     * is indexed by constants and stays in registers. */
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        if (r < m) {
            float *cr = c + r * ldc;
            __m512 x0 = _mm512_mul_ps(va, acc[r][0]);
            __m512 x1 = _mm512_mul_ps(va, acc[r][1]);
            if (beta != 0.0f) {
                __m512 c0 = _mm512_maskz_loadu_ps(m0, cr);
                __m512 c1 = _mm512_maskz_loadu_ps(m1, cr + 16);
                if (beta != 1.0f) {
                    c0 = _mm512_mul_ps(vb, c0);
                    c1 = _mm512_mul_ps(vb, c1);
                }
                x0 = _mm512_add_ps(x0, c0);
                x1 = _mm512_add_ps(x1, c1);
            }
            _mm512_mask_storeu_ps(cr, m0, x0);
            _mm512_mask_storeu_ps(cr + 16, m1, x1);
        }
    }
}

static void pack_a(int ta, const float *A, int64_t lda, int64_t i0, int m, int64_t k0, int64_t kc, float *dst)
{
    ak_gemm_pack_a_avx512(ta, A, lda, i0, m, k0, kc, MR, dst);
}

static void pack_b(int tb, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int n, float *dst)
{
    ak_gemm_pack_b_avx512(tb, B, ldb, k0, kc, j0, n, NR, dst);
}

static int supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* Blocking: a task's A block (mc x kc = 96 x 256 floats, 96 KiB) stays in
 * L2 while one B micro-panel (kc x 32 = 32 KiB) sits in L1 across the mc/12
 * kernels that reuse it. */
const ak_gemm_isa_desc ak_gemm_isa_avx512 = {
    .name = "avx512",
    .supported = supported,
    .mr = MR,
    .nr = NR,
    .mc = 96,
    .kc = 256,
    .nc = 8192,
    .mcc = 96 * 64,
    .tn = 16 * NR,
    .kernel = kernel_avx512,
    .pack_a = pack_a,
    .pack_b = pack_b,
};

#else
typedef int ak_gemm_avx512_unused; /* ISO C forbids an empty file */
#endif
