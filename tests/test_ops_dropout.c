#include "helpers.h"
#include "core/threads.h"
#include "ops/ops.h"

#include <math.h>
#include <string.h>

static ak_tensor *f_drop(ak_ctx *c, ak_tensor *const *in, void *u)
{
    /* Two calls: the second gets its own mask (call number 1). */
    float p = *(const float *)u;
    return ak_dropout(c, ak_dropout(c, in[0], p), p);
}

/* x = 1 + i (nonzero everywhere, so y == 0 exactly marks a dropped element). */
static ak_tensor *ramp(ak_ctx *c, int64_t n, int requires_grad)
{
    ak_tensor *x = ak_tensor_new(c, 1, ak_shape(n));
    for (int64_t i = 0; i < n; i++)
        x->data[i] = 1.0f + (float)(i % 1000);
    x->requires_grad = requires_grad;
    return x;
}

Test(ops_dropout, eval_mode_and_p_zero_return_x_itself)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ramp(&c, 10, 1);
    cr_expect(ak_dropout(&c, x, 0.5f) == x, "eval mode must be the identity");
    c.training = 1;
    cr_expect(ak_dropout(&c, x, 0.0f) == x, "p = 0 must be the identity");
    cr_expect(c.dropout_calls == 2, "every call takes a call number, got %llu", (unsigned long long)c.dropout_calls);
    ak_tensor *y = ak_dropout(&c, x, 0.5f);
    cr_expect(y != x && c.dropout_calls == 3);
    ak_ctx_free(&c);
}

Test(ops_dropout, training_zeroes_or_scales_and_keep_rate_is_close_to_1_minus_p)
{
    enum { N = 200000 };
    const float ps[] = {0.1f, 0.3f, 0.5f, 0.9f};
    for (int k = 0; k < 4; k++) {
        float p = ps[k];
        ak_ctx c;
        ak_ctx_init(&c, 0, 42);
        c.training = 1;
        ak_tensor *x = ramp(&c, N, 0);
        ak_tensor *y = ak_dropout(&c, x, p);
        cr_assert(y && y->size == N);
        int64_t kept = 0;
        float s = 1.0f / (1.0f - p);
        for (int i = 0; i < N; i++) {
            if (y->data[i] != 0.0f) {
                kept++;
                cr_assert(y->data[i] == x->data[i] * s, "element %d: %g from %g", i, y->data[i], x->data[i]);
            }
        }
        /* Binomial: 5 standard deviations (sd ~ 1e-3 here) can only fail by chance with
         * probability < 1e-6, and the seed is fixed anyway. */
        double rate = (double)kept / N, sd = sqrt(p * (1 - p) / N);
        cr_expect(fabs(rate - (1 - p)) < 5 * sd, "p %g: keep rate %.5f, want %.5f +- %.5f", p, rate, 1 - p, 5 * sd);
        ak_ctx_free(&c);
    }
}

/* The kept/dropped pattern of one call, as bytes. */
static void pattern(ak_ctx *c, int64_t n, float p, unsigned char *out)
{
    ak_tensor *y = ak_dropout(c, ramp(c, n, 0), p);
    cr_assert(y);
    for (int64_t i = 0; i < n; i++)
        out[i] = y->data[i] != 0.0f;
}

Test(ops_dropout, mask_reproducible_from_seed_and_different_across_steps_and_calls)
{
    enum { N = 4096 };
    static unsigned char a0[N], a1[N], b0[N], b1[N], s1[N], other[N];
    ak_ctx a, b, d;
    ak_ctx_init(&a, 0, 7);
    ak_ctx_init(&b, 0, 7);
    ak_ctx_init(&d, 0, 8);
    a.training = b.training = d.training = 1;
    pattern(&a, N, 0.5f, a0);
    pattern(&a, N, 0.5f, a1); /* second call of the step */
    pattern(&b, N, 0.5f, b0);
    pattern(&b, N, 0.5f, b1);
    pattern(&d, N, 0.5f, other);
    cr_expect(memcmp(a0, b0, N) == 0 && memcmp(a1, b1, N) == 0, "same seed, step and call: same mask");
    cr_expect(memcmp(a0, a1, N) != 0, "the second call of a step must draw a new mask");
    cr_expect(memcmp(a0, other, N) != 0, "another seed must draw another mask");
    ak_ctx_end_step(&a);
    cr_expect(a.dropout_calls == 0);
    pattern(&a, N, 0.5f, s1);
    cr_expect(memcmp(a0, s1, N) != 0, "the next step must draw a new mask");
    /* Agreement between different masks is ~50%, not a shifted copy. */
    int same = 0;
    for (int i = 0; i < N; i++)
        same += a0[i] == s1[i];
    cr_expect(same > N * 0.45 && same < N * 0.55, "%d of %d agree", same, N);
    ak_ctx_free(&a);
    ak_ctx_free(&b);
    ak_ctx_free(&d);
}

