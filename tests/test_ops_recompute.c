/* ak_linear_recompute (ops/recompute.h) against ak_linear(f(in)) composed
 * of the same ops: the same bits in values and every gradient, with dropout
 * inside and after f, for 1/2/4 threads; a gradient check; f's memory handed
 * back after the forward pass; inputs discarded by the caller; errors. */
#include "helpers.h"

#include "core/threads.h"
#include "ops/ops.h"
#include "ops/recompute.h"
#include "ops/sdpa.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the functions recomputed ------------------------------------------- */

typedef struct ffn_arg {
    float eps, p;
} ffn_arg;

/* in: x, gamma, beta, w1, b1 -> Drop(ReLU(LN(x) w1^T + b1)), the FFN hidden
 * (ak_linear_recompute with w2 around it is the whole pre-LN FFN). */
static ak_tensor *ffn_hidden(ak_ctx *c, ak_tensor *const *in, const void *arg)
{
    const ffn_arg *a = arg;
    ak_tensor *u = ak_layernorm(c, in[0], in[1], in[2], a->eps);
    return ak_relu_dropout(c, ak_linear(c, u, in[3], in[4]), a->p);
}

/* in: P, v -> Drop(P) v per head (the attention context). */
static ak_tensor *context(ak_ctx *c, ak_tensor *const *in, const void *arg)
{
    return ak_sdpa_context(c, ak_dropout(c, in[0], *(const float *)arg), in[1]);
}

/* in: x, gamma, beta -> LN(x). */
static ak_tensor *layernorm(ak_ctx *c, ak_tensor *const *in, const void *arg)
{
    return ak_layernorm(c, in[0], in[1], in[2], *(const float *)arg);
}

/* ---- FFN block: composed and recomputing ------------------------------- */

enum { FR = 256, FD = 64, FF = 256 }; /* rows, model size, hidden size */
enum { F_X0, F_G, F_B, F_W1, F_B1, F_W2, F_B2, F_N };
static const int64_t k_fsize[F_N] = {FR * FD, FD, FD, FF *FD, FF, FD *FF, FD};

typedef struct run_out {
    float *y;
    float *g[F_N];
} run_out;

static ak_tensor *leaf(ak_ctx *c, int ndim, const int64_t *shape, int slot, float lo, float hi, uint64_t seed)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return ak_tensor_from(c, ndim, shape, th_rand(slot, n, lo, hi, seed), 1);
}

/* x = 1.5 x0; y = x + Drop(FFN(x)) with the hidden recomputed or not, then
 * x discarded (the FFN's LayerNorm still reads it in backward); backward
 * from a fixed seed; copies of y and every gradient. */
static run_out run_ffn(int recompute, int nthreads)
{
    ak_set_threads(nthreads);
    ak_ctx c;
    ak_ctx_init(&c, 0, 5);
    c.training = 1;
    c.step = 3;
    ak_tensor *t[F_N] = {
        leaf(&c, 2, ak_shape(FR, FD), 0, -2, 2, 31),   leaf(&c, 1, ak_shape(FD), 1, 0.5f, 1.5f, 32),
        leaf(&c, 1, ak_shape(FD), 2, -0.5f, 0.5f, 33), leaf(&c, 2, ak_shape(FF, FD), 3, -0.3f, 0.3f, 34),
        leaf(&c, 1, ak_shape(FF), 4, -0.1f, 0.1f, 35), leaf(&c, 2, ak_shape(FD, FF), 5, -0.2f, 0.2f, 36),
        leaf(&c, 1, ak_shape(FD), 6, -0.1f, 0.1f, 37)};
    ak_tensor *x = ak_scale(&c, t[F_X0], 1.5f);
    ffn_arg a = {1e-5f, 0.2f};
    ak_tensor *in[5] = {x, t[F_G], t[F_B], t[F_W1], t[F_B1]};
    ak_tensor *f = recompute ? ak_linear_recompute(&c, ffn_hidden, &a, sizeof a, 5, in, t[F_W2], t[F_B2])
                             : ak_linear(&c, ffn_hidden(&c, in, &a), t[F_W2], t[F_B2]);
    ak_tensor *y = ak_residual_dropout(&c, x, f, 0.1f);
    cr_assert_not_null(y, "%s", c.err.msg);
    cr_expect_eq(c.dropout_calls, 2, "one call number per dropout op, as composed");
    ak_discard(&c, x);
    ak_err err;
    cr_assert(ak_backward_seeded(&c, y, th_rand(7, FR * FD, -1, 1, 38), &err) == 0, "%s", err.msg);
    run_out o = {.y = malloc(sizeof(float) * FR * FD)};
    memcpy(o.y, y->data, sizeof(float) * FR * FD);
    for (int i = 0; i < F_N; i++) {
        cr_assert_not_null(t[i]->grad, "gradient %d missing", i);
        o.g[i] = malloc(sizeof(float) * (size_t)k_fsize[i]);
        memcpy(o.g[i], t[i]->grad, sizeof(float) * (size_t)k_fsize[i]);
    }
    ak_ctx_free(&c);
    return o;
}

