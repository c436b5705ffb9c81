/* Training data as the trainer uses it: the corpus read, split into training
 * and validation pairs exactly as the PyTorch twin splits it
 * (data/corpus_split.h), optionally lower-cased, tokenizers learned on the
 * training split (or restored from a checkpoint), both splits encoded and
 * length-filtered (the twin's rule: 0 < source <= max_len, target <=
 * max_len).
 *
 * Validation order is the split's (shuffled) order; valid_src/valid_ref
 * hold the texts of the kept validation pairs in that order, the
 * references for BLEU/ROUGE (lower-cased when [data] lowercase is on).
 *
 * Ownership: everything is owned by the struct; ak_train_data_free releases
 * it (safe on a zeroed struct). Tokenizers passed to ak_train_data_prepare
 * are taken over, also on failure.
 * Failure modes: unreadable or malformed corpus ("FILE:LINE: ..."), too few
 * pairs for the validation size, a side that cannot be encoded, nothing left
 * after the length filter, out of memory: -1 with one line in err. */
#ifndef AK_TRAIN_TRAIN_DATA_H
#define AK_TRAIN_TRAIN_DATA_H

#include <stdint.h>

#include "core/error.h"
#include "data/corpus.h"
#include "data/corpus_ids.h"
#include "text/tokenizer.h"
#include "train/train_config.h"

typedef struct ak_train_data {
    ak_corpus corpus;                /* the training file */
    ak_corpus vcorpus;               /* [data] valid, when given */
    ak_tokenizer *src_tok, *tgt_tok; /* the same object when the vocabulary is shared */
    ak_idcorpus train, valid;        /* encoded, filtered */
    const char **valid_src, **valid_ref; /* texts of the kept validation pairs */
    size_t n_train_pairs, n_valid_pairs; /* before the length filter */
    size_t n_train_dropped, n_valid_dropped;
    uint32_t crc;                    /* CRC-32 of all pairs' text, for resume checks */
    char **owned;                    /* lower-cased copies */
    size_t n_owned;
} ak_train_data;

int ak_train_data_prepare(ak_train_data *d, const ak_train_cfg *cfg, ak_tokenizer *src_tok, ak_tokenizer *tgt_tok,
                          ak_err *err);
void ak_train_data_free(ak_train_data *d);

/* Encodes one text with a tokenizer into out (cleared first), applying
 * the configured lower-casing and cutting at max_len ids (0: no cut). */
int ak_train_encode_text(const ak_train_cfg *cfg, const ak_tokenizer *t, const char *text, int64_t max_len,
                         ak_ids *out, ak_err *err);

#endif
