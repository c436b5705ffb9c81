/* Per-epoch validation: loss and perplexity over the validation pairs
 * (teacher-forced, no dropout, the twin's unshuffled token-budget batches),
 * then greedy decoding of their sources and BLEU (sacreBLEU 13a) or
 * ROUGE-1/2/L against the reference texts, after detokenization as the twin
 * does it ([data] detok).
 *
 * Both steps run in no-grad mode and end a ctx step after every batch.
 * Ownership: ak_eval_hyps owns the hypothesis strings; free with
 * ak_eval_hyps_free. Failure modes: model errors, invalid UTF-8 from a
 * tokenizer, out of memory: -1. Cancelled (the flag set between batches): 1. */
#ifndef AK_TRAIN_EVALUATE_H
#define AK_TRAIN_EVALUATE_H

#include <signal.h>

#include "autograd/tape.h"
#include "nn/model.h"
#include "train/train_config.h"
#include "train/train_data.h"

typedef struct ak_eval_result {
    double loss;          /* label-smoothed token-mean cross-entropy (what training minimizes) */
    double nll;           /* plain token-mean negative log-likelihood */
    double ppl;           /* exp(nll) */
    int64_t tokens;       /* target tokens scored (EOS included) */
    double bleu;
    double rouge1, rouge2, rougeL; /* F1 x 100; 0 unless metric = rouge */
    size_t n_decoded;
    double hyp_len;       /* mean hypothesis length in tokens */
} ak_eval_result;

typedef struct ak_eval_hyps {
    char **text; /* n detokenized hypotheses, validation order */
    size_t n;
} ak_eval_hyps;

int ak_eval_loss(ak_ctx *ctx, ak_model *m, const ak_idcorpus *valid, int64_t batch_tokens, float smoothing,
                 ak_eval_result *r, const volatile sig_atomic_t *cancel, ak_err *err);

/* Decodes the first n validation pairs ([train] decode_limit, 0 = all) and
 * scores them; hyps (may be NULL) receives the texts. */
int ak_eval_decode(ak_ctx *ctx, ak_model *m, const ak_train_data *d, const ak_train_cfg *cfg, ak_eval_result *r,
                   ak_eval_hyps *hyps, const volatile sig_atomic_t *cancel, ak_err *err);

void ak_eval_hyps_free(ak_eval_hyps *h);

/* The value of the selection metric (AK_TC_SEL_*) in r; for valid_loss
 * its negation, so that higher is always better. */
double ak_eval_select_value(const ak_eval_result *r, int sel);

#endif
