/* Tests for lib/kernels/gemm*: ak_sgemm and ak_sgemm_batched against a naive
 * double-precision reference, on every micro-kernel path the CPU supports.
 *
 * Tolerance: each element is a float sum of K products, then scaled by alpha
 * and added to beta * C. The classic bound for recursive summation is
 *   |fl(s) - s| <= gamma_K * sum_k |a_ik b_kj|,  gamma_K ~= K * u (u = 2^-24),
 * (FMA accumulation only removes roundings), and the alpha / beta steps add
 * a few more roundings. We allow (K + 4) * FLT_EPSILON = (K + 4) * 2u times
 * |alpha| sum |a||b| + |beta||c|: the bound with a factor-2 margin, still
 * tight enough that a wrong index, a dropped k or a stale tile (errors of the
 * order of one term, ~1/K of the bound's scale or more) fails. */
#include "kernels/gemm.h"
#include "kernels/gemm_internal.h" /* ak_gemm_backoff_enable */

#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const k_isas[] = {"generic", "avx2", "avx512"};
enum { N_ISAS = 3 };

/* Deterministic values in [-1, 1). */
static float urand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(*s >> 40) / (float)(1u << 23) - 1.0f;
}

static float *alloc_fill(size_t n, uint64_t *s)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    cr_assert_not_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = urand(s);
    return x;
}

/* A stored matrix of `rows` x `cols` with leading dimension ld >= cols: the
 * padding is NaN, so reading it would poison the result. */
static float *alloc_matrix(int64_t rows, int64_t cols, int64_t ld, uint64_t *s)
{
    float *x = alloc_fill((size_t)(rows * ld), s);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = cols; c < ld; c++)
            x[r * ld + c] = NAN;
    return x;
}

typedef struct {
    int ta, tb;
    int64_t M, N, K;
    float alpha, beta;
    int64_t pad; /* extra leading-dimension slack for A, B and C */
    int nan_c;   /* fill C with NaN (only meaningful with beta == 0) */
} gcase;

typedef struct {
    float *A, *B, *C, *C0;
    int64_t lda, ldb, ldc;
} operands;

static operands make_operands(const gcase *g, uint64_t seed)
{
    operands o;
    int64_t arows = g->ta ? g->K : g->M, acols = g->ta ? g->M : g->K;
    int64_t brows = g->tb ? g->N : g->K, bcols = g->tb ? g->K : g->N;
    o.lda = acols + g->pad;
    o.ldb = bcols + g->pad;
    o.ldc = g->N + g->pad;
    o.A = alloc_matrix(arows, acols, o.lda, &seed);
    o.B = alloc_matrix(brows, bcols, o.ldb, &seed);
    o.C = alloc_matrix(g->M, g->N, o.ldc, &seed);
    if (g->nan_c)
        for (int64_t i = 0; i < g->M * o.ldc; i++)
            o.C[i] = NAN;
    o.C0 = malloc((size_t)(g->M * o.ldc + 1) * sizeof(float));
    cr_assert_not_null(o.C0);
    memcpy(o.C0, o.C, (size_t)(g->M * o.ldc) * sizeof(float));
    return o;
}

static void free_operands(operands *o)
{
    free(o->A);
    free(o->B);
    free(o->C);
    free(o->C0);
}

static double op_a(const gcase *g, const operands *o, int64_t i, int64_t k)
{
    return g->ta ? o->A[k * o->lda + i] : o->A[i * o->lda + k];
}

static double op_b(const gcase *g, const operands *o, int64_t k, int64_t j)
{
    return g->tb ? o->B[j * o->ldb + k] : o->B[k * o->ldb + j];
}

/* Compares o->C with the double reference computed from A, B and C0; the
 * padding columns of C must be untouched (bitwise, NaN included). */
