/* Learning-rate schedules: pure functions of the 1-based step. */
#include "optim/optim.h"

#include <math.h>

static const char *const NAMES[] = {"constant", "invsqrt", "cosine"};

/* M_PI is not in strict C11. */
static const double PI = 3.14159265358979323846;

int ak_sched_check(const ak_sched *s, ak_err *err)
{
    if (s->kind != AK_SCHED_CONSTANT && s->kind != AK_SCHED_INVSQRT && s->kind != AK_SCHED_COSINE)
        return ak_errorf(err, "schedule: unknown kind %d (expected constant, invsqrt or cosine)", (int)s->kind);
    const char *k = NAMES[s->kind];
    if (!(s->lr >= 0.0) || isinf(s->lr))
        return ak_errorf(err, "%s schedule: lr must be finite and >= 0, got %g", k, s->lr);
    if (s->kind == AK_SCHED_INVSQRT && s->warmup < 1)
        return ak_errorf(err, "%s schedule: warmup must be >= 1, got %lld", k, (long long)s->warmup);
    if (s->warmup < 0)
        return ak_errorf(err, "%s schedule: warmup must be >= 0, got %lld", k, (long long)s->warmup);
    if (s->kind == AK_SCHED_COSINE) {
        if (s->total <= s->warmup)
            return ak_errorf(err, "%s schedule: total must be > warmup (%lld), got %lld", k, (long long)s->warmup,
                             (long long)s->total);
        if (!(s->min_lr >= 0.0 && s->min_lr <= s->lr))
            return ak_errorf(err, "%s schedule: min_lr must be in [0, lr] = [0, %g], got %g", k, s->lr, s->min_lr);
    }
    return 0;
}

double ak_sched_lr(const ak_sched *s, int64_t step)
{
    const double t = (double)(step < 1 ? 1 : step), w = (double)s->warmup;
    switch (s->kind) {
    case AK_SCHED_INVSQRT:
        /* The PyTorch twin: lr * min(step / warmup, sqrt(warmup / step)). */
        return s->lr * fmin(t / w, sqrt(w / t));
    case AK_SCHED_COSINE: {
        if (t <= w)
            return s->lr * t / w;
        const double span = (double)(s->total - s->warmup);
        const double q = fmin(t - w, span) / span;
        return s->min_lr + (s->lr - s->min_lr) * (1.0 + cos(PI * q)) / 2.0;
    }
    default:
        return t < w ? s->lr * t / w : s->lr;
    }
}