static void free_out(run_out *o)
{
    free(o->y);
    for (int i = 0; i < F_N; i++)
        free(o->g[i]);
}

static void expect_same(const run_out *a, const run_out *b, const char *what)
{
    static const char *const names[F_N] = {"x", "gamma", "beta", "w1", "b1", "w2", "b2"};
    cr_expect(memcmp(a->y, b->y, sizeof(float) * FR * FD) == 0, "%s: values differ", what);
    for (int i = 0; i < F_N; i++)
        cr_expect(memcmp(a->g[i], b->g[i], sizeof(float) * (size_t)k_fsize[i]) == 0, "%s: gradient of %s differs", what,
                  names[i]);
}

Test(ops_recompute, ffn_bitwise_equal_to_composition)
{
    run_out r = run_ffn(1, 2), c = run_ffn(0, 2);
    expect_same(&r, &c, "recomputed vs composed");
    free_out(&r);
    free_out(&c);
}

Test(ops_recompute, ffn_bitwise_equal_for_1_2_4_threads)
{
    cr_assert(FR * FF >= AK_PAR_MIN, "shape too small to run threaded");
    run_out one = run_ffn(1, 1);
    for (int t = 2; t <= 4; t += 2) {
        run_out o = run_ffn(1, t);
        char what[32];
        snprintf(what, sizeof what, "%d threads", t);
        expect_same(&one, &o, what);
        free_out(&o);
    }
    free_out(&one);
    ak_set_threads(2);
}

/* ---- attention context before the output projection -------------------- */

enum { AB = 4, AH = 4, AQ = 16, AK = 13, AD = 64 };

/* Masked attention with dropout on the probabilities, the context through
 * an output projection (recomputed or composed); gradients of q, k, v, wo,
 * bo concatenated into one buffer. */
static float *run_attention(int recompute, int nthreads, float **y_out)
{
    ak_set_threads(nthreads);
    ak_ctx c;
    ak_ctx_init(&c, 0, 9);
    c.training = 1;
    ak_tensor *q = leaf(&c, 3, ak_shape(AB, AQ, AD), 0, -1, 1, 41);
    ak_tensor *k = leaf(&c, 3, ak_shape(AB, AK, AD), 1, -1, 1, 42);
    ak_tensor *v = leaf(&c, 3, ak_shape(AB, AK, AD), 2, -1, 1, 43);
    ak_tensor *wo = leaf(&c, 2, ak_shape(AD, AD), 3, -0.2f, 0.2f, 44);
    ak_tensor *bo = leaf(&c, 1, ak_shape(AD), 4, -0.1f, 0.1f, 45);
    float pad[AB * AK];
    for (int b = 0; b < AB; b++)
        for (int j = 0; j < AK; j++)
            pad[b * AK + j] = j < AK - 3 * b ? 0.0f : -INFINITY;
    ak_tensor *m = ak_tensor_from(&c, 4, ak_shape(AB, 1, 1, AK), pad, 0);
    ak_tensor *p = ak_sdpa_probs(&c, q, k, AH, m, 0.125f);
    float drop = 0.1f;
    ak_tensor *in[2] = {p, v};
    ak_tensor *y = recompute ? ak_linear_recompute(&c, context, &drop, sizeof drop, 2, in, wo, bo)
                             : ak_linear(&c, context(&c, in, &drop), wo, bo);
    cr_assert_not_null(y, "%s", c.err.msg);
    ak_err err;
    cr_assert(ak_backward_seeded(&c, y, th_rand(5, AB * AQ * AD, -1, 1, 46), &err) == 0, "%s", err.msg);
    const ak_tensor *g[5] = {q, k, v, wo, bo};
    int64_t total = 0;
    for (int i = 0; i < 5; i++)
        total += g[i]->size;
    float *out = malloc(sizeof(float) * (size_t)total), *o = out;
    for (int i = 0; i < 5; i++) {
        memcpy(o, g[i]->grad, sizeof(float) * (size_t)g[i]->size);
        o += g[i]->size;
    }
    *y_out = malloc(sizeof(float) * (size_t)y->size);
    memcpy(*y_out, y->data, sizeof(float) * (size_t)y->size);
    ak_ctx_free(&c);
    return out;
}

