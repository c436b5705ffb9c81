/* Binary PPM (P6, maxval 255) encoding of a canvas: a text header
 * "P6\n<w> <h>\n255\n" then w * h RGB triples, top row first. */
#ifndef AK_VIZ_PPM_H
#define AK_VIZ_PPM_H

#include <stddef.h>

#include "core/error.h"
#include "viz/canvas.h"

/* Encodes into a new buffer (*out, caller frees). */
int ak_ppm_encode(const ak_canvas *c, unsigned char **out, size_t *len,
                  ak_err *err);

/* Encodes and writes atomically (see viz/file_write.h). */
int ak_ppm_write(const char *path, const ak_canvas *c, ak_err *err);

#endif
