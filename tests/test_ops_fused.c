/* Fused ops (ak_relu_dropout) against their unfused compositions, with
 * gradient checks and thread invariance; and the vectorizable expf the ops
 * use (ops/vexp.h) against libm in double. */
#include "helpers.h"

#include "core/threads.h"
#include "ops/ops.h"
#include "ops/vexp.h"

#include <math.h>
#include <string.h>

/* Inputs in [-1, 1] with no element within 0.05 of relu's kink at 0 (the
 * gradient check's h = 1e-2 never crosses it). */
static float *away_from_zero(int slot, int64_t n, uint64_t seed)
{
    float *v = th_rand(slot, n, -1, 1, seed);
    for (int64_t i = 0; i < n; i++)
        if (fabsf(v[i]) < 0.05f)
            v[i] = v[i] < 0 ? v[i] - 0.05f : v[i] + 0.05f;
    return v;
}

static ak_tensor *f_relu_dropout(ak_ctx *c, ak_tensor *const *in, void *u)
{
    float p = *(const float *)u;
    return ak_relu_dropout(c, in[0], p);
}

Test(ops_fused, relu_dropout_gradcheck_training_and_eval)
{
    for (int training = 0; training <= 1; training++) {
        float p = 0.3f;
        ak_gc_input in = th_in(away_from_zero(0, 48, 3), 2, ak_shape(6, 8), 1);
        ak_gc_opts o = TH_GC_OPTS;
        o.training = training;
        th_check_gradients(f_relu_dropout, &p, 1, &in, o);
    }
}

/* The fused op and ak_dropout(ak_relu(x)) on the same context state: values
 * and gradients must be the same bits. */
static void run_pair(int fused, int nthreads, int64_t n, float p, float *out)
{
    ak_set_threads(nthreads);
    ak_ctx c;
    ak_ctx_init(&c, 0, 17);
    c.training = 1;
    c.step = 77;
    c.dropout_calls = 5;
    ak_tensor *x = ak_tensor_new(&c, 1, ak_shape(n));
    ak_rng r = ak_rng_make(9, 1);
    for (int64_t i = 0; i < n; i++)
        x->data[i] = ak_rng_uniform_range(&r, -2, 2);
    x->requires_grad = 1;
    ak_tensor *y = fused ? ak_relu_dropout(&c, x, p) : ak_dropout(&c, ak_relu(&c, x), p);
    cr_assert_not_null(y);
    cr_expect_eq(c.dropout_calls, 6, "one call number per op");
    float *g = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        g[i] = (float)(i % 13) - 6.5f;
    ak_err err;
    cr_assert_eq(ak_backward_seeded(&c, y, g, &err), 0, "%s", err.msg);
    memcpy(out, y->data, sizeof(float) * (size_t)n);
    memcpy(out + n, x->grad, sizeof(float) * (size_t)n);
    free(g);
    ak_ctx_free(&c);
}

Test(ops_fused, relu_dropout_is_bitwise_the_composition_for_1_2_4_threads)
{
    enum { N = 100003 }; /* large enough to go parallel; not a multiple of 4 */
    static float ref[2 * N], got[2 * N];
    run_pair(0, 1, N, 0.1f, ref);
    int64_t zeros = 0, pos = 0;
    for (int i = 0; i < N; i++) {
        zeros += ref[i] == 0.0f;
        pos += ref[i] > 0.0f;
    }
    cr_expect(pos > N / 3 && zeros > N / 3, "kept %lld, zero %lld", (long long)pos, (long long)zeros);
    for (int t = 1; t <= 4; t *= 2) {
        run_pair(1, t, N, 0.1f, got);
        cr_expect(memcmp(ref, got, sizeof ref) == 0, "fused relu_dropout differs at %d threads", t);
    }
    ak_set_threads(1);
}

