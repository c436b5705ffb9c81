#include "helpers.h"
#include "core/threads.h"
#include "kernels/gemm.h"
#include "ops/ops.h"
#include "ops/sdpa.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

/* Key-padding mask [B,1,1,L]: batch b keeps its first len[b] keys. */
static void key_padding(float *m, int B, int L, const int *len)
{
    for (int b = 0; b < B; b++)
        for (int j = 0; j < L; j++)
            m[b * L + j] = j < len[b] ? 0.0f : -INFINITY;
}

static void causal(float *m, int Lq, int Lk)
{
    for (int i = 0; i < Lq; i++)
        for (int j = 0; j < Lk; j++)
            m[i * Lk + j] = j <= i ? 0.0f : -INFINITY;
}

/* What a gradient-check function needs besides its inputs. */
typedef struct sd_case {
    int64_t heads;
    float scale;
    int mask_ndim;
    int64_t mask_shape[4];
    const float *mask;
    int same_qk; /* q is also used as k */
} sd_case;

static ak_tensor *mask_of(ak_ctx *c, const sd_case *k)
{
    return k->mask ? ak_tensor_from(c, k->mask_ndim, k->mask_shape, k->mask, 0) : NULL;
}

static ak_tensor *f_probs(ak_ctx *c, ak_tensor *const *in, void *u)
{
    const sd_case *k = u;
    return ak_sdpa_probs(c, in[0], k->same_qk ? in[0] : in[1], k->heads, mask_of(c, k), k->scale);
}

static ak_tensor *f_context(ak_ctx *c, ak_tensor *const *in, void *u)
{
    (void)u;
    return ak_sdpa_context(c, in[0], in[1]);
}

/* The whole attention: probabilities, then the context over values. */
static ak_tensor *f_attention(ak_ctx *c, ak_tensor *const *in, void *u)
{
    const sd_case *k = u;
    return ak_sdpa_context(c, f_probs(c, in, u), in[k->same_qk ? 1 : 2]);
}

/* The same attention built from copies: split heads with permutes, batched
 * matmuls, softmax, merge (what lib/nn/attention.c did before ops/sdpa.h). */
static ak_tensor *split(ak_ctx *c, ak_tensor *x, int64_t H)
{
    int64_t B = x->shape[0], L = x->shape[1], d = x->shape[2];
    return ak_permute(c, ak_reshape(c, x, 4, ak_shape(B, L, H, d / H)), (const int[]){0, 2, 1, 3});
}

static ak_tensor *merge(ak_ctx *c, ak_tensor *x)
{
    int64_t B = x->shape[0], H = x->shape[1], L = x->shape[2], dh = x->shape[3];
    return ak_reshape(c, ak_permute(c, x, (const int[]){0, 2, 1, 3}), 3, ak_shape(B, L, H * dh));
}

/* ---- values --------------------------------------------------------------- */

/* softmax(scale * q_h . k_h + mask) in double for (b, h, i); probs[j]. */
static void ref_probs(const float *q, const float *k, const float *m, int64_t Lq, int64_t Lk, int64_t d, int64_t dh,
                      int64_t b, int64_t h, int64_t i, float scale, double *probs)
{
    double mx = -INFINITY, s = 0;
    for (int64_t j = 0; j < Lk; j++) {
        double z = 0;
        for (int64_t c = 0; c < dh; c++)
            z += (double)q[(b * Lq + i) * d + h * dh + c] * k[(b * Lk + j) * d + h * dh + c];
        probs[j] = scale * z + (m ? m[j] : 0.0);
        mx = fmax(mx, probs[j]);
    }
    for (int64_t j = 0; j < Lk; j++)
        s += isinf(mx) ? 0 : exp(probs[j] - mx);
    for (int64_t j = 0; j < Lk; j++)
        probs[j] = s > 0 ? exp(probs[j] - mx) / s : 0.0;
}

