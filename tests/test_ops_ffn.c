/* ak_relu_dropout_linear (ops/ffn.h) against ak_linear(ak_relu_dropout(a))
 * composed: the same bits in values and gradients (training with dropout,
 * eval, p = 0, with and without bias, 1/2/4 threads); a gradient check; the
 * hidden kept packed and a's memory free at once after ak_discard. */
#include "helpers.h"

#include "core/threads.h"
#include "ops/ffn.h"
#include "ops/ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R = 128, F = 512, D = 48 }; /* rows, hidden, output: R * F >= AK_PAR_MIN */

typedef struct out {
    float y[R * D], ga[R * F], gw[D * F], gb[D];
    uint64_t calls;
} out;

/* a = 2 x0 (a node, so that a can be discarded); y = Linear(Drop(ReLU(a)))
 * fused or composed, then a dropout after it (call numbering); backward
 * from a fixed seed. */
static void run(int fused, int training, float p, int bias, int nthreads, out *o)
{
    ak_set_threads(nthreads);
    ak_ctx c;
    ak_ctx_init(&c, 0, 11);
    c.training = training;
    c.step = 4;
    ak_tensor *x0 = ak_tensor_from(&c, 3, ak_shape(4, R / 4, F), th_rand(0, R * F, -1, 1, 1), 1);
    ak_tensor *w = ak_tensor_from(&c, 2, ak_shape(D, F), th_rand(1, D * F, -0.1f, 0.1f, 2), 1);
    ak_tensor *b = bias ? ak_tensor_from(&c, 1, ak_shape(D), th_rand(2, D, -1, 1, 3), 1) : NULL;
    ak_tensor *a = ak_scale(&c, x0, 2.0f);
    ak_tensor *y = fused ? ak_relu_dropout_linear(&c, a, p, w, b) : ak_linear(&c, ak_relu_dropout(&c, a, p), w, b);
    if (fused)
        ak_discard(&c, a);
    ak_tensor *z = ak_dropout(&c, y, 0.3f);
    cr_assert_not_null(z, "%s", c.err.msg);
    ak_err err;
    cr_assert(ak_backward_seeded(&c, z, th_rand(3, R * D, -1, 1, 4), &err) == 0, "%s", err.msg);
    memcpy(o->y, y->data, sizeof o->y);
    memcpy(o->ga, x0->grad, sizeof o->ga);
    memcpy(o->gw, w->grad, sizeof o->gw);
    if (b)
        memcpy(o->gb, b->grad, sizeof o->gb);
    o->calls = c.dropout_calls;
    ak_ctx_free(&c);
}

static void expect_same(const out *a, const out *b, const char *what)
{
    cr_expect(memcmp(a->y, b->y, sizeof a->y) == 0, "%s: values differ", what);
    cr_expect(memcmp(a->ga, b->ga, sizeof a->ga) == 0, "%s: gradient of a differs", what);
    cr_expect(memcmp(a->gw, b->gw, sizeof a->gw) == 0, "%s: gradient of w differs", what);
    cr_expect(memcmp(a->gb, b->gb, sizeof a->gb) == 0, "%s: gradient of the bias differs", what);
    cr_expect_eq(a->calls, b->calls, "%s: dropout call numbers differ", what);
}

Test(ops_ffn, bitwise_equal_to_composition)
{
    static const struct {
        int training;
        float p;
        int bias;
    } cases[] = {{1, 0.1f, 1}, {1, 0.5f, 0}, {0, 0.1f, 1}, {1, 0.0f, 1}};
    static out f, r; /* large: not on the stack */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&f, 0, sizeof f);
        memset(&r, 0, sizeof r);
        run(1, cases[i].training, cases[i].p, cases[i].bias, 2, &f);
        run(0, cases[i].training, cases[i].p, cases[i].bias, 2, &r);
        char what[64];
        snprintf(what, sizeof what, "training %d, p %g, bias %d", cases[i].training, (double)cases[i].p, cases[i].bias);
        expect_same(&f, &r, what);
    }
}

Test(ops_ffn, bitwise_equal_for_1_2_4_threads)
{
    static out one, o;
    run(1, 1, 0.1f, 1, 1, &one);
    for (int t = 2; t <= 4; t += 2) {
        run(1, 1, 0.1f, 1, t, &o);
        char what[32];
        snprintf(what, sizeof what, "%d threads", t);
        expect_same(&one, &o, what);
    }
    ak_set_threads(2);
}

