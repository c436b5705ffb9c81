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
 * materialised (sum_c z only when eps > 0). Row losses are kept in double and
 * summed in row order, so the result does not depend on the thread count. The
 * exponentials use the vectorizable ak_vexpf (ops/vexp.h, ~1 ulp) in blocks
 * of EXP_BLOCK, summed in double into SE_LANES fixed partial sums (column c
 * into c % SE_LANES) combined in a fixed pairwise order. */
#include "ops/ops.h"

#include "core/threads.h"
#include "kernels/gemm.h"
#include "ops/vexp.h"

#include <math.h>
#include <string.h>

enum { EXP_BLOCK = 256, SE_LANES = 8 };

/* The row loops compiled for AVX-512 and the default, picked at load time:
 * the same per-element arithmetic (no contraction under -std=c11), so the
 * same bits. */
#define AK_LOSS_VCLONE __attribute__((target_clones("avx512f", "default")))

typedef struct ce_saved {
    int32_t *targets; /* copy, one per row */
    float *lse;       /* per row; 0 for ignored rows */
    int32_t ignore;
    int64_t count;
} ce_saved;

/* loss_r of one row of logits z (see the file comment), with lse_r stored
 * in *lse; 0 (and *lse = 0) for an ignored row. */
AK_LOSS_VCLONE static double row_loss(const float *z, int64_t V, int32_t t, int32_t ignore, double eps, float *lse)
{
    if (t == ignore) {
        *lse = 0.0f;
        return 0.0;
    }
    float mx = z[0];
    /* A max is exact: any order of the lanes gives the same value. */
#pragma omp simd reduction(max : mx)
    for (int64_t c = 0; c < V; c++)
        mx = z[c] > mx ? z[c] : mx;
    double sz = 0; /* needed only for label smoothing */
    if (eps > 0)
        for (int64_t c = 0; c < V; c++)
            sz += z[c];
    /* sum_c exp(z_c - mx) in SE_LANES double partial sums (element c into
     * lane c % SE_LANES, in order), combined pairwise in a fixed order: the
     * same bits for any thread count, and the adds vectorise. */
    double acc[SE_LANES] = {0};
    for (int64_t c0 = 0; c0 < V; c0 += EXP_BLOCK) {
        float e[EXP_BLOCK];
        int64_t w = V - c0 < EXP_BLOCK ? V - c0 : EXP_BLOCK;
#pragma omp simd
        for (int64_t c = 0; c < w; c++)
            e[c] = ak_vexpf(z[c0 + c] - mx);
        int64_t c = 0;
        for (; c + SE_LANES <= w; c += SE_LANES)
            for (int j = 0; j < SE_LANES; j++)
                acc[j] += e[c + j];
        for (int j = 0; c < w; c++, j++)
            acc[j] += e[c];
    }
    for (int h = SE_LANES / 2; h > 0; h /= 2)
        for (int j = 0; j < h; j++)
            acc[j] += acc[j + h];
    double se = acc[0];
    double l = (double)mx + log(se);
    *lse = (float)l;
    double nll = l - z[t];
    return eps > 0 ? (1.0 - eps) * nll + eps / (double)V * ((double)V * l - sz) : nll;
}

/* dz_c = g * (exp(z_c - lse) - off) - [c == t] * g * on for a counted row
 * (the gradient of cross_entropy_backward below, written rather than added);
 * dz = 0 for an ignored row. */
AK_LOSS_VCLONE static void row_grad_write(const float *z, float *dz, int64_t V, int32_t t, int32_t ignore, float lse,
                                          float g, float on, float off)
{
    if (t == ignore) {
        memset(dz, 0, sizeof(float) * (size_t)V);
        return;
    }
#pragma omp simd
    for (int64_t c = 0; c < V; c++)
        dz[c] = 0.0f + g * (ak_vexpf(z[c] - lse) - off);
    dz[t] -= g * on;
}

/* The number of rows whose target counts (not ignore_index), or -1 with the
 * context failed on the first target outside [0, V). Both losses check their
 * targets here so that they refuse the same inputs with the same words. */
