/* SGD with optional momentum, Nesterov and L2 weight decay (torch.optim.SGD,
 * dampening 0). */
#include "optim/optim_internal.h"

#include "core/threads.h"

void ak_optim_sgd_update(ak_optim *o)
{
    float *p = o->params->data;
    const float *grad = o->params->grad;
    float *b = o->buf[0]; /* NULL when momentum is 0 */
    const int64_t n = o->n;
    const float lr = (float)o->cfg.lr, wd = (float)o->cfg.weight_decay, mu = (float)o->cfg.momentum;
    const int nesterov = o->cfg.nesterov;
#pragma omp parallel for schedule(static) if (n >= AK_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i];
        if (wd != 0.0f)
            g = g + wd * p[i];              /* grad.add(param, alpha=wd) */
        float d = g;
        if (b) {
            /* PyTorch clones g into the buffer on the first step; b starts at
             * 0 here and mu * 0 + g == g, so the two agree. */
            b[i] = mu * b[i] + g;
            d = nesterov ? g + mu * b[i] : b[i];
        }
        p[i] = p[i] - lr * d;               /* param.add_(d, alpha=-lr) */
    }
}
