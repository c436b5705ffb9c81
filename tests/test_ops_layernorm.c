#include "helpers.h"
#include "core/threads.h"
#include "ops/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* in[0] = x; in[1], in[2] = gamma, beta when the case has them. */
typedef struct ln_case {
    int gamma, beta;
    float eps;
} ln_case;

static ak_tensor *f_ln(ak_ctx *c, ak_tensor *const *in, void *u)
{
    const ln_case *k = u;
    int i = 1;
    ak_tensor *g = k->gamma ? in[i++] : NULL;
    ak_tensor *b = k->beta ? in[i++] : NULL;
    return ak_layernorm(c, in[0], g, b, k->eps);
}

static void check_layernorm(ln_case k, int ndim, const int64_t *shape, uint64_t seed)
{
    ak_tensor t = {0};
    ak_tensor_set_shape(&t, ndim, shape);
    int64_t D = shape[ndim - 1];
    ak_gc_input in[3];
    int n = 0;
    in[n++] = th_in(th_rand(0, t.size, -1.5f, 1.5f, seed), ndim, shape, 1);
    if (k.gamma) /* gamma away from 0 so every row carries weight */
        in[n++] = th_in(th_rand(1, D, 0.5f, 1.5f, seed + 1), 1, ak_shape(D), 1);
    if (k.beta)
        in[n++] = th_in(th_rand(2, D, -1, 1, seed + 2), 1, ak_shape(D), 1);
    th_check_gradients(f_ln, &k, n, in, TH_GC_OPTS);
}

Test(ops_layernorm, values_match_double_reference_3d_affine)
{
    enum { A = 2, T = 3, D = 8 };
    const float *xd = th_rand(0, A * T * D, -2, 3, 1);
    const float *gd = th_rand(1, D, -1, 1, 2), *bd = th_rand(2, D, -1, 1, 3);
    for (int affine = 0; affine < 2; affine++) {
        ak_ctx c;
        ak_ctx_init(&c, 0, 1);
        ak_tensor *x = ak_tensor_from(&c, 3, ak_shape(A, T, D), xd, 0);
        ak_tensor *g = affine ? ak_tensor_from(&c, 1, ak_shape(D), gd, 0) : NULL;
        ak_tensor *b = affine ? ak_tensor_from(&c, 1, ak_shape(D), bd, 0) : NULL;
        ak_tensor *y = ak_layernorm(&c, x, g, b, 1e-5f);
        cr_assert(y && y->ndim == 3 && y->shape[2] == D);
        for (int r = 0; r < A * T; r++) {
            double mu = 0, var = 0;
            for (int j = 0; j < D; j++)
                mu += xd[r * D + j] / (double)D;
            for (int j = 0; j < D; j++)
                var += (xd[r * D + j] - mu) * (xd[r * D + j] - mu) / D;
            for (int j = 0; j < D; j++) {
                double want = (xd[r * D + j] - mu) / sqrt(var + 1e-5);
                if (affine)
                    want = want * gd[j] + bd[j];
                cr_expect(fabs(y->data[r * D + j] - want) < 1e-5, "row %d col %d: %.8g vs %.8g", r, j,
                          y->data[r * D + j], want);
            }
        }
        ak_ctx_free(&c);
    }
}

Test(ops_layernorm, large_offset_keeps_precision)
{
    /* Two-pass statistics: 1e4 + small noise still normalises to +-1. */
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 1, ak_shape(4), (float[]){10001, 9999, 10001, 9999}, 0);
    ak_tensor *y = ak_layernorm(&c, x, NULL, NULL, 0.0f);
    for (int j = 0; j < 4; j++)
        cr_expect(fabs(y->data[j] - (j % 2 ? -1.0 : 1.0)) < 1e-6, "%d: %.8g", j, y->data[j]);
    ak_ctx_free(&c);
}

Test(ops_layernorm, gradient_3d_with_gamma_and_beta)
{
    check_layernorm((ln_case){.gamma = 1, .beta = 1, .eps = 1e-5f}, 3, ak_shape(2, 3, 6), 10);
}

Test(ops_layernorm, gradient_3d_without_affine)
{
    check_layernorm((ln_case){.eps = 1e-5f}, 3, ak_shape(2, 3, 6), 20);
}

