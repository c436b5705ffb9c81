#include "helpers.h"
#include "core/threads.h"
#include "ops/ops.h"

#include <math.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------- */

typedef struct mm_case {
    int ta, tb;
} mm_case;

static ak_tensor *f_matmul(ak_ctx *c, ak_tensor *const *in, void *u)
{
    const mm_case *m = u;
    return ak_matmul(c, in[0], in[1], m->ta, m->tb);
}

/* Stored shape of an operand whose op() is rows x cols: [batch..., rows, cols]
 * or, transposed, [batch..., cols, rows]. */
static int stored_shape(int nbatch, const int64_t *batch, int64_t rows, int64_t cols, int t, int64_t *shape)
{
    for (int i = 0; i < nbatch; i++)
        shape[i] = batch[i];
    shape[nbatch] = t ? cols : rows;
    shape[nbatch + 1] = t ? rows : cols;
    return nbatch + 2;
}

static int64_t prod(const int64_t *v, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= v[i];
    return p;
}

/* Gradient check of op(a) op(b) for all four (ta, tb): a has batch dims
 * `batch` (nbatch of them), b has them too unless b_shared (then b is 2-D). */
static void check_matmul_grads(int nbatch, const int64_t *batch, int b_shared)
{
    const int64_t M = 3, K = 4, N = 5;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int64_t sa[4], sb[4];
            int nda = stored_shape(nbatch, batch, M, K, ta, sa);
            int ndb = stored_shape(b_shared ? 0 : nbatch, batch, K, N, tb, sb);
            ak_gc_input in[2] = {th_in(th_rand(0, prod(sa, nda), -1, 1, 11), nda, sa, 1),
                                 th_in(th_rand(1, prod(sb, ndb), -1, 1, 12), ndb, sb, 1)};
            mm_case mc = {ta, tb};
            /* Bilinear: central differences are exact up to float rounding. */
            th_check_gradients(f_matmul, &mc, 2, in, TH_GC_OPTS);
        }
}

/* ---- gradients --------------------------------------------------------- */

Test(ops_matmul, gradients_2d_every_transpose) { check_matmul_grads(0, NULL, 0); }

Test(ops_matmul, gradients_3d_batched_every_transpose) { check_matmul_grads(1, ak_shape(2), 0); }

Test(ops_matmul, gradients_4d_batched_every_transpose) { check_matmul_grads(2, ak_shape(2, 3), 0); }

Test(ops_matmul, gradients_3d_a_shared_2d_b_every_transpose)
{
    /* ta = 0 folds a's batch into M; ta = 1 runs a batched GEMM with b's
     * stride 0 and sums b's gradient over the batch. */
    check_matmul_grads(1, ak_shape(3), 1);
}

Test(ops_matmul, gradients_4d_a_shared_2d_b_every_transpose) { check_matmul_grads(2, ak_shape(2, 2), 1); }

/* ---- values against a double-precision reference ------------------------ */

/* op(a)[i][k] of batch t, a stored with row length lda. */
static double opa(const float *a, int ta, int64_t M, int64_t K, int64_t t, int64_t i, int64_t k)
{
    return ta ? a[t * M * K + k * M + i] : a[t * M * K + i * K + k];
}

/* y, da, db of y = op(a) op(b) with upstream gradient dy, in double, by
 * definition; b of batch t is b + (shared ? 0 : t) * K * N. */