static void check_batch(const gcase *g, const operands *o, const char *what)
{
    for (int64_t i = 0; i < g->M; i++) {
        for (int64_t j = 0; j < g->N; j++) {
            double s = 0.0, mag = 0.0;
            for (int64_t k = 0; k < g->K; k++) {
                double p = op_a(g, o, i, k) * op_b(g, o, k, j);
                s += p;
                mag += fabs(p);
            }
            double c0 = g->beta == 0.0f ? 0.0 : o->C0[i * o->ldc + j];
            double ref = (double)g->alpha * s + (double)g->beta * c0;
            double scale = fabs((double)g->alpha) * mag + fabs((double)g->beta * c0);
            double tol = (double)(g->K + 4) * FLT_EPSILON * scale + FLT_MIN;
            double got = o->C[i * o->ldc + j];
            if (!(fabs(got - ref) <= tol))
                cr_assert_fail("%s: ta=%d tb=%d M=%lld N=%lld K=%lld alpha=%g "
                               "beta=%g pad=%lld: C[%lld][%lld] = %.9g, "
                               "expected %.9g (tol %.3g)",
                               what, g->ta, g->tb, (long long)g->M, (long long)g->N, (long long)g->K, g->alpha, g->beta,
                               (long long)g->pad, (long long)i, (long long)j, got, ref, tol);
        }
        for (int64_t j = g->N; j < o->ldc; j++)
            cr_assert(memcmp(&o->C[i * o->ldc + j], &o->C0[i * o->ldc + j], sizeof(float)) == 0,
                      "%s: C padding [%lld][%lld] was written", what, (long long)i, (long long)j);
    }
}

static void check_case(const gcase *g, const char *isa, uint64_t seed)
{
    operands o = make_operands(g, seed);
    ak_sgemm(g->ta, g->tb, g->M, g->N, g->K, g->alpha, o.A, o.lda, o.B, o.ldb, g->beta, o.C, o.ldc);
    check_batch(g, &o, isa);
    free_operands(&o);
}

/* Runs `body` once per supported path, with that path forced. */
#define FOR_EACH_ISA(isa)                                                                                              \
    for (int isa_i_ = 0; isa_i_ < N_ISAS; isa_i_++)                                                                    \
        for (const char *isa = k_isas[isa_i_]; isa && ak_sgemm_force_isa(isa) == 0; isa = NULL)

Test(gemm, isa_names_and_forcing)
{
    const char *d = ak_sgemm_isa();
    cr_assert(strcmp(d, "generic") == 0 || strcmp(d, "avx2") == 0 || strcmp(d, "avx512") == 0, "unexpected path %s", d);
    cr_assert_eq(ak_sgemm_force_isa("generic"), 0);
    cr_assert_str_eq(ak_sgemm_isa(), "generic");
    cr_assert_eq(ak_sgemm_force_isa("sse9"), -1);
    cr_assert_str_eq(ak_sgemm_isa(), "generic", "failed force changed path");
    cr_assert_eq(ak_sgemm_force_isa(NULL), 0);
    cr_assert_str_eq(ak_sgemm_isa(), d);
#if defined(__x86_64__) && !defined(AK_GEMM_NO_SIMD)
    cr_assert_eq(ak_sgemm_force_isa("avx2"), __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 0 : -1);
    cr_assert_eq(ak_sgemm_force_isa("avx512"), __builtin_cpu_supports("avx512f") ? 0 : -1);
#else /* the portable build has no SIMD paths */
    cr_assert_eq(ak_sgemm_force_isa("avx2"), -1);
    cr_assert_eq(ak_sgemm_force_isa("avx512"), -1);
    cr_assert_str_eq(ak_sgemm_isa(), "generic");
#endif
}

/* AK_GEMM_ISA picks the default path when it names a supported one, and is
 * ignored (best path) when it does not. */
Test(gemm, env_var_selects_default_path)
{
    cr_assert_eq(setenv("AK_GEMM_ISA", "generic", 1), 0);
    cr_assert_eq(ak_sgemm_force_isa(NULL), 0);
    cr_assert_str_eq(ak_sgemm_isa(), "generic");
    cr_assert_eq(setenv("AK_GEMM_ISA", "no-such-path", 1), 0);
    cr_assert_eq(ak_sgemm_force_isa(NULL), 0);
    const char *best = ak_sgemm_isa();
    cr_assert_eq(unsetenv("AK_GEMM_ISA"), 0);
    cr_assert_eq(ak_sgemm_force_isa(NULL), 0);
    cr_assert_str_eq(ak_sgemm_isa(), best);
}

/* Every combination of small, odd and tile-straddling sizes (1 is a
 * degenerate tile, 3 and 17 straddle the 4/6/12-row and 16/32-column tiles,
 * 33 and 255 span several) in every transpose layout, on every path. */
