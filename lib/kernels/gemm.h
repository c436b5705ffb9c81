/* Single-precision GEMM: the one matrix-multiply kernel every op builds on.
 *
 * Row-major throughout. The implementation is cache-blocked (KC x NC panels
 * of op(B) and MC x KC blocks of op(A) are packed into contiguous, 64-byte
 * aligned buffers; the transposes are absorbed by the packing, never copied
 * separately) and runs a register-blocked micro-kernel chosen at run time:
 * "avx512" (12 x 32 tile), "avx2" (AVX2 + FMA, 6 x 16 tile) or "generic"
 * (portable C, 4 x 16 tile, the only path off x86).
 *
 * Determinism: results are bitwise identical for every OMP_NUM_THREADS. The
 * K blocks (256 values of k) and the micro-tile grid depend only on
 * (M, N, K) and the path, never on the number of threads; each element of C
 * is accumulated by one micro-kernel call per K block, one multiply-add
 * (FMA on the SIMD paths) per k in increasing k, the K blocks in increasing
 * order, and goes through the same arithmetic whichever tile or lane it
 * falls in. Threads only decide who computes a tile, not how. (Different
 * paths round differently: compare runs on the same path.)
 *
 * Threads: OpenMP over M x N tiles (and over the batch in ak_sgemm_batched
 * when the single products are too small to split). Called from inside an
 * active omp parallel region, it runs serially on the calling thread, so it is
 * safe to call from many threads at once. On an oversubscribed machine, two
 * threaded calls in a row that stall waiting for a descheduled thread make
 * the following calls serial for a window that grows from 5 ms to 500 ms
 * (and resets after a threaded call without a stall): this changes speed
 * only, never the bits.
 *
 * Memory: packing buffers (about 2 MiB at most) belong to the calling
 * thread; they are created on first use, grown on demand and reused, so
 * steady-state calls do not allocate. If an allocation fails the call still
 * completes, serially, and as a last resort via an unblocked loop (whose
 * rounding differs: the bitwise guarantee assumes the buffers could be had);
 * nothing here aborts or reports an error. Arguments are preconditions
 * (checked with assert), not user input. */
#ifndef AK_KERNELS_GEMM_H
#define AK_KERNELS_GEMM_H

#include <stdint.h>

/* Row-major C[M,N] = alpha * op(A) * op(B) + beta * C.
 * op(A) is M x K: A itself (ta == 0, stored M x K, lda >= K) or A^T (ta != 0,
 * A stored K x M, lda >= M).
 * op(B) is K x N: B (tb == 0, stored K x N, ldb >= N) or B^T (tb != 0, B
 * stored N x K, ldb >= K).
 * beta == 0 means C is not read (it may hold garbage/NaN). K == 0 (or
 * alpha == 0) scales C by beta without reading A or B. ldc >= N. */
void ak_sgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda, const float *B,
              int64_t ldb, float beta, float *C, int64_t ldc);

/* `batch` independent products; operand i starts at A + i*sa, B + i*sb,
 * C + i*sc (sa or sb may be 0 to broadcast one operand; the C blocks must not
 * overlap). Each product gives the same bits as the same ak_sgemm call. */
void ak_sgemm_batched(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                      int64_t sa, const float *B, int64_t ldb, int64_t sb, float beta, float *C, int64_t ldc,
                      int64_t sc, int64_t batch);

/* Name of the micro-kernel path in use ("avx512", "avx2", "generic"). */
const char *ak_sgemm_isa(void);

/* Forces a path: "generic", "avx2", "avx512", or NULL / "auto" for the
 * default (the AK_GEMM_ISA environment variable if it names a supported path,
 * read once, else the best path the CPU supports). Returns 0, or -1 (and
 * changes nothing) when the name is unknown or the CPU lacks the path.
 * Not to be called while another thread is inside ak_sgemm. */
int ak_sgemm_force_isa(const char *name);

/* Frees the packing buffers of every thread (for leak checkers at exit);
 * later calls re-create them. Not to be called while another thread is
 * inside ak_sgemm. */
void ak_sgemm_release(void);

#endif
