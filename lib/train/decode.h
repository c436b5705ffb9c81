/* Batched greedy decoding over a model, as the PyTorch twin decodes
 * (shared/peer/torch_train.py, greedy): every sequence starts from BOS; at
 * each step the most probable token other than PAD and BOS (first on ties)
 * is appended and fed back; a sequence ends at EOS (not kept) or after
 * max_len tokens; a batch stops when all its sequences ended. (The twin may
 * emit PAD or BOS from an untrained model; a trained one never gives them
 * the most mass, so outputs agree.)
 *
 * Speed: rows are independent (what a row computes does not depend on the
 * others), so ended rows are dropped from the model's state once they are a
 * quarter of it (not with a capture, whose maps keep all B rows), and the
 * Transformer's steps run on a scratch context reset after every step, so
 * the arena holds the state and one step, not max_len steps. ak_greedy_decode
 * decodes its longest batch first, so that the arena does not grow after it.
 *
 * Decoding runs in no-grad, evaluation mode (no dropout) and restores the
 * context's settings afterwards. Each batch ends with ak_ctx_end_step, so
 * the arena holds one batch at a time; tensors the caller made in ctx before
 * the call are invalid after it.
 *
 * Ownership: results go to caller memory; a capture receives copies.
 * Failure modes: the model's errors (ids outside the vocabulary, a source
 * longer than the model's max_len), out of memory: -1 with a message. */
#ifndef AK_TRAIN_DECODE_H
#define AK_TRAIN_DECODE_H

#include <signal.h>
#include <stdint.h>

#include "autograd/tape.h"
#include "nn/model.h"
#include "text/textbuf.h"

/* One batch: src [B, Ls] (PAD-padded, every row with at least one token).
 * out [B, max_len] receives each row's tokens, len[B] their counts (EOS not
 * included). cap (may be NULL) receives every attention map of the decoding
 * (decoder queries appended step by step). */
int ak_greedy_batch(ak_ctx *ctx, ak_model *m, const int32_t *src, int64_t B, int64_t Ls, int64_t max_len,
                    int32_t *out, int32_t *len, ak_attn_capture *cap, ak_err *err);

/* Decodes n sources (src[i] with src_len[i] ids; an empty source is
 * decoded as [UNK], the twin's rule), sorted by length and cut into batches
 * of at most `batch` sentences. hyps[0..n) (zeroed or reused ak_ids) get
 * the outputs. cancel (may be NULL) is checked between batches: when set,
 * decoding stops and 1 is returned. */
int ak_greedy_decode(ak_ctx *ctx, ak_model *m, const int32_t *const *src, const int32_t *src_len, size_t n,
                     int64_t max_len, int64_t batch, ak_ids *hyps, const volatile sig_atomic_t *cancel,
                     ak_err *err);

#endif
