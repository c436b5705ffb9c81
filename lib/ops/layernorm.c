/* Layer normalisation over the last axis.
 *
 * Forward keeps the per-row mean and 1/sqrt(var + eps) for the backward
 * pass. Row statistics are computed in double, two passes (mean, then the
 * centred sum of squares), so a large common offset costs no precision.
 *
 * Determinism: rows are independent in the forward and in dx. The gamma and
 * beta gradients are column sums over rows; rows are cut into blocks of
 * LN_ROW_BLOCK (a size fixed by the problem, not the thread count), each block
 * sums its rows in order into its own partial [D], and the partials are then
 * added in block order, column by column.
 *
 * Speed: a row's sums are chains of D dependent double adds, bound by the
 * adder's latency when rows go one at a time. With AVX-512, rows go 8 at a
 * time, one per lane of a vector of doubles (columns transposed into place
 * 8 x 8), so each lane adds its own row's elements in the one-row order (the
 * same bits) while 8 chains advance together. The elementwise parts
 * (normalise, dx, the gamma/beta partials) vectorise along the row. Rows
 * left over from the groups of 8, rows shorter than 8 and other machines take
 * the one-row loops. */
#include "ops/ops.h"

#include "core/threads.h"
#include "core/transpose8.h"

#include <math.h>

#define LN_ROW_BLOCK 32

/* Rows per group of the vector path: one row per lane of 8 doubles. */
#define LN_GROUP 8

typedef struct ln_saved {
    float *mean, *rstd; /* one per row */
    float eps;
} ln_saved;

/* The elementwise row loops, compiled for AVX-512 and the default and picked
 * at load time: the same per-element float arithmetic in every clone (no
 * contraction under -std=c11), so the same bits. */
#define LN_VCLONE __attribute__((target_clones("avx512f", "default")))

/* y = xhat * gamma + beta along one row, xhat = (x - mu) * rs. */
LN_VCLONE static void norm_row(const float *xr, float *yr, int64_t D, float mu, float rs, const float *gm,
                               const float *bt)
{
    if (gm && bt) {
#pragma omp simd
        for (int64_t j = 0; j < D; j++)
            yr[j] = ((xr[j] - mu) * rs) * gm[j] + bt[j];
        return;
    }
    for (int64_t j = 0; j < D; j++) {
        float xh = (xr[j] - mu) * rs;
        yr[j] = (gm ? xh * gm[j] : xh) + (bt ? bt[j] : 0.0f);
    }
}

/* One row of the backward pass once its means mg = mean_j(g) and
 * mgx = mean_j(g * xhat) are known: dx (when not NULL), and this row's terms
 * of the gamma and beta partials bg and bb (when not NULL). */
LN_VCLONE static void backward_row(const float *xr, const float *dy, int64_t D, float mu, float rs, const float *gm,
                                   float mg, float mgx, float *dx, float *bg, float *bb)
{
    if (gm && dx && bg && bb) {
#pragma omp simd
        for (int64_t j = 0; j < D; j++) {
            float xh = (xr[j] - mu) * rs;
            dx[j] += rs * (dy[j] * gm[j] - mg - xh * mgx);
            bg[j] += dy[j] * xh;
            bb[j] += dy[j];
        }
        return;
    }
    for (int64_t j = 0; j < D; j++) {
        float g = gm ? dy[j] * gm[j] : dy[j];
        float xh = (xr[j] - mu) * rs;
        if (dx)
            dx[j] += rs * (g - mg - xh * mgx);
        if (bg)
            bg[j] += dy[j] * xh;
        if (bb)
            bb[j] += dy[j];
    }
}

/* Mean and 1/sqrt(var + eps) of one row: two passes, each a chain of D
 * double adds in column order (the vector path keeps exactly this order). */
static void row_stats(const float *xr, int64_t D, float eps, float *mean, float *rstd)
{
    double s = 0;
    for (int64_t j = 0; j < D; j++)
        s += xr[j];
    double mu = s / (double)D, v = 0;
    for (int64_t j = 0; j < D; j++)
        v += (xr[j] - mu) * (xr[j] - mu);
    *mean = (float)mu;
    *rstd = (float)(1.0 / sqrt(v / (double)D + eps));
}

/* mg and mgx of one row (see layernorm_backward), double chains in column
 * order. */
