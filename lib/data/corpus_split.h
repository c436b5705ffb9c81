/* Train/validation split drawn exactly as the PyTorch twin draws it
 * (shared/peer/torch_train.py):
 *     idx = list(range(n)); random.Random(seed).shuffle(idx)
 *     valid = idx[:n_valid]            (kept in shuffled order)
 *     train = sorted(idx[n_valid:])    (file order)
 * so the same file and seed give the same validation pairs in both. (The
 * twin's --limit-train debug mode caps n_valid at n // 10; a caller that
 * mirrors it passes the capped value.)
 *
 * Ownership: the split owns one array; ak_split_free releases it.
 * Failure modes: n_valid > n, out of memory: -1 with a message. */
#ifndef AK_DATA_CORPUS_SPLIT_H
#define AK_DATA_CORPUS_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ak_split {
    size_t *valid; /* n_valid pair indices, shuffled order */
    size_t n_valid;
    size_t *train; /* n_train pair indices, increasing */
    size_t n_train;
} ak_split;

int ak_split_make(ak_split *s, size_t n, size_t n_valid, int64_t seed, ak_err *err);
void ak_split_free(ak_split *s);

#endif
