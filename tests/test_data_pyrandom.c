/* ak_pyrandom reproduces CPython 3.11's random.Random draw for draw.
 * Expected values come from /usr/bin/python3 (3.11.2), e.g.
 *   r = random.Random(1); [r.getrandbits(32) for _ in range(4)]
 *   x = list(range(10)); random.Random(1).shuffle(x)
 * and ck(x) = sum((i + 1) * x[i]) % (2**61 - 1) for the long shuffles. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "data/pyrandom.h"

static uint64_t checksum(const size_t *x, size_t n)
{
    const uint64_t m = (UINT64_C(1) << 61) - 1;
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (s + (uint64_t)(i + 1) * x[i]) % m;
    return s;
}

static void shuffled_range(int64_t seed, size_t n, size_t *x)
{
    ak_pyrandom r;
    ak_pyrandom_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = i;
    ak_pyrandom_shuffle(&r, x, n);
}

Test(data_pyrandom, getrandbits32_matches_cpython_for_seeds)
{
    static const struct {
        int64_t seed;
        uint32_t out[4];
    } cases[] = {
        {0, {3626764237u, 1654615998u, 3255389356u, 3823568514u}},
        {1, {577090037u, 2444712010u, 3639700191u, 3445702192u}},
        {42, {2746317213u, 478163327u, 107420369u, 3184935163u}},
        {1001, {3421589840u, 3988255189u, 251797747u, 3266925678u}},
        {-7, {1390851128u, 4071050724u, 647892279u, 1695753998u}},
        {(INT64_C(1) << 33) + 5, {3185278367u, 1209197118u, 3089592080u, 731575477u}},
        {20240611, {2610631461u, 3517375838u, 3311027704u, 1449916887u}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ak_pyrandom r;
        ak_pyrandom_seed(&r, cases[c].seed);
        for (int i = 0; i < 4; i++)
            cr_expect_eq(ak_pyrandom_getrandbits(&r, 32), cases[c].out[i], "seed %lld draw %d",
                         (long long)cases[c].seed, i);
    }
}

Test(data_pyrandom, getrandbits_wide_and_narrow_match_cpython)
{
    ak_pyrandom r;
    ak_pyrandom_seed(&r, 5);
    cr_expect_eq(ak_pyrandom_getrandbits(&r, 40), UINT64_C(281848216645));
    cr_expect_eq(ak_pyrandom_getrandbits(&r, 64), UINT64_C(6613812840851947673));
    cr_expect_eq(ak_pyrandom_getrandbits(&r, 1), 1);
    cr_expect_eq(ak_pyrandom_getrandbits(&r, 33), UINT64_C(7260413918));
}

Test(data_pyrandom, randbelow_matches_cpython_including_n_1)
{
    ak_pyrandom r;
    ak_pyrandom_seed(&r, 9);
    const uint64_t big = (UINT64_C(1) << 40) + 1;
    cr_expect_eq(ak_pyrandom_below(&r, big), UINT64_C(585718914800));
    cr_expect_eq(ak_pyrandom_below(&r, big), UINT64_C(408616915370));
    cr_expect_eq(ak_pyrandom_below(&r, big), UINT64_C(743056980560));
    /* _randbelow(1) still consumes a draw in CPython; the next values prove it. */
    cr_expect_eq(ak_pyrandom_below(&r, 1), 0);
    cr_expect_eq(ak_pyrandom_below(&r, 1), 0);
    static const uint64_t three[5] = {1, 2, 2, 2, 0};
    for (int i = 0; i < 5; i++)
        cr_expect_eq(ak_pyrandom_below(&r, 3), three[i], "draw %d", i);
}

Test(data_pyrandom, short_shuffles_equal_cpython)
{
    static const struct {
        int64_t seed;
        size_t n;
        size_t out[20];
    } cases[] = {
        {1, 10, {6, 8, 9, 7, 5, 3, 0, 4, 1, 2}},
        {0, 1, {0}},
        {42, 2, {1, 0}},
        {1001, 20, {4, 13, 17, 19, 8, 16, 7, 0, 3, 14, 10, 9, 15, 11, 18, 5, 12, 2, 6, 1}},
        {-3, 7, {0, 2, 3, 6, 5, 4, 1}},
        {7, 0, {0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t x[20];
        shuffled_range(cases[c].seed, cases[c].n, x);
        for (size_t i = 0; i < cases[c].n; i++)
            cr_expect_eq(x[i], cases[c].out[i], "seed %lld n %zu position %zu",
                         (long long)cases[c].seed, cases[c].n, i);
    }
}

Test(data_pyrandom, long_shuffles_equal_cpython_prefix_and_checksum)
{
    static const struct {
        int64_t seed;
        size_t n;
        size_t head[8];
        uint64_t ck;
    } cases[] = {
        {1, 1000, {852, 836, 280, 575, 208, 609, 932, 725}, UINT64_C(250257095)},
        {20240611, 47925, {5775, 39135, 42349, 9546, 27686, 32006, 8838, 2936}, UINT64_C(27466418797346)},
        {(INT64_C(1) << 40) + 3, 5000, {4885, 1028, 70, 2073, 492, 3332, 2190, 4464}, UINT64_C(31163621779)},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t *x = malloc(cases[c].n * sizeof *x);
        cr_assert_not_null(x);
        shuffled_range(cases[c].seed, cases[c].n, x);
        for (int i = 0; i < 8; i++)
            cr_expect_eq(x[i], cases[c].head[i], "seed %lld position %d", (long long)cases[c].seed, i);
        cr_expect_eq(checksum(x, cases[c].n), cases[c].ck, "seed %lld", (long long)cases[c].seed);
        free(x);
    }
}
