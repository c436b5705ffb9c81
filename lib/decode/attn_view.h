/* Attention maps ready to render, from a live model (decode/translate.h) or
 * from a run's attention files (io/attnfile.h): the weights of one map, or
 * the average of its heads, with token labels; and the epochs a run saved.
 *
 * Label conventions (the same for infer and attnview): rows are the tokens
 * the queries predict (decoder side: tokens + "</s>"; encoder side: the
 * source tokens), columns the keys (source tokens for cross and enc-self;
 * the decoder inputs "<s>" + tokens for dec-self). BPE pieces lose their
 * end-of-word marker "</w>"; a piece that does not end a word gets "@@".
 *
 * Ownership: a view owns its weights and labels (ak_attn_view_free); the
 * heatmap of ak_attn_view_heatmap borrows them. Failure modes: a choice out
 * of range (messages name the allowed range, as "--layer 5 out of range:
 * ..."), unreadable directories, out of memory: -1 with one line in err. */
#ifndef AK_DECODE_ATTN_VIEW_H
#define AK_DECODE_ATTN_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "io/attnfile.h"
#include "nn/capture.h"
#include "text/textbuf.h"
#include "viz/heatmap.h"

typedef struct ak_attn_view {
    float *w; /* rows * cols */
    int rows, cols;
    ak_strlist row_labels, col_labels;
    char title[96];
} ak_attn_view;

void ak_attn_view_free(ak_attn_view *v);
/* A borrowed heatmap over v (valid while v lives). */
ak_heatmap ak_attn_view_heatmap(const ak_attn_view *v);

/* Display form of a token string as stored in attention files: with bpe
 * set, "xyz</w>" -> "xyz" and "xy" -> "xy@@"; otherwise unchanged. */
void ak_attn_token_label(const char *tok, int bpe, char *buf, size_t n);

/* 1 when the file's tokens look like BPE pieces (some token ends in "</w>"). */
int ak_attn_file_is_bpe(const ak_attn_file *f);

/* Checks probe (0-based, file order), role, layer (0-based) and head
 * (0-based; -1 = average) against the file. */
int ak_attn_file_check(const ak_attn_file *f, size_t probe, ak_attn_role role, int layer, int head, ak_err *err);

/* The map of (probe, mode, role, layer), one head or the average (-1), as a
 * view titled e.g. "epoch 3  cross L1 H0". */
int ak_attn_file_view(const ak_attn_file *f, size_t probe, ak_attn_mode mode, ak_attn_role role, int layer, int head,
                      ak_attn_view *out, ak_err *err);

/* Epochs of RUN_DIR/attn/epoch-NNN.attn, ascending (*epochs malloc'd; the
 * caller frees). Fails when the directory cannot be read or holds no
 * attention file. */
int ak_attn_run_epochs(const char *run_dir, uint64_t **epochs, size_t *n, ak_err *err);

/* Picks epochs from the available ones (ascending) by spec: "all", "last",
 * "N", or a range "A-B" (inclusive; either end may be left out: "5-", "-3").
 * A single epoch must exist; a range must contain at least one.
 * *out is malloc'd. */
int ak_epoch_select(const char *spec, const uint64_t *avail, size_t n_avail, uint64_t **out, size_t *n_out,
                    ak_err *err);

#endif
