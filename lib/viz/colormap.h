/* Colours and the viridis colour map.
 *
 * viridis is perceptually uniform (equal steps in weight look like equal
 * steps in colour), stays readable in greyscale and for the common forms of
 * colour blindness, and runs from dark purple (low) to yellow (high). */
#ifndef AK_VIZ_COLORMAP_H
#define AK_VIZ_COLORMAP_H

#include <stdint.h>

typedef struct ak_rgb {
    uint8_t r, g, b;
} ak_rgb;

/* Drawn for NaN and infinite weights: a neutral grey that viridis never
 * produces. */
#define AK_RGB_NONFINITE ((ak_rgb){128, 128, 128})

/* Entry i of the 256-entry table (i is clamped to 0..255). */
ak_rgb ak_viridis_entry(int i);

/* Table index for t in [0, 1], as matplotlib's ListedColormap picks it:
 * floor(t * 256) clamped to 0..255, so 1.0 is the last entry. t below 0 and
 * NaN give 0, above 1 give 255. */
int ak_cmap_index(float t);

/* Colour of t in [0, 1]; NaN gives AK_RGB_NONFINITE. */
ak_rgb ak_viridis(float t);

#endif