Test(ops_recompute, attention_context_bitwise_equal_to_composition_and_across_threads)
{
    const size_t ng = sizeof(float) * (size_t)(AB * AQ * AD + 2 * AB * AK * AD + AD * AD + AD);
    const size_t ny = sizeof(float) * (size_t)(AB * AQ * AD);
    float *yc, *yr;
    float *gc = run_attention(0, 2, &yc);
    for (int t = 1; t <= 4; t *= 2) {
        float *gr = run_attention(1, t, &yr);
        cr_expect(memcmp(yr, yc, ny) == 0, "%d threads: values differ from the composition", t);
        cr_expect(memcmp(gr, gc, ng) == 0, "%d threads: gradients differ from the composition", t);
        free(gr);
        free(yr);
    }
    free(gc);
    free(yc);
    ak_set_threads(2);
}

/* ---- gradient check ------------------------------------------------------ */

/* A smooth f (tanh instead of relu: no kinks), dropout inside and around. */
static ak_tensor *f_smooth_hidden(ak_ctx *c, ak_tensor *const *in, const void *arg)
{
    const ffn_arg *a = arg;
    ak_tensor *u = ak_layernorm(c, in[0], in[1], in[2], a->eps);
    return ak_dropout(c, ak_tanh(c, ak_linear(c, u, in[3], in[4])), a->p);
}

static ak_tensor *gc_block(ak_ctx *c, ak_tensor *const *in, void *user)
{
    (void)user;
    ffn_arg a = {1e-5f, 0.25f};
    ak_tensor *f = ak_linear_recompute(c, f_smooth_hidden, &a, sizeof a, 5, in, in[5], in[6]);
    return ak_dropout(c, f, 0.25f);
}

Test(ops_recompute, gradcheck_with_dropout_inside_and_after)
{
    ak_gc_input in[7] = {th_in(th_rand(0, 2 * 3 * 5, -1, 1, 51), 3, ak_shape(2, 3, 5), 1),
                         th_in(th_rand(1, 5, 0.5f, 1.5f, 52), 1, ak_shape(5), 1),
                         th_in(th_rand(2, 5, -0.5f, 0.5f, 53), 1, ak_shape(5), 1),
                         th_in(th_rand(3, 6 * 5, -0.5f, 0.5f, 54), 2, ak_shape(6, 5), 1),
                         th_in(th_rand(4, 6, -0.2f, 0.2f, 55), 1, ak_shape(6), 1),
                         th_in(th_rand(5, 4 * 6, -0.5f, 0.5f, 56), 2, ak_shape(4, 6), 1),
                         th_in(th_rand(6, 4, -0.2f, 0.2f, 57), 1, ak_shape(4), 1)};
    for (int training = 0; training <= 1; training++) {
        ak_gc_opts o = TH_GC_OPTS;
        o.training = training;
        th_check_gradients(gc_block, NULL, 7, in, o);
    }
}

/* ---- memory, modes, errors ------------------------------------------------ */

/* After the forward pass f's output is free memory again: a tensor of its
 * size made next fits in it, so the arena's high water stays lower than
 * with the composition by that size (less a few small records the op keeps:
 * its node, the saved arguments). */
Test(ops_recompute, forward_hands_fs_memory_back)
{
    size_t hw[2];
    for (int recompute = 0; recompute <= 1; recompute++) {
        ak_ctx c;
        ak_ctx_init(&c, 0, 1);
        ak_tensor *x = leaf(&c, 2, ak_shape(FR, FD), 0, -1, 1, 61);
        ak_tensor *g = leaf(&c, 1, ak_shape(FD), 1, 0.5f, 1.5f, 62), *b = leaf(&c, 1, ak_shape(FD), 2, -1, 1, 63);
        ak_tensor *w = leaf(&c, 2, ak_shape(8, FD), 3, -1, 1, 64);
        float eps = 1e-5f;
        ak_tensor *in[3] = {x, g, b};
        ak_tensor *y = recompute ? ak_linear_recompute(&c, layernorm, &eps, sizeof eps, 3, in, w, NULL)
                                 : ak_linear(&c, layernorm(&c, in, &eps), w, NULL);
        cr_assert_not_null(y, "%s", c.err.msg);
        cr_assert_not_null(ak_tensor_new(&c, 2, ak_shape(FR, FD)));
        hw[recompute] = c.arena.high_water;
        ak_ctx_free(&c);
    }
    cr_expect(hw[1] + sizeof(float) * FR * FD <= hw[0] + 1024, "high water %zu with recomputation, %zu without", hw[1],
              hw[0]);
}

