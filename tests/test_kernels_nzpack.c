/* kernels/nzpack.h: packing a mostly-zero array in place and unpacking it
 * gives back the exact bits (-0.0f and NaN kept as values), the packed
 * values are the nonzero elements in order, and the layout is the same on
 * the AVX-512 and portable paths and for 1, 2 and 4 threads. */
#include <criterion/criterion.h>

#include "core/rng.h"
#include "core/threads.h"
#include "kernels/nzpack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { P_HALF, P_NONE_ZERO, P_ALL_ZERO, P_SPECIAL };

/* n floats of a pattern: about half +0.0f with uniform values between, no
 * zeros, all zeros, or zeros mixed with -0.0f, NaN, infinities and
 * denormals. */
static float *pattern(int kind, int64_t n, uint64_t seed)
{
    float *x = malloc(sizeof(float) * (size_t)(n ? n : 1));
    ak_rng r = ak_rng_make(seed, 5);
    static const float special[] = {-0.0f, NAN, INFINITY, -INFINITY, 1e-40f, -1e-42f, 3.0f};
    for (int64_t i = 0; i < n; i++) {
        float u = ak_rng_uniform_range(&r, -1, 1);
        switch (kind) {
        case P_HALF:
            x[i] = u > 0 ? u : 0.0f;
            break;
        case P_NONE_ZERO:
            x[i] = u == 0.0f ? 0.5f : u;
            break;
        case P_ALL_ZERO:
            x[i] = 0.0f;
            break;
        default:
            x[i] = u > 0.2f ? special[i % 7] : 0.0f;
            break;
        }
    }
    return x;
}

static int64_t nonzeros(const float *x, int64_t n, float *vals)
{
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        if (u)
            vals[c++] = x[i];
    }
    return c;
}

/* Packs and unpacks one case; checks count, mask bits, packed values and
 * the round trip bit for bit, each with its own message, and returns 1 when
 * all of them held (the callers assert on it too). */
static int round_trip(int kind, int64_t n, int generic, int threads)
{
    ak_nz_force_generic(generic);
    ak_set_threads(threads);
    float *x = pattern(kind, n, (uint64_t)n + (uint64_t)kind);
    size_t bytes = sizeof(float) * (size_t)(n ? n : 1);
    float *work = malloc(bytes), *want = malloc(bytes), *back = malloc(bytes);
    uint64_t *mask = malloc(sizeof(uint64_t) * (size_t)(ak_nz_words(n) ? ak_nz_words(n) : 1));
    memcpy(work, x, sizeof(float) * (size_t)n);
    int64_t c = ak_nz_pack(work, n, mask), wc = nonzeros(x, n, want);
    cr_assert_eq(c, wc, "kind %d n %lld generic %d threads %d: %lld values, want %lld", kind, (long long)n, generic,
                 threads, (long long)c, (long long)wc);
    int ok = memcmp(work, want, sizeof(float) * (size_t)c) == 0;
    cr_expect(ok, "kind %d n %lld generic %d threads %d: values", kind, (long long)n, generic, threads);
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        wrong += (int)(mask[i / 64] >> (i % 64) & 1u) != (u != 0);
    }
    cr_expect_eq(wrong, 0, "kind %d n %lld: %lld mask bits wrong", kind, (long long)n, (long long)wrong);
    ok = ok && wrong == 0;
    if (n % 64) {
        cr_expect_eq(mask[n / 64] >> (n % 64), 0, "bits past n are set");
        ok = ok && mask[n / 64] >> (n % 64) == 0;
    }
    ak_nz_unpack(mask, work, n, back);
    int same = memcmp(back, x, sizeof(float) * (size_t)n) == 0;
    cr_expect(same, "kind %d n %lld generic %d threads %d: round trip", kind, (long long)n, generic, threads);
    ok = ok && same;
    free(x);
    free(work);
    free(want);
    free(back);
    free(mask);
    ak_nz_force_generic(0);
    ak_set_threads(2);
    return ok;
}

Test(kernels_nzpack, round_trip_on_both_paths_odd_sizes_and_special_values)
{
    static const int64_t sizes[] = {0, 1, 15, 16, 17, 63, 64, 65, 1000, 4097};
    for (int kind = 0; kind < 4; kind++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (int generic = 0; generic <= 1; generic++)
                cr_expect(round_trip(kind, sizes[s], generic, 1), "kind %d n %lld generic %d", kind,
                          (long long)sizes[s], generic);
}

/* Large enough to run threaded (AK_PAR_MIN): the ranges each thread packs
 * are moved into place afterwards, the result is the same for any count. */
Test(kernels_nzpack, round_trip_for_1_2_4_threads)
{
    for (int t = 1; t <= 4; t *= 2)
        for (int generic = 0; generic <= 1; generic++) {
            cr_expect(round_trip(P_HALF, 3 * AK_PAR_MIN + 77, generic, t), "half zeros, %d threads, generic %d", t,
                      generic);
            cr_expect(round_trip(P_SPECIAL, 2 * AK_PAR_MIN + 1, generic, t), "special values, %d threads, generic %d",
                      t, generic);
        }
}