Test(ops_fused, relu_dropout_eval_is_relu_and_bad_p_fails)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 2, ak_shape(2, 2), (float[]){-1, 2, 0.5f, -3}, 1);
    ak_tensor *y = ak_relu_dropout(&c, x, 0.5f);
    cr_assert_not_null(y);
    cr_expect(y->data[0] == 0 && y->data[1] == 2 && y->data[2] == 0.5f && y->data[3] == 0);
    cr_expect_str_eq(y->node->op, "relu");
    cr_expect_eq(c.dropout_calls, 1);
    cr_expect_null(ak_relu_dropout(&c, x, 1.0f));
    cr_expect_str_eq(c.err.msg, "relu_dropout: expected p in [0, 1), got 1 for x [2, 2]");
    cr_expect_eq(c.dropout_calls, 1, "a failed call takes no number");
    cr_expect_null(ak_relu_dropout(&c, NULL, 0.1f));
    ak_ctx_free(&c);
}

Test(ops_fused, vexpf_within_2_ulp_of_exp_and_edge_cases)
{
    double worst = 0;
    for (int i = 0; i <= 200000; i++) {
        float x = -87.0f + 175.0f * (float)i / 200000.0f;
        double want = exp((double)x);
        double rel = fabs((double)ak_vexpf(x) - want) / want;
        worst = rel > worst ? rel : worst;
    }
    /* float32 ulp is 2^-23 ~ 1.19e-7 relative at most. */
    cr_expect_lt(worst, 2.0 * 1.1920929e-7, "max relative error %g", worst);
    cr_expect_eq(ak_vexpf(0.0f), 1.0f);
    cr_expect_eq(ak_vexpf(-INFINITY), 0.0f);
    cr_expect_eq(ak_vexpf(-100.0f), 0.0f);
    cr_expect(isnan(ak_vexpf(NAN)));
}

Test(ops_fused, dropout_mask_is_the_documented_philox_function)
{
    /* ops/dropout.c: element i of call c in step s is kept when word i % 4 of
     * ak_philox(seed, 0xD << 60 | s << 24 | c, i / 4), top 24 bits / 2^24,
     * is >= p. The vectorized Philox must give exactly that. */
    enum { N = 1000 };
    ak_ctx c;
    ak_ctx_init(&c, 0, 0x123456789abcdefull);
    c.training = 1;
    c.step = 5;
    c.dropout_calls = 2;
    ak_tensor *x = ak_tensor_new(&c, 1, ak_shape(N));
    for (int i = 0; i < N; i++)
        x->data[i] = 1.0f + (float)i;
    ak_tensor *y = ak_dropout(&c, x, 0.4f), *z = ak_relu_dropout(&c, x, 0.4f);
    cr_assert(y && z);
    for (int k = 0; k < 2; k++) {
        uint64_t stream = (0xDull << 60) | (5ull << 24) | (uint64_t)(2 + k);
        const float *out = k ? z->data : y->data;
        for (int i = 0; i < N; i++) {
            uint32_t r[4];
            ak_philox(c.seed, stream, (uint64_t)i / 4, r);
            int kept = (float)(r[i % 4] >> 8) * (1.0f / 16777216.0f) >= 0.4f;
            cr_assert_eq(out[i] != 0.0f, kept, "call %d element %d", 2 + k, i);
        }
    }
    ak_ctx_free(&c);
}

/* ---- linear_cross_entropy --------------------------------------------- */

typedef struct lce_case {
    const int32_t *targets;
    float smoothing;
    int bias;
} lce_case;

static ak_tensor *f_lce(ak_ctx *c, ak_tensor *const *in, void *u)
{
    const lce_case *k = u;
    return ak_linear_cross_entropy(c, in[0], in[1], k->bias ? in[2] : NULL, k->targets, 0, k->smoothing, NULL);
}

Test(ops_fused, linear_cross_entropy_gradcheck_with_padding_and_smoothing)
{
    /* x [2, 3, 5], w [7, 5], b [7]; target 0 is ignore_index (two padded rows). */
    static const int32_t tg[6] = {3, 0, 6, 1, 0, 2};
    for (int bias = 0; bias <= 1; bias++)
        for (int s = 0; s <= 1; s++) {
            lce_case k = {tg, s ? 0.1f : 0.0f, bias};
            ak_gc_input in[3] = {th_in(th_rand(0, 30, -1, 1, 5), 3, ak_shape(2, 3, 5), 1),
                                 th_in(th_rand(1, 35, -1, 1, 6), 2, ak_shape(7, 5), 1),
                                 th_in(th_rand(2, 7, -1, 1, 7), 1, ak_shape(7), 1)};
            th_check_gradients(f_lce, &k, bias ? 3 : 2, in, TH_GC_OPTS);
        }
}

