/* Teacher-forced scoring (lib/decode/score.c): the same number as
 * ak_model_loss without label smoothing, per pair and per corpus, whatever
 * the batching; pairs the model cannot take are refused by name. */
#include "helpers_nn.h"

#include "decode/score.h"

#include <math.h>

/* Five pairs of different lengths (ids within V_s 11, V_t 9). */
static void make_pairs(ak_idcorpus *c)
{
    static const int32_t s0[] = {4, 5, 6}, t0[] = {4, 8};
    static const int32_t s1[] = {10, 9, 8, 7, 6, 5}, t1[] = {5, 6, 7, 8, 4, 1};
    static const int32_t s2[] = {1}, t2[] = {7};
    static const int32_t s3[] = {7, 7, 4, 4}, t3[] = {0}; /* nt = 0 below: EOS only */
    static const int32_t s4[] = {4, 6, 8, 10, 5}, t4[] = {6, 6, 6};
    ak_err err = {{0}};
    cr_assert_eq(ak_idcorpus_add(c, s0, 3, t0, 2, &err), 0);
    cr_assert_eq(ak_idcorpus_add(c, s1, 6, t1, 6, &err), 0);
    cr_assert_eq(ak_idcorpus_add(c, s2, 1, t2, 1, &err), 0);
    cr_assert_eq(ak_idcorpus_add(c, s3, 4, t3, 0, &err), 0);
    cr_assert_eq(ak_idcorpus_add(c, s4, 5, t4, 3, &err), 0);
}

/* ak_model_loss (smoothing 0) of pairs idx[0..n) as one padded batch,
 * times its token count: the summed nll. */
static double loss_sum(ak_model *m, const ak_idcorpus *c, const size_t *idx, size_t n, int64_t *ntok)
{
    int64_t Ls = 1, Lt = 1;
    for (size_t k = 0; k < n; k++) {
        const ak_idpair *p = &c->pairs[idx[k]];
        Ls = p->ns > Ls ? p->ns : Ls;
        Lt = p->nt + 1 > Lt ? p->nt + 1 : Lt;
    }
    int32_t src[64], tin[64], tout[64];
    cr_assert((int64_t)n * Ls <= 64 && (int64_t)n * Lt <= 64);
    for (size_t b = 0; b < n; b++) {
        const ak_idpair *p = &c->pairs[idx[b]];
        const int32_t *s = ak_idcorpus_src(c, idx[b]), *t = ak_idcorpus_tgt(c, idx[b]);
        for (int64_t j = 0; j < Ls; j++)
            src[b * Ls + j] = j < p->ns ? s[j] : AK_PAD;
        for (int64_t j = 0; j < Lt; j++) {
            tin[b * Lt + j] = j == 0 ? AK_BOS : j <= p->nt ? t[j - 1] : AK_PAD;
            tout[b * Lt + j] = j < p->nt ? t[j] : j == p->nt ? AK_EOS : AK_PAD;
        }
    }
    ak_ctx ctx;
    ak_ctx_init(&ctx, 0, 3);
    ak_set_grad_enabled(&ctx, 0);
    ak_tensor *l = ak_model_loss(&ctx, m, src, (int64_t)n, Ls, tin, tout, Lt, 0.0f, ntok, NULL);
    cr_assert_not_null(l, "%s", ctx.err.msg);
    double v = (double)l->data[0] * (double)*ntok;
    ak_ctx_free(&ctx);
    return v;
}

