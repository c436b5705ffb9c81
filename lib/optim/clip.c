/* Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_, L2). */
#include "optim/optim.h"

#include "core/threads.h"

#include <math.h>

double ak_clip_grad_norm(ak_params *p, double max_norm)
{
    if (!p->grad)
        return 0.0;
    /* Padding between tensors is zero, so the whole flat buffer can be
     * summed; ak_sumsq_fixed combines chunks in a fixed order. */
    const double norm = sqrt(ak_sumsq_fixed(p->grad, p->total));
    if (!isfinite(norm) || !(max_norm > 0.0) || isinf(max_norm))
        return norm;
    /* PyTorch: clip_coef = max_norm / (total_norm + 1e-6), clamped to 1. */
    const double coef = max_norm / (norm + 1e-6);
    if (coef >= 1.0)
        return norm;
    const float s = (float)coef;
    float *g = p->grad;
    const int64_t n = p->total;
    /* Elementwise: any split and vector width give the same bits. */
#pragma omp parallel for simd schedule(static) if (n >= AK_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        g[i] *= s;
    return norm;
}