static void ref_matmul(const float *a, const float *b, const float *dy, int ta, int tb, int64_t batch, int shared,
                       int64_t M, int64_t N, int64_t K, double *y, double *da, double *db)
{
    memset(da, 0, sizeof(double) * (size_t)(batch * M * K));
    memset(db, 0, sizeof(double) * (size_t)((shared ? 1 : batch) * K * N));
    for (int64_t t = 0; t < batch; t++) {
        int64_t tbb = shared ? 0 : t;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0, g = dy[(t * M + i) * N + j];
                for (int64_t k = 0; k < K; k++) {
                    double av = opa(a, ta, M, K, t, i, k), bv = opa(b, tb, K, N, tbb, k, j);
                    s += av * bv;
                    /* d op(a)[i][k] = sum_j dy[i][j] op(b)[k][j], stored where op(a)[i][k] is. */
                    da[ta ? t * M * K + k * M + i : t * M * K + i * K + k] += g * bv;
                    db[tb ? tbb * K * N + j * K + k : tbb * K * N + k * N + j] += g * av;
                }
                y[(t * M + i) * N + j] = s;
            }
    }
}

static void expect_close(const float *got, const double *want, int64_t n, double tol, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        cr_assert(fabs(got[i] - want[i]) <= tol * (1 + fabs(want[i])), "%s[%lld]: got %.9g, want %.9g", what,
                  (long long)i, got[i], want[i]);
}

/* Sizes that are not multiples of any micro-tile and span more than one K
 * block edge case: forward and both gradients for every (ta, tb), batched
 * and shared-b. */
static void check_matmul_values(int shared)
{
    const int64_t B = 3, M = 37, N = 29, K = 53;
    static double y_ref[3 * 37 * 29], da_ref[3 * 37 * 53], db_ref[3 * 53 * 29];
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            ak_ctx c;
            ak_ctx_init(&c, 0, 1);
            int64_t sa[3], sb[3];
            int nda = stored_shape(1, ak_shape(B), M, K, ta, sa);
            int ndb = stored_shape(shared ? 0 : 1, ak_shape(B), K, N, tb, sb);
            ak_tensor *a = ak_tensor_from(&c, nda, sa, th_rand(0, prod(sa, nda), -1, 1, 21), 1);
            ak_tensor *b = ak_tensor_from(&c, ndb, sb, th_rand(1, prod(sb, ndb), -1, 1, 22), 1);
            const float *dy = th_rand(2, B * M * N, -1, 1, 23);
            ak_tensor *y = ak_matmul(&c, a, b, ta, tb);
            cr_assert(y, "%s", c.err.msg);
            cr_assert(y->ndim == 3 && y->shape[0] == B && y->shape[1] == M && y->shape[2] == N);
            ak_err err;
            cr_assert_eq(ak_backward_seeded(&c, y, dy, &err), 0, "%s", err.msg);
            ref_matmul(a->data, b->data, dy, ta, tb, B, shared, M, N, K, y_ref, da_ref, db_ref);
            /* float32 dot products of length <= 53 * 3 with terms of order 1. */
            expect_close(y->data, y_ref, B * M * N, 1e-5, "y");
            expect_close(a->grad, da_ref, a->size, 1e-5, "da");
            expect_close(b->grad, db_ref, b->size, 1e-5, "db");
            ak_ctx_free(&c);
        }
}

Test(ops_matmul, values_batched_match_double_reference) { check_matmul_values(0); }

Test(ops_matmul, values_shared_b_match_double_reference) { check_matmul_values(1); }

Test(ops_matmul, small_values_by_hand)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    /* a [2,3] = [[1,2,3],[4,5,6]], b^T with b [2,3] = [[1,0,1],[0,1,0]] */
    ak_tensor *a = ak_tensor_from(&c, 2, ak_shape(2, 3), (float[]){1, 2, 3, 4, 5, 6}, 0);
    ak_tensor *b = ak_tensor_from(&c, 2, ak_shape(2, 3), (float[]){1, 0, 1, 0, 1, 0}, 0);
    ak_tensor *y = ak_matmul(&c, a, b, 0, 1);
    cr_assert(y && y->ndim == 2 && y->shape[0] == 2 && y->shape[1] == 2);
    const float want[] = {4, 2, 10, 5};
    for (int i = 0; i < 4; i++)
        cr_expect_eq(y->data[i], want[i]);
    ak_ctx_free(&c);
}

