#include "helpers.h"
#include "core/threads.h"
#include "ops/ops.h"

#include <math.h>
#include <string.h>

#define PAD 0

typedef struct ce_case {
    const int32_t *targets;
    int32_t ignore;
    float eps;
} ce_case;

static ak_tensor *f_ce(ak_ctx *c, ak_tensor *const *in, void *u)
{
    const ce_case *k = u;
    return ak_cross_entropy(c, in[0], k->targets, k->ignore, k->eps, NULL);
}

/* PyTorch's F.cross_entropy(label_smoothing=eps, ignore_index, 'mean'), written
 * out in double: per counted row (1-eps) * -logp[t] + eps/V * sum_c -logp[c],
 * summed and divided by the number of counted rows. */
static double ref_ce(const float *z, int64_t rows, int64_t V, const int32_t *t, int32_t ignore, double eps,
                     int64_t *count, double *grad)
{
    double total = 0;
    int64_t n = 0;
    for (int64_t r = 0; r < rows; r++)
        n += t[r] != ignore;
    for (int64_t r = 0; r < rows; r++) {
        const float *zr = z + r * V;
        if (t[r] == ignore) {
            for (int64_t c = 0; c < V; c++)
                if (grad)
                    grad[r * V + c] = 0;
            continue;
        }
        double mx = -INFINITY, s = 0, smooth = 0;
        for (int64_t c = 0; c < V; c++)
            mx = fmax(mx, zr[c]);
        for (int64_t c = 0; c < V; c++)
            s += exp(zr[c] - mx);
        double lse = mx + log(s);
        for (int64_t c = 0; c < V; c++)
            smooth += lse - zr[c];
        total += (1 - eps) * (lse - zr[t[r]]) + eps / V * smooth;
        for (int64_t c = 0; c < V && grad; c++)
            grad[r * V + c] = (exp(zr[c] - lse) - (1 - eps) * (c == t[r]) - eps / V) / n;
    }
    *count = n;
    return n ? total / n : 0.0;
}

/* logits [2, 3, 7] with targets that include PAD (= class 0, so ignoring it is
 * not the same as the target being out of range). */
static const int32_t TARGETS[6] = {3, PAD, 6, 1, PAD, 2};

Test(ops_loss, matches_double_reference_with_and_without_smoothing)
{
    enum { R = 6, V = 7 };
    const float *z = th_rand(0, R * V, -4, 4, 1);
    const float eps[] = {0.0f, 0.1f};
    for (int k = 0; k < 2; k++) {
        ak_ctx c;
        ak_ctx_init(&c, 0, 1);
        ak_tensor *x = ak_tensor_from(&c, 3, ak_shape(2, 3, V), z, 1);
        int64_t count = -1, want_count;
        ak_tensor *l = ak_cross_entropy(&c, x, TARGETS, PAD, eps[k], &count);
        cr_assert(l && l->ndim == 0 && l->size == 1);
        double grad[R * V];
        double want = ref_ce(z, R, V, TARGETS, PAD, eps[k], &want_count, grad);
        cr_expect(count == 4 && want_count == 4, "count %lld", (long long)count);
        cr_expect(fabs(l->data[0] - want) < 1e-6 * fabs(want), "eps %g: %.9g vs %.9g", eps[k], l->data[0], want);
        /* The analytic backward against the closed form, ignored rows exactly 0. */
        ak_err err;
        cr_assert(ak_backward(&c, l, &err) == 0, "%s", err.msg);
        for (int i = 0; i < R * V; i++)
            cr_expect(fabs(x->grad[i] - grad[i]) < 1e-6, "eps %g: grad %d %.9g vs %.9g", eps[k], i, x->grad[i],
                      grad[i]);
        for (int i = 1 * V; i < 2 * V; i++)
            cr_expect(x->grad[i] == 0.0f);
        ak_ctx_free(&c);
    }
}

Test(ops_loss, hand_computed_uniform_logits)
{
    /* Equal logits: -log p = log V for every class, so the loss is log V for any
     * smoothing; with V = 4 and eps = 0.2 the gradient is (1/4 - 0.8 [c == t] - 0.05) / 1. */
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 2, ak_shape(2, 4), (float[]){1, 1, 1, 1, 5, 6, 7, 8}, 1);
    int64_t n;
    ak_tensor *l = ak_cross_entropy(&c, x, (int32_t[]){2, -100}, -100, 0.2f, &n);
    cr_expect(n == 1 && fabs(l->data[0] - log(4.0)) < 1e-6, "%.9g", l->data[0]);
    ak_err err;
    cr_assert(ak_backward(&c, l, &err) == 0, "%s", err.msg);
    const float want[] = {0.2f, 0.2f, -0.6f, 0.2f, 0, 0, 0, 0};
    for (int i = 0; i < 8; i++)
        cr_expect(fabs(x->grad[i] - want[i]) < 1e-6, "%d: %g", i, x->grad[i]);
    ak_ctx_free(&c);
}

