#include "helpers.h"
#include "core/threads.h"
#include "ops/ops.h"

#include <math.h>
#include <string.h>

/* What a gradient-check function needs besides its input: an optional mask
 * (built inside as a constant tensor) and the scale. */
typedef struct sm_case {
    int log;
    float scale;
    int mask_ndim;
    int64_t mask_shape[4];
    const float *mask;
} sm_case;

/* y = x where x is finite, 0 elsewhere; dx = dy where x is finite. Lets a
 * gradient check look at log_softmax's finite outputs only (a weighted sum
 * over -inf entries would be -inf in every evaluation). */
static void finite_backward(ak_ctx *c, ak_node *n)
{
    float *gx = ak_grad(c, n->in[0]);
    for (int64_t i = 0; i < n->out->size; i++)
        if (isfinite(n->in[0]->data[i]))
            gx[i] += n->out->grad[i];
}

static ak_tensor *finite_only(ak_ctx *c, ak_tensor *x)
{
    if (!x)
        return NULL;
    ak_tensor *y = ak_tensor_new(c, x->ndim, x->shape);
    for (int64_t i = 0; i < x->size; i++)
        y->data[i] = isfinite(x->data[i]) ? x->data[i] : 0.0f;
    ak_tape_record(c, y, "finite_only", finite_backward, 1, &x);
    return y;
}

static ak_tensor *f_softmax(ak_ctx *c, ak_tensor *const *in, void *u)
{
    const sm_case *k = u;
    ak_tensor *m = k->mask ? ak_tensor_from(c, k->mask_ndim, k->mask_shape, k->mask, 0) : NULL;
    if (!k->log)
        return ak_softmax(c, in[0], m, k->scale);
    return finite_only(c, ak_log_softmax(c, in[0], m, k->scale));
}

/* softmax(scale * x + mask) of one row, in double. */
static void ref_row(const float *x, const float *m, int64_t mstride, float scale, int64_t L, int log_out, double *y)
{
    double mx = -INFINITY;
    for (int64_t j = 0; j < L; j++) {
        y[j] = (double)scale * x[j] + (m ? m[j * mstride] : 0.0);
        mx = fmax(mx, y[j]);
    }
    double s = 0;
    for (int64_t j = 0; j < L; j++)
        s += exp(y[j] - mx);
    for (int64_t j = 0; j < L; j++)
        y[j] = log_out ? y[j] - mx - log(s) : exp(y[j] - mx) / s;
}

/* Key-padding mask [B,1,1,L]: batch b keeps its first len[b] keys. */
static void key_padding(float *m, int B, int L, const int *len)
{
    for (int b = 0; b < B; b++)
        for (int j = 0; j < L; j++)
            m[b * L + j] = j < len[b] ? 0.0f : -INFINITY;
}

static void causal(float *m, int L)
{
    for (int i = 0; i < L; i++)
        for (int j = 0; j < L; j++)
            m[i * L + j] = j <= i ? 0.0f : -INFINITY;
}

