#include "helpers.h"
#include "core/threads.h"
#include "ops/ops.h"

#include <math.h>
#include <string.h>

typedef struct red_case {
    int mean, axis, keepdim;
} red_case;

static ak_tensor *f_reduce(ak_ctx *c, ak_tensor *const *in, void *u)
{
    const red_case *r = u;
    return (r->mean ? ak_mean : ak_sum)(c, in[0], r->axis, r->keepdim);
}

static ak_tensor *f_sum_all(ak_ctx *c, ak_tensor *const *in, void *u) { (void)u; return ak_sum_all(c, in[0]); }
static ak_tensor *f_mean_all(ak_ctx *c, ak_tensor *const *in, void *u) { (void)u; return ak_mean_all(c, in[0]); }

Test(ops_reduce, gradients_every_axis_keepdim_both_ways)
{
    ak_gc_input in = th_in(th_rand(0, 24, -1, 1, 1), 3, ak_shape(2, 3, 4), 1);
    /* -1 as well as 2: negative axes count from the end. */
    const int axes[] = {0, 1, 2, -1};
    for (int mean = 0; mean < 2; mean++)
        for (int a = 0; a < 4; a++)
            for (int keep = 0; keep < 2; keep++) {
                red_case rc = {mean, axes[a], keep};
                th_check_gradients(f_reduce, &rc, 1, &in, TH_GC_OPTS);
            }
}

Test(ops_reduce, gradients_all)
{
    ak_gc_input in = th_in(th_rand(0, 24, -1, 1, 2), 3, ak_shape(2, 3, 4), 1);
    th_check_gradients(f_sum_all, NULL, 1, &in, TH_GC_OPTS);
    th_check_gradients(f_mean_all, NULL, 1, &in, TH_GC_OPTS);
}

Test(ops_reduce, output_shapes)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 4));
    char s[64];
    cr_expect_str_eq(ak_shape_str(ak_sum(&c, x, 1, 0), s, sizeof s), "[2, 4]");
    cr_expect_str_eq(ak_shape_str(ak_sum(&c, x, 1, 1), s, sizeof s), "[2, 1, 4]");
    cr_expect_str_eq(ak_shape_str(ak_mean(&c, x, -1, 0), s, sizeof s), "[2, 3]");
    cr_expect_str_eq(ak_shape_str(ak_mean(&c, x, -3, 1), s, sizeof s), "[1, 3, 4]");
    ak_tensor *v = ak_tensor_zeros(&c, 1, ak_shape(5));
    ak_tensor *s0 = ak_sum(&c, v, 0, 0);
    cr_expect(s0->ndim == 0 && s0->size == 1);
    ak_tensor *all = ak_mean_all(&c, x);
    cr_expect(all->ndim == 0 && all->size == 1);
    ak_ctx_free(&c);
}

/* sum over `ax` of x [d0, d1, d2], in double. */
static void ref_sum(const float *x, const int64_t *d, int ax, double *out)
{
    const int64_t n = d[0] * d[1] * d[2], st[3] = {d[1] * d[2], d[2], 1};
    int64_t osz = n / d[ax];
    memset(out, 0, sizeof(double) * (size_t)osz);
    for (int64_t i = 0; i < n; i++) {
        const int64_t idx[3] = {i / st[0], i / st[1] % d[1], i % d[2]};
        int64_t o = 0;
        for (int k = 0; k < 3; k++)
            if (k != ax)
                o = o * d[k] + idx[k];
        out[o] += x[i];
    }
}