Test(ops_layernorm, gradient_gamma_only_and_beta_only)
{
    check_layernorm((ln_case){.gamma = 1, .eps = 1e-3f}, 2, ak_shape(4, 5), 30);
    check_layernorm((ln_case){.beta = 1, .eps = 1e-3f}, 2, ak_shape(4, 5), 40);
}

Test(ops_layernorm, gradient_many_rows_crosses_row_blocks)
{
    /* 70 rows: three row blocks for the gamma/beta partials, the last partial. */
    check_layernorm((ln_case){.gamma = 1, .beta = 1, .eps = 1e-5f}, 3, ak_shape(7, 10, 3), 50);
}

Test(ops_layernorm, parameter_gradients_when_x_needs_none)
{
    /* dbeta = column sums of dy, dgamma = column sums of dy * xhat. */
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 2, ak_shape(2, 2), (float[]){1, 3, 5, 4}, 0);
    ak_tensor *g = ak_tensor_from(&c, 1, ak_shape(2), (float[]){2, 2}, 1);
    ak_tensor *b = ak_tensor_from(&c, 1, ak_shape(2), (float[]){0, 0}, 1);
    ak_tensor *y = ak_layernorm(&c, x, g, b, 0.0f);
    ak_err err;
    cr_assert(ak_backward_seeded(&c, y, (float[]){1, 2, 3, 4}, &err) == 0, "%s", err.msg);
    cr_expect(x->grad == NULL);
    /* xhat rows: (-1, 1) and (1, -1). */
    cr_expect(b->grad[0] == 4.0f && b->grad[1] == 6.0f);
    cr_expect(g->grad[0] == -1.0f + 3.0f && g->grad[1] == 2.0f - 4.0f, "%g %g", g->grad[0], g->grad[1]);
    ak_ctx_free(&c);
}

Test(ops_layernorm, bad_parameter_shapes_and_eps_fail_with_message)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 8));
    ak_tensor *g7 = ak_tensor_zeros(&c, 1, ak_shape(7));
    ak_tensor *g8 = ak_tensor_zeros(&c, 1, ak_shape(8));
    cr_assert_null(ak_layernorm(&c, x, g7, NULL, 1e-5f));
    cr_expect_str_eq(c.err.msg,
                     "layernorm: expected gamma [8] matching the last axis of x, got shapes [2, 3, 8] and [7]");
    ak_ctx_end_step(&c);
    x = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 8));
    g8 = ak_tensor_zeros(&c, 1, ak_shape(8));
    ak_tensor *b2 = ak_tensor_zeros(&c, 2, ak_shape(1, 8));
    cr_assert_null(ak_layernorm(&c, x, g8, b2, 1e-5f));
    cr_expect_str_eq(c.err.msg,
                     "layernorm: expected beta [8] matching the last axis of x, got shapes [2, 3, 8] and [1, 8]");
    ak_ctx_end_step(&c);
    x = ak_tensor_zeros(&c, 1, ak_shape(8));
    cr_assert_null(ak_layernorm(&c, x, NULL, NULL, -1.0f));
    cr_expect_str_eq(c.err.msg, "layernorm: expected eps >= 0, got -1");
    ak_ctx_free(&c);
}

/* Forward and backward (x, gamma, beta) of a [8,64,128] layernorm at n threads. */
static void run_big(int nthreads, float *out)
{
    enum { R = 8 * 64, D = 128, N = R * D };
    ak_set_threads(nthreads);
    static float xd[N], seed[N];
    ak_rng r = ak_rng_make(3, 4);
    for (int i = 0; i < N; i++) {
        xd[i] = ak_rng_uniform_range(&r, -3, 3);
        seed[i] = ak_rng_uniform_range(&r, -1, 1);
    }
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 3, ak_shape(8, 64, D), xd, 1);
    ak_tensor *g = ak_tensor_from(&c, 1, ak_shape(D), th_rand(0, D, 0.5f, 1.5f, 1), 1);
    ak_tensor *b = ak_tensor_from(&c, 1, ak_shape(D), th_rand(1, D, -1, 1, 2), 1);
    ak_tensor *y = ak_layernorm(&c, x, g, b, 1e-5f);
    ak_err err;
    cr_assert(y && ak_backward_seeded(&c, y, seed, &err) == 0, "%s", err.msg);
    memcpy(out, y->data, sizeof(float) * N);
    memcpy(out + N, x->grad, sizeof(float) * N);
    memcpy(out + 2 * N, g->grad, sizeof(float) * D);
    memcpy(out + 2 * N + D, b->grad, sizeof(float) * D);
    ak_ctx_free(&c);
}