Test(ops_dropout, gradient_in_training_mode)
{
    /* gradcheck's training option resets ctx->step and ctx->dropout_calls before
     * every evaluation, so both masks repeat and the numeric gradient is
     * (mask / (1 - p)) composed twice. */
    float p = 0.4f;
    ak_gc_input in = th_in(th_rand(0, 40, -1, 1, 1), 2, ak_shape(5, 8), 1);
    ak_gc_opts o = TH_GC_OPTS;
    o.training = 1;
    th_check_gradients(f_drop, &p, 1, &in, o);
}

Test(ops_dropout, backward_applies_the_forward_mask)
{
    enum { N = 1000 };
    ak_ctx c;
    ak_ctx_init(&c, 0, 3);
    c.training = 1;
    ak_tensor *x = ramp(&c, N, 1);
    ak_tensor *y = ak_dropout(&c, x, 0.25f);
    const float *g = th_rand(0, N, -1, 1, 2);
    ak_err err;
    cr_assert(ak_backward_seeded(&c, y, g, &err) == 0, "%s", err.msg);
    int dropped = 0;
    for (int i = 0; i < N; i++) {
        float want = y->data[i] != 0.0f ? g[i] * (1.0f / 0.75f) : 0.0f;
        dropped += y->data[i] == 0.0f;
        cr_expect(x->grad[i] == want, "dx[%d] = %g, want %g", i, x->grad[i], want);
    }
    cr_expect(dropped > 150 && dropped < 350, "%d dropped", dropped);
    ak_ctx_free(&c);
}

Test(ops_dropout, p_outside_0_1_fails_with_message)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_zeros(&c, 2, ak_shape(2, 3));
    cr_assert_null(ak_dropout(&c, x, 1.0f));
    cr_expect_str_eq(c.err.msg, "dropout: expected p in [0, 1), got 1 for x [2, 3]");
    ak_ctx_end_step(&c);
    x = ak_tensor_zeros(&c, 2, ak_shape(2, 3));
    cr_assert_null(ak_dropout(&c, x, -0.5f));
    cr_expect_str_eq(c.err.msg, "dropout: expected p in [0, 1), got -0.5 for x [2, 3]");
    ak_ctx_end_step(&c);
    x = ak_tensor_zeros(&c, 2, ak_shape(2, 3));
    cr_assert_null(ak_dropout(&c, x, NAN));
    cr_expect(ak_ctx_failed(&c) && c.dropout_calls == 0);
    ak_ctx_free(&c);
}

static void run_big(int nthreads, float *out)
{
    enum { N = 100003 }; /* not a multiple of 64: the last mask word is partial */
    ak_set_threads(nthreads);
    ak_ctx c;
    ak_ctx_init(&c, 0, 99);
    c.training = 1;
    c.step = 12345;
    ak_tensor *x = ramp(&c, N, 1);
    ak_tensor *y = ak_dropout(&c, x, 0.3f);
    static float g[N];
    for (int i = 0; i < N; i++)
        g[i] = (float)(i % 17) - 8.0f;
    ak_err err;
    cr_assert(y && ak_backward_seeded(&c, y, g, &err) == 0, "%s", err.msg);
    memcpy(out, y->data, sizeof(float) * N);
    memcpy(out + N, x->grad, sizeof(float) * N);
    ak_ctx_free(&c);
}

Test(ops_dropout, bitwise_equal_for_1_2_4_threads)
{
    enum { N = 100003 };
    static float a[2 * N], b[2 * N];
    run_big(1, a);
    for (int t = 2; t <= 4; t += 2) {
        run_big(t, b);
        cr_expect(memcmp(a, b, sizeof a) == 0, "dropout differs at %d threads", t);
    }
}
