/* SGD, Adam and AdamW against values worked out by hand in double precision,
 * plus validation messages, state save/restore and thread independence.
 *
 * Common setup for the hand-computed tests: a store with w [3] (declared
 * first, so at offset 0) and z [2] (offset 16, after w's padding), both
 * tensors registered so that the second one and the padding are exercised.
 *   w0 = [1, -2, 0.5]
 *   gradients of w at steps 1, 2, 3:  g1 = [0.1, -0.2, 0.3]
 *                                     g2 = [0.4, 0.1, -0.5]
 *                                     g3 = [-0.3, 0.2, 0]
 * z starts at 0 with zero gradient and must stay 0, like the padding, under
 * every optimizer (a zero gradient never moves a zero parameter).
 * The updates run in float32; the expected values are exact decimal
 * results, so a tolerance of 2e-6 on values of order 1 covers float rounding
 * over 3 steps while any wrong formula is off by > 1e-3. */
#include "helpers.h"
#include "core/threads.h"
#include "optim/optim.h"

#include <math.h>
#include <string.h>

static const float G[3][3] = {{0.1f, -0.2f, 0.3f}, {0.4f, 0.1f, -0.5f}, {-0.3f, 0.2f, 0.0f}};

typedef struct fixture {
    ak_params p;
    ak_tensor *w, *z;
} fixture;