Test(ops_loss, padding_rows_change_nothing)
{
    enum { R = 6, V = 7 };
    static float z[R * V];
    memcpy(z, th_rand(0, R * V, -4, 4, 1), sizeof z);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    float a = ak_cross_entropy(&c, ak_tensor_from(&c, 2, ak_shape(R, V), z, 0), TARGETS, PAD, 0.1f, NULL)->data[0];
    for (int j = 0; j < V; j++)
        z[1 * V + j] = z[4 * V + j] = 1e4f * (float)(j + 1);
    float b = ak_cross_entropy(&c, ak_tensor_from(&c, 2, ak_shape(R, V), z, 0), TARGETS, PAD, 0.1f, NULL)->data[0];
    cr_expect(a == b, "%.9g vs %.9g", a, b);
    ak_ctx_free(&c);
}

Test(ops_loss, all_ignored_gives_zero_and_zero_gradient)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 2, ak_shape(3, 4), th_rand(0, 12, -1, 1, 2), 1);
    int64_t n = -1;
    ak_tensor *l = ak_cross_entropy(&c, x, (int32_t[]){PAD, PAD, PAD}, PAD, 0.1f, &n);
    cr_assert(l && n == 0);
    cr_expect(l->data[0] == 0.0f);
    ak_err err;
    cr_assert(ak_backward(&c, l, &err) == 0, "%s", err.msg);
    for (int i = 0; i < 12; i++)
        cr_expect(x->grad[i] == 0.0f);
    ak_ctx_free(&c);
}

Test(ops_loss, gradient_with_ignored_rows_smoothing_0_and_0_1)
{
    ak_gc_input in = th_in(th_rand(0, 42, -2, 2, 3), 3, ak_shape(2, 3, 7), 1);
    ce_case k0 = {TARGETS, PAD, 0.0f}, k1 = {TARGETS, PAD, 0.1f};
    th_check_gradients(f_ce, &k0, 1, &in, TH_GC_OPTS);
    th_check_gradients(f_ce, &k1, 1, &in, TH_GC_OPTS);
}

Test(ops_loss, bad_target_and_smoothing_fail_with_message)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_zeros(&c, 3, ak_shape(2, 2, 5));
    int64_t n = 7;
    cr_assert_null(ak_cross_entropy(&c, x, (int32_t[]){1, 0, 5, 2}, 0, 0.0f, &n));
    cr_expect(n == 0);
    cr_expect_str_eq(c.err.msg,
                     "cross_entropy: target 5 at row 2 is outside [0, 5) and is not ignore_index 0 (logits [2, 2, 5])");
    ak_ctx_end_step(&c);
    x = ak_tensor_zeros(&c, 2, ak_shape(2, 5));
    cr_assert_null(ak_cross_entropy(&c, x, (int32_t[]){-1, -100}, -100, 0.0f, NULL));
    cr_expect_str_eq(c.err.msg,
                     "cross_entropy: target -1 at row 0 is outside [0, 5) and is not ignore_index -100 "
                     "(logits [2, 5])");
    ak_ctx_end_step(&c);
    x = ak_tensor_zeros(&c, 2, ak_shape(2, 5));
    cr_assert_null(ak_cross_entropy(&c, x, (int32_t[]){1, 1}, -100, 1.5f, NULL));
    cr_expect_str_eq(c.err.msg, "cross_entropy: expected smoothing in [0, 1], got 1.5");
    ak_ctx_free(&c);
}

static void run_big(int nthreads, float *out)
{
    enum { R = 64, V = 1024 };
    ak_set_threads(nthreads);
    static float z[R * V];
    static int32_t t[R];
    ak_rng r = ak_rng_make(2, 2);
    for (int i = 0; i < R * V; i++)
        z[i] = ak_rng_uniform_range(&r, -6, 6);
    for (int i = 0; i < R; i++)
        t[i] = i % 5 == 0 ? PAD : (int32_t)ak_rng_below(&r, V);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 2, ak_shape(R, V), z, 1);
    ak_tensor *l = ak_cross_entropy(&c, x, t, PAD, 0.1f, NULL);
    ak_err err;
    cr_assert(l && ak_backward(&c, l, &err) == 0, "%s", err.msg);
    out[0] = l->data[0];
    memcpy(out + 1, x->grad, sizeof(float) * R * V);
    ak_ctx_free(&c);
}

Test(ops_loss, bitwise_equal_for_1_2_4_threads)
{
    enum { N = 1 + 64 * 1024 };
    static float a[N], b[N];
    run_big(1, a);
    for (int t = 2; t <= 4; t += 2) {
        run_big(t, b);
        cr_expect(memcmp(a, b, sizeof a) == 0, "loss or gradient differs at %d threads", t);
    }
}
