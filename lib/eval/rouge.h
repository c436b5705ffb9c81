/* ROUGE-1, ROUGE-2 and ROUGE-L (F1 from the LCS) exactly as the twin's rouge() (shared/peer/
 * torch_train.py), which equals Google's rouge_score RougeScorer(["rouge1", "rouge2", "rougeL"],
 * use_stemmer=False): per pair, tokens = runs of [a-z0-9] in str.lower() of the text (anything else
 * separates tokens, so non-ASCII letters are dropped: "Über" -> "ber"); n-gram overlap
 * = sum of min(counts); P = overlap / max(hyp n-grams, 1), R = overlap / max(ref n-grams, 1),
 * F = 2PR / (P + R) (0 when P + R == 0); ROUGE-L uses the LCS length over hyp and ref lengths and is 0
 * when either side has no token.  Reported values are means over the pairs, times 100.
 *
 * Strings are NUL-terminated UTF-8; invalid UTF-8 is an error naming the pair and byte offset.
 * ROUGE-L costs O(len(hyp) * len(ref)) per pair. */
#ifndef AK_EVAL_ROUGE_H
#define AK_EVAL_ROUGE_H

#include <stddef.h>

#include "core/error.h"

typedef struct ak_rouge_prf {
    double p, r, f; /* means over pairs, x100; f is the twin's number */
} ak_rouge_prf;

typedef struct ak_rouge_scores {
    ak_rouge_prf r1, r2, rl;
    size_t n; /* pairs scored */
} ak_rouge_scores;

int ak_rouge(const char *const *hyps, const char *const *refs, size_t n, ak_rouge_scores *out, ak_err *err);

#endif