Test(ops_reduce, values_match_double_reference)
{
    /* inner sizes around the 64-column task blocks, one axis long enough to
     * parallelize (3 * 70 * 130 > AK_PAR_MIN). */
    static const int64_t shapes[2][3] = {{3, 70, 130}, {5, 2, 64}};
    static double want[3 * 70 * 130];
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    for (int s = 0; s < 2; s++) {
        const int64_t *d = shapes[s];
        int64_t n = d[0] * d[1] * d[2];
        ak_tensor *x = ak_tensor_from(&c, 3, d, th_rand(0, n, -1, 1, 3), 0);
        for (int ax = 0; ax < 3; ax++) {
            ref_sum(x->data, d, ax, want);
            ak_tensor *ys = ak_sum(&c, x, ax, 0), *ym = ak_mean(&c, x, ax, 1);
            cr_assert(ys && ym && ys->size == n / d[ax] && ym->size == ys->size);
            for (int64_t i = 0; i < ys->size; i++) {
                /* Summed in double, rounded once. */
                cr_assert(fabs(ys->data[i] - want[i]) <= 1e-7 * (1 + fabs(want[i])),
                          "shape %d axis %d [%lld]: %.9g vs %.9g", s, ax, (long long)i, ys->data[i], want[i]);
                double wm = want[i] / (double)d[ax];
                cr_assert(fabs(ym->data[i] - wm) <= 1e-7 * (1 + fabs(wm)));
            }
        }
        double all = 0;
        for (int64_t i = 0; i < n; i++)
            all += x->data[i];
        cr_expect(fabs(ak_sum_all(&c, x)->data[0] - all) <= 1e-7 * (1 + fabs(all)));
        cr_expect(fabs(ak_mean_all(&c, x)->data[0] - all / (double)n) <= 1e-7);
    }
    ak_ctx_free(&c);
}

Test(ops_reduce, mean_gradient_is_one_over_n)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 2, ak_shape(2, 4), (float[]){1, 2, 3, 4, 5, 6, 7, 8}, 1);
    ak_tensor *y = ak_mean(&c, x, 1, 0);
    cr_assert(y->data[0] == 2.5f && y->data[1] == 6.5f);
    ak_err err;
    cr_assert_eq(ak_backward_seeded(&c, y, (float[]){1, -2}, &err), 0, "%s", err.msg);
    const float want[] = {0.25f, 0.25f, 0.25f, 0.25f, -0.5f, -0.5f, -0.5f, -0.5f};
    for (int i = 0; i < 8; i++)
        cr_expect_eq(x->grad[i], want[i]);
    ak_ctx_free(&c);
}

Test(ops_reduce, bad_axis_fails_with_message)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 4));
    cr_assert_null(ak_sum(&c, x, 3, 0));
    cr_expect_str_eq(c.err.msg, "sum: axis 3 out of range for shape [2, 3, 4]");
    ak_ctx_end_step(&c);
    x = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 4));
    cr_assert_null(ak_mean(&c, x, -4, 1));
    cr_expect_str_eq(c.err.msg, "mean: axis -4 out of range for shape [2, 3, 4]");
    cr_expect_null(ak_sum_all(&c, NULL));
    cr_expect_str_eq(c.err.msg, "mean: axis -4 out of range for shape [2, 3, 4]");
    ak_ctx_free(&c);
}

/* Forward and backward of every reduction on sizes that parallelize. */
static void run_at(int threads, float *out, int64_t n_out)
{
    ak_set_threads(threads);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 3, ak_shape(40, 30, 50), th_rand(0, 60000, -1, 1, 4), 1);
    ak_tensor *parts[5] = {ak_sum(&c, x, 0, 0), ak_sum(&c, x, 1, 1), ak_mean(&c, x, 2, 0), ak_sum_all(&c, x),
                           ak_mean_all(&c, x)};
    int64_t k = 0;
    for (int p = 0; p < 5; p++) {
        memcpy(out + k, parts[p]->data, sizeof(float) * (size_t)parts[p]->size);
        k += parts[p]->size;
    }
    /* One backward through all five: seed each with its own values. */
    ak_tensor *flat[5];
    for (int p = 0; p < 5; p++)
        flat[p] = ak_reshape(&c, parts[p], 1, ak_shape(-1));
    ak_tensor *y = ak_concat(&c, flat, 5, 0);
    cr_assert(y && k + x->size == n_out, "%s", c.err.msg);
    ak_err err;
    cr_assert_eq(ak_backward_seeded(&c, y, th_rand(1, y->size, -1, 1, 5), &err), 0, "%s", err.msg);
    memcpy(out + k, x->grad, sizeof(float) * (size_t)x->size);
    ak_ctx_free(&c);
}

Test(ops_reduce, bitwise_equal_at_1_2_4_threads)
{
    enum { N = 30 * 50 + 40 * 50 + 40 * 30 + 2 + 60000 };
    static float r[3][N];
    run_at(1, r[0], N);
    run_at(2, r[1], N);
    run_at(4, r[2], N);
    cr_expect(memcmp(r[0], r[1], sizeof r[0]) == 0, "2 threads differ");
    cr_expect(memcmp(r[0], r[2], sizeof r[0]) == 0, "4 threads differ");
}
