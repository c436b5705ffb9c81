/* Small strided products (sgemm_small.h). Column blocks of up to 32, K
 * blocks of 256 (ak_sgemm's K block, which fixes the rounding), row groups of
 * a few rows so that several independent FMA chains hide the latency. */
#include "kernels/sgemm_small.h"

#include "kernels/gemm.h"
#include "kernels/gemm_internal.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#if defined(AK_GEMM_X86)
#define SMALL_X86 1
#include <immintrin.h>
#endif

enum { NB = 32, KB = 256 };

/* One block: rows [0, m), columns [0, n <= NB), kc values of k; B rows at
 * stride brs, contiguous in j. first: C = sum (else C += sum). */
typedef struct blk {
    int64_t m, kc, ars, acs, brs, ldc;
    int n, first;
    const float *a, *b;
    float *c;
} blk;

static void block_portable(const blk *q)
{
    for (int64_t i = 0; i < q->m; i++) {
        float acc[NB] = {0};
        for (int64_t k = 0; k < q->kc; k++) {
            float a = q->a[i * q->ars + k * q->acs];
            const float *b = q->b + k * q->brs;
            for (int j = 0; j < q->n; j++)
                acc[j] = fmaf(a, b[j], acc[j]);
        }
        float *c = q->c + i * q->ldc;
        for (int j = 0; j < q->n; j++)
            c[j] = q->first ? acc[j] : acc[j] + c[j];
    }
}

#if defined(SMALL_X86)
#define AK_AVX512 __attribute__((target("avx512f")))

/* MR rows x NV vectors of 16 columns; inlined with constant mr/nv so that
 * the accumulators stay in registers. */
AK_AVX512 static inline __attribute__((always_inline)) void tile_avx512(const blk *q, int64_t i0, int mr, int nv)
{
    __m512 acc[8][2];
    __mmask16 m0 = q->n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << q->n) - 1);
    __mmask16 m1 = q->n >= 32 ? (__mmask16)0xFFFF : q->n > 16 ? (__mmask16)((1u << (q->n - 16)) - 1) : 0;
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const float *a = q->a + i0 * q->ars;
    for (int64_t k = 0; k < q->kc; k++) {
        const float *b = q->b + k * q->brs;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, b);
        __m512 b1 = nv > 1 ? _mm512_maskz_loadu_ps(m1, b + 16) : b0;
        const float *ak = a + k * q->acs;
#pragma GCC unroll 8
        for (int r = 0; r < mr; r++) {
            __m512 ar = _mm512_set1_ps(ak[r * q->ars]);
            acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
            if (nv > 1)
                acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
        float *c = q->c + (i0 + r) * q->ldc;
        __m512 x0 = acc[r][0], x1 = acc[r][1];
        if (!q->first) {
            x0 = _mm512_add_ps(x0, _mm512_maskz_loadu_ps(m0, c));
            if (nv > 1)
                x1 = _mm512_add_ps(x1, _mm512_maskz_loadu_ps(m1, c + 16));
        }
        _mm512_mask_storeu_ps(c, m0, x0);
        if (nv > 1)
            _mm512_mask_storeu_ps(c + 16, m1, x1);
    }
}

/* Eight rows of one vector or six of two: 8 or 12 independent chains. */
AK_AVX512 static void block_avx512(const blk *q)
{
    int64_t i = 0;
    if (q->n <= 16) {
        for (; i + 8 <= q->m; i += 8)
            tile_avx512(q, i, 8, 1);
        switch (q->m - i) {
        case 7:
            tile_avx512(q, i, 7, 1);
            break;
        case 6:
            tile_avx512(q, i, 6, 1);
            break;
        case 5:
            tile_avx512(q, i, 5, 1);
            break;
        case 4:
            tile_avx512(q, i, 4, 1);
            break;
        case 3:
            tile_avx512(q, i, 3, 1);
            break;
        case 2:
            tile_avx512(q, i, 2, 1);
            break;
        case 1:
            tile_avx512(q, i, 1, 1);
            break;
        default:
            break;
        }
    } else {
        for (; i + 6 <= q->m; i += 6)
            tile_avx512(q, i, 6, 2);
        switch (q->m - i) {
        case 5:
            tile_avx512(q, i, 5, 2);
            break;
        case 4:
            tile_avx512(q, i, 4, 2);
            break;
        case 3:
            tile_avx512(q, i, 3, 2);
            break;
        case 2:
            tile_avx512(q, i, 2, 2);
            break;
        case 1:
            tile_avx512(q, i, 1, 2);
            break;
        default:
            break;
        }
    }
}
#endif

void ak_sgemm_small(int64_t M, int64_t N, int64_t K, const float *A, int64_t ars, int64_t acs, const float *B,
                    int64_t brs, int64_t bcs, float beta, float *C, int64_t ldc)
{
    assert(M >= 0 && N >= 0 && K >= 0 && (beta == 0.0f || beta == 1.0f));
    if (M == 0 || N == 0)
        return;
    if (K == 0) {
        for (int64_t i = 0; beta == 0.0f && i < M; i++)
            memset(C + i * ldc, 0, sizeof(float) * (size_t)N);
        return;
    }
    void (*block)(const blk *) = block_portable;
#if defined(SMALL_X86)
    if (strcmp(ak_sgemm_isa(), "avx512") == 0)
        block = block_avx512;
#endif
    /* A transposed B is packed a block at a time: pk[k * NB + j]. */
    _Alignas(64) float pk[KB * NB];
    for (int64_t j0 = 0; j0 < N; j0 += NB) {
        int n = (int)(N - j0 < NB ? N - j0 : NB);
        for (int64_t k0 = 0; k0 < K; k0 += KB) {
            int64_t kc = K - k0 < KB ? K - k0 : KB;
            blk q = {.m = M,
                     .kc = kc,
                     .ars = ars,
                     .acs = acs,
                     .ldc = ldc,
                     .n = n,
                     .first = k0 == 0 && beta == 0.0f,
                     .a = A + k0 * acs,
                     .c = C + j0};
            if (bcs == 1) {
                q.b = B + k0 * brs + j0;
                q.brs = brs;
            } else {
                int nr = n <= 16 ? 16 : NB;
#if defined(SMALL_X86)
                /* B^T of a row-major matrix (brs == 1): the GEMM's packer,
                 * with 16 x 16 in-register transposes. */
                if (brs == 1 && block == block_avx512)
                    ak_gemm_pack_b_avx512(1, B, bcs, k0, kc, j0, n, nr, pk);
                else
#endif
                    for (int64_t k = 0; k < kc; k++)
                        for (int j = 0; j < n; j++)
                            pk[k * nr + j] = B[(k0 + k) * brs + (j0 + j) * bcs];
                q.b = pk;
                q.brs = nr;
            }
            block(&q);
        }
    }
}
