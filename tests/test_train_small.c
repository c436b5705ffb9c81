/* End-to-end training of small MLPs (linear -> tanh -> linear ->
 * cross-entropy) with the tape, the ops and the optimizers together: XOR is
 * learned, the arena reaches a steady state, and runs are reproducible across
 * thread counts and seeds. */
#include "helpers.h"
#include "core/threads.h"
#include "ops/ops.h"
#include "optim/optim.h"

#include <math.h>
#include <string.h>

typedef struct mlp {
    ak_params p;
    ak_tensor *w1, *b1, *w2, *b2;
    int64_t in, out;
} mlp;

/* PyTorch's nn.Linear default: weights and biases U(-1/sqrt(fan_in), +). */
static void mlp_init(mlp *m, int64_t in, int64_t hid, int64_t out, uint64_t seed)
{
    ak_err err = {{0}};
    ak_params_init(&m->p);
    const float a1 = 1.0f / sqrtf((float)in), a2 = 1.0f / sqrtf((float)hid);
    m->w1 = ak_param(&m->p, "w1", 2, ak_shape(hid, in), (ak_init){AK_INIT_UNIFORM, a1}, &err);
    m->b1 = ak_param(&m->p, "b1", 1, ak_shape(hid), (ak_init){AK_INIT_UNIFORM, a1}, &err);
    m->w2 = ak_param(&m->p, "w2", 2, ak_shape(out, hid), (ak_init){AK_INIT_UNIFORM, a2}, &err);
    m->b2 = ak_param(&m->p, "b2", 1, ak_shape(out), (ak_init){AK_INIT_UNIFORM, a2}, &err);
    cr_assert(m->w1 && m->b1 && m->w2 && m->b2, "%s", err.msg);
    cr_assert_eq(ak_params_finalize(&m->p, seed, 0, &err), 0, "%s", err.msg);
    m->in = in;
    m->out = out;
}

/* logits [batch, out] = linear(tanh(linear(x, w1, b1)), w2, b2) */
static ak_tensor *mlp_forward(ak_ctx *c, const mlp *m, const float *x, int64_t batch)
{
    ak_tensor *xt = ak_tensor_from(c, 2, ak_shape(batch, m->in), x, 0);
    ak_tensor *h = ak_tanh(c, ak_linear(c, xt, m->w1, m->b1));
    return ak_linear(c, h, m->w2, m->b2);
}

/* One step: zero grads, forward, loss, backward, optional clip, update, end
 * the step (resetting the arena). Returns the loss before the update. */
static float train_step(ak_ctx *c, mlp *m, ak_optim *o, const float *x, const int32_t *y, int64_t batch,
                        double clip)
{
    ak_params_zero_grad(&m->p);
    ak_tensor *loss = ak_cross_entropy(c, mlp_forward(c, m, x, batch), y, -1, 0.0f, NULL);
    cr_assert(!ak_ctx_failed(c), "forward failed: %s", c->err.msg);
    ak_err err = {{0}};
    cr_assert_eq(ak_backward(c, loss, &err), 0, "%s", err.msg);
    float value = loss->data[0];
    if (clip > 0)
        ak_clip_grad_norm(&m->p, clip);
    ak_optim_step(o);
    ak_ctx_end_step(c);
    return value;
}

Test(train_small, mlp_learns_xor_with_adam)
{
    /* 2 -> 8 tanh -> 2 logits, full batch of the 4 XOR cases, Adam lr 0.05.
     * From seed 3 the loss is below 0.05 by step 50 and near 3e-4 at step
     * 300 (seeds 1, 2, 4, 5 end the same way), so the bound has a wide margin. */
    static const float x[4 * 2] = {0, 0, 0, 1, 1, 0, 1, 1};
    static const int32_t y[4] = {0, 1, 1, 0};
    mlp m;
    mlp_init(&m, 2, 8, 2, 3);
    ak_optim o;
    ak_optim_cfg cfg = ak_adam_cfg(0.05);
    cr_assert_eq(ak_optim_init(&o, &m.p, &cfg, NULL), 0);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    float first = 0, loss = 0;
    for (int t = 0; t < 300; t++) {
        loss = train_step(&c, &m, &o, x, y, 4, 0);
        if (t == 0)
            first = loss;
    }
    /* Chance level is ln 2 = 0.693 per case. */
    cr_expect_gt(first, 0.5f, "initial loss %g", first);
    cr_expect_lt(loss, 0.05f, "final loss %g after 300 steps", loss);

    ak_set_grad_enabled(&c, 0);
    ak_tensor *logits = mlp_forward(&c, &m, x, 4);
    cr_assert(logits && !ak_ctx_failed(&c), "%s", c.err.msg);
    int32_t pred[4];
    ak_argmax(logits, pred);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(pred[i], y[i], "XOR(%g, %g): predicted %d", x[2 * i], x[2 * i + 1], pred[i]);
    ak_ctx_free(&c);
    ak_optim_free(&o);
    ak_params_free(&m.p);
}

