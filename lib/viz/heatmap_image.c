#include "viz/heatmap_image.h"

#include <string.h>

#include "viz/colormap.h"
#include "viz/font.h"
#include "viz/png.h"

#define MARGIN 6
#define LABEL_GAP 4 /* between labels and the grid */
#define BAR_GAP 10  /* between the grid and the colour bar */
#define BAR_W 12
#define TICK_LEN 3


static ak_image_opts normalise(const ak_image_opts *opts)
{
    ak_image_opts o = {0};
    if (opts)
        o = *opts;
    o.cell = o.cell <= 0 ? 16 : o.cell > 256 ? 256 : o.cell;
    o.text_scale = o.text_scale <= 0 ? 1 : o.text_scale > 4 ? 4 : o.text_scale;
    o.max_label = o.max_label <= 0 ? 16 : o.max_label < 2 ? 2 :
                  o.max_label > 64 ? 64 : o.max_label;
    return o;
}

/* Copies label s into buf (cap bytes), cut to max characters ending in an
 * ellipsis when longer. */
static const char *fit_label(const char *s, int max, char *buf, size_t cap)
{
    size_t len = strlen(s), pos = 0, keep = 0;
    int n = 0;
    while (pos < len) {
        ak_font_next(s, len, &pos);
        n++;
        if (n == max - 1)
            keep = pos;
    }
    if (n <= max && len < cap)
        return s;
    if (n <= max) /* absurdly long bytes for few characters: cut raw */
        keep = cap - 4;
    if (keep > cap - 4)
        keep = cap - 4;
    memcpy(buf, s, keep);
    memcpy(buf + keep, "\xE2\x80\xA6", 4);
    return buf;
}

static int max_label_len(const char *const *labels, int n, int max_chars,
                         int scale)
{
    char num[12], buf[512];
    int best = 0;
    for (int i = 0; i < n; i++) {
        const char *s = fit_label(ak_heatmap_label(labels, i, num), max_chars,
                                  buf, sizeof buf);
        int l = ak_text_length(s, scale);
        best = l > best ? l : best;
    }
    return best;
}

static void fmt_ticks(float lo, float hi, char t[3][32])
{
    double span = (double)hi - lo;
    ak_viz_fmt_value(t[0], sizeof t[0], hi, span);
    ak_viz_fmt_value(t[1], sizeof t[1], lo + span / 2, span);
    ak_viz_fmt_value(t[2], sizeof t[2], lo, span);
}

int ak_colorbar_extra(float lo, float hi, int text_scale)
{
    char t[3][32];
    int w = 0;
    fmt_ticks(lo, hi, t);
    for (int i = 0; i < 3; i++) {
        int l = ak_text_length(t[i], text_scale);
        w = l > w ? l : w;
    }
    return 1 + TICK_LEN + 2 * text_scale + w;
}

void ak_colorbar_draw(ak_canvas *c, int x, int y, int w, int h, float lo,
                      float hi, int text_scale)
{
    char t[3][32];
    int fh = AK_FONT_H * text_scale;
    for (int yy = 0; yy < h; yy++) {
        float v = h > 1 ? 1.0f - (float)yy / (float)(h - 1) : 1.0f;
        ak_canvas_fill_rect(c, x, y + yy, w, 1, ak_viridis(v));
    }
    ak_canvas_frame_rect(c, x - 1, y - 1, w + 2, h + 2, AK_VIZ_INK);
    fmt_ticks(lo, hi, t);
    int ys[3] = {y, y + (h - 1) / 2, y + h - 1};
    for (int i = 0; i < 3; i++) {
        ak_canvas_fill_rect(c, x + w + 1, ys[i], TICK_LEN, 1, AK_VIZ_INK);
        int ty = ys[i] - fh / 2;
        ty = ty < y - 2 ? y - 2 : ty;
        ty = ty + fh > y + h + 2 ? y + h + 2 - fh : ty;
        ak_canvas_text(c, x + w + 1 + TICK_LEN + 2 * text_scale, ty, t[i], AK_VIZ_INK,
                       text_scale, AK_TEXT_RIGHT);
    }
}