Test(gemm, awkward_shapes_all_layouts_all_paths)
{
    static const int64_t sizes[] = {1, 3, 17, 33, 255};
    FOR_EACH_ISA(isa)
    for (int t = 0; t < 4; t++)
        for (int a = 0; a < 5; a++)
            for (int b = 0; b < 5; b++)
                for (int c = 0; c < 5; c++) {
                    gcase g = {t & 1, t >> 1, sizes[a], sizes[b], sizes[c], 1.0f, 0.0f, 0, 0};
                    check_case(&g, isa, (uint64_t)(t * 125 + a * 25 + b * 5 + c));
                }
}

/* Every edge-tile width and height of every path (tiles are at most 12 x 32,
 * so N = 1..65 and M = 1..25 hit each mask), with C padding that must stay
 * untouched: catches an off-by-one in the masked stores. */
Test(gemm, every_edge_tile_width_stays_inside_c)
{
    static const int64_t rows[] = {1, 2, 5, 6, 7, 11, 12, 13, 25};
    FOR_EACH_ISA(isa)
    for (int r = 0; r < 9; r++)
        for (int64_t n = 1; n <= 65; n++) {
            gcase g = {0, 0, rows[r], n, 5, 1.0f, r % 2 ? 0.5f : 0.0f, 3, 0};
            check_case(&g, isa, (uint64_t)(50 + n));
        }
}

/* Sizes past the cache blocks: K > 256 (several K blocks accumulate into
 * C), K > 2048 (several packed super-blocks of k when threaded), M past the
 * packed A chunk (6144 rows at small K, 960 threaded at K = 2100), N past the
 * packed B panel (6976 columns at K = 300, 1024 threaded at K = 2100). */
Test(gemm, large_and_multi_block_shapes)
{
    static const int64_t shapes[][3] = {
        {1000, 17, 255}, {3, 1000, 300}, {255, 1000, 17}, {1000, 1000, 3}, {37, 29, 600},
        {6200, 5, 20},   {3, 8300, 300}, {1, 1000, 1000}, {1000, 3, 2100}, {5, 1030, 2100},
    };
    FOR_EACH_ISA(isa)
    for (int t = 0; t < 4; t++)
        for (int s = 0; s < 10; s++) {
            gcase g = {t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], 0.75f, 0.5f, 0, 0};
            check_case(&g, isa, (uint64_t)(100 + s));
        }
}

Test(gemm, alpha_beta_and_nan_filled_c)
{
    static const float ab[][2] = {
        {1.0f, 0.0f}, {0.5f, 0.0f}, {1.0f, 1.0f}, {-2.0f, 0.75f}, {3.0f, -1.0f},
    };
    FOR_EACH_ISA(isa)
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < 5; i++) {
            /* beta == 0 with a NaN-filled C: C must not be read. */
            gcase g = {t & 1, t >> 1, 37, 45, 300, ab[i][0], ab[i][1], 0, ab[i][1] == 0.0f};
            check_case(&g, isa, (uint64_t)(200 + i));
        }
}

/* alpha == 0 or K == 0: C = beta * C and A, B are not read (NaN there). */
Test(gemm, k_zero_and_alpha_zero_scale_c)
{
    FOR_EACH_ISA(isa)
    for (int kz = 0; kz < 2; kz++)
        for (int bi = 0; bi < 3; bi++) {
            static const float betas[] = {0.0f, 1.0f, -0.5f};
            gcase g = {0, 0, 19, 23, kz ? 0 : 7, kz ? 1.0f : 0.0f, betas[bi], 2, betas[bi] == 0.0f};
            operands o = make_operands(&g, 300);
            for (int64_t i = 0; i < g.M * o.lda; i++)
                o.A[i] = NAN;
            ak_sgemm(0, 0, g.M, g.N, g.K, g.alpha, o.A, o.lda, o.B, o.ldb, g.beta, o.C, o.ldc);
            for (int64_t i = 0; i < g.M; i++)
                for (int64_t j = 0; j < g.N; j++) {
                    float want = g.beta == 0.0f ? 0.0f : g.beta * o.C0[i * o.ldc + j];
                    cr_assert_eq(o.C[i * o.ldc + j], want, "%s K=%lld beta=%g", isa, (long long)g.K, g.beta);
                }
            free_operands(&o);
        }
}

/* Leading dimensions larger than minimal (padding is NaN and must be neither
 * read, for A and B, nor written, for C). */