static int64_t count_targets(ak_ctx *ctx, const char *op, const char *what, const ak_tensor *shown,
                             const int32_t *targets, int64_t rows, int64_t V, int32_t ignore_index)
{
    int64_t cnt = 0;
    for (int64_t r = 0; r < rows; r++) {
        int32_t t = targets[r];
        if (t == ignore_index)
            continue;
        if (t < 0 || t >= V) {
            char sx[64];
            ak_ctx_fail(ctx, "%s: target %d at row %lld is outside [0, %lld) and is not ignore_index %d (%s %s)", op,
                        (int)t, (long long)r, (long long)V, (int)ignore_index, what, ak_shape_str(shown, sx, sizeof sx));
            return -1;
        }
        cnt++;
    }
    return cnt;
}

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
    int64_t cnt = count_targets(ctx, "cross_entropy", "logits", logits, targets, rows, V, ignore_index);
    if (cnt < 0)
        return NULL;
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
    for (int64_t r = 0; r < rows; r++)
        part[r] = row_loss(logits->data + r * V, V, tcopy[r], ignore_index, eps, lse + r);
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
        node->reads = AK_READS_IN(0);
    }
    return y;
}

/* ---- linear_cross_entropy: the generator and the loss, fused ------------ */

/* ak_cross_entropy(ak_linear(x, w, b), ...) without the [rows, V] logits:
 * the rows go through in chunks of CH rows, each chunk's logits computed into
 * one scratch buffer of CH * V floats, reduced to lse_r and loss_r, and
 * forgotten. The gradient of a chunk needs only its logits and lse, so when a
 * node is recorded the forward pass goes on at once, for an upstream
 * gradient of 1 (the loss being what backward starts from), with
 *   dz       = d loss / d z (cross_entropy_backward's formula), in place
 *   dx_chunk  = dz w                   -> gemm(0, 0)
 *   dw       += dz^T x_chunk           -> gemm(1, 0), chunk after chunk
 *   db[j]    += sum_r dz[r, j]         (double per column, rows in order)
 * into buffers of the size of x, w and b, which backward adds to the
 * gradients. That costs no extra arithmetic and keeps nothing of size
 * [rows, V].
 *
 * Bitwise equality with the composition: CH is a multiple of 256 rows, the
 * GEMM's K block (kernels/gemm.h), so dw summed chunk after chunk adds the same
 * K blocks in the same order as one GEMM over all rows; db keeps one double
 * per column across chunks as ak_linear's backward does. The composition
 * adds its products onto the gradients as they were (0 + a0 + a1 ...); the
 * precomputed sums are added as 0 + (a0 + a1 ...): the same bits exactly
 * when the gradients were still zero and the upstream gradient is 1. In any
 * other case (ak_backward_seeded with another seed, gradients accumulated
 * over several backward passes) backward recomputes each chunk's logits and
 * adds the products onto the gradients one by one, as the composition does.
 * tests/test_ops_fused.c checks both paths against the composition.
 *
 * Memory: the chunk's logits are scratch of the forward pass and go back to
 * the arena (ak_arena_give_back) when it ends; the recomputing path takes a
 * buffer of its own. The precomputed gradients go back once backward has
 * added them (or found it cannot): the first backward pass consumes them, and
 * a later pass over the same tape recomputes. What comes back holds the
 * gradient buffers of the rest of the backward pass, so that the pass does
 * not grow the step's memory beyond the forward pass by that much. */
enum { LCE_KBLOCK = 256, LCE_SCRATCH = 1 << 21 /* floats, 8 MiB */ };

typedef struct lce_saved {
    int32_t *targets;
    float *lse;
    float *pre_x, *pre_w; /* precomputed gradients for upstream 1, or NULL */
    float *pre_b;         /* (given back by the first backward pass) */
    int32_t ignore;
    int64_t count, rows, in, V, chunk;
} lce_saved;

static int64_t lce_chunk(int64_t rows, int64_t V)
{
    int64_t ch = LCE_SCRATCH / (V > 0 ? V : 1) / LCE_KBLOCK * LCE_KBLOCK;
    if (ch < LCE_KBLOCK)
        ch = LCE_KBLOCK;
    return ch < rows ? ch : rows;
}

/* z[0..n) = x[r0..r0+n) w^T + b, exactly as ak_linear computes it (bias
 * first, the GEMM accumulating onto it). */