static void row_grad_means(const float *xr, const float *dy, int64_t D, float mu, float rs, const float *gm, float *mg,
                           float *mgx)
{
    double sg = 0, sgx = 0;
    for (int64_t j = 0; j < D; j++) {
        float g = gm ? dy[j] * gm[j] : dy[j];
        sg += g;
        sgx += (double)g * ((xr[j] - mu) * rs);
    }
    *mg = (float)(sg / (double)D);
    *mgx = (float)(sgx / (double)D);
}

#ifdef AK_HAVE_LOAD_T8
#define LN_AVX512 1
#define LN_TARGET __attribute__((target("avx512f")))

/* row_stats of the 8 rows x, x + D, ..., x + 7D (D >= 8): lane k adds row
 * k's elements in row_stats's order, so each lane's bits are row_stats's. */
LN_TARGET static void group_stats(const float *x, int64_t D, float eps, float *mean, float *rstd)
{
    const int64_t D8 = D & ~(int64_t)7;
    const __m512d dd = _mm512_set1_pd((double)D);
    double lane[8];
    __m256 c[8];
    __m512d s = _mm512_setzero_pd();
    for (int64_t j = 0; j < D8; j += 8) {
        ak_load_t8(x + j, D, c);
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++)
            s = _mm512_add_pd(s, _mm512_cvtps_pd(c[t]));
    }
    if (D8 < D) {
        _mm512_storeu_pd(lane, s);
        for (int k = 0; k < 8; k++)
            for (int64_t j = D8; j < D; j++)
                lane[k] += x[k * D + j];
        s = _mm512_loadu_pd(lane);
    }
    const __m512d mu = _mm512_div_pd(s, dd);
    __m512d v = _mm512_setzero_pd();
    for (int64_t j = 0; j < D8; j += 8) {
        ak_load_t8(x + j, D, c);
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++) {
            __m512d d = _mm512_sub_pd(_mm512_cvtps_pd(c[t]), mu);
            v = _mm512_add_pd(v, _mm512_mul_pd(d, d));
        }
    }
    if (D8 < D) {
        double m[8];
        _mm512_storeu_pd(lane, v);
        _mm512_storeu_pd(m, mu);
        for (int k = 0; k < 8; k++)
            for (int64_t j = D8; j < D; j++)
                lane[k] += (x[k * D + j] - m[k]) * (x[k * D + j] - m[k]);
        v = _mm512_loadu_pd(lane);
    }
    /* 1 / sqrt(v / D + eps): IEEE division and a correctly rounded square
     * root, as in row_stats; the narrowing rounds to nearest like a cast. */
    __m512d r = _mm512_add_pd(_mm512_div_pd(v, dd), _mm512_set1_pd((double)eps));
    r = _mm512_div_pd(_mm512_set1_pd(1.0), _mm512_sqrt_pd(r));
    _mm256_storeu_ps(mean, _mm512_cvtpd_ps(mu));
    _mm256_storeu_ps(rstd, _mm512_cvtpd_ps(r));
}

/* row_grad_means of 8 rows (x and dy rows D apart, D >= 8), one per lane as
 * in group_stats. */
LN_TARGET static void group_grad_means(const float *x, const float *dy, int64_t D, const float *mean, const float *rstd,
                                       const float *gm, float *mg, float *mgx)
{
    const int64_t D8 = D & ~(int64_t)7;
    const __m256 mu = _mm256_loadu_ps(mean), rs = _mm256_loadu_ps(rstd);
    __m256 cx[8], cd[8];
    __m512d sg = _mm512_setzero_pd(), sgx = _mm512_setzero_pd();
    for (int64_t j = 0; j < D8; j += 8) {
        ak_load_t8(x + j, D, cx);
        ak_load_t8(dy + j, D, cd);
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++) {
            __m256 g = gm ? _mm256_mul_ps(cd[t], _mm256_set1_ps(gm[j + t])) : cd[t];
            __m256 xh = _mm256_mul_ps(_mm256_sub_ps(cx[t], mu), rs);
            __m512d gd = _mm512_cvtps_pd(g);
            sg = _mm512_add_pd(sg, gd);
            sgx = _mm512_add_pd(sgx, _mm512_mul_pd(gd, _mm512_cvtps_pd(xh)));
        }
    }
    if (D8 < D) {
        double a[8], b[8];
        _mm512_storeu_pd(a, sg);
        _mm512_storeu_pd(b, sgx);
        for (int k = 0; k < 8; k++)
            for (int64_t j = D8; j < D; j++) {
                float g = gm ? dy[k * D + j] * gm[j] : dy[k * D + j];
                a[k] += g;
                b[k] += (double)g * ((x[k * D + j] - mean[k]) * rstd[k]);
            }
        sg = _mm512_loadu_pd(a);
        sgx = _mm512_loadu_pd(b);
    }
    const __m512d dd = _mm512_set1_pd((double)D);
    _mm256_storeu_ps(mg, _mm512_cvtpd_ps(_mm512_div_pd(sg, dd)));
    _mm256_storeu_ps(mgx, _mm512_cvtpd_ps(_mm512_div_pd(sgx, dd)));
}
#endif

