#include "helpers.h"
#include "ops/ops.h"

#include <math.h>

typedef ak_tensor *(*unary_fn)(ak_ctx *, ak_tensor *);

static ak_tensor *f_unary(ak_ctx *c, ak_tensor *const *in, void *u)
{
    unary_fn f = *(unary_fn *)u;
    return f(c, in[0]);
}

static void check_grad(unary_fn f, const float *x, int64_t n)
{
    ak_gc_input in = th_in(x, 2, ak_shape(2, n / 2), 1);
    th_check_gradients(f_unary, &f, 1, &in, TH_GC_OPTS);
}

Test(ops_unary, relu_gradient_away_from_kink)
{
    /* |x| in [0.1, 1]: x +- h (h = 0.01) never crosses the kink at 0. */
    float *x = th_rand(0, 24, 0.1f, 1.0f, 1);
    for (int i = 0; i < 24; i += 2)
        x[i] = -x[i];
    check_grad(ak_relu, x, 24);
}

Test(ops_unary, gelu_gradient) { check_grad(ak_gelu, th_rand(0, 24, -3, 3, 2), 24); }

Test(ops_unary, tanh_gradient) { check_grad(ak_tanh, th_rand(0, 24, -2, 2, 3), 24); }

Test(ops_unary, sigmoid_gradient) { check_grad(ak_sigmoid, th_rand(0, 24, -4, 4, 4), 24); }

Test(ops_unary, exp_gradient) { check_grad(ak_exp, th_rand(0, 24, -2, 2, 5), 24); }

/* x in [0.5, 2]: away from log's pole at 0. */
Test(ops_unary, log_gradient) { check_grad(ak_log, th_rand(0, 24, 0.5f, 2, 6), 24); }

/* ---- values ------------------------------------------------------------ */

static double ref(int op, double x)
{
    switch (op) {
    case 0: return x > 0 ? x : 0;
    case 1: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case 2: return tanh(x);
    case 3: return 1 / (1 + exp(-x));
    case 4: return exp(x);
    default: return log(x);
    }
}

Test(ops_unary, values_match_double_reference)
{
    static const unary_fn ops[] = {ak_relu, ak_gelu, ak_tanh, ak_sigmoid, ak_exp, ak_log};
    static const char *const names[] = {"relu", "gelu", "tanh", "sigmoid", "exp", "log"};
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    for (int op = 0; op < 6; op++) {
        /* log on positives only; the rest across both signs. */
        const float *v = op == 5 ? th_rand(0, 1000, 0.01f, 10, 7) : th_rand(0, 1000, -6, 6, 7);
        ak_tensor *x = ak_tensor_from(&c, 3, ak_shape(10, 10, 10), v, 0);
        ak_tensor *y = ops[op](&c, x);
        cr_assert(y && ak_same_shape(x, y));
        for (int i = 0; i < 1000; i++) {
            double want = ref(op, v[i]);
            /* A few float32 ulps of the result (libm float functions are
             * within ~1 ulp; gelu goes through double). */
            cr_assert(fabs(y->data[i] - want) <= 4e-7 * fabs(want) + 1e-37, "%s(%.9g): got %.9g, want %.9g",
                      names[op], v[i], y->data[i], want);
        }
    }
    ak_ctx_free(&c);
}

Test(ops_unary, hand_values_and_log_edge_cases)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 1, ak_shape(3), (float[]){-1, 0, 1}, 1);
    ak_tensor *g = ak_gelu(&c, x);
    cr_expect_float_eq(g->data[0], -0.15865525393145707f, 1e-7);
    cr_expect_eq(g->data[1], 0.0f);
    cr_expect_float_eq(g->data[2], 0.8413447460685429f, 1e-7);
    ak_tensor *s = ak_sigmoid(&c, x);
    cr_expect_eq(s->data[1], 0.5f);
    ak_tensor *r = ak_relu(&c, x);
    cr_expect(r->data[0] == 0.0f && r->data[1] == 0.0f && r->data[2] == 1.0f);
    /* Derivatives at 0: gelu' = 1/2, sigmoid' = 1/4, tanh' = 1, exp' = 1;
     * one fresh step (one backward) each. */
    static const unary_fn fns[] = {ak_gelu, ak_sigmoid, ak_tanh, ak_exp};
    const float want[] = {0.5f, 0.25f, 1.0f, 1.0f};
    for (int i = 0; i < 4; i++) {
        ak_ctx_end_step(&c);
        x = ak_tensor_from(&c, 1, ak_shape(3), (float[]){-1, 0, 1}, 1);
        ak_err err;
        cr_assert_eq(ak_backward_seeded(&c, fns[i](&c, x), (float[]){0, 1, 0}, &err), 0, "%s", err.msg);
        cr_expect_float_eq(x->grad[1], want[i], 1e-7, "op %d: got %g", i, x->grad[1]);
    }
    /* log follows libm: -inf at 0, NaN below. */
    ak_tensor *l = ak_log(&c, ak_tensor_from(&c, 1, ak_shape(2), (float[]){0, -1}, 0));
    cr_expect(isinf(l->data[0]) && l->data[0] < 0);
    cr_expect(isnan(l->data[1]));
    ak_ctx_free(&c);
}

Test(ops_unary, no_node_without_grad_and_null_propagates)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 1, ak_shape(2), (float[]){1, 2}, 1);
    int old = ak_set_grad_enabled(&c, 0);
    ak_tensor *y = ak_tanh(&c, x);
    cr_expect(y && !y->node && !y->requires_grad && !c.tape);
    ak_set_grad_enabled(&c, old);
    y = ak_tanh(&c, x);
    cr_expect(y->node && y->requires_grad && c.tape == y->node);
    cr_expect_str_eq(y->node->op, "tanh");
    cr_expect_null(ak_exp(&c, NULL));
    cr_expect(!ak_ctx_failed(&c));
    ak_ctx_free(&c);
}
