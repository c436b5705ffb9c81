/* Attention maps as text, for terminals and log files.
 *
 * Each weight becomes one of ten symbols, " .:-=+*#%@" from low to high
 * (non-finite weights print '?'), repeated to fill a cell a few columns wide.
 * Row labels stand at the left; column labels are written vertically above
 * their columns, one character a line. Labels longer than max_label columns
 * are cut and end in an ellipsis marker. When max_width is set and the grid
 * does not fit, the columns are wrapped into blocks, each with its own
 * header. A legend maps every symbol to its weight range. With color set,
 * cells also get an ANSI 256-colour background close to viridis.
 *
 * Control characters in labels print as '?', so a token can never inject a
 * terminal escape sequence. Output is UTF-8 (labels may be any script; wide
 * East Asian characters count two columns). */
#ifndef AK_VIZ_ASCII_H
#define AK_VIZ_ASCII_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"
#include "viz/heatmap.h"

#define AK_ASCII_RAMP " .:-=+*#%@"

/* Zero-initialised options are the defaults. */
typedef struct ak_ascii_opts {
    ak_range range;       /* weights the ramp spans; default [0, 1] */
    int max_width;        /* line width to fit (pass COLUMNS); <= 0: no limit */
    int cell_width;       /* columns a cell, 1..8; 0: 2 */
    int max_label;        /* label columns incl. the marker, 2..64; 0: 12 */
    int color;            /* nonzero: ANSI 256-colour cell backgrounds */
    int no_legend;        /* nonzero: omit the legend lines */
    const char *ellipsis; /* truncation marker, one column; NULL: U+2026 */
} ak_ascii_opts;

/* Renders hm into a new NUL-terminated string (*out, caller frees; *len
 * excludes the NUL, len may be NULL). opts may be NULL. Fails on an invalid
 * view or range, or out of memory. */
int ak_ascii_render(const ak_heatmap *hm, const ak_ascii_opts *opts, char **out,
                    size_t *len, ak_err *err);

/* Renders hm to f. Fails as ak_ascii_render does, or when writing fails. */
int ak_ascii_print(FILE *f, const ak_heatmap *hm, const ak_ascii_opts *opts,
                   ak_err *err);

/* Terminal width from the COLUMNS environment variable, or fallback when it
 * is unset or not a positive number. */
int ak_ascii_env_columns(int fallback);

/* Nearest xterm 256-colour palette index (16..255) for an RGB colour. */
int ak_ansi256_nearest(unsigned char r, unsigned char g, unsigned char b);

#endif