Test(ops_sdpa, probs_and_context_match_double_reference_with_masks)
{
    enum { B = 2, H = 2, Q = 3, K = 5, D = 8, DH = D / H };
    float pad[B * K], cz[Q * K];
    key_padding(pad, B, K, (int[]){5, 3});
    causal(cz, Q, K);
    const float *qd = th_rand(0, B * Q * D, -1, 1, 1), *kd = th_rand(1, B * K * D, -1, 1, 2);
    const float *vd = th_rand(2, B * K * D, -1, 1, 3);
    for (int mk = 0; mk < 3; mk++) {
        ak_ctx c;
        ak_ctx_init(&c, 0, 1);
        ak_tensor *q = ak_tensor_from(&c, 3, ak_shape(B, Q, D), qd, 0);
        ak_tensor *k = ak_tensor_from(&c, 3, ak_shape(B, K, D), kd, 0);
        ak_tensor *v = ak_tensor_from(&c, 3, ak_shape(B, K, D), vd, 0);
        ak_tensor *m = mk == 1   ? ak_tensor_from(&c, 4, ak_shape(B, 1, 1, K), pad, 0)
                       : mk == 2 ? ak_tensor_from(&c, 2, ak_shape(Q, K), cz, 0)
                                 : NULL;
        ak_tensor *p = ak_sdpa_probs(&c, q, k, H, m, 0.35f);
        ak_tensor *y = ak_sdpa_context(&c, p, v);
        cr_assert(p && y, "%s", c.err.msg);
        cr_assert(p->ndim == 4 && p->shape[0] == B && p->shape[1] == H && p->shape[2] == Q && p->shape[3] == K);
        cr_assert(y->ndim == 3 && y->shape[0] == B && y->shape[1] == Q && y->shape[2] == D);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < Q; i++) {
                    double want[K];
                    const float *mrow = mk == 1 ? pad + b * K : mk == 2 ? cz + i * K : NULL;
                    ref_probs(qd, kd, mrow, Q, K, D, DH, b, h, i, 0.35f, want);
                    const float *got = p->data + ((b * H + h) * Q + i) * K;
                    for (int j = 0; j < K; j++) {
                        cr_expect(fabs(got[j] - want[j]) < 1e-6, "mask %d (%d,%d,%d,%d): %.9g vs %.9g", mk, b, h, i, j,
                                  got[j], want[j]);
                        if (mrow && isinf(mrow[j]))
                            cr_expect(got[j] == 0.0f, "masked key %d has weight %g", j, got[j]);
                    }
                    for (int e = 0; e < DH; e++) {
                        double ctx = 0;
                        for (int j = 0; j < K; j++)
                            ctx += (double)got[j] * vd[(b * K + j) * D + h * DH + e];
                        float y1 = y->data[(b * Q + i) * D + h * DH + e];
                        cr_expect(fabs(y1 - ctx) < 1e-6, "context (%d,%d,%d): %.9g vs %.9g", b, i, h * DH + e, y1, ctx);
                    }
                }
        ak_ctx_free(&c);
    }
}

Test(ops_sdpa, fully_masked_rows_are_zero_with_zero_gradients)
{
    enum { B = 2, H = 2, Q = 2, K = 3, D = 4 };
    float pad[B * K];
    key_padding(pad, B, K, (int[]){3, 0});
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *q = ak_tensor_from(&c, 3, ak_shape(B, Q, D), th_rand(0, B * Q * D, -1, 1, 4), 1);
    ak_tensor *k = ak_tensor_from(&c, 3, ak_shape(B, K, D), th_rand(1, B * K * D, -1, 1, 5), 1);
    ak_tensor *p = ak_sdpa_probs(&c, q, k, H, ak_tensor_from(&c, 4, ak_shape(B, 1, 1, K), pad, 0), 1.0f);
    cr_assert_not_null(p);
    for (int i = H * Q * K; i < B * H * Q * K; i++)
        cr_expect(p->data[i] == 0.0f, "batch 1 weight %d = %g", i, p->data[i]);
    ak_err err;
    cr_assert(ak_backward_seeded(&c, p, th_rand(2, B * H * Q * K, -1, 1, 6), &err) == 0, "%s", err.msg);
    for (int i = Q * D; i < B * Q * D; i++)
        cr_expect(q->grad[i] == 0.0f, "q grad %d = %g", i, q->grad[i]);
    for (int i = K * D; i < B * K * D; i++)
        cr_expect(k->grad[i] == 0.0f, "k grad %d = %g", i, k->grad[i]);
    ak_ctx_free(&c);
}

/* ---- gradients ------------------------------------------------------------ */

Test(ops_sdpa, gradients_of_probs_with_key_padding)
{
    enum { B = 2, H = 2, Q = 3, K = 4, D = 6 };
    float pad[B * K];
    key_padding(pad, B, K, (int[]){4, 2});
    sd_case sc = {.heads = H, .scale = 0.5f, .mask_ndim = 4, .mask_shape = {B, 1, 1, K}, .mask = pad};
    ak_gc_input in[2] = {th_in(th_rand(0, B * Q * D, -1, 1, 7), 3, ak_shape(B, Q, D), 1),
                         th_in(th_rand(1, B * K * D, -1, 1, 8), 3, ak_shape(B, K, D), 1)};
    th_check_gradients(f_probs, &sc, 2, in, TH_GC_OPTS);
}

