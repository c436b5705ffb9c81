/* Beam search with a length penalty.
 *
 * Greedy decoding is the trainer's (train/decode.h, batched, the twin's
 * rule), so that validation BLEU during training and `infer --eval` decode
 * alike; beam search follows the same token rules, and with K = 1 and
 * alpha = 0 returns exactly what greedy returns (tested).
 *
 * The search runs over a small step interface (ak_stepper): "give me the
 * next-token log-probabilities of these rows" and "reorder the rows". The
 * model adapter (ak_model_stepper_begin) plugs ak_model's incremental
 * decoding into it; tests plug in hand-made distributions, so the search
 * itself can be checked on cases whose best answer is known.
 *
 * Token rules (greedy's): any id but PAD and BOS may be produced (they are
 * never chosen; the other tokens' log-probabilities stay the model's, not
 * renormalised without them), EOS ends a hypothesis. A
 * hypothesis that reaches max_len tokens without EOS is cut there
 * ("unfinished"). max_len counts every produced token, EOS included, as the
 * twin's greedy loop does: at most max_len decoder steps.
 *
 * Scores. logprob = sum of the natural-log probabilities of the produced
 * tokens (EOS included when produced), accumulated in double. Beam search
 * ranks finished hypotheses by the GNMT length-normalised score
 *
 *     score = logprob / lp(len),   lp(len) = ((5 + len) / 6) ^ alpha
 *
 * with len = produced tokens (EOS included); alpha = 0 ranks by raw
 * log-probability, larger alpha favours longer outputs (GNMT: 0.6 - 0.7).
 *
 * Beam search keeps K live hypotheses. Each step ranks all K x V extensions
 * by cumulative log-probability (ties: lower row, then lower token id) and
 * takes the best 2K: an EOS extension among the first K becomes a finished
 * hypothesis, the others fill the next beam up to K. The finished list keeps
 * the K best by score. The search stops when the beam is empty, after
 * max_len steps (live hypotheses then join the finished list, unfinished), or
 * as soon as K hypotheses are finished and no live one can still beat the
 * worst of them: a live hypothesis's score is at most logprob / lp(max_len)
 * (log-probabilities only decrease, lp only grows), so stopping then loses
 * nothing. With K = 1 and alpha = 0 that is exactly greedy decoding; with
 * alpha > 0 and K = 1 the search may keep going after an EOS and return a
 * longer hypothesis with a better normalised score.
 *
 * Failure modes: a step that fails (the model's message is passed on), max_len
 * < 1, K < 1, out of memory: -1 with a message. Hypotheses returned are owned
 * by the caller (ak_hyps_free). */
#ifndef AK_DECODE_SEARCH_H
#define AK_DECODE_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "autograd/tape.h"
#include "core/error.h"
#include "nn/model.h"

/* The step interface. step fills logp[n * vocab] (double, so that ranking
 * keeps every distinction the float logits make) with next-token
 * log-probabilities for n rows whose previous tokens are prev[0..n) (BOS at
 * the first step); select makes new row i a copy of old row idx[i] (n rows
 * afterwards). Both return 0, or -1 with a message. */
typedef struct ak_stepper {
    void *user;
    int64_t vocab;
    int (*step)(void *user, const int32_t *prev, int64_t n, double *logp, ak_err *err);
    int (*select)(void *user, const int32_t *idx, int64_t n, ak_err *err);
} ak_stepper;

typedef struct ak_hyp {
    int32_t *ids; /* produced tokens without EOS (malloc'd; NULL when n == 0) */
    int64_t n;
    int finished;   /* 1: ended with EOS; 0: cut at max_len */
    double logprob; /* sum of token log-probabilities, EOS included when finished */
    double score;   /* logprob / lp(n + finished) */
} ak_hyp;

typedef struct ak_hyps {
    ak_hyp *v; /* best first */
    int n;
} ak_hyps;

void ak_hyp_free(ak_hyp *h);
void ak_hyps_free(ak_hyps *h);

/* GNMT length penalty ((5 + len) / 6) ^ alpha. */
double ak_length_penalty(int64_t len, double alpha);

/* Natural-log softmax of each of n rows of x[n * V] into out, in double:
 * out = x - (max + log sum exp(x - max)). */
void ak_log_softmax_rows(const float *x, int64_t n, int64_t V, double *out);

typedef struct ak_beam_opts {
    int beam;        /* K >= 1 */
    int nbest;       /* hypotheses returned, 1..K (0: 1) */
    int64_t max_len; /* >= 1 */
    double alpha;    /* length penalty exponent >= 0 */
} ak_beam_opts;

/* Beam search for one sequence; the stepper starts with one row. out gets
 * min(nbest, available) hypotheses, best score first (at least one). */
int ak_beam_run(const ak_stepper *s, const ak_beam_opts *o, ak_hyps *out, ak_err *err);

/* ------------------------------------------------------------ model adapter */

/* Decoding an ak_model: the adapter owns nothing but its fields; everything
 * the model allocates lives in ctx's arena until ak_ctx_end_step. The caller
 * must not end the step while a search runs. */
typedef struct ak_model_stepper {
    ak_ctx *ctx;
    ak_model *model;
    ak_decode_state *state;
} ak_model_stepper;

/* Encodes src [B, Ls] (PAD-padded) for at most max_steps decoder steps and
 * fills s. Fails (with the model's message) on bad ids or lengths. Sets the
 * context to no-grad, eval mode (dropout off); restoring is the caller's. */
int ak_model_stepper_begin(ak_model_stepper *ms, ak_ctx *ctx, ak_model *m, const int32_t *src, int64_t B, int64_t Ls,
                           int64_t max_steps, ak_stepper *s, ak_err *err);

/* Beam search over one source src[0..Ls). */
int ak_decode_beam(ak_ctx *ctx, ak_model *m, const int32_t *src, int64_t Ls, const ak_beam_opts *o, ak_hyps *out,
                   ak_err *err);

#endif