static void lce_logits(const float *x, const ak_tensor *w, const ak_tensor *b, int64_t n, float *z)
{
    int64_t V = w->shape[0], in = w->shape[1];
    if (b) {
#pragma omp parallel for schedule(static) if (n * V >= AK_PAR_MIN)
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < V; j++)
                z[r * V + j] = b->data[j];
    }
    ak_sgemm(0, 1, n, V, in, 1.0f, x, in, w->data, in, b ? 1.0f : 0.0f, z, V);
}

/* acc[j] += sum over rows of g[r, j] in row order: add_column_sums of
 * matmul.c with the double accumulators kept across calls. A block of CB
 * columns at a time (column_block_sums: vectorized across the block, each
 * column's additions in row order, so the same bits in either clone). */
enum { CB = 64 };
AK_LOSS_VCLONE static void column_block_sums(const float *restrict g, int64_t rows, int64_t cols, int64_t w,
                                             double *restrict acc)
{
    double s[CB];
    for (int64_t j = 0; j < w; j++)
        s[j] = acc[j];
    for (int64_t r = 0; r < rows; r++) {
        const float *row = g + r * cols;
#pragma omp simd
        for (int64_t j = 0; j < w; j++)
            s[j] += row[j];
    }
    for (int64_t j = 0; j < w; j++)
        acc[j] = s[j];
}

static void lce_column_sums(const float *g, int64_t rows, int64_t cols, double *acc)
{
    int64_t blocks = (cols + CB - 1) / CB;
#pragma omp parallel for schedule(static) if (rows * cols >= AK_PAR_MIN)
    for (int64_t blk = 0; blk < blocks; blk++) {
        int64_t j0 = blk * CB, w = cols - j0 < CB ? cols - j0 : CB;
        column_block_sums(g + j0, rows, cols, w, acc + j0);
    }
}

/* One chunk's gradient products from its dz (rows r0 .. r0 + m): gx, gw
 * accumulate with beta (1: onto what they hold; 0 on gw's first chunk of a
 * fresh buffer); acc collects the column sums. Any of them may be NULL. */
static void lce_chunk_grads(const float *dz, const float *xc, const ak_tensor *w, int64_t m, float *gx, float gx_beta,
                            float *gw, float gw_beta, double *acc)
{
    int64_t V = w->shape[0], in = w->shape[1];
    if (gx)
        ak_sgemm(0, 0, m, in, V, 1.0f, dz, V, w->data, in, gx_beta, gx, in);
    if (gw)
        ak_sgemm(1, 0, V, in, m, 1.0f, dz, V, xc, in, gw_beta, gw, in);
    if (acc)
        lce_column_sums(dz, m, V, acc);
}

static int all_zero(const float *g, int64_t n)
{
    int64_t nz = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : nz) if (n >= AK_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        nz += g[i] != 0.0f;
    return nz == 0;
}

static void add_into(float *dst, const float *src, int64_t n)
{
#pragma omp parallel for simd schedule(static) if (n >= AK_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        dst[i] += src[i];
}

/* Hands the precomputed gradients back to the arena (see the memory note
 * above); the node then has only the recomputing path. */
static void lce_drop_precomputed(ak_ctx *ctx, lce_saved *sv)
{
    ak_arena_give_back(&ctx->arena, sv->pre_x, sizeof(float) * (size_t)(sv->rows * sv->in));
    ak_arena_give_back(&ctx->arena, sv->pre_w, sizeof(float) * (size_t)(sv->V * sv->in));
    ak_arena_give_back(&ctx->arena, sv->pre_b, sizeof(float) * (size_t)sv->V);
    sv->pre_x = sv->pre_w = sv->pre_b = NULL;
}

