/* Teacher-forced scoring of (source, target) id pairs: the cross-entropy a
 * model assigns to given targets, the number an independent implementation
 * can check without a tokenizer.
 *
 * For one pair with target t_1..t_n: the decoder input is BOS t_1..t_n, the
 * predicted tokens are t_1..t_n EOS (n + 1 of them), in eval mode (no dropout)
 * and without label smoothing; nll = sum over those n + 1 positions of
 * lse(z) - z[target], each computed in double from the float logits
 * (lse = max + log sum exp(z - max)). The corpus figure is the mean per
 * target token: sum of nll / sum of (n + 1). This is ak_model_loss with
 * smoothing 0 (tested), but per pair and accumulated in double.
 *
 * Pairs are scored in file order, in batches of consecutive pairs whose
 * padded size B * max(Ls, n + 1) stays within batch_tokens (a single pair
 * larger than that forms its own batch); padding is masked by the model, so a
 * pair's score does not depend on its batch beyond float rounding.
 *
 * Failure modes: a pair the model cannot take (empty source, either side
 * longer than max_len, ids outside the vocabularies: checked up front with a
 * message naming the pair), a failed forward, out of memory. */
#ifndef AK_DECODE_SCORE_H
#define AK_DECODE_SCORE_H

#include <stdint.h>

#include "autograd/tape.h"
#include "data/corpus_ids.h"
#include "nn/model.h"

/* 0 when the model can score a pair with ns source and nt target tokens
 * (1 <= ns <= max_len, nt + 1 <= max_len); else -1 and a message. */
int ak_score_check(const ak_model_desc *d, int64_t ns, int64_t nt, ak_err *err);

/* Scores pairs idx[0..n) of c (every pair in order when idx is NULL; n is
 * then ignored): nll[k] and ntok[k] for the k-th pair scored (either array
 * may be NULL), *total_nll and *total_tok (may be NULL) for the sum. Resets
 * ctx's arena (ak_ctx_end_step) after every batch and leaves it in no-grad,
 * eval mode. batch_tokens <= 0 picks 4096. */
int ak_score_pairs(ak_ctx *ctx, ak_model *m, const ak_idcorpus *c, const size_t *idx, size_t n, int64_t batch_tokens,
                   double *nll, int64_t *ntok, double *total_nll, int64_t *total_tok, ak_err *err);

#endif
