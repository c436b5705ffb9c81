/* Adam with L2 weight decay (torch.optim.Adam) and AdamW with decoupled
 * weight decay (torch.optim.AdamW); amsgrad and maximize are not supported. */
#include "optim/optim_internal.h"

#include "core/threads.h"

#include <math.h>

void ak_optim_adam_update(ak_optim *o)
{
    const ak_optim_cfg *c = &o->cfg;
    float *p = o->params->data;
    const float *grad = o->params->grad;
    float *m = o->buf[0], *v = o->buf[1];
    const int64_t n = o->n;
    const double t = (double)o->step;
    /* Step scalars in double, rounded once (PyTorch: Python floats):
     * step_size = lr / (1 - beta1^t), bc2 = sqrt(1 - beta2^t). */
    const float step_size = (float)(c->lr / (1.0 - pow(c->beta1, t)));
    const float bc2 = (float)sqrt(1.0 - pow(c->beta2, t));
    const float b1 = (float)c->beta1, b2 = (float)c->beta2;
    const float a1 = (float)(1.0 - c->beta1), a2 = (float)(1.0 - c->beta2);
    const float eps = (float)c->eps;
    const int decoupled = c->kind == AK_OPTIM_ADAMW;
    const float l2 = decoupled ? 0.0f : (float)c->weight_decay;
    const float shrink = decoupled ? (float)(1.0 - c->lr * c->weight_decay) : 1.0f;
#pragma omp parallel for schedule(static) if (n >= AK_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i];
        float x = p[i];
        if (decoupled)
            x = x * shrink;                 /* param.mul_(1 - lr * wd) */
        else if (l2 != 0.0f)
            g = g + l2 * x;                 /* grad.add(param, alpha=wd) */
        float mi = b1 * m[i] + a1 * g;
        float vi = b2 * v[i] + a2 * g * g;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2 + eps; /* sqrt(v_hat) + eps */
        p[i] = x - step_size * mi / denom;  /* param.addcdiv_(m, denom, value=-step_size) */
    }
}
