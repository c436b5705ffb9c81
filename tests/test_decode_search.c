/* Beam search (lib/decode/search.c): equal to the trainer's greedy decoding
 * at K = 1, better than greedy where greedy is known to miss, and exactly
 * the best sequence by exhaustive enumeration on a tiny model. */
#include "helpers_nn.h"

#include "decode/search.h"
#include "ops/ops.h"
#include "train/decode.h"

#include <math.h>
#include <stdlib.h>

/* ------------------------------------------------- a hand-made distribution */

/* A first-order Markov "model": the next-token distribution depends on the
 * previous token only, so rows need no state and select is a no-op. V = 7:
 * ids 4, 5, 6 and EOS; PAD, UNK, BOS get probability 1e-9 each. */
typedef struct markov {
    double p[7][7]; /* p[prev][next] */
    int steps;
} markov;

static int markov_step(void *user, const int32_t *prev, int64_t n, double *logp, ak_err *err)
{
    (void)err;
    markov *m = user;
    m->steps++;
    for (int64_t r = 0; r < n; r++)
        for (int j = 0; j < 7; j++)
            logp[r * 7 + j] = log(m->p[prev[r]][j]);
    return 0;
}

static int markov_select(void *user, const int32_t *idx, int64_t n, ak_err *err)
{
    (void)user, (void)idx, (void)n, (void)err;
    return 0;
}

/* Greedy takes 4 (0.5) and then ends (0.3): 0.15 in all. The best sequence
 * is 5 (0.4) then EOS (0.9): 0.36. */
static markov greedy_trap(void)
{
    markov m = {.steps = 0};
    double tiny = 1e-9;
    for (int a = 0; a < 7; a++)
        for (int b = 0; b < 7; b++)
            m.p[a][b] = tiny;
    m.p[AK_BOS][4] = 0.5, m.p[AK_BOS][5] = 0.4, m.p[AK_BOS][6] = 0.1 - 5 * tiny;
    m.p[4][AK_EOS] = 0.3, m.p[4][4] = 0.25, m.p[4][5] = 0.25, m.p[4][6] = 0.2 - 4 * tiny;
    m.p[5][AK_EOS] = 0.9, m.p[5][4] = 0.1 - 5 * tiny;
    m.p[6][AK_EOS] = 1.0 - 6 * tiny;
    return m;
}

static ak_stepper markov_stepper(markov *m)
{
    return (ak_stepper){.user = m, .vocab = 7, .step = markov_step, .select = markov_select};
}

Test(decode_search, beam_beats_greedy_where_greedy_misses)
{
    markov m = greedy_trap();
    ak_stepper s = markov_stepper(&m);
    ak_err err = {{0}};
    ak_hyps g, b;
    ak_beam_opts o1 = {.beam = 1, .max_len = 5, .alpha = 0};
    cr_assert_eq(ak_beam_run(&s, &o1, &g, &err), 0, "%s", err.msg);
    cr_assert_eq(g.n, 1);
    cr_expect_eq(g.v[0].n, 1);
    cr_expect_eq(g.v[0].ids[0], 4, "K = 1 follows the greedy path");
    cr_expect(g.v[0].finished);
    cr_expect_float_eq(g.v[0].logprob, log(0.15), 1e-9);

    ak_beam_opts o2 = {.beam = 2, .max_len = 5, .alpha = 0};
    cr_assert_eq(ak_beam_run(&s, &o2, &b, &err), 0, "%s", err.msg);
    cr_assert_eq(b.n, 1);
    cr_expect_eq(b.v[0].n, 1);
    cr_expect_eq(b.v[0].ids[0], 5, "K = 2 keeps 5 alive and finds the better sequence");
    cr_expect_float_eq(b.v[0].logprob, log(0.36), 1e-9);
    cr_expect_gt(b.v[0].score, g.v[0].score);
    /* it stopped as soon as no live hypothesis could win: two steps */
    cr_expect_eq(m.steps, 2 + 2, "steps: %d", m.steps);
    ak_hyps_free(&g);
    ak_hyps_free(&b);
}