Test(ops_matmul, empty_inner_dimension_gives_zeros)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *a = ak_tensor_zeros(&c, 2, ak_shape(2, 0));
    ak_tensor *b = ak_tensor_zeros(&c, 2, ak_shape(0, 3));
    a->requires_grad = b->requires_grad = 1;
    ak_tensor *y = ak_matmul(&c, a, b, 0, 0);
    cr_assert(y && y->shape[0] == 2 && y->shape[1] == 3, "%s", c.err.msg);
    for (int i = 0; i < 6; i++)
        cr_expect_eq(y->data[i], 0.0f);
    ak_err err;
    cr_expect_eq(ak_backward_seeded(&c, y, (float[]){1, 2, 3, 4, 5, 6}, &err), 0, "%s", err.msg);
    ak_tensor *e = ak_matmul(&c, ak_tensor_zeros(&c, 2, ak_shape(0, 3)), ak_tensor_zeros(&c, 2, ak_shape(3, 2)), 0, 0);
    cr_expect(e && e->size == 0 && e->shape[0] == 0 && e->shape[1] == 2);
    ak_ctx_free(&c);
}

/* ---- linear ------------------------------------------------------------ */

static ak_tensor *f_linear(ak_ctx *c, ak_tensor *const *in, void *u) /* u != NULL: with bias */
{
    return ak_linear(c, in[0], in[1], u ? in[2] : NULL);
}

Test(ops_matmul, linear_gradients_3d_x_with_bias)
{
    ak_gc_input in[3] = {th_in(th_rand(0, 24, -1, 1, 31), 3, ak_shape(2, 3, 4), 1),
                         th_in(th_rand(1, 20, -1, 1, 32), 2, ak_shape(5, 4), 1),
                         th_in(th_rand(2, 5, -1, 1, 33), 1, ak_shape(5), 1)};
    th_check_gradients(f_linear, (void *)1, 3, in, TH_GC_OPTS);
}

Test(ops_matmul, linear_gradients_3d_x_without_bias)
{
    ak_gc_input in[2] = {th_in(th_rand(0, 24, -1, 1, 34), 3, ak_shape(2, 3, 4), 1),
                         th_in(th_rand(1, 20, -1, 1, 35), 2, ak_shape(5, 4), 1)};
    th_check_gradients(f_linear, NULL, 2, in, TH_GC_OPTS);
}

/* y, dx, dw, dbias of linear by definition, in double. */
static void ref_linear(const float *x, const float *w, const float *bias, const float *dy, int64_t rows, int64_t in,
                       int64_t out, double *y, double *dx, double *dw, double *dbias)
{
    memset(dx, 0, sizeof(double) * (size_t)(rows * in));
    memset(dw, 0, sizeof(double) * (size_t)(out * in));
    memset(dbias, 0, sizeof(double) * (size_t)out);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t o = 0; o < out; o++) {
            double s = bias ? bias[o] : 0, g = dy[r * out + o];
            for (int64_t i = 0; i < in; i++) {
                s += (double)x[r * in + i] * w[o * in + i];
                dx[r * in + i] += g * w[o * in + i];
                dw[o * in + i] += g * x[r * in + i];
            }
            dbias[o] += g;
            y[r * out + o] = s;
        }
}