/* The statistics of rows [r0, r1): whole groups of 8 on the vector path when
 * the machine has it, the rest one row at a time. */
static void stats_rows(const float *x, int64_t D, int64_t r0, int64_t r1, float eps, float *mean, float *rstd, int vec)
{
    int64_t r = r0;
#ifdef LN_AVX512
    if (vec && D >= 8)
        for (; r + LN_GROUP <= r1; r += LN_GROUP)
            group_stats(x + r * D, D, eps, mean + r, rstd + r);
#else
    (void)vec;
#endif
    for (; r < r1; r++)
        row_stats(x + r * D, D, eps, mean + r, rstd + r);
}

/* mean_j(g) and mean_j(g * xhat) of rows [r0, r1) into mg and mgx from index
 * 0, grouped as in stats_rows. */
static void grad_means_rows(const float *x, const float *dy, int64_t D, int64_t r0, int64_t r1, const float *mean,
                            const float *rstd, const float *gm, float *mg, float *mgx, int vec)
{
    int64_t r = r0;
#ifdef LN_AVX512
    if (vec && D >= 8)
        for (; r + LN_GROUP <= r1; r += LN_GROUP)
            group_grad_means(x + r * D, dy + r * D, D, mean + r, rstd + r, gm, mg + (r - r0), mgx + (r - r0));
#else
    (void)vec;
#endif
    for (; r < r1; r++)
        row_grad_means(x + r * D, dy + r * D, D, mean[r], rstd[r], gm, mg + (r - r0), mgx + (r - r0));
}

static int has_vec(void)
{
#ifdef LN_AVX512
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/* y = xhat * gamma + beta, xhat = (x - mean) * rstd, rstd = 1/sqrt(var + eps),
 * with mean and var (biased) over the D entries of a row. With g = dy * gamma
 * (g = dy without gamma):
 *   dx     += rstd * (g - mean_j(g) - xhat * mean_j(g * xhat))
 *   dgamma += sum over rows of dy * xhat
 *   dbeta  += sum over rows of dy */
static void layernorm_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *x = n->in[0];
    ak_tensor *gamma = n->iarg[0] >= 0 ? n->in[n->iarg[0]] : NULL;
    ak_tensor *beta = n->iarg[1] >= 0 ? n->in[n->iarg[1]] : NULL;
    const ln_saved *sv = n->saved;
    const ak_tensor *y = n->out;
    int64_t D = ak_dim(x, -1), rows = ak_rows(x);
    float *gx = ak_grad(ctx, x);
    float *gg = gamma ? ak_grad(ctx, gamma) : NULL;
    float *gb = beta ? ak_grad(ctx, beta) : NULL;
    int64_t nblk = (rows + LN_ROW_BLOCK - 1) / LN_ROW_BLOCK;
    float *pg = NULL, *pb = NULL;
    if (gg && nblk)
        pg = ak_arena_alloc(&ctx->arena, sizeof(float) * (size_t)(nblk * D));
    if (gb && nblk)
        pb = ak_arena_alloc(&ctx->arena, sizeof(float) * (size_t)(nblk * D));
    if ((gg && nblk && !pg) || (gb && nblk && !pb)) {
        ak_ctx_fail(ctx, "layernorm: out of memory for gradient partials");
        return;
    }
    const float *gm = gamma ? gamma->data : NULL;
    const int vec = has_vec();
#pragma omp parallel for schedule(static) if (x->size >= AK_PAR_MIN)
    for (int64_t b = 0; b < nblk; b++) {
        float *bg = pg ? pg + b * D : NULL, *bb = pb ? pb + b * D : NULL;
        for (int64_t j = 0; j < D; j++) {
            if (bg)
                bg[j] = 0.0f;
            if (bb)
                bb[j] = 0.0f;
        }
        int64_t r0 = b * LN_ROW_BLOCK, r1 = r0 + LN_ROW_BLOCK < rows ? r0 + LN_ROW_BLOCK : rows;
        float mg[LN_ROW_BLOCK] = {0}, mgx[LN_ROW_BLOCK] = {0};
        if (gx)
            grad_means_rows(x->data, y->grad, D, r0, r1, sv->mean, sv->rstd, gm, mg, mgx, vec);
        /* Rows in order: the partials bg and bb add them in that order. */
        for (int64_t r = r0; r < r1; r++)
            backward_row(x->data + r * D, y->grad + r * D, D, sv->mean[r], sv->rstd[r], gm, mg[r - r0], mgx[r - r0],
                         gx ? gx + r * D : NULL, bg, bb);
    }
    if (!gg && !gb)
        return;
#pragma omp parallel for schedule(static) if (x->size >= AK_PAR_MIN)
    for (int64_t j = 0; j < D; j++) {
        float sg = 0.0f, sb = 0.0f;
        for (int64_t b = 0; b < nblk; b++) {
            if (pg)
                sg += pg[b * D + j];
            if (pb)
                sb += pb[b * D + j];
        }
        if (gg)
            gg[j] += sg;
        if (gb)
            gb[j] += sb;
    }
}

