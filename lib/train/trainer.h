/* The training run behind bin/train: configuration -> data and tokenizers
 * -> model and optimizer -> epochs of (training steps, validation loss,
 * greedy decoding and BLEU/ROUGE, attention probes, metrics row,
 * checkpoint) with early stopping, resumable bit for bit.
 *
 * Per epoch e, in this order: the training steps over the epoch's batches
 * (data/batch.h, the twin's order), validation loss and perplexity, greedy
 * decoding of the validation split and its score, the attention probes
 * (RUN_DIR/attn/epoch-NNN.attn, attn_stats.tsv; epoch 0 once before
 * training), a row of RUN_DIR/metrics.tsv, RUN_DIR/valid.hyp, then the
 * checkpoint RUN_DIR/ckpt/epoch-NNN.ckpt (weights, optimizer, run state,
 * configuration, tokenizers; train/run_state.h), pruning to keep_last and
 * best.ckpt by the [train] select metric. The files are described in
 * train/run_dir.h.
 *
 * Interruption (with handle_signals): the first SIGINT/SIGTERM lets the
 * current step finish (or abandons validation, which changes nothing),
 * writes RUN_DIR/ckpt/interrupted.ckpt and returns AK_EXIT_INTERRUPTED; a
 * second one exits the process at once with status 130, removing the
 * temporary of a file being written (train/interrupt.h). Resuming from
 * interrupted.ckpt continues inside the epoch, from the next batch, with
 * the same result as an uninterrupted run.
 *
 * Return value: the process exit status. AK_EXIT_USAGE for bad input
 * (configuration, data, a checkpoint that does not fit the configuration),
 * AK_EXIT_FAILED for failures while running (file system, a diverged
 * run), with one line in err either way.
 *
 * Ownership: the options are borrowed for the call. */
#ifndef AK_TRAIN_TRAINER_H
#define AK_TRAIN_TRAINER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "train/progress.h"

enum { AK_EXIT_OK = 0, AK_EXIT_FAILED = 1, AK_EXIT_USAGE = 2, AK_EXIT_INTERRUPTED = 130 };

typedef struct ak_train_opts {
    const char *config;             /* CONFIG */
    const char *const *sets;        /* "section.key=value" overrides */
    size_t n_sets;
    const char *run_dir;            /* NULL: the resumed run's, else runs/<config name> */
    const char *resume;             /* NULL, a run directory or a checkpoint */
    int threads;                    /* 0: keep the current setting */
    int64_t epochs;                 /* 0: [train] epochs; the run's total */
    ak_log_mode log_mode;
    FILE *log;                      /* progress and log lines; NULL = stderr */
    int handle_signals;             /* install the SIGINT/SIGTERM handler for the run */
    /* Called after every training step (tests); may be NULL. */
    void (*on_step)(void *arg, int64_t epoch, int64_t step);
    void *hook_arg;
} ak_train_opts;

int ak_train_main(const ak_train_opts *o, ak_err *err);

#endif
