/* Several heatmaps composed into one image: a grid of panels, each a full
 * heatmap image (labels and its own title, e.g. "H3" or "epoch 12") without
 * its own colour bar, all coloured on one shared range and explained by one
 * colour bar at the right; an optional overall title on top. This is the
 * "all heads of a layer" grid (columns = heads per row) and the "evolution
 * strip" of one map across epochs (columns = 0, one row). */
#ifndef AK_VIZ_PANELS_H
#define AK_VIZ_PANELS_H

#include "core/error.h"
#include "viz/canvas.h"
#include "viz/heatmap.h"
#include "viz/heatmap_image.h"

/* Zero-initialised options are the defaults. */
typedef struct ak_panel_opts {
    ak_image_opts image; /* per-panel options; range is shared by all panels,
                            AK_RANGE_DATA taking min/max over every panel */
    int columns;         /* panels a row; 0: all in one row */
    int gap;             /* pixels between panels; 0: 12 */
    const char *title;   /* overall title, may be NULL */
} ak_panel_opts;

/* Composes n (1..1024) maps into a new canvas (free with ak_canvas_free). */
int ak_panels_render(const ak_heatmap *maps, int n, const ak_panel_opts *opts,
                     ak_canvas *out, ak_err *err);

/* Renders and writes to a .png or .ppm path (atomically). */
int ak_panels_write(const char *path, const ak_heatmap *maps, int n,
                    const ak_panel_opts *opts, ak_err *err);

#endif
