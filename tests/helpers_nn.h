/* Model-level test helpers: a gradient check over a parameter store, and
 * small models with fixed batches. */
#ifndef AK_TESTS_HELPERS_NN_H
#define AK_TESTS_HELPERS_NN_H

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "nn/model.h"

/* Builds a scalar loss from the store's current values. */
typedef ak_tensor *(*th_loss_fn)(ak_ctx *ctx, void *user);

/* Checks d(loss)/d(param) for `per_tensor` sampled elements of every
 * parameter against central differences (h = 2e-3: small, because the
 * FFN's ReLU has kinks that a larger step would straddle). The loss is
 * float32 of order 1, so the quotient carries about 2.4e-7 / 4e-3 ~ 6e-5 of
 * rounding error (twice that at h/2): atol 3e-4, doubled, leaves a 5x margin, rtol 3e-2 covers the O(h^2)
 * truncation of curved losses while a wrong formula is off by O(1).
 * ctx->step is pinned so that dropout masks repeat between evaluations. */
static inline void th_param_gradcheck(ak_params *p, th_loss_fn f, void *user, int training, int per_tensor)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 99);
    c.training = training;
    ak_params_zero_grad(p);
    ak_tensor *loss = f(&c, user);
    cr_assert_not_null(loss, "forward failed: %s", c.err.msg);
    ak_err err = {{0}};
    cr_assert_eq(ak_backward(&c, loss, &err), 0, "%s", err.msg);
    uint64_t step = c.step;
    ak_set_grad_enabled(&c, 0);
    ak_rng r = ak_rng_make(5, 5);
    int checked = 0, nonzero = 0, kinks = 0;
    const double h = 2e-3, atol = 3e-4, rtol = 3e-2;
    for (int i = 0; i < p->n; i++) {
        ak_tensor *t = p->items[i];
        for (int s = 0; s < per_tensor; s++) {
            int64_t j = ak_rng_below(&r, (uint32_t)t->size);
            float keep = t->data[j];
            /* Central differences at h and h/2: where they disagree the loss
             * is not smooth at this scale (a ReLU kink inside the step), and
             * the element is skipped rather than compared. */
            double num[2];
            for (int hs = 0; hs < 2; hs++) {
                double step_h = hs ? h / 2 : h, l[2];
                for (int k = 0; k < 2; k++) {
                    ak_arena_reset(&c.arena);
                    c.step = step;
                    c.dropout_calls = 0;
                    t->data[j] = keep + (float)(k ? -step_h : step_h);
                    ak_tensor *y = f(&c, user);
                    cr_assert_not_null(y, "%s", c.err.msg);
                    l[k] = y->data[0];
                }
                num[hs] = (l[0] - l[1]) / (2 * step_h);
            }
            t->data[j] = keep;
            double ana = t->grad[j];
            if (fabs(num[0] - num[1]) > 2 * atol + rtol * fmax(fabs(num[0]), fabs(num[1]))) {
                kinks++;
                continue;
            }
            cr_expect(fabs(num[1] - ana) <= 2 * atol + rtol * fmax(fabs(num[1]), fabs(ana)),
                      "d loss / d %s[%lld]: analytic %.6g, numeric %.6g", t->name, (long long)j, ana, num[1]);
            checked++;
            nonzero += fabs(ana) > 1e-6;
        }
    }
    cr_expect_leq(kinks, checked / 10, "%d of %d sampled elements sat on kinks", kinks, checked + kinks);
    /* Most sampled elements must carry gradient, or the check proves little. */
    cr_expect_gt(nonzero, checked / 2, "only %d of %d sampled gradients are non-zero", nonzero, checked);
    ak_ctx_free(&c);
}

/* A batch with every padding pattern: row i ends with i % 3 PADs on both sides. */
typedef struct th_batch {
    int64_t B, Ls, Lt;
    int32_t src[64], tgt_in[64], tgt_out[64];
} th_batch;

static inline th_batch th_make_batch(int64_t B, int64_t Ls, int64_t Lt, int64_t Vs, int64_t Vt, uint64_t seed)
{
    th_batch b = {.B = B, .Ls = Ls, .Lt = Lt};
    cr_assert(B * Ls <= 64 && B * Lt <= 64);
    ak_rng r = ak_rng_make(seed, 1);
    for (int64_t i = 0; i < B; i++) {
        int64_t pad = i % 3;
        for (int64_t t = 0; t < Ls; t++)
            b.src[i * Ls + t] = t < Ls - pad ? 4 + (int32_t)ak_rng_below(&r, (uint32_t)(Vs - 4)) : AK_PAD;
        int64_t n = Lt - pad; /* real target tokens incl. EOS */
        for (int64_t t = 0; t < Lt; t++) {
            int32_t y = t < n - 1 ? 4 + (int32_t)ak_rng_below(&r, (uint32_t)(Vt - 4)) : t == n - 1 ? AK_EOS : AK_PAD;
            b.tgt_out[i * Lt + t] = y;
            b.tgt_in[i * Lt + t] = t == 0 ? AK_BOS : t < n ? b.tgt_out[i * Lt + t - 1] : AK_PAD;
        }
    }
    return b;
}

static inline ak_model *th_model(ak_model_desc d, uint64_t seed)
{
    ak_err err = {{0}};
    ak_model *m = ak_model_create(&d, seed, &err);
    cr_assert_not_null(m, "%s", err.msg);
    return m;
}

/* Tiny descriptions: V_s 11, V_t 9, d 8. */
static inline ak_model_desc th_tiny_transformer(void)
{
    ak_model_desc d = ak_model_desc_default(AK_MODEL_TRANSFORMER, 11, 9);
    d.d_model = 8;
    d.heads = 2;
    d.d_ff = 12;
    d.enc_layers = 2;
    d.dec_layers = 2;
    d.max_len = 16;
    return d;
}

static inline ak_model_desc th_tiny_rnn(ak_rnn_cell cell, ak_attn_type att, int bidir, int layers)
{
    ak_model_desc d = ak_model_desc_default(AK_MODEL_RNN, 11, 9);
    d.d_model = 8;
    d.heads = 2;
    d.cell = cell;
    d.attention = att;
    d.bidirectional = bidir;
    d.enc_layers = layers;
    d.dec_layers = layers;
    d.max_len = 16;
    d.emb_std = 0.5f; /* keeps tanh/sigmoid out of saturation at these tiny sizes */
    return d;
}

#endif
