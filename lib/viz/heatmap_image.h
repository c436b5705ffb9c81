/* Attention maps as images: a grid of viridis-coloured cells with the row
 * tokens at the left (right-aligned to the grid), the column tokens above
 * (rotated to read upward, starting at the grid), an optional title at the
 * top and a colour bar at the right with its scale (top, middle and bottom
 * ticks). When cells are smaller than a line of text, only every k-th label
 * is drawn so that none overlap. Labels longer than max_label characters are
 * cut and end in an ellipsis. Non-finite weights draw grey.
 *
 * The canvas produced can be written with viz/png.h or viz/ppm.h, or
 * composed with others (viz/panels.h). */
#ifndef AK_VIZ_HEATMAP_IMAGE_H
#define AK_VIZ_HEATMAP_IMAGE_H

#include "core/error.h"
#include "viz/canvas.h"
#include "viz/heatmap.h"

#define AK_VIZ_BG ((ak_rgb){255, 255, 255})
#define AK_VIZ_INK ((ak_rgb){34, 34, 34})

/* Zero-initialised options are the defaults. */
typedef struct ak_image_opts {
    ak_range range;  /* weights the colours span; default [0, 1] */
    int cell;        /* cell side in pixels, 1..256; 0: 16 */
    int text_scale;  /* font pixel size, 1..4; 0: 1 */
    int max_label;   /* characters a label, incl. the ellipsis, 2..64; 0: 16 */
    int no_labels;   /* nonzero: no row or column labels */
    int no_colorbar; /* nonzero: no colour bar */
    int no_title;    /* nonzero: ignore hm->title */
} ak_image_opts;

/* Where things land on the canvas, for callers that annotate or test it. */
typedef struct ak_heatmap_geom {
    int width, height;        /* canvas size */
    int grid_x, grid_y, cell; /* cell (i, j) covers x = grid_x + j * cell ..,
                                 y = grid_y + i * cell .. (cell pixels each) */
    int bar_x, bar_y, bar_w, bar_h; /* colour bar interior; bar_w 0 if off */
    int row_step, col_step;   /* every k-th label is drawn */
    float lo, hi;             /* the resolved weight range */
} ak_heatmap_geom;

/* Computes the layout without drawing. */
int ak_heatmap_geometry(const ak_heatmap *hm, const ak_image_opts *opts,
                        ak_heatmap_geom *g, ak_err *err);

/* Renders hm into a new canvas (*out, free with ak_canvas_free); geom may be
 * NULL. opts may be NULL. */
int ak_heatmap_render(const ak_heatmap *hm, const ak_image_opts *opts,
                      ak_canvas *out, ak_heatmap_geom *geom, ak_err *err);

/* Renders and writes to a .png or .ppm path (atomically). */
int ak_heatmap_write(const char *path, const ak_heatmap *hm,
                     const ak_image_opts *opts, ak_err *err);

/* The colour bar alone, for compositions: the gradient (hi at the top) in
 * the box x, y, w, h with a frame around it, and tick labels to its right.
 * ak_colorbar_extra is how far right of x + w the tick labels reach. */
void ak_colorbar_draw(ak_canvas *c, int x, int y, int w, int h, float lo,
                      float hi, int text_scale);
int ak_colorbar_extra(float lo, float hi, int text_scale);

#endif
