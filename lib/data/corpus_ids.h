/* Encoded corpora: pairs of int32 token-id sequences, the input of the
 * batcher (batch.h). Filled from arrays (ak_idcorpus_add), from a text corpus
 * through a caller-supplied encoder (ak_idcorpus_encode; the tokenizer lives
 * in lib/text), or from a file of id lines (ak_idcorpus_read):
 *     3 17 42<TAB>5 9
 * i.e. two non-empty TAB-separated fields of space-separated decimal ids,
 * each id in [0, vocab size) of its side.
 *
 * Ownership: an ak_idcorpus owns its pair table and one flat id buffer;
 * start from a zeroed struct (or AK_IDCORPUS_INIT), end with
 * ak_idcorpus_free. On failure the pairs added so far stay valid.
 * Failure modes: malformed or out-of-vocabulary id line ("FILE:LINE: ..."),
 * encoder error (prefixed with "FILE:LINE: source|target: "), sequence longer
 * than INT32_MAX ids, out of memory: -1 with a message. */
#ifndef AK_DATA_CORPUS_IDS_H
#define AK_DATA_CORPUS_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/corpus.h"

typedef struct ak_idpair {
    size_t off;     /* source ids at ids[off], target ids right after them */
    int32_t ns, nt; /* lengths */
} ak_idpair;

typedef struct ak_idcorpus {
    ak_idpair *pairs;
    size_t n, cap;
    int32_t *ids;
    size_t n_ids, ids_cap;
} ak_idcorpus;

#define AK_IDCORPUS_INIT {0}

static inline const int32_t *ak_idcorpus_src(const ak_idcorpus *c, size_t i)
{
    return c->ids + c->pairs[i].off;
}

static inline const int32_t *ak_idcorpus_tgt(const ak_idcorpus *c, size_t i)
{
    return c->ids + c->pairs[i].off + (size_t)c->pairs[i].ns;
}

/* Appends one pair (copied); lengths may be 0. */
int ak_idcorpus_add(ak_idcorpus *c, const int32_t *src, int32_t ns, const int32_t *tgt, int32_t nt,
                    ak_err *err);

enum { AK_SIDE_SRC = 0, AK_SIDE_TGT = 1 };

/* An encoder writes the ids of `text` (side AK_SIDE_SRC or AK_SIDE_TGT) into
 * out[0, cap) and returns how many ids the text has, like snprintf: when
 * that exceeds cap it is called again with room for them. It returns -1 and
 * fills err when the text cannot be encoded. */
typedef int64_t (*ak_encode_fn)(void *ctx, int side, const char *text, int32_t *out, size_t cap,
                                ak_err *err);

/* Appends the encodings of corpus pairs idx[0..n) (all pairs in order when
 * idx is NULL, n is then ignored). */
int ak_idcorpus_encode(ak_idcorpus *c, const ak_corpus *corpus, const size_t *idx, size_t n,
                       ak_encode_fn encode, void *ctx, ak_err *err);

/* Appends every line of an id file (plain or gzip); fails on the first bad
 * line. Vocabulary sizes must be >= 1. */
int ak_idcorpus_read(ak_idcorpus *c, const char *path, int32_t src_vocab, int32_t tgt_vocab, ak_err *err);

/* The twin's length filter, applied after encoding: keeps the pairs with
 * 0 < ns <= max_src and nt <= max_tgt (an empty target is kept, an empty
 * source is not), in order, and returns how many were dropped. The dropped
 * pairs' ids stay in the buffer unused. */
size_t ak_idcorpus_filter(ak_idcorpus *c, int32_t max_src, int32_t max_tgt);

void ak_idcorpus_free(ak_idcorpus *c);

#endif