/* Loss and every gradient of the fused op and of
 * ak_cross_entropy(ak_linear(...)): rows x [rows, in] against V classes,
 * V large enough that the fused op goes through several row chunks. */
/* mode 0: ak_backward; 1: seed 0.5 (the fused op's recomputing path); 2:
 * gradients already holding values (the recomputing path as well); 3: two
 * ak_backward passes over the same tape (the first consumes the fused op's
 * precomputed gradients, the second recomputes). */
static void run_lce(int fused, int mode, int nthreads, int64_t rows, int64_t in, int64_t V, float smoothing,
                    float *out)
{
    ak_set_threads(nthreads);
    ak_ctx c;
    ak_ctx_init(&c, 0, 3);
    ak_rng r = ak_rng_make(21, 2);
    ak_tensor *x = ak_tensor_new(&c, 2, ak_shape(rows, in));
    ak_tensor *w = ak_tensor_new(&c, 2, ak_shape(V, in));
    ak_tensor *b = ak_tensor_new(&c, 1, ak_shape(V));
    for (int64_t i = 0; i < x->size; i++)
        x->data[i] = ak_rng_uniform_range(&r, -2, 2);
    for (int64_t i = 0; i < w->size; i++)
        w->data[i] = ak_rng_uniform_range(&r, -0.5f, 0.5f);
    for (int64_t i = 0; i < V; i++)
        b->data[i] = ak_rng_uniform_range(&r, -0.5f, 0.5f);
    x->requires_grad = w->requires_grad = b->requires_grad = 1;
    int32_t *tg = malloc(sizeof(int32_t) * (size_t)rows);
    for (int64_t i = 0; i < rows; i++)
        tg[i] = i % 5 == 4 ? 0 : (int32_t)(1 + (i * 7919) % (V - 1));
    int64_t cnt = -1;
    ak_tensor *loss = fused ? ak_linear_cross_entropy(&c, x, w, b, tg, 0, smoothing, &cnt)
                            : ak_cross_entropy(&c, ak_linear(&c, x, w, b), tg, 0, smoothing, &cnt);
    cr_assert_not_null(loss, "%s", c.err.msg);
    cr_expect_eq(cnt, rows - rows / 5);
    ak_err err;
    if (mode == 2) {
        ak_tensor *t3[3] = {x, w, b};
        for (int k = 0; k < 3; k++) {
            t3[k]->grad = ak_arena_alloc(&c.arena, sizeof(float) * (size_t)t3[k]->size);
            for (int64_t i = 0; i < t3[k]->size; i++)
                t3[k]->grad[i] = 1e-3f * (float)(i % 7);
        }
    }
    const float half = 0.5f;
    if (mode == 1)
        cr_assert_eq(ak_backward_seeded(&c, loss, &half, &err), 0, "%s", err.msg);
    else
        cr_assert_eq(ak_backward(&c, loss, &err), 0, "%s", err.msg);
    if (mode == 3)
        cr_assert_eq(ak_backward(&c, loss, &err), 0, "%s", err.msg);
    out[0] = loss->data[0];
    memcpy(out + 1, x->grad, sizeof(float) * (size_t)x->size);
    memcpy(out + 1 + x->size, w->grad, sizeof(float) * (size_t)w->size);
    memcpy(out + 1 + x->size + w->size, b->grad, sizeof(float) * (size_t)V);
    free(tg);
    ak_ctx_free(&c);
}

Test(ops_fused, linear_cross_entropy_is_bitwise_the_composition_for_1_2_4_threads)
{
    /* V = 8300 makes the chunk 256 rows: 600 rows are chunks of 256, 256, 88. */
    enum { ROWS = 600, IN = 12, V = 8300, N = 1 + ROWS * IN + V * IN + V };
    float *ref = malloc(sizeof(float) * N), *got = malloc(sizeof(float) * N);
    for (int mode = 0; mode <= 2; mode++)
        for (int s = 0; s <= 1; s++) {
            float eps = s ? 0.1f : 0.0f;
            run_lce(0, mode, 1, ROWS, IN, V, eps, ref);
            cr_expect(ref[0] > 8.0f && ref[0] < 11.0f, "loss %g near log V", (double)ref[0]);
            for (int t = 1; t <= 4; t *= 2) {
                if (mode && t == 2)
                    continue;
                run_lce(1, mode, t, ROWS, IN, V, eps, got);
                int64_t first = -1;
                for (int64_t i = 0; i < N && first < 0; i++)
                    if (memcmp(&ref[i], &got[i], sizeof(float)))
                        first = i;
                cr_expect(first < 0,
                          "fused linear_cross_entropy differs (mode %d, smoothing %g, %d threads) at %lld: %.9g vs %.9g",
                          mode, (double)eps, t, (long long)first, first < 0 ? 0.0 : (double)got[first],
                          first < 0 ? 0.0 : (double)ref[first]);
            }
        }
    free(ref);
    free(got);
    ak_set_threads(1);
}

