#include "helpers.h"
#include "kernels/gemm.h"
#include "kernels/sgemm_small.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One product with its operands stored with extra row padding (so that the
 * strides differ from the minimal ones) and C surrounded by sentinels. */
typedef struct small_case {
    int64_t M, N, K;
    int ta, tb; /* A read transposed (ars = 1), B read transposed (bcs = ldb) */
    float beta;
} small_case;

typedef struct small_ops {
    float *A, *B, *C;
    int64_t lda, ldb, ldc;
    int64_t ars, acs, brs, bcs;
} small_ops;

static small_ops make_ops(const small_case *s, uint64_t seed)
{
    small_ops o;
    int64_t ar = s->ta ? s->K : s->M, ac = s->ta ? s->M : s->K;
    int64_t br = s->tb ? s->N : s->K, bc = s->tb ? s->K : s->N;
    o.lda = ac + 3;
    o.ldb = bc + 5;
    o.ldc = s->N + 2;
    o.A = malloc(sizeof(float) * (size_t)(ar * o.lda + 1));
    o.B = malloc(sizeof(float) * (size_t)(br * o.ldb + 1));
    o.C = malloc(sizeof(float) * (size_t)(s->M * o.ldc + 1));
    cr_assert(o.A && o.B && o.C);
    ak_rng r = ak_rng_make(seed, 3);
    for (int64_t i = 0; i < ar * o.lda; i++)
        o.A[i] = ak_rng_uniform_range(&r, -1, 1);
    for (int64_t i = 0; i < br * o.ldb; i++)
        o.B[i] = ak_rng_uniform_range(&r, -1, 1);
    for (int64_t i = 0; i < s->M * o.ldc; i++)
        o.C[i] = (i % o.ldc) < s->N ? ak_rng_uniform_range(&r, -1, 1) : 12345.0f;
    o.ars = s->ta ? 1 : o.lda;
    o.acs = s->ta ? o.lda : 1;
    o.brs = s->tb ? 1 : o.ldb;
    o.bcs = s->tb ? o.ldb : 1;
    return o;
}

static void free_ops(small_ops *o)
{
    free(o->A);
    free(o->B);
    free(o->C);
}

static void run(const small_case *s, const small_ops *o, float *C)
{
    ak_sgemm_small(s->M, s->N, s->K, o->A, o->ars, o->acs, o->B, o->brs, o->bcs, s->beta, C, o->ldc);
}

static const small_case k_cases[] = {
    {12, 12, 32, 0, 1, 0.0f},  {12, 32, 12, 0, 0, 1.0f}, {12, 32, 12, 1, 0, 1.0f}, {16, 16, 64, 0, 1, 0.0f},
    {1, 1, 1, 0, 0, 0.0f},     {7, 17, 5, 1, 1, 1.0f},   {9, 33, 300, 0, 1, 0.0f}, {25, 65, 513, 1, 0, 1.0f},
    {13, 31, 257, 0, 1, 1.0f}, {3, 100, 40, 1, 1, 0.0f},
};
enum { N_CASES = sizeof k_cases / sizeof k_cases[0] };

/* Against a double-precision sum: values right, beta honoured, nothing
 * written outside the M x N corner of C. */
Test(sgemm_small, values_match_double_reference_every_stride_layout)
{
    for (int c = 0; c < N_CASES; c++) {
        const small_case *s = &k_cases[c];
        small_ops o = make_ops(s, (uint64_t)c);
        float *C = malloc(sizeof(float) * (size_t)(s->M * o.ldc + 1));
        memcpy(C, o.C, sizeof(float) * (size_t)(s->M * o.ldc));
        run(s, &o, C);
        for (int64_t i = 0; i < s->M; i++)
            for (int64_t j = 0; j < o.ldc; j++) {
                float got = C[i * o.ldc + j];
                if (j >= s->N) {
                    cr_assert(got == 12345.0f, "case %d: C[%lld][%lld] outside the product was written", c,
                              (long long)i, (long long)j);
                    continue;
                }
                double ref = s->beta != 0.0f ? o.C[i * o.ldc + j] : 0.0;
                for (int64_t k = 0; k < s->K; k++)
                    ref += (double)o.A[i * o.ars + k * o.acs] * o.B[k * o.brs + j * o.bcs];
                cr_assert(fabs(got - ref) <= 1e-5 * (1.0 + (double)s->K), "case %d: C[%lld][%lld] = %.8g, want %.8g", c,
                          (long long)i, (long long)j, got, ref);
            }
        free(C);
        free_ops(&o);
    }
}

/* The same bits as ak_sgemm on its FMA paths (one FMA chain per K block of
 * 256, as the attention ops rely on to match the composition with copies),
 * and the same bits on every path of this kernel. */
Test(sgemm_small, bitwise_equal_to_sgemm_and_across_paths)
{
    static const char *const isas[] = {"avx512", "avx2", "generic"};
    for (int c = 0; c < N_CASES; c++) {
        const small_case *s = &k_cases[c];
        small_ops o = make_ops(s, (uint64_t)(100 + c));
        size_t bytes = sizeof(float) * (size_t)(s->M * o.ldc);
        float *first = NULL, *C = malloc(bytes), *G = malloc(bytes);
        for (int p = 0; p < 3; p++) {
            if (ak_sgemm_force_isa(isas[p]) != 0)
                continue;
            memcpy(C, o.C, bytes);
            run(s, &o, C);
            if (!first) {
                first = malloc(bytes);
                memcpy(first, C, bytes);
            } else {
                cr_assert(memcmp(first, C, bytes) == 0, "case %d: path %s differs from the first path", c, isas[p]);
            }
            if (strcmp(isas[p], "generic") != 0) {
                memcpy(G, o.C, bytes);
                ak_sgemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, o.A, o.lda, o.B, o.ldb, s->beta, G, o.ldc);
                cr_assert(memcmp(G, C, bytes) == 0, "case %d: differs from ak_sgemm on path %s", c, isas[p]);
            }
        }
        ak_sgemm_force_isa(NULL);
        free(first);
        free(C);
        free(G);
        free_ops(&o);
    }
}

Test(sgemm_small, k_zero_sets_or_keeps_c)
{
    float C[6] = {1, 2, 3, 4, 5, 6};
    ak_sgemm_small(2, 3, 0, NULL, 1, 1, NULL, 1, 1, 1.0f, C, 3);
    cr_assert_eq(C[5], 6.0f);
    ak_sgemm_small(2, 2, 0, NULL, 1, 1, NULL, 1, 1, 0.0f, C, 3);
    cr_assert(C[0] == 0.0f && C[1] == 0.0f && C[2] == 3.0f && C[3] == 0.0f && C[4] == 0.0f && C[5] == 6.0f);
}
