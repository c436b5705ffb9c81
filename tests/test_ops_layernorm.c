#include "helpers.h"
#include "core/threads.h"
#include "ops/ops.h"

#include <math.h>
#include <string.h>

/* in[0] = x; in[1], in[2] = gamma, beta when the case has them. */
typedef struct ln_case {
    int gamma, beta;
    float eps;
} ln_case;

static ak_tensor *f_ln(ak_ctx *c, ak_tensor *const *in, void *u)
{
    const ln_case *k = u;
    int i = 1;
    ak_tensor *g = k->gamma ? in[i++] : NULL;
    ak_tensor *b = k->beta ? in[i++] : NULL;
    return ak_layernorm(c, in[0], g, b, k->eps);
}

static void check_layernorm(ln_case k, int ndim, const int64_t *shape, uint64_t seed)
{
    ak_tensor t = {0};
    ak_tensor_set_shape(&t, ndim, shape);
    int64_t D = shape[ndim - 1];
    ak_gc_input in[3];
    int n = 0;
    in[n++] = th_in(th_rand(0, t.size, -1.5f, 1.5f, seed), ndim, shape, 1);
    if (k.gamma) /* gamma away from 0 so every row carries weight */
        in[n++] = th_in(th_rand(1, D, 0.5f, 1.5f, seed + 1), 1, ak_shape(D), 1);
    if (k.beta)
        in[n++] = th_in(th_rand(2, D, -1, 1, seed + 2), 1, ak_shape(D), 1);
    th_check_gradients(f_ln, &k, n, in, TH_GC_OPTS);
}

Test(ops_layernorm, values_match_double_reference_3d_affine)
{
    enum { A = 2, T = 3, D = 8 };
    const float *xd = th_rand(0, A * T * D, -2, 3, 1);
    const float *gd = th_rand(1, D, -1, 1, 2), *bd = th_rand(2, D, -1, 1, 3);
    for (int affine = 0; affine < 2; affine++) {
        ak_ctx c;
        ak_ctx_init(&c, 0, 1);
        ak_tensor *x = ak_tensor_from(&c, 3, ak_shape(A, T, D), xd, 0);
        ak_tensor *g = affine ? ak_tensor_from(&c, 1, ak_shape(D), gd, 0) : NULL;
        ak_tensor *b = affine ? ak_tensor_from(&c, 1, ak_shape(D), bd, 0) : NULL;
        ak_tensor *y = ak_layernorm(&c, x, g, b, 1e-5f);
        cr_assert(y && y->ndim == 3 && y->shape[2] == D);
        for (int r = 0; r < A * T; r++) {
            double mu = 0, var = 0;
            for (int j = 0; j < D; j++)
                mu += xd[r * D + j] / (double)D;
            for (int j = 0; j < D; j++)
                var += (xd[r * D + j] - mu) * (xd[r * D + j] - mu) / D;
            for (int j = 0; j < D; j++) {
                double want = (xd[r * D + j] - mu) / sqrt(var + 1e-5);
                if (affine)
                    want = want * gd[j] + bd[j];
                cr_expect(fabs(y->data[r * D + j] - want) < 1e-5, "row %d col %d: %.8g vs %.8g", r, j,
                          y->data[r * D + j], want);
            }
        }
        ak_ctx_free(&c);
    }
}

Test(ops_layernorm, large_offset_keeps_precision)
{
    /* Two-pass statistics: 1e4 + small noise still normalises to +-1. */
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 1, ak_shape(4), (float[]){10001, 9999, 10001, 9999}, 0);
    ak_tensor *y = ak_layernorm(&c, x, NULL, NULL, 0.0f);
    for (int j = 0; j < 4; j++)
        cr_expect(fabs(y->data[j] - (j % 2 ? -1.0 : 1.0)) < 1e-6, "%d: %.8g", j, y->data[j]);
    ak_ctx_free(&c);
}

Test(ops_layernorm, gradient_3d_with_gamma_and_beta)
{
    check_layernorm((ln_case){.gamma = 1, .beta = 1, .eps = 1e-5f}, 3, ak_shape(2, 3, 6), 10);
}

Test(ops_layernorm, gradient_3d_without_affine)
{
    check_layernorm((ln_case){.eps = 1e-5f}, 3, ak_shape(2, 3, 6), 20);
}

Test(ops_layernorm, gradient_gamma_only_and_beta_only)
{
    check_layernorm((ln_case){.gamma = 1, .eps = 1e-3f}, 2, ak_shape(4, 5), 30);
    check_layernorm((ln_case){.beta = 1, .eps = 1e-3f}, 2, ak_shape(4, 5), 40);
}

Test(ops_layernorm, gradient_many_rows_crosses_row_blocks)
{
    /* 70 rows: three row blocks for the gamma/beta partials, the last partial. */
    check_layernorm((ln_case){.gamma = 1, .beta = 1, .eps = 1e-5f}, 3, ak_shape(7, 10, 3), 50);
}

