/* CPython-compatible random numbers: MT19937 seeded and consumed exactly as
 * Python 3's `random.Random(seed)` does, so that a split or batch order drawn
 * here equals the one the PyTorch twin (shared/peer/torch_train.py) draws.
 *
 * Replicated: Random(int) seeding (init_by_array over the 32-bit words of
 * |seed|), getrandbits(k), _randbelow (rejection sampling over getrandbits
 * of n.bit_length() bits) and shuffle (Fisher-Yates from the end). Not
 * replicated: random() floats, seeding from str/bytes. Checked against
 * CPython 3.11 in tests/test_data_pyrandom.c (the algorithm is unchanged
 * since 3.2).
 *
 * Ownership: the state is a plain value; copy it to fork a stream.
 * Failure modes: none (no allocation, no input that can be malformed). */
#ifndef AK_DATA_PYRANDOM_H
#define AK_DATA_PYRANDOM_H

#include <stddef.h>
#include <stdint.h>

typedef struct ak_pyrandom {
    uint32_t mt[624];
    int index; /* next word of mt to temper; 624 = regenerate first */
} ak_pyrandom;

/* random.Random(seed): negative seeds use |seed| like CPython. */
void ak_pyrandom_seed(ak_pyrandom *r, int64_t seed);

/* The next raw 32-bit output of MT19937 (genrand_uint32). */
uint32_t ak_pyrandom_u32(ak_pyrandom *r);

/* random.getrandbits(k) for 0 <= k <= 64. */
uint64_t ak_pyrandom_getrandbits(ak_pyrandom *r, int k);

/* random._randbelow(n): uniform in [0, n), n >= 1. */
uint64_t ak_pyrandom_below(ak_pyrandom *r, uint64_t n);

/* random.shuffle(x) on an array of n indices. */
void ak_pyrandom_shuffle(ak_pyrandom *r, size_t *x, size_t n);

#endif