Test(ops_matmul, linear_values_match_double_reference_and_param_grads_accumulate)
{
    enum { R = 2 * 19, IN = 41, OUT = 23 };
    static double y_ref[R * OUT], dx_ref[R * IN], dw_ref[OUT * IN], db_ref[OUT];
    static float gw[OUT * IN], gb[OUT];
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 3, ak_shape(2, 19, IN), th_rand(0, R * IN, -1, 1, 41), 1);
    ak_tensor *w = ak_tensor_from(&c, 2, ak_shape(OUT, IN), th_rand(1, OUT * IN, -1, 1, 42), 1);
    ak_tensor *bias = ak_tensor_from(&c, 1, ak_shape(OUT), th_rand(2, OUT, -1, 1, 43), 1);
    /* Parameter-style persistent grads holding a previous step's values:
     * backward must add to them (beta = 1), not overwrite. */
    const float *prev = th_rand(3, OUT * IN, -1, 1, 44);
    memcpy(gw, prev, sizeof gw);
    for (int i = 0; i < OUT; i++)
        gb[i] = 0.5f * (float)i;
    w->grad = gw;
    bias->grad = gb;
    const float *dy = th_rand(4, R * OUT, -1, 1, 45);
    ak_tensor *y = ak_linear(&c, x, w, bias);
    cr_assert(y && y->ndim == 3 && y->shape[0] == 2 && y->shape[1] == 19 && y->shape[2] == OUT);
    ak_err err;
    cr_assert_eq(ak_backward_seeded(&c, y, dy, &err), 0, "%s", err.msg);
    ref_linear(x->data, w->data, bias->data, dy, R, IN, OUT, y_ref, dx_ref, dw_ref, db_ref);
    for (int i = 0; i < OUT * IN; i++)
        dw_ref[i] += prev[i];
    for (int i = 0; i < OUT; i++)
        db_ref[i] += 0.5 * i;
    expect_close(y->data, y_ref, R * OUT, 1e-5, "y");
    expect_close(x->grad, dx_ref, R * IN, 1e-5, "dx");
    expect_close(gw, dw_ref, OUT * IN, 1e-5, "dw");
    expect_close(gb, db_ref, OUT, 1e-5, "dbias");
    ak_ctx_free(&c);
}

/* dbias is, bit for bit, each column of dy summed in double in row order and
 * rounded once, added to the grad already there: the vectorised column sums
 * keep that order (dy mixes magnitudes so that the double sums round, and the
 * widths cross the 64-column blocks and the vector widths). */
Test(ops_matmul, linear_bias_grad_is_row_order_double_sum_bitwise)
{
    static const int64_t outs[] = {1, 7, 16, 63, 64, 65, 130};
    for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++) {
        const int64_t R = 37, IN = 3, OUT = outs[k];
        ak_ctx c;
        ak_ctx_init(&c, 0, 1);
        ak_tensor *x = ak_tensor_from(&c, 2, ak_shape(R, IN), th_rand(0, R * IN, -1, 1, 60), 0);
        ak_tensor *w = ak_tensor_from(&c, 2, ak_shape(OUT, IN), th_rand(1, OUT * IN, -1, 1, 61), 0);
        ak_tensor *bias = ak_tensor_from(&c, 1, ak_shape(OUT), th_rand(2, OUT, -1, 1, 62), 1);
        float gb[130], want[130];
        float *dy = th_rand(3, R * OUT, -1, 1, 63);
        for (int64_t i = 0; i < R * OUT; i++)
            dy[i] = ldexpf(dy[i], (int)(i * 7 % 41) - 30);
        for (int64_t j = 0; j < OUT; j++) {
            double s = 0;
            for (int64_t r = 0; r < R; r++)
                s += dy[r * OUT + j];
            gb[j] = 0.25f * (float)j;
            want[j] = gb[j] + (float)s;
        }
        bias->grad = gb;
        ak_tensor *y = ak_linear(&c, x, w, bias);
        ak_err err;
        cr_assert(y && ak_backward_seeded(&c, y, dy, &err) == 0, "%s", err.msg);
        cr_expect(memcmp(gb, want, sizeof(float) * (size_t)OUT) == 0, "out %lld: dbias differs", (long long)OUT);
        ak_ctx_free(&c);
    }
}

/* ---- errors ------------------------------------------------------------ */

static void expect_fail(ak_ctx *c, ak_tensor *y, const char *msg)
{
    cr_assert_null(y);
    cr_assert(ak_ctx_failed(c));
    cr_expect_str_eq(c->err.msg, msg);
    ak_ctx_end_step(c);
}