static void linear_cross_entropy_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *x = n->in[0], *w = n->in[1], *b = n->n_in > 2 ? n->in[2] : NULL;
    lce_saved *sv = n->saved;
    if (sv->count == 0)
        return;
    float *gx = ak_grad(ctx, x), *gw = ak_grad(ctx, w), *gb = b ? ak_grad(ctx, b) : NULL;
    int64_t V = sv->V, in = sv->in;
    float up = n->out->grad[0];
    if (sv->pre_x || sv->pre_w || sv->pre_b) {
        int fresh = up == 1.0f && (!gx || all_zero(gx, sv->rows * in)) && (!gw || all_zero(gw, V * in)) &&
                    (!gb || all_zero(gb, V));
        if (fresh) {
            if (gx)
                add_into(gx, sv->pre_x, sv->rows * in);
            if (gw)
                add_into(gw, sv->pre_w, V * in);
            if (gb)
                add_into(gb, sv->pre_b, V);
        }
        lce_drop_precomputed(ctx, sv);
        if (fresh)
            return;
    }
    size_t acc_bytes = sizeof(double) * (size_t)V, z_bytes = sizeof(float) * (size_t)(sv->chunk * V);
    double *acc = gb ? ak_arena_calloc(&ctx->arena, acc_bytes) : NULL;
    float *z = ak_arena_alloc(&ctx->arena, z_bytes);
    if ((gb && !acc) || !z) {
        ak_ctx_fail(ctx, "linear_cross_entropy: out of memory for the recomputed logits");
        return;
    }
    float eps = n->farg[0];
    float g = up / (float)sv->count;
    float on = 1.0f - eps, off = eps / (float)V;
    for (int64_t r0 = 0; r0 < sv->rows; r0 += sv->chunk) {
        int64_t m = sv->rows - r0 < sv->chunk ? sv->rows - r0 : sv->chunk;
        const float *xc = x->data + r0 * in;
        lce_logits(xc, w, b, m, z);
#pragma omp parallel for schedule(static) if (m * V >= AK_PAR_MIN)
        for (int64_t r = 0; r < m; r++)
            row_grad_write(z + r * V, z + r * V, V, sv->targets[r0 + r], sv->ignore, sv->lse[r0 + r], g, on, off);
        lce_chunk_grads(z, xc, w, m, gx ? gx + r0 * in : NULL, 1.0f, gw, 1.0f, acc);
    }
    if (gb)
        for (int64_t j = 0; j < V; j++)
            gb[j] += (float)acc[j];
    ak_arena_give_back(&ctx->arena, z, z_bytes);
    ak_arena_give_back(&ctx->arena, acc, acc_bytes);
}

