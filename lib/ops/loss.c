/* Token-mean cross-entropy from logits, with ignore_index and label
 * smoothing, as PyTorch's F.cross_entropy(logits, targets,
 * ignore_index=PAD, label_smoothing=eps, reduction='mean'):
 *
 *   lse_r   = log sum_c exp(z_rc)
 *   loss_r  = (1 - eps) * (lse_r - z_r,t_r) + (eps / V) * sum_c (lse_r - z_rc)
 *   loss    = sum over counted rows r of loss_r / count
 *
 * where a row is counted when its target is not ignore_index; loss = 0 when
 * no row is counted. The log-softmax is fused: per row one pass for the max
 * and sum_c z, one for sum_c exp(z - max); nothing of size [rows, V] is
 * materialised. Row losses are kept in double and summed in row order, so the
 * result does not depend on the thread count. The exponentials use the
 * vectorizable ak_vexpf (ops/vexp.h, ~1 ulp) in blocks of EXP_BLOCK, summed
 * in column order. */
#include "ops/ops.h"

#include "core/threads.h"
#include "ops/vexp.h"

#include <math.h>
#include <string.h>

enum { EXP_BLOCK = 256 };

typedef struct ce_saved {
    int32_t *targets; /* copy, one per row */
    float *lse;       /* per row; unset for ignored rows */
    int32_t ignore;
    int64_t count;
} ce_saved;

/* d loss / d z_rc = (softmax_rc - (1 - eps) [c == t_r] - eps / V) / count for a
 * counted row r (softmax_rc = exp(z_rc - lse_r)); 0 for an ignored row.
 * Scaled by the upstream gradient of the scalar loss. */
static void cross_entropy_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *x = n->in[0];
    float *gx = ak_grad(ctx, x);
    const ce_saved *sv = n->saved;
    if (!gx || sv->count == 0)
        return;
    int64_t V = ak_dim(x, -1), rows = ak_rows(x);
    float eps = n->farg[0];
    float g = n->out->grad[0] / (float)sv->count;
    float on = 1.0f - eps, off = eps / (float)V;
#pragma omp parallel for schedule(static) if (x->size >= AK_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int32_t t = sv->targets[r];
        if (t == sv->ignore)
            continue;
        const float *z = x->data + r * V;
        float *dz = gx + r * V;
        float lse = sv->lse[r];
#pragma omp simd
        for (int64_t c = 0; c < V; c++)
            dz[c] += g * (ak_vexpf(z[c] - lse) - off);
        dz[t] -= g * on;
    }
}

ak_tensor *ak_cross_entropy(ak_ctx *ctx, ak_tensor *logits, const int32_t *targets, int32_t ignore_index,
                            float smoothing, int64_t *count)
{
    if (count)
        *count = 0;
    if (!logits)
        return NULL;
    char sx[64];
    if (logits->ndim < 1 || ak_dim(logits, -1) < 1)
        return ak_ctx_fail(ctx, "cross_entropy: expected logits [..., V] with V >= 1, got shape %s",
                           ak_shape_str(logits, sx, sizeof sx));
    if (!(smoothing >= 0.0f && smoothing <= 1.0f))
        return ak_ctx_fail(ctx, "cross_entropy: expected smoothing in [0, 1], got %g", (double)smoothing);
    int64_t V = ak_dim(logits, -1), rows = ak_rows(logits);
    if (rows > 0 && !targets)
        return ak_ctx_fail(ctx, "cross_entropy: targets is NULL for logits %s", ak_shape_str(logits, sx, sizeof sx));
    int64_t cnt = 0;
    for (int64_t r = 0; r < rows; r++) {
        int32_t t = targets[r];
        if (t == ignore_index)
            continue;
        if (t < 0 || t >= V)
            return ak_ctx_fail(ctx,
                               "cross_entropy: target %d at row %lld is outside [0, %lld) and is not "
                               "ignore_index %d (logits %s)",
                               (int)t, (long long)r, (long long)V, (int)ignore_index,
                               ak_shape_str(logits, sx, sizeof sx));
        cnt++;
    }
    ak_tensor *y = ak_tensor_zeros(ctx, 0, NULL);
    ce_saved *sv = ak_arena_alloc(&ctx->arena, sizeof *sv);
    float *lse = ak_arena_alloc(&ctx->arena, sizeof(float) * (size_t)(rows ? rows : 1));
    double *part = ak_arena_alloc(&ctx->arena, sizeof(double) * (size_t)(rows ? rows : 1));
    int32_t *tcopy = ak_arena_alloc(&ctx->arena, sizeof(int32_t) * (size_t)(rows ? rows : 1));
    if (!y)
        return NULL;
    if (!sv || !lse || !part || !tcopy)
        return ak_ctx_fail(ctx, "cross_entropy: out of memory for logits %s", ak_shape_str(logits, sx, sizeof sx));
    if (rows)
        memcpy(tcopy, targets, sizeof(int32_t) * (size_t)rows);
    double eps = smoothing;
#pragma omp parallel for schedule(static) if (logits->size >= AK_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int32_t t = tcopy[r];
        if (t == ignore_index) {
            part[r] = 0.0;
            continue;
        }
        const float *z = logits->data + r * V;
        float mx = z[0];
        double sz = 0;
        for (int64_t c = 0; c < V; c++) {
            mx = z[c] > mx ? z[c] : mx;
            sz += z[c];
        }
        double se = 0;
        for (int64_t c0 = 0; c0 < V; c0 += EXP_BLOCK) {
            float e[EXP_BLOCK];
            int64_t w = V - c0 < EXP_BLOCK ? V - c0 : EXP_BLOCK;
#pragma omp simd
            for (int64_t c = 0; c < w; c++)
                e[c] = ak_vexpf(z[c0 + c] - mx);
            for (int64_t c = 0; c < w; c++)
                se += e[c];
        }
        double l = (double)mx + log(se);
        lse[r] = (float)l;
        double nll = l - z[t];
        part[r] = eps > 0 ? (1.0 - eps) * nll + eps / (double)V * ((double)V * l - sz) : nll;
    }
    double total = 0;
    for (int64_t r = 0; r < rows; r++)
        total += part[r];
    y->data[0] = cnt ? (float)(total / (double)cnt) : 0.0f;
    sv->targets = tcopy;
    sv->lse = lse;
    sv->ignore = ignore_index;
    sv->count = cnt;
    if (count)
        *count = cnt;
    ak_node *node = ak_tape_record(ctx, y, "cross_entropy", cross_entropy_backward, 1, &logits);
    if (node) {
        node->saved = sv;
        node->farg[0] = smoothing;
    }
    return y;
}
