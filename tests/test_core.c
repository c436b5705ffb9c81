#include "helpers.h"

#include "core/arena.h"
#include "core/params.h"
#include "core/rng.h"
#include "core/threads.h"
#include "ops/ops.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

Test(core_arena, allocations_are_aligned_and_disjoint)
{
    ak_arena a;
    ak_arena_init(&a, 4096);
    char *p = ak_arena_alloc(&a, 10), *q = ak_arena_alloc(&a, 100);
    cr_assert((uintptr_t)p % AK_ARENA_ALIGN == 0 && (uintptr_t)q % AK_ARENA_ALIGN == 0);
    cr_assert(q >= p + 10);
    memset(p, 1, 10);
    memset(q, 2, 100);
    cr_expect_eq(p[9], 1);
    ak_arena_free(&a);
}

Test(core_arena, reset_merges_blocks_so_the_next_step_does_not_allocate)
{
    ak_arena a;
    ak_arena_init(&a, 1024);
    for (int step = 0; step < 5; step++) {
        /* 20 KiB per step: more than the first block, so step 0 chains blocks */
        for (int i = 0; i < 20; i++)
            cr_assert_not_null(ak_arena_alloc(&a, 1024));
        size_t mallocs = a.mallocs;
        ak_arena_reset(&a);
        if (step == 0)
            cr_expect_gt(mallocs, 1);
        else
            cr_expect_eq(a.mallocs, mallocs, "step %d allocated", step);
    }
    cr_expect_eq(a.high_water, 20 * 1024);
    ak_arena_free(&a);
}

Test(core_rng, philox_known_answer)
{
    /* Random123's published known-answer vector for philox4x32-10 with
     * counter = key = 0: 6627e8d5 e169c58d bc57ac4c 9b00dbd8. */
    uint32_t w[4];
    ak_philox(0, 0, 0, w);
    cr_expect_eq(w[0], 0x6627e8d5u);
    cr_expect_eq(w[1], 0xe169c58du);
    cr_expect_eq(w[2], 0xbc57ac4cu);
    cr_expect_eq(w[3], 0x9b00dbd8u);
}

Test(core_rng, same_seed_same_stream_and_sane_moments)
{
    ak_rng a = ak_rng_make(42, 3), b = ak_rng_make(42, 3), c = ak_rng_make(43, 3);
    int differ = 0;
    double sum = 0, sq = 0;
    for (int i = 0; i < 20000; i++) {
        float x = ak_rng_normal(&a, 0, 1);
        cr_assert_eq(x, ak_rng_normal(&b, 0, 1));
        differ |= x != ak_rng_normal(&c, 0, 1);
        sum += x;
        sq += (double)x * x;
    }
    cr_expect(differ);
    /* mean within 5 standard errors (5/sqrt(20000) = 0.035), variance within 5% */
    cr_expect_lt(fabs(sum / 20000), 0.035);
    cr_expect_lt(fabs(sq / 20000 - 1.0), 0.05);
    for (int i = 0; i < 1000; i++)
        cr_assert_lt(ak_rng_below(&a, 7), 7u);
}

Test(core_params, flat_layout_names_and_seeded_init)
{
    ak_params p, q;
    ak_err err = {{0}};
    ak_params_init(&p);
    ak_params_init(&q);
    ak_init u = {AK_INIT_UNIFORM, 0.5f};
    ak_tensor *w = ak_param(&p, "w", 2, ak_shape(3, 5), u, &err);
    ak_tensor *b = ak_param(&p, "b", 1, ak_shape(3), (ak_init){AK_INIT_ONES, 0}, &err);
    cr_assert(w && b);
    cr_assert_null(ak_param(&p, "w", 1, ak_shape(2), u, &err));
    cr_expect_str_eq(err.msg, "parameter 'w': declared twice");
    cr_assert_eq(ak_params_finalize(&p, 7, 0, &err), 0);
    cr_expect_eq(b->data[2], 1.0f);
    cr_expect((uintptr_t)b->data % 64 == 0);
    for (int i = 0; i < 15; i++)
        cr_expect(fabsf(w->data[i]) <= 0.5f);
    cr_expect_eq(ak_params_find(&p, "b"), b);
    ak_param(&q, "w", 2, ak_shape(3, 5), u, &err);
    ak_params_finalize(&q, 7, 0, &err);
    cr_expect_eq(memcmp(w->data, q.items[0]->data, 15 * sizeof(float)), 0, "same seed, same init");
    ak_params_free(&p);
    ak_params_free(&q);
}

static ak_tensor *f_twice(ak_ctx *c, ak_tensor *const *in, void *u)
{
    (void)u;
    /* x used twice: gradients from both uses must accumulate */
    return ak_mul(c, in[0], ak_add(c, in[0], in[1]));
}

Test(autograd, gradients_accumulate_over_reuse)
{
    ak_gc_input in[2] = {th_in(th_rand(0, 6, -1, 1, 5), 2, ak_shape(2, 3), 1),
                         th_in(th_rand(1, 6, -1, 1, 6), 2, ak_shape(2, 3), 1)};
    th_check_gradients(f_twice, NULL, 2, in, TH_GC_OPTS);
}

/* An op with a deliberately wrong backward (factor 2 missing in d(x^2)). */
static void wrong_backward(ak_ctx *ctx, ak_node *n)
{
    float *g = ak_grad(ctx, n->in[0]);
    for (int64_t i = 0; i < n->out->size; i++)
        g[i] += n->out->grad[i] * n->in[0]->data[i];
}
static ak_tensor *f_wrong(ak_ctx *c, ak_tensor *const *in, void *u)
{
    (void)u;
    ak_tensor *y = ak_tensor_new(c, in[0]->ndim, in[0]->shape);
    for (int64_t i = 0; i < y->size; i++)
        y->data[i] = in[0]->data[i] * in[0]->data[i];
    ak_tape_record(c, y, "square_wrong", wrong_backward, 1, in);
    return y;
}

