#include "core/threads.h"

#include "core/transpose8.h"

#include <omp.h>

void ak_set_threads(int n) { omp_set_num_threads(n < 1 ? 1 : n); }

int ak_threads(void) { return omp_get_max_threads(); }

/* The sum (or sum of squares) of x[lo..hi) in double, in index order. */
static double chunk_sum(const float *x, int64_t lo, int64_t hi, int square)
{
    double p = 0;
    for (int64_t i = lo; i < hi; i++)
        p += square ? (double)x[i] * x[i] : x[i];
    return p;
}

#ifdef AK_HAVE_LOAD_T8
/* chunk_sum of the 8 whole chunks starting at x, one chunk per lane of 8
 * doubles (transposed into place 8 x 8): each lane adds its chunk's elements
 * in index order, as chunk_sum does, so the same bits, while the 8 chains
 * advance together instead of waiting on one adder's latency. */
__attribute__((target("avx512f"))) static void chunk_sums8(const float *x, int square, double *part)
{
    __m512d acc = _mm512_setzero_pd();
    __m256 c[8];
    for (int64_t i = 0; i < AK_REDUCE_CHUNK; i += 8) {
        ak_load_t8(x + i, AK_REDUCE_CHUNK, c);
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++) {
            __m512d d = _mm512_cvtps_pd(c[t]);
            acc = _mm512_add_pd(acc, square ? _mm512_mul_pd(d, d) : d);
        }
    }
    _mm512_storeu_pd(part, acc);
}
#endif

/* Partial sums per chunk, 256 chunks at a time so no heap is needed; the
 * partials are added in chunk order, which fixes the rounding. Chunks go in
 * fixed groups of 8 (whole ones through chunk_sums8 when the machine has
 * AVX-512): every partial is chunk_sum's whatever the thread count. */
static double reduce(const float *x, int64_t n, int square)
{
    enum { GROUP = 256, LANES = 8 };
    double part[GROUP];
    double s = 0;
#ifdef AK_HAVE_LOAD_T8
    const int vec = __builtin_cpu_supports("avx512f");
#endif
    for (int64_t base = 0; base < n; base += (int64_t)GROUP * AK_REDUCE_CHUNK) {
        int64_t rest = n - base;
        int chunks = (int)((rest + AK_REDUCE_CHUNK - 1) / AK_REDUCE_CHUNK);
        if (chunks > GROUP)
            chunks = GROUP;
#pragma omp parallel for schedule(static) if (rest >= AK_PAR_MIN)
        for (int g = 0; g < (chunks + LANES - 1) / LANES; g++) {
            int c = g * LANES;
            int64_t lo = base + (int64_t)c * AK_REDUCE_CHUNK;
#ifdef AK_HAVE_LOAD_T8
            if (vec && c + LANES <= chunks && lo + (int64_t)LANES * AK_REDUCE_CHUNK <= n) {
                chunk_sums8(x + lo, square, part + c);
                continue;
            }
#endif
            for (; c < chunks && c < (g + 1) * LANES; c++, lo += AK_REDUCE_CHUNK)
                part[c] = chunk_sum(x, lo, lo + AK_REDUCE_CHUNK < n ? lo + AK_REDUCE_CHUNK : n, square);
        }
        for (int c = 0; c < chunks; c++)
            s += part[c];
    }
    return s;
}

double ak_sum_fixed(const float *x, int64_t n) { return reduce(x, n, 0); }
double ak_sumsq_fixed(const float *x, int64_t n) { return reduce(x, n, 1); }