Test(ops_layernorm, bitwise_equal_for_1_2_4_threads_incl_gamma_beta_grads)
{
    enum { N = 8 * 64 * 128, TOTAL = 2 * N + 2 * 128 };
    cr_assert(N >= AK_PAR_MIN);
    static float a[TOTAL], b[TOTAL];
    run_big(1, a);
    for (int t = 2; t <= 4; t += 2) {
        run_big(t, b);
        cr_expect(memcmp(a, b, sizeof(float) * N) == 0, "y differs at %d threads", t);
        cr_expect(memcmp(a + N, b + N, sizeof(float) * N) == 0, "dx differs at %d threads", t);
        cr_expect(memcmp(a + 2 * N, b + 2 * N, sizeof(float) * 256) == 0, "dgamma/dbeta differ at %d threads", t);
    }
}

/* ---- the vector path against the one-row code it replaced ---------------
 * The layernorm before rows went 8 at a time (commit b662480), one row at a
 * time, kept here as the bitwise reference: forward y, then dx, dgamma and
 * dbeta for a given dy (gamma/beta partials over blocks of 32 rows). */
static void ref_forward(const float *x, const float *gm, const float *bt, int64_t rows, int64_t D, float eps, float *y,
                        float *mean, float *rstd)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * D;
        double s = 0;
        for (int64_t j = 0; j < D; j++)
            s += xr[j];
        double mu = s / (double)D, v = 0;
        for (int64_t j = 0; j < D; j++)
            v += (xr[j] - mu) * (xr[j] - mu);
        float muf = (float)mu, rs = (float)(1.0 / sqrt(v / (double)D + eps));
        mean[r] = muf;
        rstd[r] = rs;
        for (int64_t j = 0; j < D; j++) {
            float xh = (xr[j] - muf) * rs;
            y[r * D + j] = (gm ? xh * gm[j] : xh) + (bt ? bt[j] : 0.0f);
        }
    }
}

static void ref_backward(const float *x, const float *gm, const float *dy_all, const float *mean, const float *rstd,
                         int64_t rows, int64_t D, float *gx, float *gg, float *gb)
{
    enum { BLK = 32 };
    int64_t nblk = (rows + BLK - 1) / BLK;
    float *pg = calloc((size_t)(nblk * D + 1), sizeof(float)), *pb = calloc((size_t)(nblk * D + 1), sizeof(float));
    cr_assert(pg && pb);
    for (int64_t b = 0; b < nblk; b++) {
        int64_t r1 = (b + 1) * BLK < rows ? (b + 1) * BLK : rows;
        for (int64_t r = b * BLK; r < r1; r++) {
            const float *xr = x + r * D, *dy = dy_all + r * D;
            float mu = mean[r], rs = rstd[r];
            if (gx) {
                double sg = 0, sgx = 0;
                for (int64_t j = 0; j < D; j++) {
                    float g = gm ? dy[j] * gm[j] : dy[j];
                    sg += g;
                    sgx += (double)g * ((xr[j] - mu) * rs);
                }
                float mg = (float)(sg / (double)D), mgx = (float)(sgx / (double)D);
                for (int64_t j = 0; j < D; j++) {
                    float g = gm ? dy[j] * gm[j] : dy[j];
                    float xh = (xr[j] - mu) * rs;
                    gx[r * D + j] += rs * (g - mg - xh * mgx);
                }
            }
            for (int64_t j = 0; j < D; j++) {
                pg[b * D + j] += dy[j] * ((xr[j] - mu) * rs);
                pb[b * D + j] += dy[j];
            }
        }
    }
    for (int64_t j = 0; j < D; j++) {
        float sg = 0.0f, sb = 0.0f;
        for (int64_t b = 0; b < nblk; b++) {
            sg += pg[b * D + j];
            sb += pb[b * D + j];
        }
        if (gg)
            gg[j] += sg;
        if (gb)
            gb[j] += sb;
    }
    free(pg);
    free(pb);
}