/* Two fixed-batch classification problems of the same kind: "big" is large
 * enough that the GEMMs, the elementwise ops and the optimizer loop (w1 alone
 * is 32,768 floats = AK_PAR_MIN) all take their parallel paths: 64 -> 512
 * tanh -> 10, batch 128; "small" (16 -> 64 -> 10, batch 32) is for the tests
 * that do not need threads, to keep them fast. */
typedef struct problem {
    int64_t in, hid, out, batch;
} problem;

static const problem BIG = {64, 512, 10, 128}, SMALL = {16, 64, 10, 32};

static const float *batch_x(problem pb) { return th_rand(0, pb.batch * pb.in, -1, 1, 5); }

static const int32_t *batch_y(problem pb)
{
    static int32_t y[128];
    cr_assert(pb.batch <= 128);
    ak_rng r = ak_rng_make(6, 0);
    for (int64_t i = 0; i < pb.batch; i++)
        y[i] = (int32_t)ak_rng_below(&r, (uint32_t)pb.out);
    return y;
}

Test(train_small, arena_reaches_steady_state_after_second_step)
{
    mlp m;
    mlp_init(&m, SMALL.in, SMALL.hid, SMALL.out, 1);
    ak_optim o;
    ak_optim_cfg cfg = ak_adamw_cfg(1e-2, 0.01);
    cr_assert_eq(ak_optim_init(&o, &m.p, &cfg, NULL), 0);
    ak_ctx c;
    /* A 4 KiB first block is far too small for one step (the hidden layer
     * alone is 8 KiB), so step 1 chains blocks and the reset after it must
     * merge them. */
    ak_ctx_init(&c, 4 << 10, 1);
    const float *x = batch_x(SMALL);
    const int32_t *y = batch_y(SMALL);
    size_t hw = 0, mallocs = 0, cap = 0;
    float first = 0, loss = 0;
    for (int t = 1; t <= 50; t++) {
        loss = train_step(&c, &m, &o, x, y, SMALL.batch, 0);
        if (t == 1) {
            first = loss;
            cr_expect_gt(c.arena.mallocs, 1, "step 1 should have outgrown the first block");
        }
        if (t == 2) {
            hw = c.arena.high_water;
            mallocs = c.arena.mallocs;
            cap = ak_arena_capacity(&c.arena);
        } else if (t > 2) {
            cr_assert_eq(c.arena.high_water, hw, "step %d: high water %zu, was %zu after step 2", t,
                         c.arena.high_water, hw);
            cr_assert_eq(c.arena.mallocs, mallocs, "step %d: %zu block allocations, was %zu after step 2", t,
                         c.arena.mallocs, mallocs);
            cr_assert_eq(ak_arena_capacity(&c.arena), cap);
        }
    }
    /* The steps did train (the batch is fixed, so the loss must fall). */
    cr_expect_lt(loss, first, "loss %g after 50 steps, %g at the start", loss, first);
    ak_ctx_free(&c);
    ak_optim_free(&o);
    ak_params_free(&m.p);
}

/* 20 steps of Adam with clipping on problem pb from `seed` at `threads`
 * threads; m holds the trained model. */
static void train20(problem pb, int threads, uint64_t seed, mlp *m)
{
    ak_set_threads(threads);
    mlp_init(m, pb.in, pb.hid, pb.out, seed);
    ak_optim o;
    ak_optim_cfg cfg = ak_adam_cfg(1e-3);
    cr_assert_eq(ak_optim_init(&o, &m->p, &cfg, NULL), 0);
    ak_ctx c;
    ak_ctx_init(&c, 0, seed);
    for (int t = 0; t < 20; t++)
        train_step(&c, m, &o, batch_x(pb), batch_y(pb), pb.batch, 1.0);
    cr_assert_eq(o.step, 20);
    ak_ctx_free(&c);
    ak_optim_free(&o);
}

Test(train_small, one_and_two_threads_give_identical_parameters)
{
    mlp a, b;
    train20(BIG, 1, 1, &a);
    train20(BIG, 2, 1, &b);
    cr_assert_eq(a.p.total, b.p.total);
    int64_t diff = 0;
    for (int64_t i = 0; i < a.p.total; i++)
        diff += memcmp(&a.p.data[i], &b.p.data[i], sizeof(float)) != 0;
    cr_expect_eq(diff, 0, "%lld of %lld parameters differ between 1 and 2 threads", (long long)diff,
                 (long long)a.p.total);
    ak_params_free(&a.p);
    ak_params_free(&b.p);
}

Test(train_small, same_seed_same_parameters_other_seed_different)
{
    mlp a, b, d;
    train20(SMALL, 2, 7, &a);
    train20(SMALL, 2, 7, &b);
    train20(SMALL, 2, 8, &d);
    cr_expect(memcmp(a.p.data, b.p.data, (size_t)a.p.total * sizeof(float)) == 0, "same seed, different result");
    int64_t same = 0;
    for (int64_t i = 0; i < a.w1->size; i++)
        same += a.w1->data[i] == d.w1->data[i];
    cr_expect_eq(same, 0, "seeds 7 and 8 agree on %lld of %lld weights", (long long)same, (long long)a.w1->size);
    ak_params_free(&a.p);
    ak_params_free(&b.p);
    ak_params_free(&d.p);
}