static int is_vec(const ak_tensor *t, int64_t D) { return t->ndim == 1 && t->shape[0] == D; }

ak_tensor *ak_layernorm(ak_ctx *ctx, ak_tensor *x, ak_tensor *gamma, ak_tensor *beta, float eps)
{
    if (!x)
        return NULL;
    char sx[64], sp[64];
    if (x->ndim < 1)
        return ak_ctx_fail(ctx, "layernorm: expected at least 1 dimension, got shape %s",
                           ak_shape_str(x, sx, sizeof sx));
    int64_t D = ak_dim(x, -1), rows = ak_rows(x);
    if (gamma && !is_vec(gamma, D))
        return ak_ctx_fail(ctx, "layernorm: expected gamma [%lld] matching the last axis of x, got shapes %s and %s",
                           (long long)D, ak_shape_str(x, sx, sizeof sx), ak_shape_str(gamma, sp, sizeof sp));
    if (beta && !is_vec(beta, D))
        return ak_ctx_fail(ctx, "layernorm: expected beta [%lld] matching the last axis of x, got shapes %s and %s",
                           (long long)D, ak_shape_str(x, sx, sizeof sx), ak_shape_str(beta, sp, sizeof sp));
    if (!(eps >= 0.0f))
        return ak_ctx_fail(ctx, "layernorm: expected eps >= 0, got %g", (double)eps);
    ak_tensor *y = ak_tensor_new(ctx, x->ndim, x->shape);
    ln_saved *sv = ak_arena_alloc(&ctx->arena, sizeof *sv);
    float *stats = ak_arena_alloc(&ctx->arena, sizeof(float) * (size_t)(2 * rows + 1));
    if (!y)
        return NULL;
    if (!sv || !stats)
        return ak_ctx_fail(ctx, "layernorm: out of memory for row statistics of x %s", ak_shape_str(x, sx, sizeof sx));
    sv->mean = stats;
    sv->rstd = stats + rows;
    sv->eps = eps;
    const float *gm = gamma ? gamma->data : NULL, *bt = beta ? beta->data : NULL;
    const int vec = has_vec();
    const int64_t ngrp = (rows + LN_GROUP - 1) / LN_GROUP;
#pragma omp parallel for schedule(static) if (x->size >= AK_PAR_MIN)
    for (int64_t b = 0; b < ngrp; b++) {
        int64_t r0 = b * LN_GROUP, r1 = r0 + LN_GROUP < rows ? r0 + LN_GROUP : rows;
        stats_rows(x->data, D, r0, r1, eps, sv->mean, sv->rstd, vec);
        for (int64_t r = r0; r < r1; r++)
            norm_row(x->data + r * D, y->data + r * D, D, sv->mean[r], sv->rstd[r], gm, bt);
    }
    /* The inputs that exist, in order x, gamma, beta; iarg says where gamma
     * and beta sit (-1 when absent). */
    ak_tensor *in[3] = {x};
    int n_in = 1, ig = -1, ib = -1;
    if (gamma) {
        ig = n_in;
        in[n_in++] = gamma;
    }
    if (beta) {
        ib = n_in;
        in[n_in++] = beta;
    }
    ak_node *node = ak_tape_record(ctx, y, "layernorm", layernorm_backward, n_in, in);
    if (node) {
        node->iarg[0] = ig;
        node->iarg[1] = ib;
        node->saved = sv;
    }
    return y;
}
