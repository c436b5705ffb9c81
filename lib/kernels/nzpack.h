/* Lossless packing of mostly-zero float arrays (the ReLU/dropout hidden of a
 * Transformer FFN is about half zeros): one mask bit per element and the
 * elements that are not zero, in order.
 *
 * "Zero" means all 32 bits clear (+0.0f); anything else (-0.0f, NaN
 * included) is kept as a value, so unpacking gives back the exact bits.
 * Bit i % 64 of mask word i / 64 stands for element i; bits past n are 0.
 *
 * The layout depends only on the data, so it (and the unpacked array) is
 * the same for any thread count: threads take ranges of mask words and
 * place their values by counting the bits before their range. AVX-512
 * (compress / expand in registers) where the CPU has it, a portable loop
 * otherwise; both write the same bytes. */
#ifndef AK_KERNELS_NZPACK_H
#define AK_KERNELS_NZPACK_H

#include <stdint.h>

/* Mask words a packing of n elements needs. */
static inline int64_t ak_nz_words(int64_t n)
{
    return (n + 63) / 64;
}

/* Packs x[0..n) in place: fills mask[0 .. ak_nz_words(n)), moves the
 * elements that are not zero to the front of x in order and returns their
 * count; x past that count is left undefined. One pass over x. */
int64_t ak_nz_pack(float *x, int64_t n, uint64_t *mask);

/* x[i] = the next value of vals where bit i is set, +0.0f elsewhere: the
 * array ak_nz_pack packed. vals and x must not overlap. */
void ak_nz_unpack(const uint64_t *mask, const float *vals, int64_t n, float *x);

/* Tests: 1 runs the portable loops even where AVX-512 is available, 0 goes
 * back to choosing by CPU. Not to be called while a packing runs. */
void ak_nz_force_generic(int on);

#endif
