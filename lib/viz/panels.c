#include "viz/panels.h"

#include <stdlib.h>

#include "viz/font.h"
#include "viz/png.h"

#define MARGIN 6
#define BAR_GAP 10
#define BAR_W 12

int ak_panels_render(const ak_heatmap *maps, int n, const ak_panel_opts *opts,
                     ak_canvas *out, ak_err *err)
{
    ak_panel_opts po = {0};
    if (opts)
        po = *opts;
    out->px = NULL;
    out->w = out->h = 0;
    if (!maps || n < 1 || n > 1024)
        return ak_errorf(err, "ak_panels_render: %d panels, expected 1..1024", n);
    for (int k = 0; k < n; k++)
        if (ak_heatmap_check(&maps[k], err) < 0)
            return ak_err_prefix(err, "ak_panels_render: panel %d", k);

    float lo, hi;
    if (ak_range_resolve(&po.image.range, maps, n, &lo, &hi, err) < 0)
        return ak_err_prefix(err, "ak_panels_render");
    ak_image_opts io = po.image;
    io.range.mode = AK_RANGE_FIXED;
    io.range.lo = lo;
    io.range.hi = hi;
    io.no_colorbar = 1;
    int scale = io.text_scale <= 0 ? 1 : io.text_scale > 4 ? 4 : io.text_scale;
    int cols = po.columns <= 0 || po.columns > n ? n : po.columns;
    int rows = (n + cols - 1) / cols;
    int gap = po.gap <= 0 ? 12 : po.gap;

    /* Every panel's slot is as large as the largest panel. */
    ak_heatmap_geom first = {0};
    long slot_w = 0, slot_h = 0;
    for (int k = 0; k < n; k++) {
        ak_heatmap_geom g;
        if (ak_heatmap_geometry(&maps[k], &io, &g, err) < 0)
            return ak_err_prefix(err, "ak_panels_render: panel %d", k);
        if (k == 0)
            first = g;
        slot_w = g.width > slot_w ? g.width : slot_w;
        slot_h = g.height > slot_h ? g.height : slot_h;
    }
    /* Panels carry their own margins, so they abut the canvas edges. */
    int top = po.title ? MARGIN + AK_FONT_H * scale + 4 : 0;
    long grid_w = cols * slot_w + (cols - 1L) * gap;
    long grid_h = rows * slot_h + (rows - 1L) * gap;
    int show_bar = !po.image.no_colorbar;
    int bar_h = first.height - first.grid_y - MARGIN;
    bar_h = bar_h < 4 * AK_FONT_H * scale ? 4 * AK_FONT_H * scale : bar_h;
    long bar_x = grid_w + BAR_GAP - MARGIN, bar_y = top + first.grid_y;
    long w = grid_w, h = top + grid_h;
    if (show_bar) {
        w = bar_x + BAR_W + ak_colorbar_extra(lo, hi, scale) + MARGIN;
        h = h > bar_y + bar_h + 1 + MARGIN ? h : bar_y + bar_h + 1 + MARGIN;
    }
    if (po.title) {
        long tw = MARGIN + ak_text_length(po.title, scale) + MARGIN;
        w = w > tw ? w : tw;
    }
    if (w > AK_CANVAS_MAX_SIDE || h > AK_CANVAS_MAX_SIDE ||
        w * h > AK_CANVAS_MAX_PIXELS)
        return ak_errorf(err,
                         "ak_panels_render: %d panels make a %ldx%ld image, "
                         "over the canvas limit",
                         n, w, h);
    if (ak_canvas_init(out, (int)w, (int)h, AK_VIZ_BG, err) < 0)
        return ak_err_prefix(err, "ak_panels_render");
    if (po.title)
        ak_canvas_text(out, MARGIN, MARGIN, po.title, AK_VIZ_INK, scale,
                       AK_TEXT_RIGHT);
    for (int k = 0; k < n; k++) {
        ak_canvas panel;
        if (ak_heatmap_render(&maps[k], &io, &panel, NULL, err) < 0) {
            ak_canvas_free(out);
            return ak_err_prefix(err, "ak_panels_render: panel %d", k);
        }
        ak_canvas_blit(out, &panel, (int)((k % cols) * (slot_w + gap)),
                       top + (int)((k / cols) * (slot_h + gap)));
        ak_canvas_free(&panel);
    }
    if (show_bar)
        ak_colorbar_draw(out, (int)bar_x, (int)bar_y, BAR_W, bar_h, lo, hi, scale);
    return 0;
}

int ak_panels_write(const char *path, const ak_heatmap *maps, int n,
                    const ak_panel_opts *opts, ak_err *err)
{
    ak_canvas c;
    if (ak_panels_render(maps, n, opts, &c, err) < 0)
        return ak_err_prefix(err, "%s", path ? path : "(null)");
    int rc = ak_image_write(path, &c, err);
    ak_canvas_free(&c);
    return rc;
}
