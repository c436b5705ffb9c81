/* Reading RUN_DIR/attn_stats.tsv (written by eval/attn_stats.h,
 * ak_attn_stats_append_tsv) back, and summarising it for the viewer: a
 * statistic of chosen heads across epochs, means over heads, and the
 * difference between two runs.
 *
 * File: the header AK_ATTN_STATS_HEADER, then rows
 *   epoch role layer head entropy max_weight diagonality js_div aer
 * tab-separated; "nan" (any case) for undefined values. Messages name
 * "PATH:LINE: what was expected".
 *
 * Ownership: row arrays are malloc'd, the caller frees them. */
#ifndef AK_DECODE_STATS_TSV_H
#define AK_DECODE_STATS_TSV_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "nn/capture.h"

enum { AK_STAT_ENTROPY, AK_STAT_MAX_WEIGHT, AK_STAT_DIAGONALITY, AK_STAT_JS_DIV, AK_STAT_AER, AK_NSTATS };

/* "entropy", "max_weight", "diagonality", "js_div", "aer" */
extern const char *const ak_stat_names[AK_NSTATS];
/* Index of a statistic's name; -1 when unknown. */
int ak_stat_parse(const char *name);

typedef struct ak_stat_row {
    uint64_t epoch;
    ak_attn_role role;
    int layer, head;
    double v[AK_NSTATS];
} ak_stat_row;

int ak_stats_tsv_read(const char *path, ak_stat_row **rows, size_t *n, ak_err *err);

/* Ascending distinct epochs of rows (*epochs malloc'd). */
int ak_stats_epochs(const ak_stat_row *rows, size_t n, uint64_t **epochs, size_t *n_epochs, ak_err *err);

/* The row of (epoch, role, layer, head), or NULL. */
const ak_stat_row *ak_stats_find(const ak_stat_row *rows, size_t n, uint64_t epoch, ak_attn_role role, int layer,
                                 int head);

/* Mean of each statistic over the rows of epoch and role whose layer and
 * head match (-1 matches any), skipping NaN; NaN where nothing counts.
 * Returns the number of rows matched. */
int ak_stats_mean(const ak_stat_row *rows, size_t n, uint64_t epoch, ak_attn_role role, int layer, int head,
                  double out[AK_NSTATS]);

#endif