/* Bit patterns equal (so -0 vs +0 and NaN payloads count). */
static int64_t first_diff(const float *a, const float *b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof(float)) != 0)
            return i;
    return -1;
}

/* 2^k for k uniform in [-30, 10]: a row mixing such magnitudes needs more
 * than double's 53 bits for its exact sum, so its sums round and a changed
 * summation order shows in the bits (with inputs of one magnitude the double
 * sums are exact and any order passes). */
static float wide_scale(ak_rng *r) { return ldexpf(1.0f, (int)ak_rng_uniform_range(r, -30, 11)); }

/* One shape and affine case at nthreads: the op against the reference, y and
 * every gradient bit for bit. x and dy mix magnitudes (wide_scale), every
 * third row of x sits on an offset of up to 1e3. */
static void check_against_reference(int64_t rows, int64_t D, int gamma, int beta, int x_grad, int nthreads,
                                    uint64_t seed)
{
    ak_set_threads(nthreads);
    int64_t N = rows * D;
    float *xd = malloc(sizeof(float) * (size_t)N), *dy = malloc(sizeof(float) * (size_t)N);
    float *y = malloc(sizeof(float) * (size_t)N), *gx = calloc((size_t)N, sizeof(float));
    float *mean = malloc(sizeof(float) * (size_t)rows), *rstd = malloc(sizeof(float) * (size_t)rows);
    float gg[256] = {0}, gb[256] = {0};
    cr_assert(xd && dy && y && gx && mean && rstd && D <= 256);
    ak_rng r = ak_rng_make(seed, 5);
    for (int64_t i = 0; i < rows; i++) {
        float off = ak_rng_uniform_range(&r, -1000, 1000) * (float)(i % 3 == 0);
        for (int64_t j = 0; j < D; j++) {
            xd[i * D + j] = off + ak_rng_uniform_range(&r, -3, 3) * wide_scale(&r);
            dy[i * D + j] = ak_rng_uniform_range(&r, -1, 1) * wide_scale(&r);
        }
    }
    const float *gd = th_rand(0, D, 0.5f, 1.5f, seed + 1), *bd = th_rand(1, D, -1, 1, seed + 2);
    ref_forward(xd, gamma ? gd : NULL, beta ? bd : NULL, rows, D, 1e-5f, y, mean, rstd);
    ref_backward(xd, gamma ? gd : NULL, dy, mean, rstd, rows, D, x_grad ? gx : NULL, gg, gb);

    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 2, ak_shape(rows, D), xd, x_grad);
    ak_tensor *g = gamma ? ak_tensor_from(&c, 1, ak_shape(D), gd, 1) : NULL;
    ak_tensor *b = beta ? ak_tensor_from(&c, 1, ak_shape(D), bd, 1) : NULL;
    ak_tensor *out = ak_layernorm(&c, x, g, b, 1e-5f);
    cr_assert(out);
    int64_t at = first_diff(out->data, y, N);
    cr_expect(at < 0, "rows %lld D %lld g%d b%d t%d: y[%lld] %.9g vs %.9g", (long long)rows, (long long)D, gamma, beta,
              nthreads, (long long)at, at < 0 ? 0 : out->data[at], at < 0 ? 0 : y[at]);
    if (x_grad || gamma || beta) {
        ak_err err;
        cr_assert(ak_backward_seeded(&c, out, dy, &err) == 0, "%s", err.msg);
        if (x_grad) {
            at = first_diff(x->grad, gx, N);
            cr_expect(at < 0, "rows %lld D %lld g%d b%d t%d: dx[%lld] %.9g vs %.9g", (long long)rows, (long long)D,
                      gamma, beta, nthreads, (long long)at, at < 0 ? 0 : x->grad[at], at < 0 ? 0 : gx[at]);
        }
        if (gamma)
            cr_expect(first_diff(g->grad, gg, D) < 0, "rows %lld D %lld: dgamma differs", (long long)rows,
                      (long long)D);
        if (beta)
            cr_expect(first_diff(b->grad, gb, D) < 0, "rows %lld D %lld: dbeta differs", (long long)rows, (long long)D);
    }
    ak_ctx_free(&c);
    free(xd);
    free(dy);
    free(y);
    free(gx);
    free(mean);
    free(rstd);
}