Test(ops_softmax, values_match_double_reference_with_key_padding_mask_and_scale)
{
    enum { B = 2, H = 3, Q = 2, L = 5 };
    float m[B * L];
    key_padding(m, B, L, (int[]){5, 3});
    const float *xd = th_rand(0, B * H * Q * L, -3, 3, 11);
    for (int lg = 0; lg < 2; lg++) {
        ak_ctx c;
        ak_ctx_init(&c, 0, 1);
        ak_tensor *x = ak_tensor_from(&c, 4, ak_shape(B, H, Q, L), xd, 0);
        ak_tensor *mt = ak_tensor_from(&c, 4, ak_shape(B, 1, 1, L), m, 0);
        ak_tensor *y = lg ? ak_log_softmax(&c, x, mt, 0.5f) : ak_softmax(&c, x, mt, 0.5f);
        cr_assert(y && y->ndim == 4 && y->size == B * H * Q * L);
        for (int r = 0; r < B * H * Q; r++) {
            double want[L];
            ref_row(xd + r * L, m + (r / (H * Q)) * L, 1, 0.5f, L, lg, want);
            double rowsum = 0;
            for (int j = 0; j < L; j++) {
                float got = y->data[r * L + j];
                if (isinf(want[j])) {
                    cr_expect(lg && got == -INFINITY, "row %d key %d: %g", r, j, got);
                    continue;
                }
                cr_expect(fabs(got - want[j]) <= 1e-6 + 1e-6 * fabs(want[j]), "row %d key %d: %.9g vs %.9g", r, j,
                          got, want[j]);
                rowsum += lg ? exp(got) : got;
            }
            cr_expect(fabs(rowsum - 1.0) < 1e-5, "row %d sums to %.9g", r, rowsum);
        }
        /* The padded keys of batch 1 are exactly 0 after softmax. */
        if (!lg)
            for (int r = H * Q; r < B * H * Q; r++)
                cr_expect(y->data[r * L + 3] == 0.0f && y->data[r * L + 4] == 0.0f);
        ak_ctx_free(&c);
    }
}

Test(ops_softmax, large_logits_stay_finite)
{
    /* Without max subtraction exp(1000) overflows to inf and the row is NaN. */
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 1, ak_shape(3), (float[]){1000, 999, -1000}, 0);
    ak_tensor *y = ak_softmax(&c, x, NULL, 1.0f);
    ak_tensor *l = ak_log_softmax(&c, x, NULL, 1.0f);
    double e = exp(-1.0);
    cr_expect(fabs(y->data[0] - 1 / (1 + e)) < 1e-6 && fabs(y->data[1] - e / (1 + e)) < 1e-6);
    cr_expect(y->data[2] == 0.0f);
    cr_expect(fabs(l->data[0] + log1p(e)) < 1e-5 && fabs(l->data[2] - (-2000 - log1p(e))) < 1e-2);
    ak_ctx_free(&c);
}

Test(ops_softmax, gradient_unmasked)
{
    ak_gc_input in = th_in(th_rand(0, 15, -2, 2, 1), 2, ak_shape(3, 5), 1);
    th_check_gradients(f_softmax, &(sm_case){.scale = 1.0f}, 1, &in, TH_GC_OPTS);
}

Test(ops_softmax, gradient_scale_not_one)
{
    ak_gc_input in = th_in(th_rand(0, 24, -2, 2, 2), 3, ak_shape(2, 3, 4), 1);
    th_check_gradients(f_softmax, &(sm_case){.scale = 0.35f}, 1, &in, TH_GC_OPTS);
    th_check_gradients(f_softmax, &(sm_case){.scale = -1.7f}, 1, &in, TH_GC_OPTS);
}

Test(ops_softmax, gradient_key_padding_mask_broadcast_over_heads)
{
    float m[2 * 4];
    key_padding(m, 2, 4, (int[]){4, 2});
    sm_case k = {.scale = 0.5f, .mask_ndim = 4, .mask_shape = {2, 1, 1, 4}, .mask = m};
    ak_gc_input in = th_in(th_rand(0, 48, -2, 2, 3), 4, ak_shape(2, 2, 3, 4), 1);
    th_check_gradients(f_softmax, &k, 1, &in, TH_GC_OPTS);
}

Test(ops_softmax, gradient_causal_mask_2d)
{
    float m[4 * 4];
    causal(m, 4);
    sm_case k = {.scale = 1.3f, .mask_ndim = 2, .mask_shape = {4, 4}, .mask = m};
    ak_gc_input in = th_in(th_rand(0, 32, -2, 2, 4), 3, ak_shape(2, 4, 4), 1);
    th_check_gradients(f_softmax, &k, 1, &in, TH_GC_OPTS);
}