Test(gemm, leading_dimensions_larger_than_minimal)
{
    FOR_EACH_ISA(isa)
    for (int t = 0; t < 4; t++)
        for (int pad = 1; pad <= 35; pad += 17) {
            gcase g = {t & 1, t >> 1, 41, 70, 290, 1.0f, 0.5f, pad, 0};
            check_case(&g, isa, (uint64_t)(400 + pad));
        }
}

/* Batched = the same ak_sgemm call per product, bit for bit; includes
 * broadcasting A or B with stride 0 and padded strides between products. */
Test(gemm, batched_matches_single_calls_and_broadcasts)
{
    static const int64_t shapes[][3] = {{7, 9, 13}, {33, 40, 64}, {130, 70, 300}};
    FOR_EACH_ISA(isa)
    for (int t = 0; t < 4; t++)
        for (int s = 0; s < 3; s++)
            for (int bc = 0; bc < 3; bc++) { /* 0: none, 1: A shared, 2: B shared */
                int ta = t & 1, tb = t >> 1;
                int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                int64_t batch = 5, lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 2, ldc = N + 3;
                int64_t sa = bc == 1 ? 0 : (ta ? K : M) * lda + 5;
                int64_t sb = bc == 2 ? 0 : (tb ? N : K) * ldb + 7;
                int64_t sc = M * ldc + 11;
                uint64_t seed = (uint64_t)(500 + t * 9 + s * 3 + bc);
                float *A = alloc_fill((size_t)(sa * (batch - 1) + (ta ? K : M) * lda), &seed);
                float *B = alloc_fill((size_t)(sb * (batch - 1) + (tb ? N : K) * ldb), &seed);
                float *C = alloc_fill((size_t)(sc * batch), &seed);
                float *C1 = malloc((size_t)(sc * batch) * sizeof(float));
                cr_assert_not_null(C1);
                memcpy(C1, C, (size_t)(sc * batch) * sizeof(float));
                ak_sgemm_batched(ta, tb, M, N, K, 1.5f, A, lda, sa, B, ldb, sb, 0.25f, C, ldc, sc, batch);
                for (int64_t i = 0; i < batch; i++)
                    ak_sgemm(ta, tb, M, N, K, 1.5f, A + i * sa, lda, B + i * sb, ldb, 0.25f, C1 + i * sc, ldc);
                cr_assert(memcmp(C, C1, (size_t)(sc * batch) * sizeof(float)) == 0,
                          "%s: batched != single calls (ta=%d tb=%d shape %d bc %d)", isa, ta, tb, s, bc);
                free(A);
                free(B);
                free(C);
                free(C1);
            }
}

/* One batched product checked against the reference (the test above only
 * proves batched == single). */
Test(gemm, batched_against_reference)
{
    FOR_EACH_ISA(isa)
    {
        gcase g = {1, 1, 20, 35, 50, 1.0f, 0.0f, 0, 0};
        operands o = make_operands(&g, 600);
        /* Product 1 of a broadcast-A batch of 3 is A * B_1. */
        int64_t sb = g.N * o.ldb, sc = g.M * o.ldc;
        uint64_t seed = 601;
        float *B3 = alloc_fill((size_t)(3 * sb), &seed);
        memcpy(B3 + sb, o.B, (size_t)sb * sizeof(float));
        float *C3 = alloc_fill((size_t)(3 * sc), &seed);
        ak_sgemm_batched(1, 1, g.M, g.N, g.K, 1.0f, o.A, o.lda, 0, B3, o.ldb, sb, 0.0f, C3, o.ldc, sc, 3);
        memcpy(o.C, C3 + sc, (size_t)sc * sizeof(float));
        check_batch(&g, &o, isa);
        free(B3);
        free(C3);
        free_operands(&o);
    }
}

/* Same product at 1, 2 and 4 threads: bitwise equal. The shapes split into
 * many tasks, several K blocks, several A chunks (6200 rows, and 1000 rows
 * at K = 2100), several B panels (9000 columns) and K super-blocks (2100).
 * One thread also packs differently (one K block at a time): same bits. */