/* After 4, EOS (0.4) beats 6 (0.35), but 4 6 EOS (0.175, 3 tokens) has the
 * better normalised score at alpha 2: -1.743 / (8/6)^2 = -0.980 against
 * 4 EOS: -1.609 / (7/6)^2 = -1.182. The search must not stop at the first
 * EOS while a live hypothesis can still win. */
Test(decode_search, length_penalty_search_goes_on_while_a_live_hypothesis_can_win)
{
    markov m = greedy_trap();
    double tiny = 1e-9;
    for (int b = 0; b < 7; b++)
        m.p[4][b] = tiny;
    m.p[4][AK_EOS] = 0.4, m.p[4][6] = 0.6 - 6 * tiny - 0.25, m.p[4][5] = 0.25;
    /* 4 -> 6: 0.35, 4 -> 5: 0.25 (5 then ends with 0.9: 0.1125, below 4 6 EOS) */
    ak_stepper s = markov_stepper(&m);
    ak_err err = {{0}};
    ak_hyps h;
    ak_beam_opts o = {.beam = 1, .max_len = 5, .alpha = 2.0};
    cr_assert_eq(ak_beam_run(&s, &o, &h, &err), 0, "%s", err.msg);
    cr_assert_eq(h.n, 1);
    cr_expect_eq(h.v[0].n, 2, "got %lld tokens", (long long)h.v[0].n);
    cr_expect(h.v[0].n == 2 && h.v[0].ids[0] == 4 && h.v[0].ids[1] == 6);
    cr_expect_float_eq(h.v[0].logprob, log(m.p[AK_BOS][4]) + log(m.p[4][6]) + log(m.p[6][AK_EOS]), 1e-12);
    cr_expect_float_eq(h.v[0].score, h.v[0].logprob / pow(8.0 / 6.0, 2.0), 1e-12);
    ak_hyps_free(&h);
    /* without the penalty, K = 1 stops at the first EOS, as greedy */
    o.alpha = 0;
    cr_assert_eq(ak_beam_run(&s, &o, &h, &err), 0, "%s", err.msg);
    cr_expect(h.v[0].n == 1 && h.v[0].ids[0] == 4 && h.v[0].finished);
    ak_hyps_free(&h);
}

Test(decode_search, length_penalty_formula_and_nbest_order)
{
    markov m = greedy_trap();
    ak_stepper s = markov_stepper(&m);
    ak_err err = {{0}};
    ak_hyps h;
    ak_beam_opts o = {.beam = 3, .nbest = 3, .max_len = 4, .alpha = 0.7};
    cr_assert_eq(ak_beam_run(&s, &o, &h, &err), 0, "%s", err.msg);
    cr_assert_eq(h.n, 3);
    for (int i = 0; i < h.n; i++) {
        double lp = pow((5.0 + (double)(h.v[i].n + h.v[i].finished)) / 6.0, 0.7);
        cr_expect_float_eq(h.v[i].score, h.v[i].logprob / lp, 1e-12, "hyp %d", i);
        if (i)
            cr_expect_geq(h.v[i - 1].score, h.v[i].score, "n-best sorted by score");
    }
    cr_expect_eq(h.v[0].ids[0], 5);
    cr_expect_float_eq(ak_length_penalty(1, 0.6), pow(1.0, 0.6), 1e-15);
    cr_expect_float_eq(ak_length_penalty(7, 0.6), pow(2.0, 0.6), 1e-15);
    cr_expect_float_eq(ak_length_penalty(7, 0.0), 1.0, 0);
    ak_hyps_free(&h);
}