Test(ops_fused, linear_cross_entropy_second_backward_pass_is_the_composition)
{
    enum { ROWS = 300, IN = 8, V = 8300, N = 1 + ROWS * IN + V * IN + V };
    float *ref = malloc(sizeof(float) * N), *got = malloc(sizeof(float) * N);
    run_lce(0, 3, 1, ROWS, IN, V, 0.0f, ref);
    run_lce(1, 3, 1, ROWS, IN, V, 0.0f, got);
    int64_t first = -1;
    for (int64_t i = 0; i < N && first < 0; i++)
        if (memcmp(&ref[i], &got[i], sizeof(float)))
            first = i;
    cr_expect(first < 0, "two backward passes differ at %lld", (long long)first);
    free(ref);
    free(got);
}

/* The logits scratch goes back to the arena after the forward pass and the
 * precomputed gradients after their backward: the gradient buffers of the
 * whole backward pass (here those of h, x, w1, w and b) then fit in them, and
 * the pass touches no memory beyond what the forward pass did. */
Test(ops_fused, linear_cross_entropy_backward_stays_within_the_forward_memory)
{
    enum { ROWS = 300, IN = 4, V = 8300 };
    ak_ctx c;
    ak_ctx_init(&c, 0, 3);
    ak_tensor *x = ak_tensor_from(&c, 2, ak_shape(ROWS, IN), th_rand(0, ROWS * IN, -1, 1, 1), 1);
    ak_tensor *w1 = ak_tensor_from(&c, 2, ak_shape(IN, IN), th_rand(1, IN * IN, -1, 1, 2), 1);
    ak_tensor *w = ak_tensor_from(&c, 2, ak_shape(V, IN), th_rand(2, V * IN, -1, 1, 3), 1);
    ak_tensor *b = ak_tensor_from(&c, 1, ak_shape(V), th_rand(3, V, -1, 1, 4), 1);
    int32_t *tg = malloc(sizeof(int32_t) * ROWS);
    for (int i = 0; i < ROWS; i++)
        tg[i] = (int32_t)((i * 7919) % V);
    ak_tensor *loss = ak_linear_cross_entropy(&c, ak_linear(&c, x, w1, NULL), w, b, tg, -1, 0.0f, NULL);
    cr_assert_not_null(loss, "%s", c.err.msg);
    size_t after_forward = c.arena.high_water;
    cr_expect_geq(c.arena.pool_bytes, sizeof(float) * 256 * V, "the logits scratch was not given back");
    ak_err err;
    cr_assert_eq(ak_backward(&c, loss, &err), 0, "%s", err.msg);
    cr_expect_eq(c.arena.high_water, after_forward, "backward grew the arena from %zu to %zu bytes", after_forward,
                 c.arena.high_water);
    free(tg);
    ak_ctx_free(&c);
}