Test(ops_sdpa, gradients_of_context)
{
    enum { B = 2, H = 3, Q = 2, K = 4, D = 6 };
    /* Any p, not only probabilities: the op is bilinear in (p, v). */
    ak_gc_input in[2] = {th_in(th_rand(0, B * H * Q * K, -1, 1, 9), 4, ak_shape(B, H, Q, K), 1),
                         th_in(th_rand(1, B * K * D, -1, 1, 10), 3, ak_shape(B, K, D), 1)};
    th_check_gradients(f_context, NULL, 2, in, TH_GC_OPTS);
}

Test(ops_sdpa, gradients_of_causal_self_attention_with_q_as_k)
{
    enum { B = 2, H = 2, L = 4, D = 4 };
    float cz[L * L];
    causal(cz, L, L);
    sd_case sc = {.heads = H, .scale = 0.7f, .mask_ndim = 2, .mask_shape = {L, L}, .mask = cz, .same_qk = 1};
    ak_gc_input in[2] = {th_in(th_rand(0, B * L * D, -1, 1, 11), 3, ak_shape(B, L, D), 1),
                         th_in(th_rand(1, B * L * D, -1, 1, 12), 3, ak_shape(B, L, D), 1)};
    th_check_gradients(f_attention, &sc, 2, in, TH_GC_OPTS);
}

Test(ops_sdpa, gradients_of_cross_attention_q_k_v)
{
    enum { B = 2, H = 2, Q = 2, K = 5, D = 4 };
    float pad[B * K];
    key_padding(pad, B, K, (int[]){3, 5});
    sd_case sc = {.heads = H, .scale = 0.5f, .mask_ndim = 4, .mask_shape = {B, 1, 1, K}, .mask = pad};
    ak_gc_input in[3] = {th_in(th_rand(0, B * Q * D, -1, 1, 13), 3, ak_shape(B, Q, D), 1),
                         th_in(th_rand(1, B * K * D, -1, 1, 14), 3, ak_shape(B, K, D), 1),
                         th_in(th_rand(2, B * K * D, -1, 1, 15), 3, ak_shape(B, K, D), 1)};
    th_check_gradients(f_attention, &sc, 3, in, TH_GC_OPTS);
}

/* ---- against the composition with copies, and across thread counts -------- */

typedef struct run_out {
    float *p, *y, *gq, *gk, *gv;
} run_out;

enum { RB = 4, RH = 4, RQ = 16, RK = 13, RD = 64 };

/* Forward and backward of masked cross-attention with dropout on the
 * probabilities (training mode), fused or composed, at n threads. */
static run_out run_attention(int fused, int nthreads)
{
    ak_set_threads(nthreads);
    const int nq = RB * RQ * RD, nk = RB * RK * RD, np = RB * RH * RQ * RK;
    float pad[RB * RK];
    key_padding(pad, RB, RK, (int[]){13, 7, 1, 10});
    ak_ctx c;
    ak_ctx_init(&c, 0, 3);
    c.training = 1;
    ak_tensor *q = ak_tensor_from(&c, 3, ak_shape(RB, RQ, RD), th_rand(0, nq, -1, 1, 21), 1);
    ak_tensor *k = ak_tensor_from(&c, 3, ak_shape(RB, RK, RD), th_rand(1, nk, -1, 1, 22), 1);
    ak_tensor *v = ak_tensor_from(&c, 3, ak_shape(RB, RK, RD), th_rand(2, nk, -1, 1, 23), 1);
    ak_tensor *m = ak_tensor_from(&c, 4, ak_shape(RB, 1, 1, RK), pad, 0);
    ak_tensor *p, *y;
    if (fused) {
        p = ak_sdpa_probs(&c, q, k, RH, m, 0.25f);
        y = ak_sdpa_context(&c, ak_dropout(&c, p, 0.1f), v);
    } else {
        p = ak_softmax(&c, ak_matmul(&c, split(&c, q, RH), split(&c, k, RH), 0, 1), m, 0.25f);
        y = merge(&c, ak_matmul(&c, ak_dropout(&c, p, 0.1f), split(&c, v, RH), 0, 0));
    }
    cr_assert(p && y, "%s", c.err.msg);
    ak_err err;
    cr_assert(ak_backward_seeded(&c, y, th_rand(3, nq, -1, 1, 24), &err) == 0, "%s", err.msg);
    run_out o = {malloc(sizeof(float) * np), malloc(sizeof(float) * nq), malloc(sizeof(float) * nq),
                 malloc(sizeof(float) * nk), malloc(sizeof(float) * nk)};
    memcpy(o.p, p->data, sizeof(float) * np);
    memcpy(o.y, y->data, sizeof(float) * nq);
    memcpy(o.gq, q->grad, sizeof(float) * nq);
    memcpy(o.gk, k->grad, sizeof(float) * nk);
    memcpy(o.gv, v->grad, sizeof(float) * nk);
    ak_ctx_free(&c);
    return o;
}

