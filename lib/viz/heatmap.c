#include "viz/heatmap.h"

#include <math.h>
#include <stdio.h>

int ak_heatmap_check(const ak_heatmap *hm, ak_err *err)
{
    if (!hm)
        return ak_errorf(err, "heatmap: NULL view");
    if (hm->rows < 1 || hm->cols < 1 || hm->rows > AK_HEATMAP_MAX_DIM ||
        hm->cols > AK_HEATMAP_MAX_DIM)
        return ak_errorf(err, "heatmap%s%s: shape %dx%d, expected 1..%d a side",
                         hm->title ? " " : "", hm->title ? hm->title : "",
                         hm->rows, hm->cols, AK_HEATMAP_MAX_DIM);
    if (!hm->w)
        return ak_errorf(err, "heatmap%s%s: weights pointer is NULL",
                         hm->title ? " " : "", hm->title ? hm->title : "");
    return 0;
}

int ak_range_resolve(const ak_range *r, const ak_heatmap *maps, int n,
                     float *lo, float *hi, ak_err *err)
{
    ak_range_mode mode = r ? r->mode : AK_RANGE_UNIT;
    switch (mode) {
    case AK_RANGE_UNIT:
        *lo = 0.0f;
        *hi = 1.0f;
        return 0;
    case AK_RANGE_FIXED:
        if (!isfinite(r->lo) || !isfinite(r->hi) || !(r->lo < r->hi))
            return ak_errorf(err,
                             "range: fixed range [%g, %g] must be finite "
                             "with lo < hi",
                             (double)r->lo, (double)r->hi);
        *lo = r->lo;
        *hi = r->hi;
        return 0;
    case AK_RANGE_DATA: {
        float mn = INFINITY, mx = -INFINITY;
        for (int k = 0; k < n; k++) {
            size_t cnt = (size_t)maps[k].rows * (size_t)maps[k].cols;
            for (size_t i = 0; i < cnt; i++) {
                float v = maps[k].w[i];
                if (!isfinite(v))
                    continue;
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
        }
        if (mn > mx) {
            mn = 0.0f;
            mx = 1.0f;
        } else if (!(mn < mx)) {
            mn -= 0.5f;
            mx += 0.5f;
        }
        *lo = mn;
        *hi = mx;
        return 0;
    }
    }
    return ak_errorf(err, "range: unknown mode %d", (int)mode);
}

float ak_range_t(float w, float lo, float hi)
{
    if (!isfinite(w))
        return NAN;
    float t = (w - lo) / (hi - lo);
    return t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
}

void ak_viz_fmt_value(char *buf, size_t n, double v, double span)
{
    if (!(span > 0.0) || fabs(v) >= 1e6 || (v != 0.0 && fabs(v) < 1e-6)) {
        snprintf(buf, n, "%.3g", v);
        return;
    }
    int dec = 2 - (int)floor(log10(span));
    dec = dec < 0 ? 0 : dec > 6 ? 6 : dec;
    snprintf(buf, n, "%.*f", dec, v);
    if (buf[0] == '-') { /* "-0.00" reads as a bug */
        int zero = 1;
        for (const char *p = buf + 1; *p; p++)
            if (*p >= '1' && *p <= '9')
                zero = 0;
        if (zero)
            snprintf(buf, n, "%.*f", dec, 0.0);
    }
}

const char *ak_heatmap_label(const char *const *labels, int i, char *buf)
{
    if (labels)
        return labels[i] ? labels[i] : "";
    snprintf(buf, 12, "%d", i);
    return buf;
}
