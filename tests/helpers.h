/* Shared test helpers: random inputs and a gradient-check assertion. */
#ifndef AK_TESTS_HELPERS_H
#define AK_TESTS_HELPERS_H

#include <criterion/criterion.h>

#include "autograd/gradcheck.h"
#include "core/rng.h"

/* n floats uniform in [lo, hi) from a fixed stream, into a static pool slot
 * (tests are single-threaded per process; 16 slots of 64k floats). */
static inline float *th_rand(int slot, int64_t n, float lo, float hi, uint64_t seed)
{
    static float pool[16][65536];
    cr_assert(slot >= 0 && slot < 16 && n <= 65536, "th_rand: slot %d, n %lld", slot, (long long)n);
    ak_rng r = ak_rng_make(seed, 77);
    for (int64_t i = 0; i < n; i++)
        pool[slot][i] = ak_rng_uniform_range(&r, lo, hi);
    return pool[slot];
}

static inline ak_gc_input th_in(const float *data, int ndim, const int64_t *shape, int requires_grad)
{
    ak_gc_input in = {.ndim = ndim, .data = data, .requires_grad = requires_grad};
    for (int i = 0; i < ndim; i++)
        in.shape[i] = shape[i];
    return in;
}

/* Default tolerances. Ops run in float32 with h = 1e-2 on inputs of order 1:
 * truncation error O(h^2) ~ 1e-4 relative for smooth ops, rounding error
 * ~ 6e-8 * |L| / h ~ 1e-5 for |L| ~ 10. rtol 1e-2 and atol 1e-3 leave a
 * margin of 10x over both while still catching any wrong formula (those are
 * off by O(1)). */
#define TH_GC_OPTS ((ak_gc_opts){.h = 1e-2, .atol = 1e-3, .rtol = 1e-2})

#define th_check_gradients(fn, user, n, ins, opts)                                                             \
    do {                                                                                                 \
        ak_gc_result res_;                                                                               \
        ak_err err_ = {{0}};                                                                             \
        int rc_ = ak_gradcheck(fn, user, n, ins, opts, &res_, &err_);                                    \
        cr_assert(rc_ != -1, "gradcheck could not run: %s", err_.msg);                                   \
        cr_assert(rc_ == 0 && res_.checked > 0,                                                          \
                  "gradient mismatch: %lld of %lld elements, worst input %d index %lld: analytic %.6g " \
                  "numeric %.6g",                                                                        \
                  (long long)res_.failed, (long long)res_.checked, res_.worst_input,                    \
                  (long long)res_.worst_index, res_.analytic, res_.numeric);                             \
    } while (0)

#endif
