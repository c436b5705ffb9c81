/* The input every renderer takes: a plain, borrowed view of one attention
 * map (or any matrix), independent of the tensor library, plus the choice of
 * which weight range the colours and symbols span.
 *
 * Ownership: nothing here is owned; the pointers must outlive the call that
 * uses them. Labels are UTF-8; a NULL label array means "use indices", a NULL
 * entry inside one draws as an empty label. */
#ifndef AK_VIZ_HEATMAP_H
#define AK_VIZ_HEATMAP_H

#include <stddef.h>

#include "core/error.h"

#define AK_HEATMAP_MAX_DIM 4096

typedef struct ak_heatmap {
    const float *w;                /* rows * cols weights, row-major */
    int rows, cols;
    const char *const *row_labels; /* rows entries, or NULL */
    const char *const *col_labels; /* cols entries, or NULL */
    const char *title;             /* may be NULL, e.g. "epoch 3  cross L2 H1" */
} ak_heatmap;

typedef enum ak_range_mode {
    AK_RANGE_UNIT = 0, /* [0, 1]: attention probabilities (the default) */
    AK_RANGE_DATA,     /* min .. max of the finite weights */
    AK_RANGE_FIXED,    /* lo .. hi as given */
} ak_range_mode;

typedef struct ak_range {
    ak_range_mode mode;
    float lo, hi; /* read for AK_RANGE_FIXED only; need lo < hi, finite */
} ak_range;

/* Checks that rows and cols are in 1..AK_HEATMAP_MAX_DIM and w is set. */
int ak_heatmap_check(const ak_heatmap *hm, ak_err *err);

/* Resolves the range over n maps (n >= 1, all already checked) into
 * lo < hi. AK_RANGE_DATA with no finite weight gives [0, 1]; a flat map
 * (min == max) is widened by 0.5 either side so it shows mid-scale.
 * Fails on a FIXED range that is not finite with lo < hi. */
int ak_range_resolve(const ak_range *r, const ak_heatmap *maps, int n,
                     float *lo, float *hi, ak_err *err);

/* Position of w in [lo, hi] as t in [0, 1], clamped; NaN for non-finite w. */
float ak_range_t(float w, float lo, float hi);

/* Formats v for a legend or colour-bar tick with as many decimals as a range
 * of width span needs to tell its ends apart (2 for span 1). */
void ak_viz_fmt_value(char *buf, size_t n, double v, double span);

/* The label to show for row/column i: the caller's label ("" for a NULL
 * entry), or the index written into buf (which needs 12 bytes). */
const char *ak_heatmap_label(const char *const *labels, int i, char *buf);

#endif
