/* Learning-rate schedules at chosen steps against hand-computed values. */
#include <criterion/criterion.h>

#include "optim/optim.h"

#include <math.h>

static void expect_lr(const ak_sched *s, int64_t step, double want)
{
    double got = ak_sched_lr(s, step);
    cr_expect(fabs(got - want) <= 1e-12 * fabs(want) + 1e-18, "step %lld: got %.17g, want %.17g",
              (long long)step, got, want);
}

Test(optim_schedule, invsqrt_matches_pytorch_twin)
{
    /* lr * min(step / warmup, sqrt(warmup / step)), lr 1e-3, warmup 400:
     *   step 1:     1e-3 * min(1/400, 20)          = 2.5e-6
     *   step 200:   1e-3 * min(0.5, sqrt(2))       = 5e-4
     *   step 400:   1e-3 * min(1, 1)               = 1e-3 (peak)
     *   step 401:   1e-3 * sqrt(400/401)           = 9.98752338877e-4
     *   step 1600:  1e-3 * min(4, sqrt(1/4))       = 5e-4
     *   step 10000: 1e-3 * sqrt(0.04)              = 2e-4 */
    ak_sched s = {.kind = AK_SCHED_INVSQRT, .lr = 1e-3, .warmup = 400};
    cr_assert_eq(ak_sched_check(&s, NULL), 0);
    expect_lr(&s, 1, 2.5e-6);
    expect_lr(&s, 200, 5e-4);
    expect_lr(&s, 400, 1e-3);
    expect_lr(&s, 401, 1e-3 * sqrt(400.0 / 401.0));
    expect_lr(&s, 1600, 5e-4);
    expect_lr(&s, 10000, 2e-4);
    expect_lr(&s, 0, 2.5e-6); /* below 1: taken as step 1 */
}

Test(optim_schedule, constant_with_and_without_warmup)
{
    /* warmup 0: always lr. warmup 4: 0.5 * [1/4, 2/4, 4/4] at steps 1, 2, 4, then 0.5. */
    ak_sched s = {.kind = AK_SCHED_CONSTANT, .lr = 0.5};
    cr_assert_eq(ak_sched_check(&s, NULL), 0);
    expect_lr(&s, 1, 0.5);
    expect_lr(&s, 1000000, 0.5);
    s.warmup = 4;
    cr_assert_eq(ak_sched_check(&s, NULL), 0);
    expect_lr(&s, 1, 0.125);
    expect_lr(&s, 2, 0.25);
    expect_lr(&s, 4, 0.5);
    expect_lr(&s, 5, 0.5);
}

Test(optim_schedule, cosine_with_warmup_decays_to_min_then_stays)
{
    /* lr 1, min 0.1, warmup 10, total 110 (decay spans 100 steps):
     *   step 1:   1 * 1/10                                = 0.1
     *   step 5:   1 * 5/10                                = 0.5
     *   step 10:  peak                                    = 1
     *   step 35:  q = 0.25: 0.1 + 0.9 (1 + cos(pi/4)) / 2 = 0.1 + 0.45 * 1.70710678118654752 = 0.868198051533946
     *   step 60:  q = 0.5:  0.1 + 0.9 (1 + 0) / 2          = 0.55
     *   step 110: q = 1:    0.1 + 0.9 (1 - 1) / 2          = 0.1
     *   step 500: stays at min                            = 0.1 */
    ak_sched s = {.kind = AK_SCHED_COSINE, .lr = 1.0, .warmup = 10, .total = 110, .min_lr = 0.1};
    cr_assert_eq(ak_sched_check(&s, NULL), 0);
    expect_lr(&s, 1, 0.1);
    expect_lr(&s, 5, 0.5);
    expect_lr(&s, 10, 1.0);
    expect_lr(&s, 35, 0.868198051533946);
    expect_lr(&s, 60, 0.55);
    expect_lr(&s, 110, 0.1);
    expect_lr(&s, 500, 0.1);
}

Test(optim_schedule, cosine_without_warmup)
{
    /* lr 2, min 0, warmup 0, total 100:
     *   step 1:  q = 0.01: (1 + cos(0.01 pi)) = 1.99950656036573 (times 2 / 2)
     *   step 50: q = 0.5:  1
     *   step 100 and later: 0 */
    ak_sched s = {.kind = AK_SCHED_COSINE, .lr = 2.0, .warmup = 0, .total = 100};
    cr_assert_eq(ak_sched_check(&s, NULL), 0);
    expect_lr(&s, 1, 1.99950656036573);
    expect_lr(&s, 50, 1.0);
    cr_expect(fabs(ak_sched_lr(&s, 100)) <= 1e-15);
    cr_expect(fabs(ak_sched_lr(&s, 101)) <= 1e-15);
}

static void expect_bad(ak_sched s, const char *msg)
{
    ak_err err = {{0}};
    cr_expect_eq(ak_sched_check(&s, &err), -1, "accepted: want '%s'", msg);
    cr_expect_str_eq(err.msg, msg);
}

Test(optim_schedule, bad_parameters_fail_with_range)
{
    expect_bad((ak_sched){.kind = AK_SCHED_INVSQRT, .lr = 1e-3, .warmup = 0},
               "invsqrt schedule: warmup must be >= 1, got 0");
    expect_bad((ak_sched){.kind = AK_SCHED_CONSTANT, .lr = 1e-3, .warmup = -1},
               "constant schedule: warmup must be >= 0, got -1");
    expect_bad((ak_sched){.kind = AK_SCHED_CONSTANT, .lr = -1},
               "constant schedule: lr must be finite and >= 0, got -1");
    expect_bad((ak_sched){.kind = AK_SCHED_COSINE, .lr = INFINITY, .total = 10},
               "cosine schedule: lr must be finite and >= 0, got inf");
    expect_bad((ak_sched){.kind = AK_SCHED_COSINE, .lr = 1, .warmup = 10, .total = 10},
               "cosine schedule: total must be > warmup (10), got 10");
    expect_bad((ak_sched){.kind = AK_SCHED_COSINE, .lr = 1, .total = 10, .min_lr = 2},
               "cosine schedule: min_lr must be in [0, lr] = [0, 1], got 2");
    expect_bad((ak_sched){.kind = AK_SCHED_COSINE, .lr = 1, .total = 10, .min_lr = -0.5},
               "cosine schedule: min_lr must be in [0, lr] = [0, 1], got -0.5");
    expect_bad((ak_sched){.kind = (ak_sched_kind)9, .lr = 1},
               "schedule: unknown kind 9 (expected constant, invsqrt or cosine)");
}
