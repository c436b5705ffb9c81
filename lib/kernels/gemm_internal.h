/* Private to lib/kernels/gemm*.c: the micro-kernel contract, the packed
 * layouts, the per-ISA blocking parameters and the per-thread buffers. */
#ifndef AK_KERNELS_GEMM_INTERNAL_H
#define AK_KERNELS_GEMM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Packed layouts (the contract between packers and micro-kernels):
 * an A panel holds MR rows of op(A) for kc values of k, k-major:
 *   a[k*MR + r] = op(A)[i0 + r][k0 + k], rows past the matrix are 0;
 * a B panel holds NR columns of op(B), k-major:
 *   b[k*NR + j] = op(B)[k0 + k][j0 + j], columns past the matrix are 0.
 * Zero padding lets the kernel always run the full MR x NR tile; only the
 * store is trimmed to the m x n valid corner.
 *
 * A micro-kernel computes, for r < m <= MR and j < n <= NR,
 *   C[r*ldc + j] = alpha * sum_k a[k*MR + r] * b[k*NR + j] + beta * C[r*ldc + j]
 * accumulating k = 0, 1, ..., kc-1 in that order (kc >= 1), and does not read
 * C when beta == 0. b is 64-byte aligned. */
typedef void (*ak_gemm_kernel_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                                  float beta, int m, int n);

/* Packs one A panel (m <= mr valid rows starting at row i0 of op(A)). */
typedef void (*ak_gemm_pack_a_fn)(int ta, const float *A, int64_t lda, int64_t i0, int m, int64_t k0, int64_t kc,
                                  float *dst);
/* Packs one B panel (n <= nr valid columns starting at column j0 of op(B)). */
typedef void (*ak_gemm_pack_b_fn)(int tb, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int n,
                                  float *dst);

typedef struct ak_gemm_isa_desc {
    const char *name;
    int (*supported)(void);
    int mr, nr;  /* micro-tile */
    int64_t mc;  /* rows of a task's A block (L2), multiple of mr */
    int64_t kc;  /* K block: packed panels span at most kc values of k */
    int64_t nc;  /* columns of the shared packed B panel, multiple of nr */
    int64_t mcc; /* rows of the shared packed A chunk, multiple of mc */
    int64_t tn;  /* widest task in columns, multiple of nr */
    ak_gemm_kernel_fn kernel;
    ak_gemm_pack_a_fn pack_a;
    ak_gemm_pack_b_fn pack_b;
} ak_gemm_isa_desc;

extern const ak_gemm_isa_desc ak_gemm_isa_generic;
/* -DAK_GEMM_NO_SIMD builds the portable path alone, as on a non-x86 CPU
 * (to check that build on x86). */
#if (defined(__x86_64__) || defined(__i386__)) && !defined(AK_GEMM_NO_SIMD)
#define AK_GEMM_X86 1
extern const ak_gemm_isa_desc ak_gemm_isa_avx2;
extern const ak_gemm_isa_desc ak_gemm_isa_avx512;
#endif

/* Portable packers for any mr / nr (gemm_pack.c); `mr`/`nr` are the panel
 * widths, the ISA files wrap them with their constants. */
void ak_gemm_pack_a_any(int ta, const float *A, int64_t lda, int64_t i0, int m, int64_t k0, int64_t kc, int mr,
                        float *dst);
void ak_gemm_pack_b_any(int tb, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int n, int nr,
                        float *dst);

#if defined(AK_GEMM_X86)
/* The same with AVX-512 in-register transposes (gemm_pack_avx512.c); only
 * for mr, nr <= 32 and only on CPUs with AVX-512F. */
void ak_gemm_pack_a_avx512(int ta, const float *A, int64_t lda, int64_t i0, int m, int64_t k0, int64_t kc, int mr,
                           float *dst);
void ak_gemm_pack_b_avx512(int tb, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int n, int nr,
                           float *dst);
/* And with AVX2 8 x 8 transposes (gemm_pack_avx2.c), mr, nr <= 16. */
void ak_gemm_pack_a_avx2(int ta, const float *A, int64_t lda, int64_t i0, int m, int64_t k0, int64_t kc, int mr,
                         float *dst);
void ak_gemm_pack_b_avx2(int tb, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int n, int nr,
                         float *dst);
#endif

/* Turns off (0) or on (1, the default) the back-off to serial runs after a
 * threaded run stalled on a descheduled thread (gemm.c), so that tests of
 * the threaded path run it even on a loaded machine. */
void ak_gemm_backoff_enable(int on);

/* Per-thread packing buffers (gemm_buf.c). */
typedef struct ak_gemm_bufs {
    float *a, *b;
    size_t a_cap, b_cap;       /* in floats */
    struct ak_gemm_bufs *next; /* registry of all threads' sets */
} ak_gemm_bufs;

/* The calling thread's buffers, grown to at least the given sizes (floats);
 * NULL when memory is exhausted. */
ak_gemm_bufs *ak_gemm_bufs_get(size_t a_floats, size_t b_floats);

#endif