Test(gemm, bitwise_identical_across_thread_counts)
{
    static const int64_t shapes[][3] = {{700, 600, 600}, {6200, 100, 70}, {20, 9000, 40}, {1000, 40, 2100}};
    FOR_EACH_ISA(isa)
    for (int t = 0; t < 4; t += 3)
        for (int s = 0; s < 4; s++) {
            gcase g = {t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], 1.0f, 0.5f, 0, 0};
            operands o = make_operands(&g, (uint64_t)(700 + s));
            size_t bytes = (size_t)(g.M * o.ldc) * sizeof(float);
            float *ref = malloc(bytes);
            cr_assert_not_null(ref);
            static const int threads[] = {1, 2, 4};
            ak_gemm_backoff_enable(0); /* thread even on a loaded machine */
            for (int n = 0; n < 3; n++) {
                memcpy(o.C, o.C0, bytes);
                omp_set_num_threads(threads[n]);
                ak_sgemm(g.ta, g.tb, g.M, g.N, g.K, g.alpha, o.A, o.lda, o.B, o.ldb, g.beta, o.C, o.ldc);
                if (n == 0)
                    memcpy(ref, o.C, bytes);
                else
                    cr_assert(memcmp(ref, o.C, bytes) == 0, "%s: %d threads differ from 1 (shape %d, t %d)", isa,
                              threads[n], s, t);
            }
            free(ref);
            free_operands(&o);
        }
    omp_set_num_threads(2);
}

Test(gemm, batched_bitwise_identical_across_thread_counts)
{
    FOR_EACH_ISA(isa)
    {
        int64_t M = 50, N = 60, K = 300, batch = 7;
        uint64_t seed = 800;
        float *A = alloc_fill((size_t)(batch * M * K), &seed);
        float *B = alloc_fill((size_t)(batch * K * N), &seed);
        float *C = malloc((size_t)(batch * M * N) * sizeof(float));
        float *ref = malloc((size_t)(batch * M * N) * sizeof(float));
        cr_assert(C && ref);
        ak_gemm_backoff_enable(0);
        omp_set_num_threads(1);
        ak_sgemm_batched(0, 0, M, N, K, 1.0f, A, K, M * K, B, N, K * N, 0.0f, ref, N, M * N, batch);
        for (int threads = 2; threads <= 4; threads += 2) {
            omp_set_num_threads(threads);
            ak_sgemm_batched(0, 0, M, N, K, 1.0f, A, K, M * K, B, N, K * N, 0.0f, C, N, M * N, batch);
            cr_assert(memcmp(ref, C, (size_t)(batch * M * N) * sizeof(float)) == 0,
                      "%s: batched result differs at %d threads", isa, threads);
        }
        free(A);
        free(B);
        free(C);
        free(ref);
    }
    omp_set_num_threads(2);
}

/* Called from inside a parallel region (each thread its own product): runs
 * serially per thread, with per-thread buffers, and gives the same bits. */
Test(gemm, callable_inside_parallel_region)
{
    FOR_EACH_ISA(isa)
    {
        int64_t M = 200, N = 150, K = 400;
        uint64_t seed = 900;
        float *A = alloc_fill((size_t)(M * K), &seed);
        float *B = alloc_fill((size_t)(K * N), &seed);
        float *ref = malloc((size_t)(M * N) * sizeof(float));
        float *C = malloc((size_t)(4 * M * N) * sizeof(float));
        cr_assert(ref && C);
        ak_sgemm(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, ref, N);
        int same[4] = {-1, -1, -1, -1}; /* -1: no such thread in the team */
#pragma omp parallel num_threads(4)
        {
            int id = omp_get_thread_num();
            float *c = C + (int64_t)id * M * N;
            ak_sgemm(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, c, N);
            same[id] = memcmp(c, ref, (size_t)(M * N) * sizeof(float)) == 0;
        }
        for (int i = 0; i < 4; i++)
            cr_assert(same[i] != 0, "%s: thread %d got different bits", isa, i);
        free(A);
        free(B);
        free(ref);
        free(C);
    }
}

/* After ak_sgemm_release the next call re-creates the buffers. */
Test(gemm, release_then_reuse)
{
    gcase g = {0, 0, 100, 90, 280, 1.0f, 0.0f, 0, 0};
    check_case(&g, ak_sgemm_isa(), 1000);
    ak_sgemm_release();
    ak_sgemm_release(); /* idempotent */
    check_case(&g, ak_sgemm_isa(), 1001);
    ak_sgemm_release();
}