Test(autograd, gradcheck_catches_a_wrong_backward)
{
    ak_gc_input in = th_in(th_rand(0, 4, 0.5f, 1, 7), 1, ak_shape(4), 1);
    ak_gc_result res;
    ak_err err = {{0}};
    cr_assert_eq(ak_gradcheck(f_wrong, NULL, 1, &in, TH_GC_OPTS, &res, &err), 1);
    cr_expect_eq(res.failed, 4);
    cr_expect_float_eq(res.numeric, 2 * res.analytic, 1e-2 * fabs(res.numeric));
}

Test(autograd, no_grad_records_nothing_and_backward_explains)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 1, ak_shape(2), (float[]){1, 2}, 1);
    int old = ak_set_grad_enabled(&c, 0);
    ak_tensor *y = ak_sum_all(&c, ak_mul(&c, x, x));
    ak_set_grad_enabled(&c, old);
    cr_assert_not_null(y);
    cr_expect_null(c.tape);
    cr_expect_eq(y->requires_grad, 0);
    ak_err err = {{0}};
    cr_expect_eq(ak_backward(&c, y, &err), -1);
    cr_expect_str_eq(err.msg, "backward: the output does not depend on anything that requires grad");
    cr_expect_eq(ak_backward(&c, x, &err), -1);
    cr_expect_str_eq(err.msg, "backward: expected a scalar loss, got shape [2]");
    ak_ctx_free(&c);
}

Test(autograd, backward_into_parameters_accumulates_across_calls)
{
    ak_params p;
    ak_err err = {{0}};
    ak_params_init(&p);
    ak_tensor *w = ak_param(&p, "w", 1, ak_shape(3), (ak_init){AK_INIT_ONES, 0}, &err);
    ak_params_finalize(&p, 1, 0, &err);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    for (int step = 0; step < 2; step++) {
        ak_tensor *x = ak_tensor_from(&c, 1, ak_shape(3), (float[]){1, 2, 3}, 0);
        ak_tensor *loss = ak_sum_all(&c, ak_mul(&c, w, x));
        cr_assert_eq(ak_backward(&c, loss, &err), 0, "%s", err.msg);
        ak_ctx_end_step(&c);
    }
    /* d/dw sum(w*x) = x, twice */
    cr_expect_eq(w->grad[0], 2.0f);
    cr_expect_eq(w->grad[2], 6.0f);
    ak_params_zero_grad(&p);
    cr_expect_eq(w->grad[2], 0.0f);
    ak_ctx_free(&c);
    ak_params_free(&p);
}

/* ak_sum_fixed / ak_sumsq_fixed by their definition: each AK_REDUCE_CHUNK
 * chunk summed in index order in double, the partials added in chunk order. */
static double ref_fixed(const float *x, int64_t n, int square)
{
    double s = 0;
    for (int64_t lo = 0; lo < n; lo += AK_REDUCE_CHUNK) {
        int64_t hi = lo + AK_REDUCE_CHUNK < n ? lo + AK_REDUCE_CHUNK : n;
        double p = 0;
        for (int64_t i = lo; i < hi; i++)
            p += square ? (double)x[i] * x[i] : x[i];
        s += p;
    }
    return s;
}

Test(core_threads, fixed_sums_match_chunk_order_definition_bitwise)
{
    /* Magnitudes from 2^-40 to 2^10 so that the double sums round (any other
     * order shows); lengths around the groups of 8 chunks (the vector path),
     * a partial last chunk, and past the 256 chunks of one pass. */
    enum { C = AK_REDUCE_CHUNK };
    static const int64_t sizes[] = {5, C - 1, 8 * C - 1, 8 * C, 8 * C + 1, 17 * C + 3, 256 * C + 9 * C + 7};
    const int64_t nmax = 256 * C + 9 * C + 7;
    float *x = malloc(sizeof(float) * (size_t)nmax);
    cr_assert(x);
    ak_rng r = ak_rng_make(11, 0);
    for (int64_t i = 0; i < nmax; i++)
        x[i] = ldexpf(ak_rng_uniform_range(&r, -1, 1), (int)ak_rng_below(&r, 51) - 40);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        for (int square = 0; square < 2; square++) {
            double want = ref_fixed(x, sizes[k], square);
            for (int t = 1; t <= 4; t *= 2) {
                omp_set_num_threads(t);
                double got = square ? ak_sumsq_fixed(x, sizes[k]) : ak_sum_fixed(x, sizes[k]);
                cr_expect(memcmp(&got, &want, sizeof got) == 0, "n %lld square %d threads %d: %.17g vs %.17g",
                          (long long)sizes[k], square, t, got, want);
            }
        }
    free(x);
}

Test(core_threads, fixed_sum_is_thread_count_invariant)
{
    static float x[300000];
    ak_rng r = ak_rng_make(3, 0);
    for (int i = 0; i < 300000; i++)
        x[i] = ak_rng_normal(&r, 0, 1);
    double ref = 0;
    for (int t = 1; t <= 4; t++) {
        omp_set_num_threads(t);
        double s = ak_sum_fixed(x, 300000);
        if (t == 1)
            ref = s;
        cr_expect_eq(memcmp(&s, &ref, sizeof s), 0, "threads %d", t);
    }
}
