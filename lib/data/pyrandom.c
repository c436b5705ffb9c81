/* MT19937 as in CPython's Modules/_randommodule.c, plus the parts of
 * Lib/random.py that turn it into shuffle(). */
#include "data/pyrandom.h"

#include <assert.h>

enum { N = 624, M = 397 };

static void init_genrand(uint32_t *mt, uint32_t s)
{
    mt[0] = s;
    for (int i = 1; i < N; i++)
        mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + (uint32_t)i;
}

static void init_by_array(uint32_t *mt, const uint32_t *key, int len)
{
    init_genrand(mt, 19650218u);
    int i = 1, j = 0;
    for (int k = N > len ? N : len; k; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= N) {
            mt[0] = mt[N - 1];
            i = 1;
        }
        if (j >= len)
            j = 0;
    }
    for (int k = N - 1; k; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= N) {
            mt[0] = mt[N - 1];
            i = 1;
        }
    }
    mt[0] = 0x80000000u;
}

void ak_pyrandom_seed(ak_pyrandom *r, int64_t seed)
{
    /* |seed| as an unsigned value, safe for INT64_MIN. */
    uint64_t a = seed < 0 ? 0 - (uint64_t)seed : (uint64_t)seed;
    uint32_t key[2] = {(uint32_t)a, (uint32_t)(a >> 32)};
    init_by_array(r->mt, key, key[1] ? 2 : 1);
    r->index = N;
}

uint32_t ak_pyrandom_u32(ak_pyrandom *r)
{
    static const uint32_t mag01[2] = {0u, 0x9908b0dfu};
    uint32_t *mt = r->mt, y;
    if (r->index >= N) {
        int kk;
        for (kk = 0; kk < N - M; kk++) {
            y = (mt[kk] & 0x80000000u) | (mt[kk + 1] & 0x7fffffffu);
            mt[kk] = mt[kk + M] ^ (y >> 1) ^ mag01[y & 1u];
        }
        for (; kk < N - 1; kk++) {
            y = (mt[kk] & 0x80000000u) | (mt[kk + 1] & 0x7fffffffu);
            mt[kk] = mt[kk + (M - N)] ^ (y >> 1) ^ mag01[y & 1u];
        }
        y = (mt[N - 1] & 0x80000000u) | (mt[0] & 0x7fffffffu);
        mt[N - 1] = mt[M - 1] ^ (y >> 1) ^ mag01[y & 1u];
        r->index = 0;
    }
    y = mt[r->index++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= (y >> 18);
    return y;
}

/* CPython fills 32-bit words least significant first; the last word keeps
 * only its top bits. */
uint64_t ak_pyrandom_getrandbits(ak_pyrandom *r, int k)
{
    assert(k >= 0 && k <= 64);
    if (k == 0)
        return 0;
    if (k <= 32)
        return ak_pyrandom_u32(r) >> (32 - k);
    uint64_t lo = ak_pyrandom_u32(r);
    uint64_t hi = ak_pyrandom_u32(r) >> (64 - k);
    return lo | hi << 32;
}

uint64_t ak_pyrandom_below(ak_pyrandom *r, uint64_t n)
{
    assert(n >= 1);
    int k = 0; /* n.bit_length() */
    for (uint64_t v = n; v; v >>= 1)
        k++;
    uint64_t x = ak_pyrandom_getrandbits(r, k);
    while (x >= n)
        x = ak_pyrandom_getrandbits(r, k);
    return x;
}

void ak_pyrandom_shuffle(ak_pyrandom *r, size_t *x, size_t n)
{
    for (size_t i = n > 0 ? n - 1 : 0; i >= 1; i--) {
        size_t j = (size_t)ak_pyrandom_below(r, (uint64_t)i + 1);
        size_t t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}