static void fixture_init(fixture *f)
{
    ak_err err = {{0}};
    ak_params_init(&f->p);
    f->w = ak_param(&f->p, "w", 1, ak_shape(3), (ak_init){AK_INIT_ZEROS, 0}, &err);
    f->z = ak_param(&f->p, "z", 1, ak_shape(2), (ak_init){AK_INIT_ZEROS, 0}, &err);
    cr_assert(f->w && f->z, "%s", err.msg);
    cr_assert_eq(ak_params_finalize(&f->p, 1, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(f->p.total, 32);
    const float w0[3] = {1.0f, -2.0f, 0.5f};
    memcpy(f->w->data, w0, sizeof w0);
}

static void set_grad(fixture *f, int t)
{
    ak_params_zero_grad(&f->p);
    memcpy(f->w->grad, G[t], sizeof G[t]);
}

static void expect_vec(const float *got, const double *want, int n, const char *what, int step)
{
    for (int i = 0; i < n; i++)
        cr_expect(fabs(got[i] - want[i]) <= 2e-6, "%s after step %d [%d]: got %.9g, want %.9g", what, step, i,
                  got[i], want[i]);
}

/* Everything outside w's three floats is zero: z, both paddings, and the
 * same places in every state buffer. */
static void expect_rest_zero(const fixture *f, const ak_optim *o)
{
    for (int64_t i = 3; i < f->p.total; i++) {
        cr_expect_eq(f->p.data[i], 0.0f, "data[%lld] = %g", (long long)i, f->p.data[i]);
        for (int b = 0; b < o->nbuf; b++)
            cr_expect_eq(o->buf[b][i], 0.0f, "%s[%lld] = %g", o->buf_name[b], (long long)i, o->buf[b][i]);
    }
}

/* Runs 3 steps of cfg and compares w (and the state buffers when given)
 * with want_p[t] (want_buf[b][t]) after each step t. */
static void check_three_steps(const ak_optim_cfg *cfg, const double want_p[3][3], const double want_buf[][3][3])
{
    fixture f;
    fixture_init(&f);
    ak_optim o;
    ak_err err = {{0}};
    cr_assert_eq(ak_optim_init(&o, &f.p, cfg, &err), 0, "%s", err.msg);
    for (int t = 0; t < 3; t++) {
        set_grad(&f, t);
        ak_optim_step(&o);
        cr_assert_eq(o.step, t + 1);
        expect_vec(f.w->data, want_p[t], 3, "w", t + 1);
        for (int b = 0; want_buf && b < o.nbuf; b++)
            expect_vec(o.buf[b], want_buf[b][t], 3, o.buf_name[b], t + 1);
    }
    expect_rest_zero(&f, &o);
    ak_optim_free(&o);
    ak_params_free(&f.p);
}

Test(optim_step, sgd_plain_matches_hand_values)
{
    /* p -= lr * g with lr 0.1:
     *   step 1: [1 - 0.01, -2 + 0.02, 0.5 - 0.03]    = [0.99, -1.98, 0.47]
     *   step 2: [0.99 - 0.04, -1.98 - 0.01, 0.47 + 0.05] = [0.95, -1.99, 0.52]
     *   step 3: [0.95 + 0.03, -1.99 - 0.02, 0.52 - 0]  = [0.98, -2.01, 0.52] */
    const double want[3][3] = {{0.99, -1.98, 0.47}, {0.95, -1.99, 0.52}, {0.98, -2.01, 0.52}};
    ak_optim_cfg cfg = ak_sgd_cfg(0.1, 0.0);
    check_three_steps(&cfg, want, NULL);
}

Test(optim_step, sgd_momentum_weight_decay_matches_hand_values)
{
    /* lr 0.1, mu 0.9, wd 0.01:  g = grad + 0.01 p;  b = 0.9 b + g;  p -= 0.1 b
     * step 1: g = [0.1 + 0.01, -0.2 - 0.02, 0.3 + 0.005] = [0.11, -0.22, 0.305]
     *         b = g;  p = [1 - 0.011, -2 + 0.022, 0.5 - 0.0305] = [0.989, -1.978, 0.4695]
     * step 2: g = [0.4 + 0.00989, 0.1 - 0.01978, -0.5 + 0.004695] = [0.40989, 0.08022, -0.495305]
     *         b = [0.099 + 0.40989, -0.198 + 0.08022, 0.2745 - 0.495305] = [0.50889, -0.11778, -0.220805]
     *         p = [0.989 - 0.050889, -1.978 + 0.011778, 0.4695 + 0.0220805] = [0.938111, -1.966222, 0.4915805]
     * step 3: g = [-0.3 + 0.00938111, 0.2 - 0.01966222, 0.004915805] = [-0.29061889, 0.18033778, 0.004915805]
     *         b = [0.458001 - 0.29061889, -0.106002 + 0.18033778, -0.1987245 + 0.004915805]
     *           = [0.16738211, 0.07433578, -0.193808695]
     *         p = [0.921372789, -1.973655578, 0.5109613695] */
    const double want[3][3] = {
        {0.989, -1.978, 0.4695}, {0.938111, -1.966222, 0.4915805}, {0.921372789, -1.973655578, 0.5109613695}};
    const double buf[1][3][3] = {
        {{0.11, -0.22, 0.305}, {0.50889, -0.11778, -0.220805}, {0.16738211, 0.07433578, -0.193808695}}};
    ak_optim_cfg cfg = ak_sgd_cfg(0.1, 0.9);
    cfg.weight_decay = 0.01;
    check_three_steps(&cfg, want, buf);
}

Test(optim_step, sgd_nesterov_matches_hand_values)
{
    /* lr 0.1, mu 0.9, nesterov:  b = 0.9 b + g;  d = g + 0.9 b;  p -= 0.1 d
     * step 1: b = [0.1, -0.2, 0.3];  d = 1.9 g = [0.19, -0.38, 0.57]
     *         p = [0.981, -1.962, 0.443]
     * step 2: b = [0.09 + 0.4, -0.18 + 0.1, 0.27 - 0.5] = [0.49, -0.08, -0.23]
     *         d = [0.4 + 0.441, 0.1 - 0.072, -0.5 - 0.207] = [0.841, 0.028, -0.707]
     *         p = [0.981 - 0.0841, -1.962 - 0.0028, 0.443 + 0.0707] = [0.8969, -1.9648, 0.5137]
     * step 3: b = [0.441 - 0.3, -0.072 + 0.2, -0.207 + 0] = [0.141, 0.128, -0.207]
     *         d = [-0.3 + 0.1269, 0.2 + 0.1152, -0.1863] = [-0.1731, 0.3152, -0.1863]
     *         p = [0.8969 + 0.01731, -1.9648 - 0.03152, 0.5137 + 0.01863] = [0.91421, -1.99632, 0.53233] */
    const double want[3][3] = {{0.981, -1.962, 0.443}, {0.8969, -1.9648, 0.5137}, {0.91421, -1.99632, 0.53233}};
    const double buf[1][3][3] = {{{0.1, -0.2, 0.3}, {0.49, -0.08, -0.23}, {0.141, 0.128, -0.207}}};
    ak_optim_cfg cfg = ak_sgd_cfg(0.1, 0.9);
    cfg.nesterov = 1;
    check_three_steps(&cfg, want, buf);
}

/* Adam and AdamW below use lr 0.1, betas (0.9, 0.98), eps 0.01, wd 0.1. The
 * large eps makes its placement visible: eps inside the square root
 * (sqrt(v_hat + eps)) moves w by ~6e-3 after 3 steps, eps added before the
 * bias correction ((sqrt(v) + eps) / sqrt(1 - beta2^t)) by ~3e-2. */
static ak_optim_cfg adam_cfg(ak_optim_kind kind)
{
    ak_optim_cfg c = ak_adam_cfg(0.1);
    c.kind = kind;
    c.beta2 = 0.98;
    c.eps = 0.01;
    c.weight_decay = 0.1;
    return c;
}

Test(optim_step, adam_l2_matches_hand_values)
{
    /* g = grad + 0.1 p;  m = 0.9 m + 0.1 g;  v = 0.98 v + 0.02 g^2;
     * m_hat = m / (1 - 0.9^t);  v_hat = v / (1 - 0.98^t);  p -= 0.1 m_hat / (sqrt(v_hat) + 0.01)
     * Element 0 in full (the others the same way, values below):
     * step 1: g = 0.1 + 0.1 * 1 = 0.2;  m = 0.02;  v = 0.0008;  m_hat = 0.2;  v_hat = 0.04
     *         denom = 0.2 + 0.01 = 0.21;  p = 1 - 0.1 * 0.2 / 0.21 = 0.904761905
     * step 2: g = 0.4 + 0.0904761905 = 0.49047619;  m = 0.018 + 0.049047619 = 0.067047619
     *         v = 0.000784 + 0.02 * 0.240566893 = 0.00559533787
     *         m_hat = 0.067047619 / 0.19 = 0.352882206;  v_hat = 0.00559533787 / 0.0396 = 0.141296411
     *         denom = 0.375894148 + 0.01 = 0.385894148;  p = 0.904761905 - 0.0914453373 = 0.813316567
     * step 3: g = -0.3 + 0.0813316567 = -0.218668343;  m = 0.0603428571 - 0.0218668343 = 0.0384760228
     *         v = 0.00548343111 + 0.02 * 0.0478158439 = 0.006439748
     *         m_hat = 0.0384760228 / 0.271 = 0.141977944;  v_hat = 0.006439748 / 0.058808 = 0.109504625
     *         denom = 0.330914831 + 0.01 = 0.340914831;  p = 0.813316567 - 0.0416461624 = 0.771670405 */
    const double want[3][3] = {{0.904761905, -1.90243902, 0.402777778},
                               {0.813316567, -1.82308546, 0.420951908},
                               {0.771670405, -1.76464491, 0.430428934}};
    const double buf[2][3][3] = {
        {{0.02, -0.04, 0.035},
         {0.067047619, -0.0450243902, -0.0144722222},
         {0.0384760228, -0.0387528058, -0.00881548092}},
        {{0.0008, 0.0032, 0.00245},
         {0.00559533787, 0.00329887924, 0.00662789043},
         {0.006439748, 0.0032391614, 0.00653077273}}};
    ak_optim_cfg cfg = adam_cfg(AK_OPTIM_ADAM);
    check_three_steps(&cfg, want, buf);
}

Test(optim_step, adamw_matches_hand_values)
{
    /* p *= 1 - 0.1 * 0.1 = 0.99, then Adam on the raw gradient:
     * m = 0.9 m + 0.1 grad;  v = 0.98 v + 0.02 grad^2;  p -= 0.1 m_hat / (sqrt(v_hat) + 0.01)
     * Element 0:
     * step 1: p = 0.99;  m = 0.01;  v = 0.0002;  m_hat = 0.1;  v_hat = 0.01;  denom = 0.11
     *         p = 0.99 - 0.1 * 0.1 / 0.11 = 0.899090909
     * step 2: p = 0.89010;  m = 0.009 + 0.04 = 0.049;  v = 0.000196 + 0.0032 = 0.003396
     *         m_hat = 0.049 / 0.19 = 0.257894737;  v_hat = 0.003396 / 0.0396 = 0.0857575758
     *         denom = 0.292843944 + 0.01 = 0.302843944;  p = 0.8901 - 0.0851576337 = 0.804942366
     * step 3: p = 0.796892943;  m = 0.0441 - 0.03 = 0.0141;  v = 0.00332808 + 0.0018 = 0.00512808
     *         m_hat = 0.0141 / 0.271 = 0.0520295203;  v_hat = 0.00512808 / 0.058808 = 0.0872003809
     *         denom = 0.295297106 + 0.01 = 0.305297106;  p = 0.796892943 - 0.0170422579 = 0.779850685 */
    const double want[3][3] = {{0.899090909, -1.8847619, 0.398225806},
                               {0.804942366, -1.84079691, 0.42284163},
                               {0.779850685, -1.84816959, 0.440706366}};
    const double buf[2][3][3] = {{{0.01, -0.02, 0.03}, {0.049, -0.008, -0.023}, {0.0141, 0.0128, -0.0207}},
                                 {{0.0002, 0.0008, 0.0018},
                                  {0.003396, 0.000984, 0.006764},
                                  {0.00512808, 0.00176432, 0.00662872}}};
    ak_optim_cfg cfg = adam_cfg(AK_OPTIM_ADAMW);
    check_three_steps(&cfg, want, buf);
}

Test(optim_step, adamw_is_adam_after_decoupled_decay_bitwise)
{
    /* AdamW(wd) == "p *= (float)(1 - lr * wd); Adam(wd = 0)" at every step, to
     * the bit; and with wd = 0 the two optimizers are the same. */
    fixture a, b;
    fixture_init(&a);
    fixture_init(&b);
    ak_optim oa, ob;
    ak_optim_cfg ca = adam_cfg(AK_OPTIM_ADAMW), cb = adam_cfg(AK_OPTIM_ADAM);
    cb.weight_decay = 0.0;
    cr_assert_eq(ak_optim_init(&oa, &a.p, &ca, NULL), 0);
    cr_assert_eq(ak_optim_init(&ob, &b.p, &cb, NULL), 0);
    const float shrink = (float)(1.0 - 0.1 * 0.1);
    for (int t = 0; t < 3; t++) {
        set_grad(&a, t);
        set_grad(&b, t);
        ak_optim_step(&oa);
        for (int i = 0; i < 3; i++)
            b.w->data[i] *= shrink;
        ak_optim_step(&ob);
        cr_assert(memcmp(a.p.data, b.p.data, 32 * sizeof(float)) == 0, "step %d differs", t + 1);
        cr_assert(memcmp(oa.buf[1], ob.buf[1], 32 * sizeof(float)) == 0);
    }
    /* And both are the hand-computed AdamW result (adamw_matches_hand_values). */
    cr_expect(fabsf(a.w->data[0] - 0.779850685f) <= 2e-6f, "w[0] = %.9g", a.w->data[0]);
    ak_optim_free(&oa);
    ak_optim_free(&ob);
    ak_params_free(&a.p);
    ak_params_free(&b.p);

    fixture c, d;
    fixture_init(&c);
    fixture_init(&d);
    ak_optim_cfg cc = adam_cfg(AK_OPTIM_ADAMW), cd = adam_cfg(AK_OPTIM_ADAM);
    cc.weight_decay = cd.weight_decay = 0.0;
    ak_optim oc, od;
    cr_assert_eq(ak_optim_init(&oc, &c.p, &cc, NULL), 0);
    cr_assert_eq(ak_optim_init(&od, &d.p, &cd, NULL), 0);
    for (int t = 0; t < 3; t++) {
        set_grad(&c, t);
        set_grad(&d, t);
        ak_optim_step(&oc);
        ak_optim_step(&od);
    }
    cr_assert(memcmp(c.p.data, d.p.data, 32 * sizeof(float)) == 0);
    ak_optim_free(&oc);
    ak_optim_free(&od);
    ak_params_free(&c.p);
    ak_params_free(&d.p);
}

Test(optim_step, state_layout_and_names)
{
    fixture f;
    fixture_init(&f);
    ak_optim o;
    ak_optim_cfg c = ak_sgd_cfg(0.1, 0.0);
    cr_assert_eq(ak_optim_init(&o, &f.p, &c, NULL), 0);
    cr_expect_eq(o.nbuf, 0, "plain SGD keeps no state");
    ak_optim_free(&o);
    c = ak_sgd_cfg(0.1, 0.5);
    cr_assert_eq(ak_optim_init(&o, &f.p, &c, NULL), 0);
    cr_expect_eq(o.nbuf, 1);
    cr_expect_str_eq(o.buf_name[0], "momentum");
    ak_optim_free(&o);
    c = ak_adamw_cfg(0.1, 0.01);
    cr_assert_eq(ak_optim_init(&o, &f.p, &c, NULL), 0);
    cr_expect_eq(o.nbuf, 2);
    cr_expect_eq(o.n, f.p.total);
    cr_expect_eq(o.step, 0);
    cr_expect_str_eq(o.buf_name[0], "exp_avg");
    cr_expect_str_eq(o.buf_name[1], "exp_avg_sq");
    for (int i = 0; i < 32; i++)
        cr_expect(o.buf[0][i] == 0.0f && o.buf[1][i] == 0.0f);
    ak_optim_free(&o);
    ak_params_free(&f.p);
}

static void expect_init_error(ak_optim_cfg c, const char *msg)
{
    fixture f;
    fixture_init(&f);
    ak_optim o;
    ak_err err = {{0}};
    cr_expect_eq(ak_optim_init(&o, &f.p, &c, &err), -1, "accepted: want '%s'", msg);
    cr_expect_str_eq(err.msg, msg);
    cr_expect_null(o.buf[0]);
    ak_params_free(&f.p);
}

Test(optim_step, bad_hyperparameters_fail_with_range)
{
    ak_optim_cfg c = ak_sgd_cfg(-0.1, 0.9);
    expect_init_error(c, "sgd: lr must be >= 0, got -0.1");
    c = ak_sgd_cfg(0.1, 1.0);
    expect_init_error(c, "sgd: momentum must be in [0, 1), got 1");
    c = ak_sgd_cfg(0.1, 0.0);
    c.nesterov = 1;
    expect_init_error(c, "sgd: nesterov needs momentum in (0, 1), got 0");
    c = ak_sgd_cfg(0.1, 0.0);
    c.weight_decay = -1e-4;
    expect_init_error(c, "sgd: weight_decay must be >= 0, got -0.0001");
    c = ak_adam_cfg(0.1);
    c.beta1 = 1.0;
    expect_init_error(c, "adam: beta1 must be in [0, 1), got 1");
    c = ak_adam_cfg(0.1);
    c.beta2 = -0.5;
    expect_init_error(c, "adam: beta2 must be in [0, 1), got -0.5");
    c = ak_adam_cfg(0.1);
    c.eps = 0.0;
    expect_init_error(c, "adam: eps must be > 0, got 0");
    c = ak_adamw_cfg(NAN, 0.01);
    expect_init_error(c, "adamw: lr must be >= 0, got nan");
    c = ak_adamw_cfg(0.1, 0.01);
    c.eps = NAN;
    expect_init_error(c, "adamw: eps must be > 0, got nan");
    c.kind = (ak_optim_kind)7;
    expect_init_error(c, "optimizer: unknown kind 7 (expected sgd, adam or adamw)");
}

Test(optim_step, unfinalized_store_and_bad_lr_update_fail)
{
    ak_params p;
    ak_params_init(&p);
    ak_optim o;
    ak_err err = {{0}};
    ak_optim_cfg c = ak_adam_cfg(1e-3);
    cr_expect_eq(ak_optim_init(&o, &p, &c, &err), -1);
    cr_expect_str_eq(err.msg, "adam: the parameter store is not finalized");
    ak_params_free(&p);

    fixture f;
    fixture_init(&f);
    cr_assert_eq(ak_optim_init(&o, &f.p, &c, &err), 0);
    cr_expect_eq(ak_optim_set_lr(&o, -2.0, &err), -1);
    cr_expect_str_eq(err.msg, "adam: lr must be >= 0, got -2");
    cr_expect_eq(o.cfg.lr, 1e-3, "a rejected rate leaves the old one");
    cr_expect_eq(ak_optim_set_lr(&o, 0.5, &err), 0);
    cr_expect_eq(o.cfg.lr, 0.5);
    ak_optim_free(&o);
    ak_params_free(&f.p);
}

/* ---- larger stores: save/restore and thread independence ---------------- */

enum { BIG_A = 30000, BIG_B = 7001 }; /* 37,008 floats padded: above AK_PAR_MIN */

static void big_init(ak_params *p)
{
    ak_err err = {{0}};
    ak_params_init(p);
    cr_assert(ak_param(p, "a", 2, ak_shape(100, 300), (ak_init){AK_INIT_NORMAL, 0.5f}, &err));
    cr_assert(ak_param(p, "b", 1, ak_shape(BIG_B), (ak_init){AK_INIT_UNIFORM, 1.0f}, &err));
    cr_assert_eq(ak_params_finalize(p, 42, 0, &err), 0, "%s", err.msg);
    cr_assert_geq(p->total, AK_PAR_MIN);
}

/* Gradient of step t: uniform in [-1, 1) per element, padding left zero. */
static void big_grad(ak_params *p, int t)
{
    ak_params_zero_grad(p);
    memcpy(p->items[0]->grad, th_rand(0, BIG_A, -1, 1, 100 + (uint64_t)t), BIG_A * sizeof(float));
    memcpy(p->items[1]->grad, th_rand(1, BIG_B, -1, 1, 200 + (uint64_t)t), BIG_B * sizeof(float));
}

static void check_round_trip(ak_optim_cfg cfg)
{
    ak_params ref, run;
    big_init(&ref);
    big_init(&run);
    ak_optim o;
    cr_assert_eq(ak_optim_init(&o, &ref, &cfg, NULL), 0);
    for (int t = 0; t < 6; t++) {
        big_grad(&ref, t);
        ak_optim_step(&o);
    }

    /* Interrupted run: 3 steps, save the state, drop the optimizer, restore
     * into a new one, 3 more steps. */
    ak_optim a;
    cr_assert_eq(ak_optim_init(&a, &run, &cfg, NULL), 0);
    for (int t = 0; t < 3; t++) {
        big_grad(&run, t);
        ak_optim_step(&a);
    }
    const int64_t n = a.n;
    const int nbuf = a.nbuf;
    const int64_t step = a.step;
    float *saved[AK_OPTIM_MAX_BUF] = {0};
    for (int b = 0; b < nbuf; b++) {
        saved[b] = malloc((size_t)n * sizeof(float));
        memcpy(saved[b], a.buf[b], (size_t)n * sizeof(float));
    }
    ak_optim_free(&a);
    ak_optim r;
    cr_assert_eq(ak_optim_init(&r, &run, &cfg, NULL), 0);
    cr_assert_eq(r.n, n);
    cr_assert_eq(r.nbuf, nbuf);
    for (int b = 0; b < nbuf; b++) {
        memcpy(r.buf[b], saved[b], (size_t)n * sizeof(float));
        free(saved[b]);
    }
    r.step = step;
    for (int t = 3; t < 6; t++) {
        big_grad(&run, t);
        ak_optim_step(&r);
    }
    cr_expect_eq(r.step, o.step);
    cr_expect(memcmp(ref.data, run.data, (size_t)ref.total * sizeof(float)) == 0, "parameters differ");
    for (int b = 0; b < nbuf; b++)
        cr_expect(memcmp(o.buf[b], r.buf[b], (size_t)n * sizeof(float)) == 0, "%s differs", o.buf_name[b]);
    ak_optim_free(&o);
    ak_optim_free(&r);
    ak_params_free(&ref);
    ak_params_free(&run);
}

Test(optim_step, state_round_trip_continues_bitwise)
{
    ak_optim_cfg c = ak_sgd_cfg(0.05, 0.9);
    c.nesterov = 1;
    c.weight_decay = 1e-3;
    check_round_trip(c);
    c = ak_adam_cfg(1e-2);
    c.weight_decay = 1e-3;
    check_round_trip(c);
    /* Adam's bias correction depends on the restored step count: forgetting
     * to restore it would change every value. */
    check_round_trip(ak_adamw_cfg(1e-2, 0.1));
}

static void run_threads(int threads, ak_params *p)
{
    big_init(p);
    ak_set_threads(threads);
    ak_optim o;
    ak_optim_cfg c = ak_adamw_cfg(1e-2, 0.1);
    cr_assert_eq(ak_optim_init(&o, p, &c, NULL), 0);
    for (int t = 0; t < 4; t++) {
        big_grad(p, t);
        ak_optim_step(&o);
    }
    ak_optim_free(&o);
}

Test(optim_step, thread_count_does_not_change_bits)
{
    ak_params one, two;
    run_threads(1, &one);
    run_threads(2, &two);
    cr_expect(memcmp(one.data, two.data, (size_t)one.total * sizeof(float)) == 0);
    ak_params_free(&one);
    ak_params_free(&two);
}