/* Inputs away from ReLU's kink (h = 1e-2 never crosses it). */
static float *away_from_zero(int slot, int64_t n, uint64_t seed)
{
    float *v = th_rand(slot, n, -1, 1, seed);
    for (int64_t i = 0; i < n; i++)
        if (fabsf(v[i]) < 0.05f)
            v[i] = v[i] < 0 ? v[i] - 0.05f : v[i] + 0.05f;
    return v;
}

static ak_tensor *f_fused(ak_ctx *c, ak_tensor *const *in, void *u)
{
    return ak_relu_dropout_linear(c, in[0], *(const float *)u, in[1], in[2]);
}

Test(ops_ffn, gradcheck_training_and_eval)
{
    float p = 0.3f;
    ak_gc_input in[3] = {th_in(away_from_zero(0, 2 * 3 * 6, 21), 3, ak_shape(2, 3, 6), 1),
                         th_in(th_rand(1, 4 * 6, -1, 1, 22), 2, ak_shape(4, 6), 1),
                         th_in(th_rand(2, 4, -1, 1, 23), 1, ak_shape(4), 1)};
    for (int training = 0; training <= 1; training++) {
        ak_gc_opts o = TH_GC_OPTS;
        o.training = training;
        th_check_gradients(f_fused, &p, 3, in, o);
    }
}

/* Arena bytes in use: below the bump pointer and not given back. */
static size_t live(const ak_ctx *c)
{
    return c->arena.used - c->arena.pool_bytes;
}

/* What the forward pass keeps: with half of a negative, the packed hidden
 * (mask and nonzero values) instead of all of it; and a's memory goes back
 * at once on ak_discard (the node does not read it). */
Test(ops_ffn, keeps_the_hidden_packed_and_not_a)
{
    size_t kept[2];
    const size_t hbytes = sizeof(float) * R * F;
    for (int fused = 0; fused <= 1; fused++) {
        ak_ctx c;
        ak_ctx_init(&c, 0, 1);
        c.training = 1;
        ak_tensor *x0 = ak_tensor_from(&c, 2, ak_shape(R, F), th_rand(0, R * F, -1, 1, 31), 1);
        ak_tensor *w = ak_tensor_from(&c, 2, ak_shape(D, F), th_rand(1, D * F, -1, 1, 32), 1);
        ak_tensor *a = ak_scale(&c, x0, 1.0f);
        ak_tensor *y =
            fused ? ak_relu_dropout_linear(&c, a, 0.1f, w, NULL) : ak_linear(&c, ak_relu_dropout(&c, a, 0.1f), w, NULL);
        cr_assert_not_null(y, "%s", c.err.msg);
        kept[fused] = live(&c);
        if (fused) {
            ak_discard(&c, a);
            cr_expect_eq(live(&c) + hbytes, kept[1], "a's memory did not go back at once");
        }
        ak_ctx_free(&c);
    }
    /* about 45% of the hidden stays nonzero: well under 3/4 of it */
    cr_expect(kept[1] + hbytes / 4 < kept[0], "%zu bytes kept fused, %zu composed", kept[1], kept[0]);
}

Test(ops_ffn, no_grad_mode_and_errors)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_set_grad_enabled(&c, 0);
    ak_tensor *a = ak_tensor_from(&c, 2, ak_shape(3, 8), th_rand(0, 24, -1, 1, 41), 1);
    ak_tensor *w = ak_tensor_from(&c, 2, ak_shape(5, 8), th_rand(1, 40, -1, 1, 42), 1);
    ak_tensor *y = ak_relu_dropout_linear(&c, a, 0.1f, w, NULL), *r = ak_linear(&c, ak_relu(&c, a), w, NULL);
    cr_assert(y && r, "%s", c.err.msg);
    cr_expect(memcmp(y->data, r->data, sizeof(float) * 15) == 0);
    cr_expect_eq(y->requires_grad, 0);
    ak_ctx_end_step(&c);
    a = ak_tensor_from(&c, 2, ak_shape(3, 8), th_rand(0, 24, -1, 1, 41), 1);
    w = ak_tensor_from(&c, 2, ak_shape(5, 7), th_rand(1, 35, -1, 1, 42), 1);
    cr_expect_null(ak_relu_dropout_linear(&c, a, 0.1f, w, NULL));
    cr_expect_str_eq(c.err.msg, "linear: expected x [..., in] and w [out, in], got x [3, 8] and w [5, 7]");
    ak_ctx_end_step(&c);
    cr_expect_null(ak_relu_dropout_linear(&c, NULL, 0.1f, w, NULL));
    cr_expect_eq(ak_ctx_failed(&c), 0);
    ak_ctx_free(&c);
}
