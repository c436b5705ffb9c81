/* Small strided products for per-head attention: C[M,N] (+)= A[M,K] B[K,N]
 * where A and B are read in place through arbitrary strides.
 *
 * ak_sgemm packs both operands into aligned panels and may fork threads,
 * which pays off from a few hundred rows up; an attention head's products
 * (12 x 12 x 32 at the t-tiny shape, 128 of them per call) are far below
 * that, and there the packing and the call overhead dominate. This kernel
 * reads the operands where they lie (one head's columns inside a [B, L, d]
 * activation, a transposed view of the keys), packs only a transposed B
 * (into a stack panel), and never forks: callers run it inside their own
 * parallel loops, one product per thread.
 *
 * Bits: each element of C is the same sequence of operations as in ak_sgemm
 * on its FMA paths (avx512, avx2): one fused multiply-add chain per block of
 * 256 values of k, starting from 0, k increasing, each block's sum added to
 * C (C = sum when beta == 0 for the first block). So results equal
 * ak_sgemm's bitwise there, and are the same for any thread count and on
 * every path of this kernel (AVX-512 intrinsics when ak_sgemm_isa() is
 * "avx512", otherwise a portable loop over fmaf). */
#ifndef AK_KERNELS_SGEMM_SMALL_H
#define AK_KERNELS_SGEMM_SMALL_H

#include <stdint.h>

/* C[i*ldc + j] = sum_k A[i*ars + k*acs] * B[k*brs + j*bcs] + beta * C[i*ldc + j]
 * for i < M, j < N, with beta 0 (C not read) or 1 (accumulate). Any strides
 * (B with bcs == 1 is read in place, otherwise packed); C must not overlap
 * A or B. K == 0 leaves C as beta says. Preconditions (assert): M, N, K >= 0,
 * beta is 0 or 1. */
void ak_sgemm_small(int64_t M, int64_t N, int64_t K, const float *A, int64_t ars, int64_t acs, const float *B,
                    int64_t brs, int64_t bcs, float beta, float *C, int64_t ldc);

#endif