Test(ops_matmul, bad_shapes_fail_with_messages)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *a23 = ak_tensor_zeros(&c, 2, ak_shape(2, 3));
    ak_tensor *b45 = ak_tensor_zeros(&c, 2, ak_shape(4, 5));
    expect_fail(&c, ak_matmul(&c, a23, b45, 0, 0),
                "matmul: inner dimensions differ: a [2, 3] (ta=0), b [4, 5] (tb=0)");

    a23 = ak_tensor_zeros(&c, 2, ak_shape(2, 3));
    ak_tensor *b34 = ak_tensor_zeros(&c, 2, ak_shape(3, 4));
    /* a^T is 3 x 2: its inner dimension 2 meets b's 3. */
    expect_fail(&c, ak_matmul(&c, a23, b34, 1, 0),
                "matmul: inner dimensions differ: a [2, 3] (ta=1), b [3, 4] (tb=0)");

    ak_tensor *v = ak_tensor_zeros(&c, 1, ak_shape(3));
    b34 = ak_tensor_zeros(&c, 2, ak_shape(3, 4));
    expect_fail(&c, ak_matmul(&c, v, b34, 0, 0),
                "matmul: expected operands of at least 2 dimensions, got a [3] and b [3, 4]");

    ak_tensor *a = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 4));
    ak_tensor *b = ak_tensor_zeros(&c, 3, ak_shape(3, 4, 5));
    expect_fail(&c, ak_matmul(&c, a, b, 0, 0),
                "matmul: batch dimensions differ: a [2, 3, 4], b [3, 4, 5] (b must be 2-D or share a's leading "
                "dimensions)");

    /* A batched b against a 2-D a is not a supported broadcast. */
    a = ak_tensor_zeros(&c, 2, ak_shape(3, 4));
    b = ak_tensor_zeros(&c, 3, ak_shape(2, 4, 5));
    expect_fail(&c, ak_matmul(&c, a, b, 0, 0),
                "matmul: batch dimensions differ: a [3, 4], b [2, 4, 5] (b must be 2-D or share a's leading "
                "dimensions)");

    ak_tensor *x = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 4));
    ak_tensor *w = ak_tensor_zeros(&c, 2, ak_shape(5, 3));
    expect_fail(&c, ak_linear(&c, x, w, NULL),
                "linear: expected x [..., in] and w [out, in], got x [2, 3, 4] and w [5, 3]");

    x = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 4));
    w = ak_tensor_zeros(&c, 2, ak_shape(5, 4));
    ak_tensor *bias = ak_tensor_zeros(&c, 1, ak_shape(4));
    expect_fail(&c, ak_linear(&c, x, w, bias), "linear: expected bias [5] for w [5, 4], got bias [4]");

    /* A NULL input propagates without a message of its own. */
    cr_assert_null(ak_matmul(&c, NULL, b34, 0, 0));
    cr_assert_null(ak_linear(&c, NULL, w, NULL));
    cr_assert(!ak_ctx_failed(&c));
    ak_ctx_free(&c);
}

/* ---- thread-count invariance -------------------------------------------- */

enum { TB = 4, TM = 64, TK = 96, TN = 80, TIN = 128, TOUT = 192 };

typedef struct run_out {
    float y1[TB * TM * TN], y2[TB * TM * TOUT], y3[TB * TM * TN];
    float ga[TB * TM * TK], gb[TB * TK * TN], gbs[TN * TK], gx[TB * TM * TIN], gw[TOUT * TIN], gbias[TOUT];
} run_out;

/* Leaf [ndim, shape] with uniform values from `seed`. */
static ak_tensor *leaf(ak_ctx *c, int ndim, const int64_t *shape, uint64_t seed)
{
    ak_tensor t = {0};
    ak_tensor_set_shape(&t, ndim, shape);
    return ak_tensor_from(c, ndim, shape, th_rand(0, t.size, -1, 1, seed), 1);
}

