#include "core/threads.h"

#include <omp.h>

void ak_set_threads(int n) { omp_set_num_threads(n < 1 ? 1 : n); }

int ak_threads(void) { return omp_get_max_threads(); }

/* Partial sums per chunk, 256 chunks at a time so no heap is needed; the
 * partials are added in chunk order, which fixes the rounding. */
static double reduce(const float *x, int64_t n, int square)
{
    enum { GROUP = 256 };
    double part[GROUP];
    double s = 0;
    for (int64_t base = 0; base < n; base += (int64_t)GROUP * AK_REDUCE_CHUNK) {
        int64_t rest = n - base;
        int chunks = (int)((rest + AK_REDUCE_CHUNK - 1) / AK_REDUCE_CHUNK);
        if (chunks > GROUP)
            chunks = GROUP;
#pragma omp parallel for schedule(static) if (rest >= AK_PAR_MIN)
        for (int c = 0; c < chunks; c++) {
            int64_t lo = base + (int64_t)c * AK_REDUCE_CHUNK;
            int64_t hi = lo + AK_REDUCE_CHUNK < n ? lo + AK_REDUCE_CHUNK : n;
            double p = 0;
            for (int64_t i = lo; i < hi; i++)
                p += square ? (double)x[i] * x[i] : x[i];
            part[c] = p;
        }
        for (int c = 0; c < chunks; c++)
            s += part[c];
    }
    return s;
}

double ak_sum_fixed(const float *x, int64_t n) { return reduce(x, n, 0); }
double ak_sumsq_fixed(const float *x, int64_t n) { return reduce(x, n, 1); }