Test(ops_layernorm, bitwise_equal_to_one_row_reference_odd_rows_and_widths)
{
    /* Rows around the groups of 8 and the gamma/beta blocks of 32; widths
     * below 8 (no vector path), not a multiple of 8 or 16, and the model's. */
    static const int64_t rows[] = {1, 7, 8, 9, 17, 33, 70};
    static const int64_t widths[] = {1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 33, 100, 128, 129, 256};
    uint64_t seed = 100;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++)
            check_against_reference(rows[i], widths[k], 1, 1, 1, 1, seed++);
}

Test(ops_layernorm, bitwise_equal_to_one_row_reference_without_affine_or_dx)
{
    uint64_t seed = 500;
    for (int mask = 0; mask < 8; mask++)
        for (int64_t D = 6; D <= 40; D += 17)
            check_against_reference(41, D, mask & 1, (mask >> 1) & 1, (mask >> 2) & 1, 1, seed++);
}

Test(ops_layernorm, bitwise_equal_to_one_row_reference_in_parallel)
{
    /* 384 x 128 (t-tiny's rows) is over AK_PAR_MIN: the loops split. */
    cr_assert(384 * 128 >= AK_PAR_MIN);
    for (int t = 1; t <= 4; t *= 2) {
        check_against_reference(384, 128, 1, 1, 1, t, 900);
        check_against_reference(389, 131, 1, 1, 1, t, 901);
    }
}

/* A row D, D 2^-24, 2^-50 x 4, then zeros (16 <= D < 32): added left to right,
 * each 2^-50 falls below half an ulp of D and is lost, the sum is
 * D (1 + 2^-24) and the mean 1 + 2^-24, a tie that rounds to 1.0f; summed in
 * any order that adds the small terms first, the mean is just above the tie
 * and rounds to 1 + 2^-23. The pattern starts at a different column in each
 * row (across the groups of 8 and into a row's tail, also in rows of whole
 * groups), once in x (the mean) and once in dy (mean_j(g), which sets dx). */
static void check_order_sensitive_rows(int64_t D)
{
    enum { ROWS = 40 };
    float *xd = calloc((size_t)(ROWS * D), sizeof(float)), *dy = calloc((size_t)(ROWS * D), sizeof(float));
    float *y = calloc((size_t)(ROWS * D), sizeof(float)), *gx = calloc((size_t)(ROWS * D), sizeof(float));
    float mean[ROWS], rstd[ROWS];
    cr_assert(xd && dy && y && gx && D >= 16 && D < 32);
    const float pat[6] = {(float)D, (float)D * 0x1p-24f, 0x1p-50f, 0x1p-50f, 0x1p-50f, 0x1p-50f};
    for (int64_t r = 0; r < ROWS; r++)
        for (int k = 0; k < 6; k++) {
            xd[r * D + (r * 7 + k) % D] = pat[k];
            dy[r * D + (r * 3 + k) % D] = pat[k];
        }
    ref_forward(xd, NULL, NULL, ROWS, D, 0.0f, y, mean, rstd);
    ref_backward(xd, NULL, dy, mean, rstd, ROWS, D, gx, NULL, NULL);
    cr_assert(mean[0] == 1.0f, "the reference order loses the small terms: mean %.9g", mean[0]);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 2, ak_shape(ROWS, D), xd, 1);
    ak_tensor *out = ak_layernorm(&c, x, NULL, NULL, 0.0f);
    ak_err err;
    cr_assert(out && ak_backward_seeded(&c, out, dy, &err) == 0, "%s", err.msg);
    int64_t at = first_diff(out->data, y, ROWS * D);
    cr_expect(at < 0, "D %lld: y[%lld] %.9g vs %.9g", (long long)D, (long long)at, at < 0 ? 0 : out->data[at],
              at < 0 ? 0 : y[at]);
    at = first_diff(x->grad, gx, ROWS * D);
    cr_expect(at < 0, "D %lld: dx[%lld] %.9g vs %.9g", (long long)D, (long long)at, at < 0 ? 0 : x->grad[at],
              at < 0 ? 0 : gx[at]);
    ak_ctx_free(&c);
    free(xd);
    free(dy);
    free(y);
    free(gx);
}

Test(ops_layernorm, summation_order_shows_in_the_bits_and_matches_reference)
{
    check_order_sensitive_rows(16);
    check_order_sensitive_rows(20);
    check_order_sensitive_rows(27);
}