Test(ops_fused, linear_cross_entropy_errors_name_the_op_and_shapes)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_zeros(&c, 2, ak_shape(2, 3)), *w = ak_tensor_zeros(&c, 2, ak_shape(4, 3));
    ak_tensor *w2 = ak_tensor_zeros(&c, 2, ak_shape(4, 2)), *b = ak_tensor_zeros(&c, 1, ak_shape(5));
    int32_t tg[2] = {1, 4};
    int64_t cnt = 7;
    cr_expect_null(ak_linear_cross_entropy(&c, x, w2, NULL, tg, 0, 0, &cnt));
    cr_expect_str_eq(c.err.msg,
                     "linear_cross_entropy: expected x [..., in] and w [V, in] with V, in >= 1, got x [2, 3] and w [4, 2]");
    cr_expect_eq(cnt, 0);
    c.failed = 0;
    cr_expect_null(ak_linear_cross_entropy(&c, x, w, b, tg, 0, 0, NULL));
    cr_expect_str_eq(c.err.msg, "linear_cross_entropy: expected bias [4] for w [4, 3], got bias [5]");
    c.failed = 0;
    cr_expect_null(ak_linear_cross_entropy(&c, x, w, NULL, tg, 0, 0, NULL));
    cr_expect_str_eq(c.err.msg,
                     "linear_cross_entropy: target 4 at row 1 is outside [0, 4) and is not ignore_index 0 (x [2, 3])");
    c.failed = 0;
    cr_expect_null(ak_linear_cross_entropy(&c, x, w, NULL, tg, 0, 1.5f, NULL));
    cr_expect_str_eq(c.err.msg, "linear_cross_entropy: expected smoothing in [0, 1], got 1.5");
    c.failed = 0;
    /* Every row ignored: loss 0, count 0, no gradient. */
    int32_t pad[2] = {0, 0};
    x->requires_grad = 1;
    ak_tensor *l = ak_linear_cross_entropy(&c, x, w, NULL, pad, 0, 0, &cnt);
    cr_assert_not_null(l);
    cr_expect(l->data[0] == 0.0f && cnt == 0);
    cr_expect_null(ak_linear_cross_entropy(&c, NULL, w, NULL, tg, 0, 0, NULL));
    ak_ctx_free(&c);
}

/* ---- residual_dropout ------------------------------------------------- */

static ak_tensor *f_residual_dropout(ak_ctx *c, ak_tensor *const *in, void *u)
{
    return ak_residual_dropout(c, in[0], in[1], *(const float *)u);
}

Test(ops_fused, residual_dropout_gradcheck_training_and_eval)
{
    for (int training = 0; training <= 1; training++) {
        float p = 0.3f;
        ak_gc_input in[2] = {th_in(th_rand(0, 48, -1, 1, 11), 2, ak_shape(6, 8), 1),
                             th_in(th_rand(1, 48, -1, 1, 12), 2, ak_shape(6, 8), 1)};
        ak_gc_opts o = TH_GC_OPTS;
        o.training = training;
        th_check_gradients(f_residual_dropout, &p, 2, in, o);
    }
}

/* x + ak_dropout(f) and the fused op on the same context state: values and
 * both gradients the same bits. */
static void run_residual(int fused, int nthreads, int64_t n, float p, float *out)
{
    ak_set_threads(nthreads);
    ak_ctx c;
    ak_ctx_init(&c, 0, 23);
    c.training = 1;
    c.step = 9;
    c.dropout_calls = 3;
    ak_tensor *x = ak_tensor_new(&c, 2, ak_shape(n / 7, 7)), *f = ak_tensor_new(&c, 2, ak_shape(n / 7, 7));
    ak_rng r = ak_rng_make(4, 1);
    for (int64_t i = 0; i < x->size; i++) {
        x->data[i] = ak_rng_uniform_range(&r, -2, 2);
        f->data[i] = ak_rng_uniform_range(&r, -2, 2);
    }
    x->requires_grad = f->requires_grad = 1;
    ak_tensor *y = fused ? ak_residual_dropout(&c, x, f, p) : ak_add(&c, x, ak_dropout(&c, f, p));
    cr_assert_not_null(y);
    cr_expect_eq(c.dropout_calls, 4, "one call number per op");
    int64_t m = y->size;
    float *g = malloc(sizeof(float) * (size_t)m);
    for (int64_t i = 0; i < m; i++)
        g[i] = (float)(i % 11) - 5.0f;
    ak_err err;
    cr_assert_eq(ak_backward_seeded(&c, y, g, &err), 0, "%s", err.msg);
    memcpy(out, y->data, sizeof(float) * (size_t)m);
    memcpy(out + m, x->grad, sizeof(float) * (size_t)m);
    memcpy(out + 2 * m, f->grad, sizeof(float) * (size_t)m);
    free(g);
    ak_ctx_free(&c);
}