static void backward_and_copy(ak_ctx *c, ak_tensor *y, float *yout, uint64_t seed)
{
    cr_assert(y, "%s", c->err.msg);
    ak_err err;
    cr_assert_eq(ak_backward_seeded(c, y, th_rand(1, y->size, -1, 1, seed), &err), 0, "%s", err.msg);
    memcpy(yout, y->data, sizeof(float) * (size_t)y->size);
}

/* Three separate steps (one backward each): matmul with a^T and a batched
 * b; with a^T and a shared 2-D b^T (the path that sums b's gradient over the
 * batch); linear with bias on 3-D x. */
static void run_at(int threads, run_out *o)
{
    ak_set_threads(threads);
    cr_assert_eq(ak_threads(), threads);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);

    ak_tensor *a = leaf(&c, 3, ak_shape(TB, TK, TM), 51), *b = leaf(&c, 3, ak_shape(TB, TK, TN), 52);
    backward_and_copy(&c, ak_matmul(&c, a, b, 1, 0), o->y1, 56);
    memcpy(o->ga, a->grad, sizeof o->ga);
    memcpy(o->gb, b->grad, sizeof o->gb);
    ak_ctx_end_step(&c);

    a = leaf(&c, 3, ak_shape(TB, TK, TM), 51);
    ak_tensor *bs = leaf(&c, 2, ak_shape(TN, TK), 58);
    backward_and_copy(&c, ak_matmul(&c, a, bs, 1, 1), o->y3, 59);
    memcpy(o->gbs, bs->grad, sizeof o->gbs);
    ak_ctx_end_step(&c);

    ak_tensor *x = leaf(&c, 3, ak_shape(TB, TM, TIN), 53), *w = leaf(&c, 2, ak_shape(TOUT, TIN), 54);
    ak_tensor *bias = leaf(&c, 1, ak_shape(TOUT), 55);
    backward_and_copy(&c, ak_linear(&c, x, w, bias), o->y2, 57);
    memcpy(o->gx, x->grad, sizeof o->gx);
    memcpy(o->gw, w->grad, sizeof o->gw);
    memcpy(o->gbias, bias->grad, sizeof o->gbias);
    ak_ctx_free(&c);
}

Test(ops_matmul, bitwise_equal_at_1_2_4_threads)
{
    static run_out r[3];
    const int threads[3] = {1, 2, 4};
    for (int i = 0; i < 3; i++)
        run_at(threads[i], &r[i]);
    /* Sanity: the runs computed something (not all zeros). */
    cr_assert(r[0].gbias[0] != 0.0f && r[0].y2[0] != 0.0f);
    for (int i = 1; i < 3; i++) {
        cr_expect(memcmp(r[0].y1, r[i].y1, sizeof r[0].y1) == 0, "matmul y differs at %d threads", threads[i]);
        cr_expect(memcmp(r[0].y2, r[i].y2, sizeof r[0].y2) == 0, "linear y differs at %d threads", threads[i]);
        cr_expect(memcmp(r[0].y3, r[i].y3, sizeof r[0].y3) == 0, "shared-b y differs at %d threads", threads[i]);
        cr_expect(memcmp(r[0].gbs, r[i].gbs, sizeof r[0].gbs) == 0, "shared db differs at %d threads", threads[i]);
        cr_expect(memcmp(r[0].ga, r[i].ga, sizeof r[0].ga) == 0, "da differs at %d threads", threads[i]);
        cr_expect(memcmp(r[0].gb, r[i].gb, sizeof r[0].gb) == 0, "db differs at %d threads", threads[i]);
        cr_expect(memcmp(r[0].gx, r[i].gx, sizeof r[0].gx) == 0, "dx differs at %d threads", threads[i]);
        cr_expect(memcmp(r[0].gw, r[i].gw, sizeof r[0].gw) == 0, "dw differs at %d threads", threads[i]);
        cr_expect(memcmp(r[0].gbias, r[i].gbias, sizeof r[0].gbias) == 0, "dbias differs at %d threads", threads[i]);
    }
}
