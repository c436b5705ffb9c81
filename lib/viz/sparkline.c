/* ASCII sparklines (viz/sparkline.h). */
#include "viz/sparkline.h"

#include <math.h>

int ak_finite_range(const double *v, int n, double *lo, double *hi)
{
    int any = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        if (!any || v[i] < *lo)
            *lo = v[i];
        if (!any || v[i] > *hi)
            *hi = v[i];
        any = 1;
    }
    return any;
}

int ak_sparkline(const double *v, int n, double lo, double hi, char *out, size_t cap)
{
    if (n < 0 || (size_t)n + 1 > cap)
        return -1;
    static const char ramp[] = AK_SPARK_RAMP;
    int flat = 0;
    if (!(isfinite(lo) && isfinite(hi) && lo < hi)) {
        if (!ak_finite_range(v, n, &lo, &hi) || !(lo < hi))
            flat = 1;
    }
    for (int i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            out[i] = '?';
            continue;
        }
        int level = 4;
        if (!flat) {
            double t = floor((v[i] - lo) / (hi - lo) * 10.0);
            level = t < 0 ? 0 : t > 9 ? 9 : (int)t;
        }
        out[i] = ramp[level];
    }
    out[n] = '\0';
    return n;
}