Test(ops_fused, residual_dropout_is_bitwise_the_composition_for_1_2_4_threads)
{
    enum { N = 7 * 14287 }; /* parallel, and not a multiple of 64 */
    static float ref[3 * N], got[3 * N];
    run_residual(0, 1, N, 0.1f, ref);
    int64_t dropped = 0;
    for (int i = 0; i < N; i++)
        dropped += ref[2 * N + i] == 0.0f;
    cr_expect(dropped > N / 20 && dropped < N / 5, "dropped %lld of %d", (long long)dropped, N);
    for (int t = 1; t <= 4; t *= 2) {
        run_residual(1, t, N, 0.1f, got);
        cr_expect(memcmp(ref, got, sizeof ref) == 0, "fused residual_dropout differs at %d threads", t);
    }
    ak_set_threads(1);
}

Test(ops_fused, residual_dropout_eval_is_add_and_errors)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 1, ak_shape(3), (float[]){1, 2, 3}, 1);
    ak_tensor *f = ak_tensor_from(&c, 1, ak_shape(3), (float[]){10, 20, 30}, 1);
    ak_tensor *y = ak_residual_dropout(&c, x, f, 0.5f);
    cr_assert_not_null(y);
    cr_expect(y->data[0] == 11 && y->data[1] == 22 && y->data[2] == 33);
    cr_expect_str_eq(y->node->op, "add");
    cr_expect_eq(c.dropout_calls, 1);
    ak_tensor *f2 = ak_tensor_zeros(&c, 1, ak_shape(4));
    cr_expect_null(ak_residual_dropout(&c, x, f2, 0.1f));
    cr_expect_str_eq(c.err.msg, "residual_dropout: expected x and f of the same shape, got x [3] and f [4]");
    c.failed = 0;
    cr_expect_null(ak_residual_dropout(&c, x, f, -0.1f));
    cr_expect_str_eq(c.err.msg, "residual_dropout: expected p in [0, 1), got -0.1 for x [3]");
    cr_expect_eq(c.dropout_calls, 1, "a failed call takes no number");
    cr_expect_null(ak_residual_dropout(&c, x, NULL, 0.1f));
    ak_ctx_free(&c);
}

/* ---- additive_scores -------------------------------------------------- */

static ak_tensor *f_additive(ak_ctx *c, ak_tensor *const *in, void *u)
{
    int bias = *(const int *)u;
    return ak_additive_scores(c, in[0], in[1], in[2], bias ? in[3] : NULL);
}

Test(ops_fused, additive_scores_gradcheck)
{
    for (int bias = 0; bias <= 1; bias++) {
        ak_gc_input in[4] = {th_in(th_rand(0, 2 * 3 * 5, -1, 1, 31), 3, ak_shape(2, 3, 5), 1),
                             th_in(th_rand(1, 2 * 4 * 5, -1, 1, 32), 3, ak_shape(2, 4, 5), 1),
                             th_in(th_rand(2, 5, -1, 1, 33), 2, ak_shape(1, 5), 1),
                             th_in(th_rand(3, 1, -1, 1, 34), 1, ak_shape(1), 1)};
        th_check_gradients(f_additive, &bias, bias ? 4 : 3, in, TH_GC_OPTS);
    }
}

/* The composition the op replaces, and the op: values and the gradients of
 * q, k, v and bias, the same bits at 1, 2 and 4 threads. */