Test(decode_score, equals_model_loss_per_pair_and_per_corpus)
{
    ak_model_desc descs[] = {th_tiny_transformer(), th_tiny_rnn(AK_CELL_GRU, AK_ATTN_ADDITIVE, 0, 1)};
    for (int k = 0; k < 2; k++) {
        descs[k].dropout = 0.3f; /* scoring must run in eval mode whatever the model says */
        ak_model *m = th_model(descs[k], 21);
        ak_idcorpus c = AK_IDCORPUS_INIT;
        make_pairs(&c);
        double nll[5], total;
        int64_t ntok[5], toks;
        ak_ctx ctx;
        ak_ctx_init(&ctx, 0, 1);
        ctx.training = 1;
        ak_err err = {{0}};
        cr_assert_eq(ak_score_pairs(&ctx, m, &c, NULL, 0, 0, nll, ntok, &total, &toks, &err), 0, "%s", err.msg);
        size_t all[5] = {0, 1, 2, 3, 4};
        int64_t n_ref;
        double ref = loss_sum(m, &c, all, 5, &n_ref);
        cr_expect_eq(toks, n_ref);
        cr_expect_eq(toks, 3 + 7 + 2 + 1 + 4);
        cr_expect(fabs(total / toks - ref / n_ref) <= 1e-5 * fabs(ref / n_ref), "model %d: %.8f vs loss %.8f", k,
                  total / toks, ref / n_ref);
        for (size_t i = 0; i < 5; i++) {
            int64_t nt;
            double one = loss_sum(m, &c, &i, 1, &nt);
            cr_expect_eq(ntok[i], nt);
            cr_expect(fabs(nll[i] - one) <= 1e-5 * fabs(one), "pair %zu: %.8f vs %.8f", i, nll[i], one);
        }
        ak_ctx_free(&ctx);
        ak_idcorpus_free(&c);
        ak_model_free(m);
    }
}

Test(decode_score, batching_and_selection_do_not_change_scores)
{
    ak_model *m = th_model(th_tiny_transformer(), 4);
    ak_idcorpus c = AK_IDCORPUS_INIT;
    make_pairs(&c);
    ak_ctx ctx;
    ak_ctx_init(&ctx, 0, 1);
    ak_err err = {{0}};
    double a[5], b[5], ta, tb;
    int64_t na[5], nb[5], toka, tokb;
    cr_assert_eq(ak_score_pairs(&ctx, m, &c, NULL, 0, 1, a, na, &ta, &toka, &err), 0, "%s",
                 err.msg); /* one pair a batch */
    cr_assert_eq(ak_score_pairs(&ctx, m, &c, NULL, 0, 100000, b, nb, &tb, &tokb, &err), 0, "%s", err.msg);
    for (int i = 0; i < 5; i++) {
        cr_expect_eq(na[i], nb[i]);
        cr_expect(fabs(a[i] - b[i]) <= 1e-5 * fabs(a[i]), "pair %d: %.9f vs %.9f", i, a[i], b[i]);
    }
    /* a subset in another order: results follow idx */
    size_t idx[2] = {4, 1};
    double s[2];
    int64_t ns[2];
    cr_assert_eq(ak_score_pairs(&ctx, m, &c, idx, 2, 0, s, ns, NULL, NULL, &err), 0, "%s", err.msg);
    cr_expect(fabs(s[0] - b[4]) <= 1e-5 * fabs(b[4]) && fabs(s[1] - b[1]) <= 1e-5 * fabs(b[1]));
    cr_expect(ns[0] == 4 && ns[1] == 7);
    ak_ctx_free(&ctx);
    ak_idcorpus_free(&c);
    ak_model_free(m);
}

Test(decode_score, refuses_pairs_the_model_cannot_take)
{
    ak_model *m = th_model(th_tiny_transformer(), 4); /* max_len 16, V_s 11, V_t 9 */
    const ak_model_desc *d = ak_model_get_desc(m);
    ak_err err = {{0}};
    cr_expect_eq(ak_score_check(d, 0, 3, &err), -1);
    cr_expect_str_eq(err.msg, "empty source");
    cr_expect_eq(ak_score_check(d, 17, 3, &err), -1);
    cr_expect_str_eq(err.msg, "source of 17 tokens, the model takes at most 16");
    cr_expect_eq(ak_score_check(d, 16, 16, &err), -1);
    cr_expect_str_eq(err.msg, "target of 16 tokens (+ EOS), the model takes at most 16");
    cr_expect_eq(ak_score_check(d, 16, 15, &err), 0);

    ak_idcorpus c = AK_IDCORPUS_INIT;
    make_pairs(&c);
    const int32_t s[] = {4, 11}, t[] = {4};
    cr_assert_eq(ak_idcorpus_add(&c, s, 2, t, 1, &err), 0);
    ak_ctx ctx;
    ak_ctx_init(&ctx, 0, 1);
    cr_expect_eq(ak_score_pairs(&ctx, m, &c, NULL, 0, 0, NULL, NULL, NULL, NULL, &err), -1);
    cr_expect_str_eq(err.msg, "pair 6: source id 11 outside the vocabulary [0, 11)");
    ak_ctx_free(&ctx);
    ak_idcorpus_free(&c);
    ak_model_free(m);
}
