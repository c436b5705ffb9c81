#include "core/rng.h"

#include <math.h>

static inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t *hi)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

void ak_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4])
{
    uint32_t c0 = (uint32_t)index, c1 = (uint32_t)(index >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, hi1;
        uint32_t lo0 = mulhilo(0xD2511F53u, c0, &hi0);
        uint32_t lo1 = mulhilo(0xCD9E8D57u, c2, &hi1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

float ak_rng_uniform_at(uint64_t seed, uint64_t stream, uint64_t index)
{
    uint32_t w[4];
    ak_philox(seed, stream, index, w);
    return (float)(w[0] >> 8) * (1.0f / 16777216.0f);
}

ak_rng ak_rng_make(uint64_t seed, uint64_t stream)
{
    ak_rng r = {seed, stream, 0};
    return r;
}

uint32_t ak_rng_u32(ak_rng *r)
{
    uint32_t w[4];
    ak_philox(r->seed, r->stream, r->counter++, w);
    return w[0];
}

uint32_t ak_rng_below(ak_rng *r, uint32_t n)
{
    /* Rejection keeps the draw exactly uniform; expected < 2 iterations. */
    uint32_t limit = (uint32_t)(-n) % n; /* 2^32 mod n */
    for (;;) {
        uint32_t x = ak_rng_u32(r);
        if (x >= limit)
            return x % n;
    }
}

float ak_rng_uniform(ak_rng *r) { return (float)(ak_rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

float ak_rng_uniform_range(ak_rng *r, float lo, float hi) { return lo + (hi - lo) * ak_rng_uniform(r); }

float ak_rng_normal(ak_rng *r, float mean, float std)
{
    /* 1 - u keeps the log argument in (0, 1]. */
    double u1 = 1.0 - (ak_rng_u32(r) >> 8) * (1.0 / 16777216.0);
    double u2 = (ak_rng_u32(r) >> 8) * (1.0 / 16777216.0);
    double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    return (float)(mean + std * z);
}
