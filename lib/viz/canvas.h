/* An RGB image in memory and the few drawing operations the renderers need:
 * filled rectangles, text from the built-in font (horizontal, or rotated to
 * read bottom-to-top) and copying one canvas into another. Every drawing call
 * clips to the canvas, so callers may draw partly outside it.
 *
 * Ownership: a canvas owns px; ak_canvas_free releases it (and is safe on a
 * zeroed or already freed canvas). */
#ifndef AK_VIZ_CANVAS_H
#define AK_VIZ_CANVAS_H

#include <stdint.h>

#include "core/error.h"
#include "viz/colormap.h"

#define AK_CANVAS_MAX_SIDE 16384
#define AK_CANVAS_MAX_PIXELS (1L << 26) /* 64 Mpx, 192 MiB */

typedef struct ak_canvas {
    int w, h;
    uint8_t *px; /* w * h * 3 bytes, row-major, R G B */
} ak_canvas;

typedef enum ak_text_dir {
    AK_TEXT_RIGHT = 0, /* ordinary left-to-right text */
    AK_TEXT_UP,        /* rotated 90 degrees counter-clockwise, reads upward */
} ak_text_dir;

/* Allocates a w x h canvas filled with bg. Fails (-1) on sizes outside
 * 1..AK_CANVAS_MAX_SIDE, more than AK_CANVAS_MAX_PIXELS or no memory. */
int ak_canvas_init(ak_canvas *c, int w, int h, ak_rgb bg, ak_err *err);
void ak_canvas_free(ak_canvas *c);

ak_rgb ak_canvas_get(const ak_canvas *c, int x, int y); /* asserts inside */
void ak_canvas_set(ak_canvas *c, int x, int y, ak_rgb col); /* clipped */
void ak_canvas_fill_rect(ak_canvas *c, int x, int y, int w, int h, ak_rgb col);
/* A one-pixel outline just inside the rectangle. */
void ak_canvas_frame_rect(ak_canvas *c, int x, int y, int w, int h, ak_rgb col);

/* Copies src with its top-left corner at (x, y) of dst. */
void ak_canvas_blit(ak_canvas *dst, const ak_canvas *src, int x, int y);

/* Draws UTF-8 text with each font pixel as a scale x scale square.
 * AK_TEXT_RIGHT: (x, y) is the top-left corner of the text's box, which is
 *   ak_text_length() wide and AK_FONT_H * scale tall.
 * AK_TEXT_UP: the text starts at (x, y) and runs upward; its box spans
 *   x .. x + AK_FONT_H * scale - 1 and y - length + 1 .. y, glyph tops face
 *   left (as a y-axis label or a 90-degree tick label).
 * Returns the length drawn along the text direction, in pixels. */
int ak_canvas_text(ak_canvas *c, int x, int y, const char *utf8, ak_rgb col,
                   int scale, ak_text_dir dir);

/* Length in pixels of text along its direction at the given scale. */
int ak_text_length(const char *utf8, int scale);

#endif