static void free_out(run_out *o)
{
    free(o->p);
    free(o->y);
    free(o->gq);
    free(o->gk);
    free(o->gv);
}

static void expect_same(const run_out *a, const run_out *b, const char *what)
{
    const size_t nq = RB * RQ * RD, nk = RB * RK * RD, np = RB * RH * RQ * RK;
    cr_expect(memcmp(a->p, b->p, sizeof(float) * np) == 0, "%s: probabilities differ", what);
    cr_expect(memcmp(a->y, b->y, sizeof(float) * nq) == 0, "%s: context differs", what);
    cr_expect(memcmp(a->gq, b->gq, sizeof(float) * nq) == 0, "%s: q gradient differs", what);
    cr_expect(memcmp(a->gk, b->gk, sizeof(float) * nk) == 0, "%s: k gradient differs", what);
    cr_expect(memcmp(a->gv, b->gv, sizeof(float) * nk) == 0, "%s: v gradient differs", what);
}

/* On the GEMM's FMA paths the fused ops do the same operations as the
 * composition with permute copies (sdpa.h): same bits, values and
 * gradients, dropout included. */
Test(ops_sdpa, bitwise_equal_to_composition_with_copies)
{
    static const char *const isas[] = {"avx512", "avx2"};
    int ran = 0;
    for (int i = 0; i < 2; i++) {
        if (ak_sgemm_force_isa(isas[i]) != 0)
            continue;
        run_out f = run_attention(1, 2), r = run_attention(0, 2);
        expect_same(&f, &r, isas[i]);
        free_out(&f);
        free_out(&r);
        ran++;
    }
    ak_sgemm_force_isa(NULL);
    if (!ran)
        cr_skip_test("no FMA path of the GEMM on this CPU");
}

Test(ops_sdpa, bitwise_equal_for_1_2_4_threads)
{
    cr_assert((double)RB * RH * RQ * RK * (RD / RH) >= AK_PAR_MIN, "shape too small to run threaded");
    run_out one = run_attention(1, 1);
    for (int t = 2; t <= 4; t += 2) {
        run_out o = run_attention(1, t);
        char what[32];
        snprintf(what, sizeof what, "%d threads", t);
        expect_same(&one, &o, what);
        free_out(&o);
    }
    free_out(&one);
    ak_set_threads(2);
}

/* ---- errors --------------------------------------------------------------- */

Test(ops_sdpa, bad_shapes_fail_with_messages)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *q = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 8)), *k = ak_tensor_zeros(&c, 3, ak_shape(2, 4, 6));
    cr_assert_null(ak_sdpa_probs(&c, q, k, 2, NULL, 1.0f));
    cr_expect_str_eq(c.err.msg,
                     "sdpa_probs: expected q [B, Lq, d] and k [B, Lk, d] with 2 heads dividing d, got q [2, 3, 8] "
                     "and k [2, 4, 6]");
    ak_ctx_end_step(&c);
    k = ak_tensor_zeros(&c, 3, ak_shape(2, 4, 8));
    cr_assert_null(ak_sdpa_probs(&c, q, k, 3, NULL, 1.0f));
    ak_ctx_end_step(&c);
    q = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 8));
    k = ak_tensor_zeros(&c, 3, ak_shape(2, 4, 8));
    cr_assert_null(ak_sdpa_probs(&c, q, k, 2, ak_tensor_zeros(&c, 2, ak_shape(3, 5)), 1.0f));
    cr_expect_str_eq(c.err.msg, "sdpa_probs: mask [3, 5] does not broadcast to the scores [2, 2, 3, 4]");
    ak_ctx_end_step(&c);
    ak_tensor *p = ak_tensor_zeros(&c, 4, ak_shape(2, 2, 3, 4)), *v = ak_tensor_zeros(&c, 3, ak_shape(2, 5, 8));
    cr_assert_null(ak_sdpa_context(&c, p, v));
    cr_expect_str_eq(c.err.msg, "sdpa_context: expected p [B, H, Lq, Lk] and v [B, Lk, d] with H dividing d, got p "
                                "[2, 2, 3, 4] and v [2, 5, 8]");
    ak_ctx_end_step(&c);
    cr_assert_null(ak_sdpa_context(&c, NULL, NULL));
    cr_expect(!ak_ctx_failed(&c), "a NULL input is not a new failure");
    ak_ctx_free(&c);
}
