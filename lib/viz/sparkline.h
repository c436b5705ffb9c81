/* ASCII sparklines: a series of numbers as one character each, on a
 * 10-level ramp from low to high that any terminal and log file shows:
 *
 *     AK_SPARK_RAMP "_.:-=+*#%@"   (the heatmap ramp, with '_' for the
 *                                   lowest level so that a low value is
 *                                   still visible)
 *
 * Value v maps to level floor((v - lo) / (hi - lo) * 10), clamped to 0..9;
 * NaN and infinities print '?'. The range is the caller's, or the min..max
 * of the finite values (a flat series sits mid-ramp, '='). */
#ifndef AK_VIZ_SPARKLINE_H
#define AK_VIZ_SPARKLINE_H

#include <stddef.h>

#define AK_SPARK_RAMP "_.:-=+*#%@"

/* Writes n characters (and a NUL) to out, which needs n + 1 bytes. When
 * lo < hi (both finite) that range is used, otherwise the data range.
 * Returns n, or -1 when out is too small. */
int ak_sparkline(const double *v, int n, double lo, double hi, char *out, size_t cap);

/* The finite min and max of v[0..n); returns 0 when there is none. */
int ak_finite_range(const double *v, int n, double *lo, double *hi);

#endif