int ak_heatmap_geometry(const ak_heatmap *hm, const ak_image_opts *opts,
                        ak_heatmap_geom *g, ak_err *err)
{
    ak_image_opts o = normalise(opts);
    memset(g, 0, sizeof *g);
    if (ak_heatmap_check(hm, err) < 0 ||
        ak_range_resolve(&o.range, hm, 1, &g->lo, &g->hi, err) < 0)
        return -1;
    int s = o.text_scale, fh = AK_FONT_H * s;
    int title_h = 0, title_w = 0, row_w = 0, col_h = 0;
    if (hm->title && !o.no_title) {
        title_h = fh + 4;
        title_w = ak_text_length(hm->title, s);
    }
    g->cell = o.cell;
    g->row_step = g->col_step = 1;
    if (!o.no_labels) {
        row_w = max_label_len(hm->row_labels, hm->rows, o.max_label, s) + LABEL_GAP;
        col_h = max_label_len(hm->col_labels, hm->cols, o.max_label, s) + LABEL_GAP;
        g->row_step = g->col_step = (fh + o.cell - 1) / o.cell;
    }
    g->grid_x = MARGIN + row_w;
    g->grid_y = MARGIN + title_h + col_h;
    long grid_w = (long)hm->cols * o.cell, grid_h = (long)hm->rows * o.cell;
    long right = g->grid_x + grid_w, bottom = g->grid_y + grid_h;
    if (!o.no_colorbar) {
        g->bar_x = (int)right + BAR_GAP;
        g->bar_y = g->grid_y;
        g->bar_w = BAR_W;
        g->bar_h = grid_h > 4 * fh ? (int)grid_h : 4 * fh;
        right = g->bar_x + BAR_W + ak_colorbar_extra(g->lo, g->hi, s);
        bottom = bottom > g->bar_y + g->bar_h + 1 ? bottom : g->bar_y + g->bar_h + 1;
    }
    right += MARGIN;
    if (MARGIN + title_w + MARGIN > right)
        right = MARGIN + title_w + MARGIN;
    bottom += MARGIN;
    if (right > AK_CANVAS_MAX_SIDE || bottom > AK_CANVAS_MAX_SIDE ||
        right * bottom > AK_CANVAS_MAX_PIXELS)
        return ak_errorf(err,
                         "heatmap %dx%d at cell %d: image %ldx%ld exceeds the "
                         "canvas limit",
                         hm->rows, hm->cols, o.cell, right, bottom);
    g->width = (int)right;
    g->height = (int)bottom;
    return 0;
}

static void draw_labels(ak_canvas *c, const ak_heatmap *hm, const ak_image_opts *o,
                        const ak_heatmap_geom *g)
{
    int s = o->text_scale, fh = AK_FONT_H * s;
    char num[12], buf[512];
    for (int i = 0; i < hm->rows; i += g->row_step) {
        const char *t = fit_label(ak_heatmap_label(hm->row_labels, i, num),
                                  o->max_label, buf, sizeof buf);
        int x = g->grid_x - LABEL_GAP - ak_text_length(t, s);
        int y = g->grid_y + i * g->cell + g->cell / 2 - fh / 2;
        ak_canvas_text(c, x, y, t, AK_VIZ_INK, s, AK_TEXT_RIGHT);
    }
    for (int j = 0; j < hm->cols; j += g->col_step) {
        const char *t = fit_label(ak_heatmap_label(hm->col_labels, j, num),
                                  o->max_label, buf, sizeof buf);
        int x = g->grid_x + j * g->cell + g->cell / 2 - fh / 2;
        ak_canvas_text(c, x, g->grid_y - LABEL_GAP, t, AK_VIZ_INK, s, AK_TEXT_UP);
    }
}

int ak_heatmap_render(const ak_heatmap *hm, const ak_image_opts *opts,
                      ak_canvas *out, ak_heatmap_geom *geom, ak_err *err)
{
    ak_heatmap_geom g;
    ak_image_opts o = normalise(opts);
    out->px = NULL;
    out->w = out->h = 0;
    if (ak_heatmap_geometry(hm, &o, &g, err) < 0 ||
        ak_canvas_init(out, g.width, g.height, AK_VIZ_BG, err) < 0)
        return ak_err_prefix(err, "ak_heatmap_render");
    if (hm->title && !o.no_title)
        ak_canvas_text(out, MARGIN, MARGIN, hm->title, AK_VIZ_INK, o.text_scale,
                       AK_TEXT_RIGHT);
    for (int i = 0; i < hm->rows; i++)
        for (int j = 0; j < hm->cols; j++) {
            float t = ak_range_t(hm->w[(size_t)i * hm->cols + j], g.lo, g.hi);
            ak_canvas_fill_rect(out, g.grid_x + j * g.cell, g.grid_y + i * g.cell,
                                g.cell, g.cell, ak_viridis(t));
        }
    if (!o.no_labels)
        draw_labels(out, hm, &o, &g);
    if (!o.no_colorbar)
        ak_colorbar_draw(out, g.bar_x, g.bar_y, g.bar_w, g.bar_h, g.lo, g.hi,
                         o.text_scale);
    if (geom)
        *geom = g;
    return 0;
}

int ak_heatmap_write(const char *path, const ak_heatmap *hm,
                     const ak_image_opts *opts, ak_err *err)
{
    ak_canvas c;
    if (ak_heatmap_render(hm, opts, &c, NULL, err) < 0)
        return ak_err_prefix(err, "%s", path ? path : "(null)");
    int rc = ak_image_write(path, &c, err);
    ak_canvas_free(&c);
    return rc;
}
