/* Adam with L2 weight decay (torch.optim.Adam) and AdamW with decoupled
 * weight decay (torch.optim.AdamW); amsgrad and maximize are not supported. */
#include "optim/optim_internal.h"

#include "core/threads.h"

#include <math.h>

/* Step constants of one update (see ak_optim_adam_update). */
typedef struct adam_k {
    float step_size, bc2, b1, b2, a1, a2, eps, l2, shrink;
    int decoupled;
} adam_k;

/* The update of parameters [i0, i1), one element at a time. */
static void adam_range(const adam_k *k, float *restrict p, const float *restrict grad, float *restrict m,
                       float *restrict v, int64_t i0, int64_t i1)
{
    const float step_size = k->step_size, bc2 = k->bc2, b1 = k->b1, b2 = k->b2, a1 = k->a1, a2 = k->a2;
    const float eps = k->eps, l2 = k->l2, shrink = k->shrink;
    const int decoupled = k->decoupled;
    for (int64_t i = i0; i < i1; i++) {
        float g = grad[i];
        float x = p[i];
        if (decoupled)
            x = x * shrink; /* param.mul_(1 - lr * wd) */
        else if (l2 != 0.0f)
            g = g + l2 * x; /* grad.add(param, alpha=wd) */
        float mi = b1 * m[i] + a1 * g;
        float vi = b2 * v[i] + a2 * g * g;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2 + eps; /* sqrt(v_hat) + eps */
        p[i] = x - step_size * mi / denom;   /* param.addcdiv_(m, denom, value=-step_size) */
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ADAM_AVX512 1

/* Prefetch distance in floats (4 KiB); measured on the 2.5M-parameter t-tiny
 * state (40 MB): 1024 beats 0, 2048 and 4096. Prefetching past the end of
 * a buffer is harmless (a prefetch never faults). */
#define ADAM_PREFETCH 1024

/* adam_range with AVX-512, 16 parameters at a time (the tail masked), the
 * same operations in the same order: IEEE multiplies, adds and divisions,
 * and a correctly rounded square root (vsqrtps), so the same bits. Written
 * with intrinsics because gcc does not vectorise sqrtf under -fmath-errno
 * (the default), and neither optimize("no-math-errno") nor __builtin_sqrtf
 * lifts that inside a function; -std=c11 keeps mul + add uncontracted in the
 * scalar loop, and the intrinsics here are never fused either. */
__attribute__((target("avx512f"))) static void adam_range_avx512(const adam_k *k, float *restrict p,
                                                                 const float *restrict grad, float *restrict m,
                                                                 float *restrict v, int64_t i0, int64_t i1)
{
    const __m512 step_size = _mm512_set1_ps(k->step_size), bc2 = _mm512_set1_ps(k->bc2);
    const __m512 b1 = _mm512_set1_ps(k->b1), b2 = _mm512_set1_ps(k->b2);
    const __m512 a1 = _mm512_set1_ps(k->a1), a2 = _mm512_set1_ps(k->a2);
    const __m512 eps = _mm512_set1_ps(k->eps), l2 = _mm512_set1_ps(k->l2), shrink = _mm512_set1_ps(k->shrink);
    const int decoupled = k->decoupled, use_l2 = !decoupled && k->l2 != 0.0f;
    for (int64_t i = i0; i < i1; i += 16) {
        /* The four streams a cache line each, ADAM_PREFETCH floats ahead:
         * the state is far larger than the caches and the hardware
         * prefetcher alone leaves the loop waiting on memory. */
        _mm_prefetch((const char *)(grad + i + ADAM_PREFETCH), _MM_HINT_T0);
        _mm_prefetch((const char *)(p + i + ADAM_PREFETCH), _MM_HINT_T0);
        _mm_prefetch((const char *)(m + i + ADAM_PREFETCH), _MM_HINT_T0);
        _mm_prefetch((const char *)(v + i + ADAM_PREFETCH), _MM_HINT_T0);
        __mmask16 mk = i1 - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (i1 - i)) - 1);
        __m512 g = _mm512_maskz_loadu_ps(mk, grad + i);
        __m512 x = _mm512_maskz_loadu_ps(mk, p + i);
        if (decoupled)
            x = _mm512_mul_ps(x, shrink);
        else if (use_l2)
            g = _mm512_add_ps(g, _mm512_mul_ps(l2, x));
        __m512 mi = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_maskz_loadu_ps(mk, m + i)), _mm512_mul_ps(a1, g));
        __m512 vi =
            _mm512_add_ps(_mm512_mul_ps(b2, _mm512_maskz_loadu_ps(mk, v + i)), _mm512_mul_ps(_mm512_mul_ps(a2, g), g));
        _mm512_mask_storeu_ps(m + i, mk, mi);
        _mm512_mask_storeu_ps(v + i, mk, vi);
        __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), bc2), eps);
        __m512 y = _mm512_sub_ps(x, _mm512_div_ps(_mm512_mul_ps(step_size, mi), denom));
        _mm512_mask_storeu_ps(p + i, mk, y);
    }
}
#endif

/* Parameters per chunk of the parallel loop (fixed; elementwise anyway). */
#define ADAM_CHUNK 16384

void ak_optim_adam_update(ak_optim *o)
{
    const ak_optim_cfg *c = &o->cfg;
    float *p = o->params->data;
    const float *grad = o->params->grad;
    float *m = o->buf[0], *v = o->buf[1];
    const int64_t n = o->n;
    const double t = (double)o->step;
    adam_k k;
    /* Step scalars in double, rounded once (PyTorch: Python floats):
     * step_size = lr / (1 - beta1^t), bc2 = sqrt(1 - beta2^t). */
    k.step_size = (float)(c->lr / (1.0 - pow(c->beta1, t)));
    k.bc2 = (float)sqrt(1.0 - pow(c->beta2, t));
    k.b1 = (float)c->beta1;
    k.b2 = (float)c->beta2;
    k.a1 = (float)(1.0 - c->beta1);
    k.a2 = (float)(1.0 - c->beta2);
    k.eps = (float)c->eps;
    k.decoupled = c->kind == AK_OPTIM_ADAMW;
    k.l2 = k.decoupled ? 0.0f : (float)c->weight_decay;
    k.shrink = k.decoupled ? (float)(1.0 - c->lr * c->weight_decay) : 1.0f;
    const int64_t nc = (n + ADAM_CHUNK - 1) / ADAM_CHUNK;
#ifdef ADAM_AVX512
    const int avx512 = __builtin_cpu_supports("avx512f");
#endif
#pragma omp parallel for schedule(static) if (n >= AK_PAR_MIN)
    for (int64_t ci = 0; ci < nc; ci++) {
        int64_t i0 = ci * ADAM_CHUNK, i1 = i0 + ADAM_CHUNK < n ? i0 + ADAM_CHUNK : n;
#ifdef ADAM_AVX512
        if (avx512)
            adam_range_avx512(&k, p, grad, m, v, i0, i1);
        else
#endif
            adam_range(&k, p, grad, m, v, i0, i1);
    }
}
