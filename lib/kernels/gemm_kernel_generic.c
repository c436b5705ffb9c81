/* Portable micro-kernel (4 x 16 tile): the only path off x86, and a
 * reference path on x86 (AK_GEMM_ISA=generic). Plain C the compiler may
 * vectorize; under -std=c11 GCC does not contract a*b+c into FMA, so every
 * element sees the same multiply-then-add sequence. */
#include "kernels/gemm_internal.h"

enum { MR = 4, NR = 16 };

static void kernel_generic(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float alpha, float beta,
                           int m, int n)
{
    float acc[MR][NR] = {{0}};
    for (int64_t k = 0; k < kc; k++) {
        const float *ak = a + k * MR;
        const float *bk = b + k * NR;
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NR; j++)
                acc[r][j] += ak[r] * bk[j];
    }
    for (int r = 0; r < m; r++) {
        float *cr = c + r * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < n; j++)
                cr[j] = alpha * acc[r][j];
        else
            for (int j = 0; j < n; j++)
                cr[j] = alpha * acc[r][j] + beta * cr[j];
    }
}

static void pack_a(int ta, const float *A, int64_t lda, int64_t i0, int m, int64_t k0, int64_t kc, float *dst)
{
    ak_gemm_pack_a_any(ta, A, lda, i0, m, k0, kc, MR, dst);
}

static void pack_b(int tb, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int n, float *dst)
{
    ak_gemm_pack_b_any(tb, B, ldb, k0, kc, j0, n, NR, dst);
}

static int always(void)
{
    return 1;
}

const ak_gemm_isa_desc ak_gemm_isa_generic = {
    .name = "generic",
    .supported = always,
    .mr = MR,
    .nr = NR,
    .mc = 64,
    .kc = 256,
    .nc = 8192,
    .mcc = 64 * 64,
    .tn = 16 * NR,
    .kernel = kernel_generic,
    .pack_a = pack_a,
    .pack_b = pack_b,
};
