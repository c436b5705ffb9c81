/* The progress of a training run, saved in every checkpoint next to the
 * weights and the optimizer state, so that --resume continues bit for bit.
 *
 * Nothing else is needed for that: the batch order of epoch e is a pure
 * function of (pairs, batch_tokens, seed, e) (data/batch.h), dropout masks
 * of a step a pure function of (seed, step) (the trainer sets ctx->step to
 * the training step before each one), the learning rate a pure function of
 * the step (optim/optim.h), and the tokenizers are restored from the
 * checkpoint.
 *
 * Records (docs/formats.md, "## Checkpoint", run records):
 *   run/version    string "attnkit-train 1"
 *   run/config     string, the effective configuration (INI)
 *   run/epoch      i64, epoch in progress (1-based)
 *   run/batch      i64, next batch of that epoch (== batches: evaluation pending)
 *   run/batches    i64, batches per epoch (a check)
 *   run/step       i64, training steps done
 *   run/seed       i64
 *   run/elapsed_s  f64, wall seconds of all sessions so far
 *   run/epoch_loss_sum f64, run/epoch_tokens i64, run/epoch_train_s f64: the partial epoch
 *   run/best       f64 (the selection metric, higher is better; -inf: none yet)
 *   run/best_epoch i64 (0: none), run/bad_epochs i64
 *   run/skipped    i64, steps skipped for a non-finite loss or gradient
 *   run/data_crc   u64, CRC-32 of the training (and validation) pairs' text
 * plus the tokenizers as tok/src/... and tok/tgt/... (io/ckpt_tokenizer.h). */
#ifndef AK_TRAIN_RUN_STATE_H
#define AK_TRAIN_RUN_STATE_H

#include <stdint.h>

#include "io/container.h"

#define AK_RUN_VERSION "attnkit-train 1"

typedef struct ak_run_state {
    int64_t epoch, batch, batches, step, seed;
    double elapsed;
    double loss_sum;
    int64_t tokens;
    double train_s;
    double best;
    int64_t best_epoch, bad_epochs, skipped;
    uint64_t data_crc;
} ak_run_state;

/* A fresh run: epoch 1, batch 0, best -inf. */
ak_run_state ak_run_state_new(int64_t seed, uint64_t data_crc);

int ak_run_state_put(ak_container_writer *w, const ak_run_state *s, const char *config_text, ak_err *err);
/* Reads the records (the configuration text via ak_container_get_str "run/config"). */
int ak_run_state_get(const ak_container *c, ak_run_state *s, ak_err *err);

#endif
