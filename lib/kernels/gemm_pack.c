/* Portable packing of A and B panels into the k-major layouts of
 * gemm_internal.h. The transposes of op(A) / op(B) are absorbed here: the
 * micro-kernels only ever see packed panels.
 *
 * Two cases per operand: the panel's MR (or NR) values for one k are either
 * contiguous in memory (copy a row) or strided (gather one value from each of
 * MR rows). The gathers read every source row sequentially, so each of the
 * MR streams is prefetchable, and write the panel, which stays in L1. */
#include "kernels/gemm_internal.h"

#include <string.h>

/* dst[k*w + r] = src[r*ld + k] for r < m, zero for m <= r < w. */
static void gather(const float *src, int64_t ld, int m, int64_t kc, int w, float *dst)
{
    for (int64_t k = 0; k < kc; k++) {
        float *d = dst + k * w;
        const float *s = src + k;
        for (int r = 0; r < m; r++)
            d[r] = s[r * ld];
        for (int r = m; r < w; r++)
            d[r] = 0.0f;
    }
}

/* dst[k*w + r] = src[k*ld + r] for r < m, zero for m <= r < w. */
static void copy_rows(const float *src, int64_t ld, int m, int64_t kc, int w, float *dst)
{
    for (int64_t k = 0; k < kc; k++) {
        float *d = dst + k * w;
        memcpy(d, src + k * ld, (size_t)m * sizeof(float));
        for (int r = m; r < w; r++)
            d[r] = 0.0f;
    }
}

void ak_gemm_pack_a_any(int ta, const float *A, int64_t lda, int64_t i0, int m, int64_t k0, int64_t kc, int mr,
                        float *dst)
{
    if (!ta) /* op(A)[i][k] = A[i*lda + k]: rows of A, gathered */
        gather(A + i0 * lda + k0, lda, m, kc, mr, dst);
    else /* op(A)[i][k] = A[k*lda + i]: contiguous along i */
        copy_rows(A + k0 * lda + i0, lda, m, kc, mr, dst);
}

void ak_gemm_pack_b_any(int tb, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int n, int nr,
                        float *dst)
{
    if (!tb) /* op(B)[k][j] = B[k*ldb + j]: contiguous along j */
        copy_rows(B + k0 * ldb + j0, ldb, n, kc, nr, dst);
    else /* op(B)[k][j] = B[j*ldb + k]: rows of B, gathered */
        gather(B + j0 * ldb + k0, ldb, n, kc, nr, dst);
}