Test(decode_search, bad_options_fail_with_a_message)
{
    markov m = greedy_trap();
    ak_stepper s = markov_stepper(&m);
    ak_err err = {{0}};
    ak_hyps h;
    ak_beam_opts bad[] = {{.beam = 0, .max_len = 3},
                          {.beam = 2, .nbest = 3, .max_len = 3},
                          {.beam = 2, .max_len = 0},
                          {.beam = 2, .max_len = 3, .alpha = -1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(ak_beam_run(&s, &bad[i], &h, &err), -1, "case %zu", i);
        cr_expect(strstr(err.msg, "beam: need") != NULL, "%s", err.msg);
        cr_expect_eq(h.n, 0);
    }
}

/* ------------------------------------------------------------ real models */

static const int32_t SRC[3][5] = {{4, 7, 9, 5, 6}, {10, 4, 4, 8, 0}, {6, 5, 0, 0, 0}};
static const int64_t SRC_LEN[3] = {5, 4, 2};

Test(decode_search, beam_k1_equals_greedy_on_both_model_kinds)
{
    ak_model_desc descs[] = {th_tiny_transformer(), th_tiny_rnn(AK_CELL_GRU, AK_ATTN_ADDITIVE, 0, 1),
                             th_tiny_rnn(AK_CELL_LSTM, AK_ATTN_GENERAL, 1, 2)};
    for (size_t k = 0; k < sizeof descs / sizeof descs[0]; k++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            ak_model *m = th_model(descs[k], seed);
            ak_ctx c;
            ak_ctx_init(&c, 0, 1);
            ak_err err = {{0}};
            for (int i = 0; i < 3; i++) {
                int32_t out[12], len;
                cr_assert_eq(ak_greedy_batch(&c, m, SRC[i], 1, SRC_LEN[i], 12, out, &len, NULL, &err), 0, "%s",
                             err.msg);
                ak_hyps h;
                ak_beam_opts o = {.beam = 1, .max_len = 12, .alpha = 0};
                cr_assert_eq(ak_decode_beam(&c, m, SRC[i], SRC_LEN[i], &o, &h, &err), 0, "%s", err.msg);
                ak_ctx_end_step(&c);
                cr_assert_eq(h.n, 1);
                cr_expect_eq(h.v[0].n, len, "model %zu seed %llu source %d: beam %lld tokens, greedy %d", k,
                             (unsigned long long)seed, i, (long long)h.v[0].n, len);
                for (int t = 0; t < len && t < h.v[0].n; t++)
                    cr_expect_eq(h.v[0].ids[t], out[t], "token %d", t);
                cr_expect_eq(h.v[0].finished, len < 12);
                ak_hyps_free(&h);
            }
            ak_ctx_free(&c);
            ak_model_free(m);
        }
}

/* Log-probability of each of n sequences (decoder input BOS + seq, Lt
 * positions each, predicted tokens tgt) under teacher forcing, summed over
 * the first len[i] positions, in double. */
static void tf_logprobs(ak_model *m, const int32_t *src, int64_t Ls, const int32_t *tin, const int32_t *tgt,
                        const int64_t *len, int64_t n, int64_t Lt, double *out)
{
    int64_t V = ak_model_get_desc(m)->tgt_vocab;
    int32_t *srcs = malloc(sizeof(int32_t) * (size_t)(n * Ls));
    for (int64_t i = 0; i < n; i++)
        memcpy(srcs + i * Ls, src, sizeof(int32_t) * (size_t)Ls);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_set_grad_enabled(&c, 0);
    ak_tensor *logits = ak_model_forward(&c, m, srcs, n, Ls, tin, Lt, NULL);
    cr_assert_not_null(logits, "%s", c.err.msg);
    double *lp = malloc(sizeof(double) * (size_t)V);
    for (int64_t i = 0; i < n; i++) {
        out[i] = 0;
        for (int64_t t = 0; t < len[i]; t++) {
            ak_log_softmax_rows(logits->data + (i * Lt + t) * V, 1, V, lp);
            out[i] += lp[tgt[i * Lt + t]];
        }
    }
    free(lp);
    free(srcs);
    ak_ctx_free(&c);
}

/* Every output of at most L = 3 tokens (V_t = 9: the six ids that may be
 * produced besides EOS, PAD and BOS never are, then EOS; or three of those
 * ids, cut): 1 + 6 + 36 finished, 216 unfinished. With K = 64 the beam holds
 * every live prefix, so it must return the best of them by score, with and
 * without length penalty. */
Test(decode_search, wide_beam_returns_the_exhaustive_optimum)
{
    enum { W = 6, L = 3, NMAX = 1 + W + W * W + W * W * W };
    static int32_t tin[NMAX * L], tgt[NMAX * L];
    static int64_t len[NMAX], nseq[NMAX];
    static int fin[NMAX];
    static double lp[NMAX];
    const int32_t non_eos[W] = {AK_UNK, 4, 5, 6, 7, 8};
    int64_t n = 0;
    for (int l = 0; l <= L; l++) { /* l content tokens; finished when l < L, also l == L unfinished */
        int64_t combos = 1;
        for (int i = 0; i < l; i++)
            combos *= W;
        for (int64_t c = 0; c < combos; c++) {
            for (int f = 0; f < 2; f++) {
                if ((f == 1 && l == L) || (f == 0 && l < L))
                    continue;
                int64_t x = c;
                int32_t seq[L];
                for (int i = l - 1; i >= 0; i--, x /= W)
                    seq[i] = non_eos[x % W];
                for (int t = 0; t < L; t++) {
                    tin[n * L + t] = t == 0 ? AK_BOS : t - 1 < l ? seq[t - 1] : AK_PAD;
                    tgt[n * L + t] = t < l ? seq[t] : AK_EOS;
                }
                len[n] = l + f;
                nseq[n] = l;
                fin[n] = f;
                n++;
            }
        }
    }
    cr_assert_eq(n, NMAX);
    const ak_model_desc descs[] = {th_tiny_transformer(), th_tiny_rnn(AK_CELL_GRU, AK_ATTN_ADDITIVE, 0, 1)};
    for (size_t k = 0; k < 2; k++) {
        ak_model *m = th_model(descs[k], 11 + k);
        tf_logprobs(m, SRC[0], SRC_LEN[0], tin, tgt, len, n, L, lp);
        const double alphas[] = {0.0, 0.6, 2.0};
        for (int a = 0; a < 3; a++) {
            double best = -INFINITY, second = -INFINITY;
            int64_t arg = -1;
            for (int64_t i = 0; i < n; i++) {
                double s = lp[i] / ak_length_penalty(len[i], alphas[a]);
                if (s > best) {
                    second = best;
                    best = s;
                    arg = i;
                } else if (s > second) {
                    second = s;
                }
            }
            ak_ctx c;
            ak_ctx_init(&c, 0, 1);
            ak_err err = {{0}};
            ak_hyps h;
            ak_beam_opts o = {.beam = 64, .max_len = L, .alpha = alphas[a]};
            cr_assert_eq(ak_decode_beam(&c, m, SRC[0], SRC_LEN[0], &o, &h, &err), 0, "%s", err.msg);
            /* incremental decoding agrees with teacher forcing to float rounding */
            cr_expect(fabs(h.v[0].score - best) < 1e-4, "model %zu alpha %g: beam %.7f, exhaustive best %.7f", k,
                      alphas[a], h.v[0].score, best);
            if (best - second > 1e-3) { /* a clear winner: the same sequence */
                cr_expect_eq(h.v[0].n, nseq[arg]);
                cr_expect_eq(h.v[0].finished, fin[arg]);
                for (int64_t t = 0; t < nseq[arg] && t < h.v[0].n; t++)
                    cr_expect_eq(h.v[0].ids[t], tgt[arg * L + t]);
            }
            ak_hyps_free(&h);
            ak_ctx_free(&c);
        }
        ak_model_free(m);
    }
}

Test(decode_search, nbest_hypotheses_are_distinct_and_sorted)
{
    ak_model *m = th_model(th_tiny_transformer(), 5);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_err err = {{0}};
    ak_hyps h;
    ak_beam_opts o = {.beam = 5, .nbest = 5, .max_len = 6, .alpha = 0.6};
    cr_assert_eq(ak_decode_beam(&c, m, SRC[1], SRC_LEN[1], &o, &h, &err), 0, "%s", err.msg);
    cr_assert_eq(h.n, 5);
    for (int i = 0; i < h.n; i++)
        for (int j = 0; j < i; j++) {
            cr_expect_geq(h.v[j].score, h.v[i].score);
            int same = h.v[i].n == h.v[j].n && h.v[i].finished == h.v[j].finished &&
                       (h.v[i].n == 0 || !memcmp(h.v[i].ids, h.v[j].ids, sizeof(int32_t) * (size_t)h.v[i].n));
            cr_expect(!same, "hypotheses %d and %d are the same", j, i);
        }
    ak_hyps_free(&h);
    ak_ctx_free(&c);
    ak_model_free(m);
}

Test(decode_search, model_errors_come_back_as_messages)
{
    ak_model *m = th_model(th_tiny_transformer(), 5);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_err err = {{0}};
    ak_hyps h;
    ak_beam_opts o = {.beam = 2, .max_len = 40, .alpha = 0.6}; /* beyond max_len 16 */
    cr_expect_eq(ak_decode_beam(&c, m, SRC[0], SRC_LEN[0], &o, &h, &err), -1);
    cr_expect(strstr(err.msg, "max_steps 40") != NULL, "%s", err.msg);
    ak_ctx_end_step(&c);
    const int32_t bad[2] = {4, 99};
    o.max_len = 4;
    cr_expect_eq(ak_decode_beam(&c, m, bad, 2, &o, &h, &err), -1);
    cr_expect(strstr(err.msg, "outside the vocabulary") != NULL, "%s", err.msg);
    ak_ctx_free(&c);
    ak_model_free(m);
}

/* ------------------------------------------------ PAD, BOS and ended rows */

/* With the generator's bias on PAD and BOS far above every other logit, an
 * unmasked argmax would emit them at every step: greedy decoding (batched
 * and alone) and beam search must still produce neither. */
Test(decode_search, greedy_and_beam_never_emit_pad_or_bos)
{
    const ak_model_desc descs[] = {th_tiny_transformer(), th_tiny_rnn(AK_CELL_GRU, AK_ATTN_ADDITIVE, 0, 1)};
    const char *bias[] = {"gen.bias", "out.bias"};
    enum { L = 8 };
    for (size_t k = 0; k < 2; k++) {
        ak_model *m = th_model(descs[k], 3);
        ak_tensor *b = ak_params_find(ak_model_params(m), bias[k]);
        cr_assert_not_null(b, "%s", bias[k]);
        b->data[AK_PAD] = 100.0f;
        b->data[AK_BOS] = 90.0f;
        ak_ctx c;
        ak_ctx_init(&c, 0, 1);
        ak_set_grad_enabled(&c, 0);
        ak_err err = {{0}};
        /* the trap is real: the model itself puts PAD first */
        ak_decode_state *s = ak_model_begin_decode(&c, m, SRC[0], 1, SRC_LEN[0], L, NULL);
        const int32_t bos = AK_BOS;
        ak_tensor *logits = ak_model_decode_step(&c, m, s, &bos);
        cr_assert_not_null(logits, "%s", c.err.msg);
        int32_t top;
        ak_argmax(logits, &top);
        cr_assert_eq(top, AK_PAD);
        ak_ctx_end_step(&c);

        int32_t src[3 * 5], out[3 * L], len[3];
        memcpy(src, SRC, sizeof src);
        cr_assert_eq(ak_greedy_batch(&c, m, src, 3, 5, L, out, len, NULL, &err), 0, "%s", err.msg);
        for (int r = 0; r < 3; r++) {
            int32_t one[L], n1;
            cr_assert_eq(ak_greedy_batch(&c, m, SRC[r], 1, SRC_LEN[r], L, one, &n1, NULL, &err), 0, "%s", err.msg);
            cr_expect_eq(len[r], n1, "model %zu row %d: batched and alone agree", k, r);
            for (int t = 0; t < len[r]; t++) {
                cr_expect(out[r * L + t] != AK_PAD && out[r * L + t] != AK_BOS, "model %zu row %d token %d: %d", k, r,
                          t, out[r * L + t]);
                cr_expect_eq(out[r * L + t], one[t]);
            }
            ak_hyps h;
            ak_beam_opts o = {.beam = 3, .nbest = 3, .max_len = L, .alpha = 0.6};
            cr_assert_eq(ak_decode_beam(&c, m, SRC[r], SRC_LEN[r], &o, &h, &err), 0, "%s", err.msg);
            ak_ctx_end_step(&c);
            cr_expect_eq(h.n, 3);
            for (int i = 0; i < h.n; i++)
                for (int64_t t = 0; t < h.v[i].n; t++)
                    cr_expect(h.v[i].ids[t] != AK_PAD && h.v[i].ids[t] != AK_BOS, "model %zu beam hyp %d: %d", k, i,
                              h.v[i].ids[t]);
            ak_hyps_free(&h);
        }
        ak_ctx_free(&c);
        ak_model_free(m);
    }
}

/* Greedy decoding drops ended rows from the state (ak_decode_state_select
 * with increasing rows: in place for the Transformer). The rows kept must
 * go on exactly as if nothing had been dropped: same logits, bit for bit. */
Test(decode_search, dropping_rows_from_a_decoding_state_changes_no_other_row)
{
    const ak_model_desc descs[] = {th_tiny_transformer(), th_tiny_rnn(AK_CELL_LSTM, AK_ATTN_GENERAL, 1, 2)};
    enum { B = 3, L = 9 };
    const int32_t keep[2] = {0, 2};
    for (size_t k = 0; k < 2; k++) {
        ak_model *m = th_model(descs[k], 7);
        const int64_t V = ak_model_get_desc(m)->tgt_vocab;
        ak_ctx c;
        ak_ctx_init(&c, 0, 1);
        ak_set_grad_enabled(&c, 0);
        int32_t src[B * 5];
        memcpy(src, SRC, sizeof src);
        ak_decode_state *all = ak_model_begin_decode(&c, m, src, B, 5, L, NULL);
        ak_decode_state *some = ak_model_begin_decode(&c, m, src, B, 5, L, NULL);
        cr_assert(all && some, "%s", c.err.msg);
        int32_t prev[B] = {AK_BOS, AK_BOS, AK_BOS}, prev2[2];
        for (int t = 0; t < L; t++) {
            ak_tensor *a = ak_model_decode_step(&c, m, all, prev);
            if (t == 3)
                cr_assert_eq(ak_decode_state_select(&c, some, keep, 2), 0, "%s", c.err.msg);
            ak_tensor *b = ak_model_decode_step(&c, m, some, t < 3 ? prev : prev2);
            cr_assert(a && b, "%s", c.err.msg);
            cr_assert_eq(ak_rows(b), t < 3 ? B : 2);
            for (int64_t r = 0; r < ak_rows(b); r++) {
                int64_t ra = t < 3 ? r : keep[r];
                cr_assert(!memcmp(a->data + ra * V, b->data + r * V, sizeof(float) * (size_t)V),
                          "model %zu step %d row %lld differs", k, t, (long long)ra);
            }
            for (int r = 0; r < B; r++)
                prev[r] = (int32_t)(4 + (t * 3 + r) % (V - 4));
            prev2[0] = prev[keep[0]];
            prev2[1] = prev[keep[1]];
        }
        ak_ctx_free(&c);
        ak_model_free(m);
    }
}

/* With a capture every map keeps all rows, so nothing is dropped then: the
 * outputs must be those of the decoding that drops rows. */
Test(decode_search, greedy_with_and_without_capture_agree)
{
    ak_model *m = th_model(th_tiny_transformer(), 9);
    enum { L = 10 };
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_err err = {{0}};
    int32_t src[3 * 5], out1[3 * L], out2[3 * L], len1[3], len2[3];
    memcpy(src, SRC, sizeof src);
    ak_attn_capture cap;
    ak_capture_init(&cap);
    cr_assert_eq(ak_greedy_batch(&c, m, src, 3, 5, L, out1, len1, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_greedy_batch(&c, m, src, 3, 5, L, out2, len2, &cap, &err), 0, "%s", err.msg);
    cr_expect_not(cap.failed);
    for (int r = 0; r < 3; r++) {
        cr_expect_eq(len1[r], len2[r], "row %d", r);
        for (int t = 0; t < len1[r] && t < len2[r]; t++)
            cr_expect_eq(out1[r * L + t], out2[r * L + t], "row %d token %d", r, t);
    }
    ak_capture_free(&cap);
    ak_ctx_free(&c);
    ak_model_free(m);
}
