/* The files of a run directory:
 *
 *   RUN_DIR/config.ini          effective configuration (every key)
 *   RUN_DIR/vocab.src, vocab.tgt (and merges.src, merges.tgt for BPE)
 *   RUN_DIR/metrics.tsv         one row per epoch, header once
 *   RUN_DIR/valid.hyp           the latest epoch's validation hypotheses
 *   RUN_DIR/ckpt/epoch-NNN.ckpt after every epoch; the last keep_last kept
 *   RUN_DIR/ckpt/interrupted.ckpt  written on Ctrl-C (mid-epoch); removed
 *                               by the next epoch checkpoint
 *   RUN_DIR/ckpt/best.ckpt      a hard link to the best epoch's checkpoint
 *                               (a copy where the file system cannot link),
 *                               so pruning never removes it
 *   RUN_DIR/attn/epoch-NNN.attn, RUN_DIR/attn_stats.tsv (train/probe.h)
 *
 * Every file is replaced atomically (io/atomic_file.h); the temporaries are
 * announced to train/interrupt.h so that a second Ctrl-C removes them.
 * Failure modes: file system errors, -1 with "PATH: what: strerror". */
#ifndef AK_TRAIN_RUN_DIR_H
#define AK_TRAIN_RUN_DIR_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* mkdir -p. */
int ak_mkdirs(const char *path, ak_err *err);

/* "DIR/ckpt/epoch-NNN.ckpt" (>= 3 digits). */
void ak_ckpt_epoch_path(char *buf, size_t n, const char *run_dir, int64_t epoch);

/* Epoch numbers of the ckpt/epoch-NNN.ckpt files, ascending; *out malloc'd. */
int ak_ckpt_list(const char *run_dir, int64_t **out, size_t *n, ak_err *err);

/* Removes all epoch checkpoints but the newest `keep` (keep 0: none removed). */
int ak_ckpt_prune(const char *run_dir, size_t keep, ak_err *err);

/* Points RUN_DIR/ckpt/best.ckpt at src (hard link, else a copy), atomically. */
int ak_ckpt_set_best(const char *run_dir, const char *src, ak_err *err);

/* The checkpoint --resume ARG means: a file as given, or in a run
 * directory (or its ckpt/ folder) ckpt/interrupted.ckpt when present, else
 * the newest epoch checkpoint. run_dir receives the run directory it
 * belongs to ("" for a file outside a run's ckpt/ folder). */
int ak_ckpt_locate(const char *arg, char *ckpt, size_t ckpt_n, char *run_dir, size_t run_dir_n, ak_err *err);

/* Rewrites a TSV keeping its first line (the header) and the rows whose
 * first field, as an integer, is below `below`; a missing file is fine. */
int ak_tsv_truncate(const char *path, int64_t below, ak_err *err);

/* Appends one line (newline added) to a TSV, writing `header` first when
 * the file is missing or empty; the file is rewritten atomically. Fails
 * when an existing first line differs from header. */
int ak_tsv_append(const char *path, const char *header, const char *row, ak_err *err);

/* Writes text to path atomically (guarded against a second Ctrl-C). */
int ak_write_text(const char *path, const char *text, ak_err *err);

#endif