Test(ops_layernorm, parameter_gradients_when_x_needs_none)
{
    /* dbeta = column sums of dy, dgamma = column sums of dy * xhat. */
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 2, ak_shape(2, 2), (float[]){1, 3, 5, 4}, 0);
    ak_tensor *g = ak_tensor_from(&c, 1, ak_shape(2), (float[]){2, 2}, 1);
    ak_tensor *b = ak_tensor_from(&c, 1, ak_shape(2), (float[]){0, 0}, 1);
    ak_tensor *y = ak_layernorm(&c, x, g, b, 0.0f);
    ak_err err;
    cr_assert(ak_backward_seeded(&c, y, (float[]){1, 2, 3, 4}, &err) == 0, "%s", err.msg);
    cr_expect(x->grad == NULL);
    /* xhat rows: (-1, 1) and (1, -1). */
    cr_expect(b->grad[0] == 4.0f && b->grad[1] == 6.0f);
    cr_expect(g->grad[0] == -1.0f + 3.0f && g->grad[1] == 2.0f - 4.0f, "%g %g", g->grad[0], g->grad[1]);
    ak_ctx_free(&c);
}

Test(ops_layernorm, bad_parameter_shapes_and_eps_fail_with_message)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 8));
    ak_tensor *g7 = ak_tensor_zeros(&c, 1, ak_shape(7));
    ak_tensor *g8 = ak_tensor_zeros(&c, 1, ak_shape(8));
    cr_assert_null(ak_layernorm(&c, x, g7, NULL, 1e-5f));
    cr_expect_str_eq(c.err.msg,
                     "layernorm: expected gamma [8] matching the last axis of x, got shapes [2, 3, 8] and [7]");
    ak_ctx_end_step(&c);
    x = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 8));
    g8 = ak_tensor_zeros(&c, 1, ak_shape(8));
    ak_tensor *b2 = ak_tensor_zeros(&c, 2, ak_shape(1, 8));
    cr_assert_null(ak_layernorm(&c, x, g8, b2, 1e-5f));
    cr_expect_str_eq(c.err.msg,
                     "layernorm: expected beta [8] matching the last axis of x, got shapes [2, 3, 8] and [1, 8]");
    ak_ctx_end_step(&c);
    x = ak_tensor_zeros(&c, 1, ak_shape(8));
    cr_assert_null(ak_layernorm(&c, x, NULL, NULL, -1.0f));
    cr_expect_str_eq(c.err.msg, "layernorm: expected eps >= 0, got -1");
    ak_ctx_free(&c);
}

/* Forward and backward (x, gamma, beta) of a [8,64,128] layernorm at n threads. */
static void run_big(int nthreads, float *out)
{
    enum { R = 8 * 64, D = 128, N = R * D };
    ak_set_threads(nthreads);
    static float xd[N], seed[N];
    ak_rng r = ak_rng_make(3, 4);
    for (int i = 0; i < N; i++) {
        xd[i] = ak_rng_uniform_range(&r, -3, 3);
        seed[i] = ak_rng_uniform_range(&r, -1, 1);
    }
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 3, ak_shape(8, 64, D), xd, 1);
    ak_tensor *g = ak_tensor_from(&c, 1, ak_shape(D), th_rand(0, D, 0.5f, 1.5f, 1), 1);
    ak_tensor *b = ak_tensor_from(&c, 1, ak_shape(D), th_rand(1, D, -1, 1, 2), 1);
    ak_tensor *y = ak_layernorm(&c, x, g, b, 1e-5f);
    ak_err err;
    cr_assert(y && ak_backward_seeded(&c, y, seed, &err) == 0, "%s", err.msg);
    memcpy(out, y->data, sizeof(float) * N);
    memcpy(out + N, x->grad, sizeof(float) * N);
    memcpy(out + 2 * N, g->grad, sizeof(float) * D);
    memcpy(out + 2 * N + D, b->grad, sizeof(float) * D);
    ak_ctx_free(&c);
}

Test(ops_layernorm, bitwise_equal_for_1_2_4_threads_incl_gamma_beta_grads)
{
    enum { N = 8 * 64 * 128, TOTAL = 2 * N + 2 * 128 };
    cr_assert(N >= AK_PAR_MIN);
    static float a[TOTAL], b[TOTAL];
    run_big(1, a);
    for (int t = 2; t <= 4; t += 2) {
        run_big(t, b);
        cr_expect(memcmp(a, b, sizeof(float) * N) == 0, "y differs at %d threads", t);
        cr_expect(memcmp(a + N, b + N, sizeof(float) * N) == 0, "dx differs at %d threads", t);
        cr_expect(memcmp(a + 2 * N, b + 2 * N, sizeof(float) * 256) == 0, "dgamma/dbeta differ at %d threads", t);
    }
}
