/* PNG encoding of a canvas with zlib only: signature, IHDR (8-bit RGB, no
 * interlace), one IDAT and IEND, each chunk with its CRC-32. Each scanline
 * gets the filter (None, Sub, Up, Average or Paeth) with the smallest sum of
 * absolute residuals, the usual heuristic, before deflate at level 9. */
#ifndef AK_VIZ_PNG_H
#define AK_VIZ_PNG_H

#include <stddef.h>

#include "core/error.h"
#include "viz/canvas.h"

/* Encodes into a new buffer (*out, caller frees). */
int ak_png_encode(const ak_canvas *c, unsigned char **out, size_t *len,
                  ak_err *err);

/* Encodes and writes atomically (see viz/file_write.h). */
int ak_png_write(const char *path, const ak_canvas *c, ak_err *err);

/* Writes .png or .ppm by the path's extension (case-insensitive); fails on
 * any other. */
int ak_image_write(const char *path, const ak_canvas *c, ak_err *err);

#endif