static void run_additive(int fused, int nthreads, int64_t B, int64_t Lq, int64_t Lk, int64_t A, float *out)
{
    ak_set_threads(nthreads);
    ak_ctx c;
    ak_ctx_init(&c, 0, 5);
    ak_rng r = ak_rng_make(8, 3);
    ak_tensor *q = ak_tensor_new(&c, 3, ak_shape(B, Lq, A)), *k = ak_tensor_new(&c, 3, ak_shape(B, Lk, A));
    ak_tensor *v = ak_tensor_new(&c, 2, ak_shape(1, A)), *b = ak_tensor_new(&c, 1, ak_shape(1));
    ak_tensor *all[4] = {q, k, v, b};
    for (int t = 0; t < 4; t++) {
        for (int64_t i = 0; i < all[t]->size; i++)
            all[t]->data[i] = ak_rng_uniform_range(&r, -1.5f, 1.5f);
        all[t]->requires_grad = 1;
    }
    ak_tensor *e;
    if (fused) {
        e = ak_additive_scores(&c, q, k, v, b);
    } else {
        ak_tensor *q4 = ak_reshape(&c, q, 4, ak_shape(B, Lq, 1, A)), *k4 = ak_reshape(&c, k, 4, ak_shape(B, 1, Lk, A));
        e = ak_reshape(&c, ak_linear(&c, ak_tanh(&c, ak_add(&c, q4, k4)), v, b), 3, ak_shape(B, Lq, Lk));
    }
    cr_assert_not_null(e, "%s", c.err.msg);
    float *g = malloc(sizeof(float) * (size_t)e->size);
    for (int64_t i = 0; i < e->size; i++)
        g[i] = (float)(i % 9) * 0.25f - 1.0f;
    ak_err err;
    cr_assert_eq(ak_backward_seeded(&c, e, g, &err), 0, "%s", err.msg);
    float *o = out;
    memcpy(o, e->data, sizeof(float) * (size_t)e->size);
    o += e->size;
    for (int t = 0; t < 4; t++) {
        memcpy(o, all[t]->grad, sizeof(float) * (size_t)all[t]->size);
        o += all[t]->size;
    }
    free(g);
    ak_ctx_free(&c);
}

Test(ops_fused, additive_scores_is_bitwise_the_composition_for_1_2_4_threads)
{
    /* Lq 1 as in a decoder step and Lq 3 as over a whole sequence; sizes
     * large enough for the parallel loops. Then Lq 1 with the keys of a batch
     * row cut by the backward's 256-row blocks (the general path) and with
     * fewer than 256 rows (the one-query path, odd Lk). */
    static const int64_t shapes[4][4] = {{64, 1, 16, 256}, {8, 3, 20, 300}, {20, 1, 13, 40}, {5, 1, 7, 33}};
    for (int s = 0; s < 4; s++) {
        int64_t B = shapes[s][0], Lq = shapes[s][1], Lk = shapes[s][2], A = shapes[s][3];
        size_t n = (size_t)(B * Lq * Lk + B * Lq * A + B * Lk * A + A + 1);
        float *ref = malloc(sizeof(float) * n), *got = malloc(sizeof(float) * n);
        run_additive(0, 1, B, Lq, Lk, A, ref);
        for (int t = 1; t <= 4; t *= 2) {
            run_additive(1, t, B, Lq, Lk, A, got);
            cr_expect(memcmp(ref, got, sizeof(float) * n) == 0, "fused additive_scores differs (shape %d, %d threads)",
                      s, t);
        }
        free(ref);
        free(got);
    }
    ak_set_threads(1);
}

Test(ops_fused, additive_scores_error_names_shapes)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *q = ak_tensor_zeros(&c, 3, ak_shape(2, 1, 4)), *k = ak_tensor_zeros(&c, 3, ak_shape(2, 5, 3));
    ak_tensor *v = ak_tensor_zeros(&c, 2, ak_shape(1, 4));
    cr_expect_null(ak_additive_scores(&c, q, k, v, NULL));
    cr_expect_str_eq(c.err.msg, "additive_scores: expected q [B, Lq, A], k [B, Lk, A], v [1, A] and bias [1] or none, "
                                "got q [2, 1, 4], k [2, 5, 3], v [1, 4]");
    cr_expect_null(ak_additive_scores(&c, NULL, k, v, NULL));
    ak_ctx_free(&c);
}

Test(ops_fused, vtanhf_within_3_ulp_of_tanh_and_edge_cases)
{
    double worst = 0;
    for (int i = -300000; i <= 300000; i++) {
        float x = 12.0f * (float)i / 300000.0f;
        double want = tanh((double)x);
        if (want == 0.0)
            continue;
        double rel = fabs((double)ak_vtanhf(x) - want) / fabs(want);
        worst = rel > worst ? rel : worst;
    }
    cr_expect_lt(worst, 3.0 * 1.1920929e-7, "max relative error %g", worst);
    cr_expect_eq(ak_vtanhf(0.0f), 0.0f);
    cr_expect(signbit(ak_vtanhf(-0.0f)));
    cr_expect_eq(ak_vtanhf(INFINITY), 1.0f);
    cr_expect_eq(ak_vtanhf(-100.0f), -1.0f);
    cr_expect(isnan(ak_vtanhf(NAN)));
}