ak_tensor *ak_linear_cross_entropy(ak_ctx *ctx, ak_tensor *x, ak_tensor *w, ak_tensor *bias, const int32_t *targets,
                                   int32_t ignore_index, float smoothing, int64_t *count)
{
    if (count)
        *count = 0;
    if (!x || !w)
        return NULL;
    char s1[64], s2[64];
    if (w->ndim != 2 || x->ndim < 1 || x->shape[x->ndim - 1] != w->shape[1] || w->shape[0] < 1 || w->shape[1] < 1)
        return ak_ctx_fail(ctx,
                           "linear_cross_entropy: expected x [..., in] and w [V, in] with V, in >= 1, got x %s "
                           "and w %s",
                           ak_shape_str(x, s1, sizeof s1), ak_shape_str(w, s2, sizeof s2));
    int64_t V = w->shape[0], in = w->shape[1], rows = ak_rows(x);
    if (bias && (bias->ndim != 1 || bias->shape[0] != V))
        return ak_ctx_fail(ctx, "linear_cross_entropy: expected bias [%lld] for w %s, got bias %s", (long long)V,
                           ak_shape_str(w, s1, sizeof s1), ak_shape_str(bias, s2, sizeof s2));
    if (!(smoothing >= 0.0f && smoothing <= 1.0f))
        return ak_ctx_fail(ctx, "linear_cross_entropy: expected smoothing in [0, 1], got %g", (double)smoothing);
    if (rows > 0 && !targets)
        return ak_ctx_fail(ctx, "linear_cross_entropy: targets is NULL for x %s", ak_shape_str(x, s1, sizeof s1));
    int64_t cnt = count_targets(ctx, "linear_cross_entropy", "x", x, targets, rows, V, ignore_index);
    if (cnt < 0)
        return NULL;
    int64_t ch = lce_chunk(rows, V);
    size_t nr = (size_t)(rows ? rows : 1);
    ak_tensor *y = ak_tensor_zeros(ctx, 0, NULL);
    if (!y)
        return NULL;
    lce_saved *sv = ak_arena_calloc(&ctx->arena, sizeof *sv);
    float *lse = ak_arena_alloc(&ctx->arena, sizeof(float) * nr);
    double *part = ak_arena_alloc(&ctx->arena, sizeof(double) * nr);
    int32_t *tcopy = ak_arena_alloc(&ctx->arena, sizeof(int32_t) * nr);
    size_t z_bytes = sizeof(float) * (size_t)(ch ? ch : 1) * (size_t)V;
    float *z = ak_arena_alloc(&ctx->arena, z_bytes);
    if (!sv || !lse || !part || !tcopy || !z)
        return ak_ctx_fail(ctx, "linear_cross_entropy: out of memory for x %s and w %s", ak_shape_str(x, s1, sizeof s1),
                           ak_shape_str(w, s2, sizeof s2));
    if (rows)
        memcpy(tcopy, targets, sizeof(int32_t) * (size_t)rows);
    ak_tensor *ins[3] = {x, w, bias};
    ak_node *node = ak_tape_record(ctx, y, "linear_cross_entropy", linear_cross_entropy_backward, bias ? 3 : 2, ins);
    double *acc = NULL;
    if (node && cnt) { /* precompute the gradients of the upstream-1 case */
        sv->pre_x = x->requires_grad ? ak_arena_alloc(&ctx->arena, sizeof(float) * (size_t)(rows * in)) : NULL;
        sv->pre_w = w->requires_grad ? ak_arena_alloc(&ctx->arena, sizeof(float) * (size_t)(V * in)) : NULL;
        sv->pre_b = bias && bias->requires_grad ? ak_arena_alloc(&ctx->arena, sizeof(float) * (size_t)V) : NULL;
        acc = sv->pre_b ? ak_arena_calloc(&ctx->arena, sizeof(double) * (size_t)V) : NULL;
        if ((x->requires_grad && !sv->pre_x) || (w->requires_grad && !sv->pre_w) || (sv->pre_b && !acc))
            return ak_ctx_fail(ctx, "linear_cross_entropy: out of memory for the gradients of x %s and w %s",
                               ak_shape_str(x, s1, sizeof s1), ak_shape_str(w, s2, sizeof s2));
    }
    int pre = sv->pre_x || sv->pre_w || sv->pre_b;
    double eps = smoothing;
    float g = 1.0f / (float)(cnt ? cnt : 1), on = 1.0f - smoothing, off = smoothing / (float)V;
    for (int64_t r0 = 0; r0 < rows; r0 += ch) {
        int64_t m = rows - r0 < ch ? rows - r0 : ch;
        const float *xc = x->data + r0 * in;
        lce_logits(xc, w, bias, m, z);
#pragma omp parallel for schedule(static) if (m * V >= AK_PAR_MIN)
        for (int64_t r = 0; r < m; r++) {
            float *zr = z + r * V;
            part[r0 + r] = row_loss(zr, V, tcopy[r0 + r], ignore_index, eps, lse + r0 + r);
            if (pre)
                row_grad_write(zr, zr, V, tcopy[r0 + r], ignore_index, lse[r0 + r], g, on, off);
        }
        if (pre)
            lce_chunk_grads(z, xc, w, m, sv->pre_x ? sv->pre_x + r0 * in : NULL, 0.0f, sv->pre_w, r0 ? 1.0f : 0.0f,
                            acc);
    }
    if (sv->pre_b)
        for (int64_t j = 0; j < V; j++)
            sv->pre_b[j] = (float)acc[j];
    double total = 0;
    for (int64_t r = 0; r < rows; r++)
        total += part[r];
    y->data[0] = cnt ? (float)(total / (double)cnt) : 0.0f;
    ak_arena_give_back(&ctx->arena, z, z_bytes);
    ak_arena_give_back(&ctx->arena, part, sizeof(double) * nr);
    ak_arena_give_back(&ctx->arena, acc, sizeof(double) * (size_t)V);
    if (!node) { /* nothing to keep for a backward pass */
        ak_arena_give_back(&ctx->arena, tcopy, sizeof(int32_t) * nr);
        ak_arena_give_back(&ctx->arena, lse, sizeof(float) * nr);
        ak_arena_give_back(&ctx->arena, sv, sizeof *sv);
        if (count)
            *count = cnt;
        return y;
    }
    sv->targets = tcopy;
    sv->lse = lse;
    sv->ignore = ignore_index;
    sv->count = cnt;
    sv->rows = rows;
    sv->in = in;
    sv->V = V;
    sv->chunk = ch;
    if (count)
        *count = cnt;
    node->saved = sv;
    node->farg[0] = smoothing;
    node->reads = AK_READS_IN(0) | AK_READS_IN(1) | AK_READS_IN(2); /* x, w, bias: the recomputing path */
    return y;
}