Test(ops_softmax, gradient_per_batch_query_key_mask)
{
    /* [B,1,Lq,Lk]: causal and padding combined, finite values mixed in. */
    float m[2 * 3 * 3];
    for (int i = 0; i < 18; i++)
        m[i] = (i % 3) > (i / 3 % 3) ? -INFINITY : (i % 5 == 0 ? -0.5f : 0.0f);
    sm_case k = {.scale = 0.8f, .mask_ndim = 4, .mask_shape = {2, 1, 3, 3}, .mask = m};
    ak_gc_input in = th_in(th_rand(0, 36, -2, 2, 5), 4, ak_shape(2, 2, 3, 3), 1);
    th_check_gradients(f_softmax, &k, 1, &in, TH_GC_OPTS);
}

Test(ops_softmax, fully_masked_row_gives_zeros_and_zero_gradient)
{
    /* Batch 1 has every key padded: its rows are all removed. */
    float m[2 * 4];
    key_padding(m, 2, 4, (int[]){3, 0});
    for (int lg = 0; lg < 2; lg++) {
        ak_ctx c;
        ak_ctx_init(&c, 0, 1);
        ak_tensor *x = ak_tensor_from(&c, 3, ak_shape(2, 2, 4), th_rand(0, 16, -2, 2, 6), 1);
        ak_tensor *mt = ak_tensor_from(&c, 3, ak_shape(2, 1, 4), m, 0);
        ak_tensor *y = lg ? ak_log_softmax(&c, x, mt, 1.0f) : ak_softmax(&c, x, mt, 1.0f);
        cr_assert(y);
        for (int i = 8; i < 16; i++)
            cr_expect(lg ? y->data[i] == -INFINITY : y->data[i] == 0.0f, "element %d: %g", i, y->data[i]);
        const float *seed = th_rand(1, 16, -1, 1, 7);
        ak_err err;
        cr_assert(ak_backward_seeded(&c, y, seed, &err) == 0, "%s", err.msg);
        for (int i = 0; i < 16; i++)
            cr_expect(isfinite(x->grad[i]), "grad %d is %g", i, x->grad[i]);
        for (int i = 8; i < 16; i++)
            cr_expect(x->grad[i] == 0.0f, "grad %d is %g", i, x->grad[i]);
        /* The removed key of batch 0 gets no gradient either. */
        cr_expect(x->grad[3] == 0.0f && x->grad[7] == 0.0f);
        ak_ctx_free(&c);
    }
    /* And the gradient check agrees (the masked rows' numeric gradient is 0). */
    sm_case k = {.scale = 1.0f, .mask_ndim = 3, .mask_shape = {2, 1, 4}, .mask = m};
    ak_gc_input in = th_in(th_rand(0, 16, -2, 2, 6), 3, ak_shape(2, 2, 4), 1);
    th_check_gradients(f_softmax, &k, 1, &in, TH_GC_OPTS);
    k.log = 1;
    th_check_gradients(f_softmax, &k, 1, &in, TH_GC_OPTS);
}

Test(ops_softmax, log_softmax_gradient_unmasked_and_scaled)
{
    ak_gc_input in = th_in(th_rand(0, 24, -2, 2, 8), 2, ak_shape(4, 6), 1);
    sm_case k1 = {.log = 1, .scale = 1.0f}, k2 = {.log = 1, .scale = 0.6f};
    th_check_gradients(f_softmax, &k1, 1, &in, TH_GC_OPTS);
    th_check_gradients(f_softmax, &k2, 1, &in, TH_GC_OPTS);
}

Test(ops_softmax, log_softmax_gradient_causal_mask)
{
    float m[3 * 3];
    causal(m, 3);
    sm_case k = {.log = 1, .scale = 0.9f, .mask_ndim = 2, .mask_shape = {3, 3}, .mask = m};
    ak_gc_input in = th_in(th_rand(0, 18, -2, 2, 9), 3, ak_shape(2, 3, 3), 1);
    th_check_gradients(f_softmax, &k, 1, &in, TH_GC_OPTS);
}

