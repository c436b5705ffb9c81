#include "viz/canvas.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "viz/font.h"

int ak_canvas_init(ak_canvas *c, int w, int h, ak_rgb bg, ak_err *err)
{
    c->w = c->h = 0;
    c->px = NULL;
    if (w < 1 || h < 1 || w > AK_CANVAS_MAX_SIDE || h > AK_CANVAS_MAX_SIDE ||
        (long)w * h > AK_CANVAS_MAX_PIXELS)
        return ak_errorf(err,
                         "ak_canvas_init: size %dx%d outside 1..%d a side and "
                         "%ld pixels",
                         w, h, AK_CANVAS_MAX_SIDE, AK_CANVAS_MAX_PIXELS);
    size_t n = (size_t)w * (size_t)h;
    uint8_t *px = malloc(n * 3);
    if (!px)
        return ak_errorf(err, "ak_canvas_init: out of memory for %dx%d", w, h);
    for (size_t i = 0; i < n; i++) {
        px[3 * i] = bg.r;
        px[3 * i + 1] = bg.g;
        px[3 * i + 2] = bg.b;
    }
    c->w = w;
    c->h = h;
    c->px = px;
    return 0;
}

void ak_canvas_free(ak_canvas *c)
{
    free(c->px);
    c->px = NULL;
    c->w = c->h = 0;
}

ak_rgb ak_canvas_get(const ak_canvas *c, int x, int y)
{
    assert(x >= 0 && y >= 0 && x < c->w && y < c->h);
    const uint8_t *p = c->px + 3 * ((size_t)y * (size_t)c->w + (size_t)x);
    ak_rgb col = {p[0], p[1], p[2]};
    return col;
}

void ak_canvas_set(ak_canvas *c, int x, int y, ak_rgb col)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h)
        return;
    uint8_t *p = c->px + 3 * ((size_t)y * (size_t)c->w + (size_t)x);
    p[0] = col.r;
    p[1] = col.g;
    p[2] = col.b;
}

void ak_canvas_fill_rect(ak_canvas *c, int x, int y, int w, int h, ak_rgb col)
{
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    long x1 = (long)x + w, y1 = (long)y + h;
    if (x1 > c->w)
        x1 = c->w;
    if (y1 > c->h)
        y1 = c->h;
    for (int yy = y0; yy < y1; yy++) {
        uint8_t *p = c->px + 3 * ((size_t)yy * (size_t)c->w + (size_t)x0);
        for (int xx = x0; xx < x1; xx++, p += 3) {
            p[0] = col.r;
            p[1] = col.g;
            p[2] = col.b;
        }
    }
}

void ak_canvas_frame_rect(ak_canvas *c, int x, int y, int w, int h, ak_rgb col)
{
    if (w < 1 || h < 1)
        return;
    ak_canvas_fill_rect(c, x, y, w, 1, col);
    ak_canvas_fill_rect(c, x, y + h - 1, w, 1, col);
    ak_canvas_fill_rect(c, x, y, 1, h, col);
    ak_canvas_fill_rect(c, x + w - 1, y, 1, h, col);
}

void ak_canvas_blit(ak_canvas *dst, const ak_canvas *src, int x, int y)
{
    int sx0 = x < 0 ? -x : 0, sy0 = y < 0 ? -y : 0;
    int sx1 = src->w, sy1 = src->h;
    if ((long)x + sx1 > dst->w)
        sx1 = dst->w - x;
    if ((long)y + sy1 > dst->h)
        sy1 = dst->h - y;
    if (sx0 >= sx1)
        return;
    for (int sy = sy0; sy < sy1; sy++)
        memcpy(dst->px + 3 * ((size_t)(y + sy) * (size_t)dst->w + (size_t)(x + sx0)),
               src->px + 3 * ((size_t)sy * (size_t)src->w + (size_t)sx0),
               3 * (size_t)(sx1 - sx0));
}

int ak_text_length(const char *utf8, int scale)
{
    if (scale < 1)
        scale = 1;
    return ak_font_glyph_count(utf8) * AK_FONT_W * scale;
}

/* Glyph pixel (gx, gy) of the character whose pen offset along the text is
 * `pen`, mapped to canvas coordinates for the direction. */
static void plot(ak_canvas *c, int x, int y, int pen, int gx, int gy, int s,
                 ak_text_dir dir, ak_rgb col)
{
    if (dir == AK_TEXT_RIGHT)
        ak_canvas_fill_rect(c, x + pen + gx * s, y + gy * s, s, s, col);
    else /* rotate CCW: along-text axis is -y, glyph top faces -x */
        ak_canvas_fill_rect(c, x + gy * s, y - pen - gx * s - (s - 1), s, s, col);
}

int ak_canvas_text(ak_canvas *c, int x, int y, const char *utf8, ak_rgb col,
                   int scale, ak_text_dir dir)
{
    if (scale < 1)
        scale = 1;
    size_t len = strlen(utf8), pos = 0;
    int pen = 0;
    while (pos < len) {
        uint8_t rows[AK_FONT_H];
        ak_font_glyph(ak_font_next(utf8, len, &pos), rows);
        for (int gy = 0; gy < AK_FONT_H; gy++)
            for (int gx = 0; gx < AK_FONT_GLYPH_W; gx++)
                if (rows[gy] & (1u << (AK_FONT_GLYPH_W - 1 - gx)))
                    plot(c, x, y, pen, gx, gy, scale, dir, col);
        pen += AK_FONT_W * scale;
    }
    return pen;
}
