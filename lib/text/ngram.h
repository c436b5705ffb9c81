/* Clipped n-gram matching over token-id sequences, shared by BLEU and ROUGE-N. */
#ifndef AK_TEXT_NGRAM_H
#define AK_TEXT_NGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define AK_NGRAM_MAX 4

/* *matches = sum over distinct n-grams g of min(count of g in hyp, count of g in ref), 1 <= n <=
 * AK_NGRAM_MAX (BLEU's clipped counts; ROUGE-N's overlap).  Fails only on bad n or out of memory. */
int ak_ngram_matches(const uint32_t *hyp, size_t nh, const uint32_t *ref, size_t nr, int n, int64_t *matches,
                     ak_err *err);

#endif