Test(ops_softmax, log_softmax_masked_entries_get_no_gradient)
{
    /* With a nonzero upstream gradient on a -inf output, the removed key must
     * still get 0 and the kept keys must see only the kept upstream terms. */
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 1, ak_shape(3), (float[]){0.5f, -0.25f, 1.0f}, 1);
    ak_tensor *mt = ak_tensor_from(&c, 1, ak_shape(3), (float[]){0, 0, -INFINITY}, 0);
    ak_tensor *y = ak_log_softmax(&c, x, mt, 2.0f);
    ak_err err;
    cr_assert(ak_backward_seeded(&c, y, (float[]){1.0f, 0.0f, 5.0f}, &err) == 0, "%s", err.msg);
    double p0 = 1.0 / (1.0 + exp(-1.5)); /* softmax of (1.0, -0.5) */
    cr_expect(fabs(x->grad[0] - 2.0 * (1.0 - p0)) < 1e-6, "%g", x->grad[0]);
    cr_expect(fabs(x->grad[1] - 2.0 * (0.0 - (1.0 - p0))) < 1e-6, "%g", x->grad[1]);
    cr_expect(x->grad[2] == 0.0f);
    ak_ctx_free(&c);
}

Test(ops_softmax, mask_that_does_not_broadcast_fails_with_message)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 4));
    ak_tensor *m = ak_tensor_zeros(&c, 2, ak_shape(2, 4));
    cr_assert_null(ak_softmax(&c, x, m, 1.0f));
    cr_expect_str_eq(c.err.msg, "softmax: mask [2, 4] does not broadcast to x [2, 3, 4]");
    ak_ctx_end_step(&c);
    /* A mask may not add dimensions either. */
    x = ak_tensor_zeros(&c, 2, ak_shape(3, 4));
    m = ak_tensor_zeros(&c, 3, ak_shape(1, 3, 4));
    cr_assert_null(ak_log_softmax(&c, x, m, 1.0f));
    cr_expect_str_eq(c.err.msg, "log_softmax: mask [1, 3, 4] does not broadcast to x [3, 4]");
    ak_ctx_free(&c);
}

/* Forward and backward of a [4,4,64,64] masked (log-)softmax at n threads. */
static void run_big(int nthreads, int lg, float *y_out, float *g_out)
{
    enum { B = 4, H = 4, Q = 64, L = 64, N = B * H * Q * L };
    ak_set_threads(nthreads);
    static float xd[N], seed[N], m[B * L];
    ak_rng r = ak_rng_make(5, 9);
    for (int i = 0; i < N; i++) {
        xd[i] = ak_rng_uniform_range(&r, -4, 4);
        seed[i] = ak_rng_uniform_range(&r, -1, 1);
    }
    key_padding(m, B, L, (int[]){64, 40, 0, 17});
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 4, ak_shape(B, H, Q, L), xd, 1);
    ak_tensor *mt = ak_tensor_from(&c, 4, ak_shape(B, 1, 1, L), m, 0);
    ak_tensor *y = lg ? ak_log_softmax(&c, x, mt, 0.125f) : ak_softmax(&c, x, mt, 0.125f);
    cr_assert(y);
    ak_err err;
    cr_assert(ak_backward_seeded(&c, y, seed, &err) == 0, "%s", err.msg);
    memcpy(y_out, y->data, sizeof(float) * N);
    memcpy(g_out, x->grad, sizeof(float) * N);
    ak_ctx_free(&c);
}

Test(ops_softmax, bitwise_equal_for_1_2_4_threads)
{
    enum { N = 4 * 4 * 64 * 64 };
    cr_assert(N >= AK_PAR_MIN);
    static float y1[N], g1[N], y[N], g[N];
    for (int lg = 0; lg < 2; lg++) {
        run_big(1, lg, y1, g1);
        for (int t = 2; t <= 4; t += 2) {
            run_big(t, lg, y, g);
            cr_expect(memcmp(y, y1, sizeof y) == 0, "log %d: forward differs at %d threads", lg, t);
            cr_expect(memcmp(g, g1, sizeof g) == 0, "log %d: backward differs at %d threads", lg, t);
        }
    }
}