Test(ops_recompute, no_grad_mode_gives_the_composed_values)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_set_grad_enabled(&c, 0);
    ak_tensor *x = leaf(&c, 3, ak_shape(2, 3, 8), 0, -1, 1, 71), *g = leaf(&c, 1, ak_shape(8), 1, 0.5f, 1.5f, 72);
    ak_tensor *b = leaf(&c, 1, ak_shape(8), 2, -1, 1, 73), *w = leaf(&c, 2, ak_shape(5, 8), 3, -1, 1, 74);
    ak_tensor *bias = leaf(&c, 1, ak_shape(5), 4, -1, 1, 75);
    float eps = 1e-5f;
    ak_tensor *in[3] = {x, g, b};
    ak_tensor *y = ak_linear_recompute(&c, layernorm, &eps, sizeof eps, 3, in, w, bias);
    ak_tensor *r = ak_linear(&c, layernorm(&c, in, &eps), w, bias);
    cr_assert(y && r, "%s", c.err.msg);
    cr_expect_eq(y->ndim, 3);
    cr_expect_eq(y->shape[2], 5);
    cr_expect(memcmp(y->data, r->data, sizeof(float) * (size_t)r->size) == 0);
    cr_expect_eq(y->requires_grad, 0);
    ak_ctx_free(&c);
}

static ak_tensor *identity(ak_ctx *c, ak_tensor *const *in, const void *arg)
{
    (void)c;
    (void)arg;
    return in[0];
}

/* f may hand an input through: then the op is ak_linear on it. */
Test(ops_recompute, identity_f_is_plain_linear)
{
    float g[2][3 * 4 + 4 * 5];
    for (int recompute = 0; recompute <= 1; recompute++) {
        ak_ctx c;
        ak_ctx_init(&c, 0, 1);
        ak_tensor *x = leaf(&c, 2, ak_shape(3, 4), 0, -1, 1, 81), *w = leaf(&c, 2, ak_shape(5, 4), 1, -1, 1, 82);
        ak_tensor *y =
            recompute ? ak_linear_recompute(&c, identity, NULL, 0, 1, &x, w, NULL) : ak_linear(&c, x, w, NULL);
        cr_assert_not_null(y, "%s", c.err.msg);
        ak_err err;
        cr_assert(ak_backward_seeded(&c, y, th_rand(2, 15, -1, 1, 83), &err) == 0, "%s", err.msg);
        memcpy(g[recompute], x->grad, sizeof(float) * 12);
        memcpy(g[recompute] + 12, w->grad, sizeof(float) * 20);
        ak_ctx_free(&c);
    }
    cr_expect(memcmp(g[0], g[1], sizeof g[0]) == 0);
}

Test(ops_recompute, bad_inputs_fail_with_messages)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = leaf(&c, 2, ak_shape(3, 4), 0, -1, 1, 91), *w = leaf(&c, 2, ak_shape(5, 6), 1, -1, 1, 92);
    cr_expect_null(ak_linear_recompute(&c, identity, NULL, 0, 1, &x, w, NULL));
    cr_expect_str_eq(c.err.msg, "linear: expected x [..., in] and w [out, in], got x [3, 4] and w [5, 6]");
    ak_ctx_end_step(&c);
    ak_tensor *many[13] = {0};
    cr_expect_null(ak_linear_recompute(&c, identity, NULL, 0, 13, many, w, NULL));
    cr_expect_str_eq(c.err.msg, "linear_recompute: expected a function of 0 to 12 inputs, got 13");
    ak_ctx_end_step(&c);
    ak_tensor *none = NULL;
    cr_expect_null(ak_linear_recompute(&c, identity, NULL, 0, 1, &none, w, NULL));
    cr_expect_eq(ak_ctx_failed(&c), 0, "a NULL input returns NULL without a new message");
    ak_ctx_free(&c);
}
