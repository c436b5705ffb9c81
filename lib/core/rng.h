/* Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11).
 *
 * A draw is a pure function of (seed, stream, index): no hidden state, so a
 * dropout mask is the same whichever thread computes which element, and the
 * whole generator state of a run is three integers that a checkpoint stores.
 * Streams separate independent uses (initialisation, dropout of step s, data
 * shuffling) under one user seed. */
#ifndef AK_CORE_RNG_H
#define AK_CORE_RNG_H

#include <stdint.h>

/* Four 32-bit words for counter (stream, index) under key seed. */
void ak_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]);

/* Uniform in [0, 1) with 24 random bits: element `index` of `stream`. */
float ak_rng_uniform_at(uint64_t seed, uint64_t stream, uint64_t index);

/* Sequential view over one stream, for code that draws in order (weight
 * initialisation, shuffles). The struct is the entire state. */
typedef struct ak_rng {
    uint64_t seed, stream, counter;
} ak_rng;

ak_rng ak_rng_make(uint64_t seed, uint64_t stream);
uint32_t ak_rng_u32(ak_rng *r);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint32_t ak_rng_below(ak_rng *r, uint32_t n);
float ak_rng_uniform(ak_rng *r);                  /* [0, 1) */
float ak_rng_uniform_range(ak_rng *r, float lo, float hi);
float ak_rng_normal(ak_rng *r, float mean, float std); /* Box-Muller */

#endif
