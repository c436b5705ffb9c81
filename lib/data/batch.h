/* Token-budget batching of encoded pairs, drawn exactly as the PyTorch twin
 * (shared/peer/torch_train.py, make_batches and collate) draws it, so that
 * a run here and a run there see the same batches in the same order:
 *
 *   rng = random.Random(seed + 1000), one stream for the whole run; per epoch:
 *   order = rng.shuffle(range(n)), then stable-sorted by (source length,
 *   target length); cut greedily: a pair joins the current batch unless
 *   (rows + 1) * max(longest source, longest target + 1) > batch_tokens;
 *   then rng.shuffle(batches).
 *
 * A single pair longer than the budget gets a batch of its own (the twin's
 * rule), so rows * max(src_cols, tgt_cols) <= batch_tokens holds for every
 * batch of two or more rows. Because the twin draws epoch e from the stream
 * left by epochs 1..e-1, the plan for (seed, epoch) is computed by replaying
 * the earlier epochs' draws when asked out of order (sequential epochs cost
 * nothing extra); the result depends on (pairs, batch_tokens, seed, epoch)
 * only. With shuffle off (the twin's validation batches) there is no
 * randomness: pairs in corpus order, stable-sorted, cut, not reordered.
 *
 * Each batch has PAD-padded int32 matrices, row-major:
 *   src     [rows, src_cols]  source ids, PAD
 *   dec_in  [rows, tgt_cols]  BOS, target ids, PAD
 *   dec_out [rows, tgt_cols]  target ids, EOS, PAD
 * with tgt_cols = longest target + 1.
 *
 * Ownership: a batcher borrows the ak_idcorpus (it must outlive the batcher
 * and stay unchanged). A plan owns all its batches' memory in a few blocks,
 * allocated once per plan and reused (grown if needed) when the same plan
 * struct is passed for the next epoch; a zeroed plan is empty.
 * Failure modes: batch_tokens < 1, a pair with an empty source (filter with
 * ak_idcorpus_filter first), epoch < 1, seed + 1000 overflowing, sizes that
 * overflow, out of memory: -1 with a message. */
#ifndef AK_DATA_BATCH_H
#define AK_DATA_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/corpus_ids.h"
#include "data/pyrandom.h"

/* Special ids, the twin's PAD=0 UNK=1 BOS=2 EOS=3 (lib/text's vocabularies
 * reserve the same). */
enum { AK_BATCH_PAD = 0, AK_BATCH_BOS = 2, AK_BATCH_EOS = 3 };

/* The twin seeds its batch stream with random.Random(seed + 1000). */
#define AK_BATCH_SEED_OFFSET 1000

typedef struct ak_batch {
    int32_t rows;         /* B */
    int32_t src_cols;     /* longest source in the batch */
    int32_t tgt_cols;     /* longest target + 1 */
    int32_t *src;         /* [rows, src_cols] */
    int32_t *dec_in;      /* [rows, tgt_cols] */
    int32_t *dec_out;     /* [rows, tgt_cols] */
    int32_t *src_len;     /* [rows] source lengths */
    int32_t *dec_len;     /* [rows] target length + 1: non-PAD positions of dec_in/dec_out */
    const size_t *pair;   /* [rows] index of each row's pair in the ak_idcorpus */
    int64_t n_dec_tokens; /* sum of dec_len: the twin's ntok (the loss denominator) */
} ak_batch;

typedef struct ak_batch_plan {
    int64_t epoch;
    ak_batch *batches; /* in training order */
    size_t n_batches;
    /* storage behind the batches, reused by the next plan into this struct */
    size_t *order;
    size_t order_cap, batches_cap;
    int32_t *buf;
    size_t buf_cap;
} ak_batch_plan;

typedef struct ak_batcher {
    const ak_idcorpus *pairs;
    int64_t batch_tokens;
    int64_t seed;       /* run seed; the stream is seeded with seed + 1000 */
    int shuffle;        /* 0: no randomness (validation batches) */
    ak_pyrandom rng;    /* stream state before epoch next_epoch */
    int64_t next_epoch; /* >= 1 */
} ak_batcher;

int ak_batcher_init(ak_batcher *b, const ak_idcorpus *pairs, int64_t batch_tokens, int64_t seed, int shuffle,
                    ak_err *err);

/* Fills *plan with the batches of `epoch` (1-based, as the twin counts). */
int ak_batcher_plan(ak_batcher *b, int64_t epoch, ak_batch_plan *plan, ak_err *err);

void ak_batch_plan_free(ak_batch_plan *plan);

#endif
