#include "helpers.h"
#include "ops/ops.h"

#include <string.h>

static void expect_fail(ak_ctx *c, ak_tensor *y, const char *msg)
{
    cr_assert_null(y);
    cr_assert(ak_ctx_failed(c));
    cr_expect_str_eq(c->err.msg, msg);
    ak_ctx_end_step(c);
}

/* ---- reshape ----------------------------------------------------------- */

/* reshape [2, 3, 4] -> [6, -1], then multiply by a fixed [4] row so the
 * gradient depends on the position after the reshape. */
static ak_tensor *f_reshape_mul(ak_ctx *c, ak_tensor *const *in, void *u)
{
    (void)u;
    ak_tensor *y = ak_reshape(c, in[0], 2, ak_shape(6, -1));
    return ak_mul(c, y, in[1]);
}

Test(ops_shape, reshape_then_op_gradient)
{
    ak_gc_input in[2] = {th_in(th_rand(0, 24, -1, 1, 1), 3, ak_shape(2, 3, 4), 1),
                         th_in(th_rand(1, 4, -1, 1, 2), 1, ak_shape(4), 0)};
    th_check_gradients(f_reshape_mul, NULL, 2, in, TH_GC_OPTS);
}

Test(ops_shape, reshape_is_a_view_sharing_the_gradient_buffer)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 2, ak_shape(2, 3), (float[]){1, 2, 3, 4, 5, 6}, 1);
    ak_tensor *y = ak_reshape(&c, x, 3, ak_shape(-1, 1, 2));
    cr_assert(y && y->ndim == 3 && y->shape[0] == 3 && y->shape[1] == 1 && y->shape[2] == 2 && y->size == 6);
    cr_expect(y->data == x->data);
    cr_expect_str_eq(y->node->op, "reshape");
    ak_err err;
    const float seed[] = {1, 2, 3, 4, 5, 6};
    cr_assert_eq(ak_backward_seeded(&c, y, seed, &err), 0, "%s", err.msg);
    /* The view's gradient was x's buffer; once the reshape node has run
     * the view lets go of it (intermediate gradients are recycled). */
    cr_assert(x->grad && !y->grad);
    for (int i = 0; i < 6; i++)
        cr_expect_eq(x->grad[i], seed[i]);
    /* To 0-d and back. */
    ak_tensor *s = ak_reshape(&c, ak_tensor_zeros(&c, 1, ak_shape(1)), 0, NULL);
    cr_expect(s && s->ndim == 0 && s->size == 1);
    ak_ctx_free(&c);
}

Test(ops_shape, reshape_errors_name_both_shapes)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_zeros(&c, 2, ak_shape(2, 3));
    expect_fail(&c, ak_reshape(&c, x, 2, ak_shape(4, 2)), "reshape: cannot view [2, 3] (6 elements) as [4, 2]");
    x = ak_tensor_zeros(&c, 2, ak_shape(2, 3));
    expect_fail(&c, ak_reshape(&c, x, 2, ak_shape(4, -1)), "reshape: cannot view [2, 3] (6 elements) as [4, -1]");
    x = ak_tensor_zeros(&c, 2, ak_shape(2, 3));
    expect_fail(&c, ak_reshape(&c, x, 3, ak_shape(0, 2, -1)),
                "reshape: cannot view [2, 3] (6 elements) as [0, 2, -1]");
    x = ak_tensor_zeros(&c, 2, ak_shape(2, 3));
    expect_fail(&c, ak_reshape(&c, x, 2, ak_shape(-1, -1)),
                "reshape: bad target shape [-1, -1] (at most one -1, other dimensions >= 0)");
    x = ak_tensor_zeros(&c, 2, ak_shape(2, 3));
    expect_fail(&c, ak_reshape(&c, x, 5, ak_shape(1, 1, 1, 2, 3)), "reshape: expected 0 to 4 dimensions, got 5");
    ak_ctx_free(&c);
}

/* ---- permute / transpose ----------------------------------------------- */

static const int PERM4[4] = {2, 0, 3, 1};

static ak_tensor *f_permute(ak_ctx *c, ak_tensor *const *in, void *u)
{
    (void)u;
    return ak_permute(c, in[0], PERM4);
}

static ak_tensor *f_transpose(ak_ctx *c, ak_tensor *const *in, void *u)
{
    (void)u;
    return ak_transpose(c, in[0], -1, 0);
}

Test(ops_shape, permute_4d_gradient)
{
    ak_gc_input in = th_in(th_rand(0, 120, -1, 1, 3), 4, ak_shape(2, 3, 4, 5), 1);
    th_check_gradients(f_permute, NULL, 1, &in, TH_GC_OPTS);
}

Test(ops_shape, transpose_gradient)
{
    ak_gc_input in = th_in(th_rand(0, 24, -1, 1, 4), 3, ak_shape(2, 3, 4), 1);
    th_check_gradients(f_transpose, NULL, 1, &in, TH_GC_OPTS);
}

Test(ops_shape, permute_4d_values)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    /* Large enough to take the parallel path. */
    const int64_t d[4] = {4, 10, 30, 40};
    float *v = th_rand(0, 4 * 10 * 30 * 40, -1, 1, 5);
    ak_tensor *x = ak_tensor_from(&c, 4, d, v, 0);
    ak_tensor *y = ak_permute(&c, x, PERM4);
    cr_assert(y && y->shape[0] == 30 && y->shape[1] == 4 && y->shape[2] == 40 && y->shape[3] == 10);
    for (int64_t a = 0; a < 4; a++)
        for (int64_t b = 0; b < 10; b++)
            for (int64_t e = 0; e < 30; e++)
                for (int64_t f = 0; f < 40; f++) {
                    /* y[e][a][f][b] = x[a][b][e][f] */
                    float want = v[((a * 10 + b) * 30 + e) * 40 + f];
                    float got = y->data[((e * 4 + a) * 40 + f) * 10 + b];
                    cr_assert(got == want, "at (%lld,%lld,%lld,%lld)", (long long)a, (long long)b, (long long)e,
                              (long long)f);
                }
    ak_tensor *t = ak_transpose(&c, ak_tensor_from(&c, 2, ak_shape(2, 3), (float[]){1, 2, 3, 4, 5, 6}, 0), 0, 1);
    const float want[] = {1, 4, 2, 5, 3, 6};
    cr_assert(t && t->shape[0] == 3 && t->shape[1] == 2);
    for (int i = 0; i < 6; i++)
        cr_expect_eq(t->data[i], want[i]);
    ak_ctx_free(&c);
}

Test(ops_shape, permute_and_transpose_errors)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 4));
    expect_fail(&c, ak_permute(&c, x, (int[]){0, 0, 1}),
                "permute: (0, 0, 1) is not a permutation of the axes of [2, 3, 4]");
    x = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 4));
    expect_fail(&c, ak_permute(&c, x, (int[]){0, 3, 1}),
                "permute: (0, 3, 1) is not a permutation of the axes of [2, 3, 4]");
    x = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 4));
    expect_fail(&c, ak_transpose(&c, x, 0, 3), "transpose: axes 0 and 3 out of range for shape [2, 3, 4]");
    ak_ctx_free(&c);
}

/* ---- concat ------------------------------------------------------------ */

static ak_tensor *f_concat5(ak_ctx *c, ak_tensor *const *in, void *u)
{
    (void)u;
    return ak_concat(c, in, 5, 1);
}

/* Five inputs: the fifth lands in node->more. */
Test(ops_shape, concat_five_on_middle_axis_gradient)
{
    const int64_t len[5] = {1, 2, 3, 1, 2};
    ak_gc_input in[5];
    for (int i = 0; i < 5; i++)
        in[i] = th_in(th_rand(i, 2 * len[i] * 3, -1, 1, 10 + (uint64_t)i), 3, ak_shape(2, len[i], 3), 1);
    /* One input without gradient: its slot must be skipped, not written. */
    in[2].requires_grad = 0;
    th_check_gradients(f_concat5, NULL, 5, in, TH_GC_OPTS);
}

Test(ops_shape, concat_values_every_axis)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *a = ak_tensor_from(&c, 2, ak_shape(2, 2), (float[]){1, 2, 3, 4}, 1);
    ak_tensor *b = ak_tensor_from(&c, 2, ak_shape(2, 1), (float[]){5, 6}, 1);
    ak_tensor *ab = ak_concat(&c, (ak_tensor *[]){a, b}, 2, -1);
    cr_assert(ab && ab->shape[0] == 2 && ab->shape[1] == 3);
    const float w1[] = {1, 2, 5, 3, 4, 6};
    for (int i = 0; i < 6; i++)
        cr_expect_eq(ab->data[i], w1[i]);
    ak_tensor *r = ak_tensor_from(&c, 2, ak_shape(1, 2), (float[]){7, 8}, 0);
    ak_tensor *ar = ak_concat(&c, (ak_tensor *[]){a, r, a}, 3, 0);
    cr_assert(ar && ar->shape[0] == 5 && ar->shape[1] == 2);
    const float w0[] = {1, 2, 3, 4, 7, 8, 1, 2, 3, 4};
    for (int i = 0; i < 10; i++)
        cr_expect_eq(ar->data[i], w0[i]);
    /* a appears twice: its gradient is the sum of both slices. */
    ak_err err;
    cr_assert_eq(ak_backward_seeded(&c, ar, (float[]){1, 2, 3, 4, 0, 0, 10, 20, 30, 40}, &err), 0, "%s", err.msg);
    const float ga[] = {11, 22, 33, 44};
    for (int i = 0; i < 4; i++)
        cr_expect_eq(a->grad[i], ga[i]);
    cr_expect_null(b->grad);
    ak_ctx_free(&c);
}

Test(ops_shape, concat_errors)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *a = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 4));
    ak_tensor *b = ak_tensor_zeros(&c, 3, ak_shape(2, 5, 3));
    expect_fail(&c, ak_concat(&c, (ak_tensor *[]){a, b}, 2, 1),
                "concat: input 1 has shape [2, 5, 3], input 0 has [2, 3, 4]: they must agree except along axis 1");
    a = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 4));
    b = ak_tensor_zeros(&c, 2, ak_shape(2, 3));
    expect_fail(&c, ak_concat(&c, (ak_tensor *[]){a, b}, 2, 0),
                "concat: input 1 has shape [2, 3], input 0 has [2, 3, 4]: they must agree except along axis 0");
    a = ak_tensor_zeros(&c, 3, ak_shape(2, 3, 4));
    expect_fail(&c, ak_concat(&c, (ak_tensor *[]){a}, 1, 3), "concat: axis 3 out of range for shape [2, 3, 4]");
    expect_fail(&c, ak_concat(&c, NULL, 0, 0), "concat: expected at least one input, got 0");
    a = ak_tensor_zeros(&c, 1, ak_shape(2));
    cr_expect_null(ak_concat(&c, (ak_tensor *[]){a, NULL}, 2, 0));
    cr_expect(!ak_ctx_failed(&c));
    ak_ctx_free(&c);
}

/* ---- slice ------------------------------------------------------------- */

typedef struct slice_case {
    int axis;
    int64_t start, len;
} slice_case;

static ak_tensor *f_slice(ak_ctx *c, ak_tensor *const *in, void *u)
{
    const slice_case *s = u;
    return ak_slice(c, in[0], s->axis, s->start, s->len);
}

Test(ops_shape, slice_gradient_each_axis)
{
    ak_gc_input in = th_in(th_rand(0, 60, -1, 1, 6), 3, ak_shape(3, 4, 5), 1);
    const slice_case cases[] = {{0, 1, 2}, {1, 1, 2}, {2, 2, 3}, {-1, 0, 1}};
    for (int i = 0; i < 4; i++)
        th_check_gradients(f_slice, (void *)&cases[i], 1, &in, TH_GC_OPTS);
}

Test(ops_shape, slice_values_each_axis)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    float v[24];
    for (int i = 0; i < 24; i++)
        v[i] = (float)i;
    ak_tensor *x = ak_tensor_from(&c, 3, ak_shape(2, 3, 4), v, 0);
    ak_tensor *s0 = ak_slice(&c, x, 0, 1, 1), *s1 = ak_slice(&c, x, 1, 2, 1), *s2 = ak_slice(&c, x, 2, 1, 2);
    cr_assert(s0 && s0->shape[0] == 1 && s0->size == 12);
    for (int i = 0; i < 12; i++)
        cr_expect_eq(s0->data[i], 12.0f + (float)i);
    cr_assert(s1 && s1->shape[1] == 1 && s1->size == 8);
    const float w1[] = {8, 9, 10, 11, 20, 21, 22, 23};
    for (int i = 0; i < 8; i++)
        cr_expect_eq(s1->data[i], w1[i]);
    cr_assert(s2 && s2->shape[2] == 2 && s2->size == 12);
    for (int r = 0; r < 6; r++)
        cr_expect(s2->data[2 * r] == (float)(4 * r + 1) && s2->data[2 * r + 1] == (float)(4 * r + 2));
    ak_tensor *e = ak_slice(&c, x, 1, 3, 0);
    cr_expect(e && e->size == 0 && e->shape[1] == 0);
    ak_ctx_free(&c);
}

Test(ops_shape, slice_errors)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_zeros(&c, 2, ak_shape(2, 4));
    expect_fail(&c, ak_slice(&c, x, 1, 2, 3),
                "slice: start 2, len 3 out of range for axis 1 (size 4) of shape [2, 4]");
    x = ak_tensor_zeros(&c, 2, ak_shape(2, 4));
    expect_fail(&c, ak_slice(&c, x, 0, -1, 1),
                "slice: start -1, len 1 out of range for axis 0 (size 2) of shape [2, 4]");
    x = ak_tensor_zeros(&c, 2, ak_shape(2, 4));
    expect_fail(&c, ak_slice(&c, x, 2, 0, 1), "slice: axis 2 out of range for shape [2, 4]");
    ak_ctx_free(&c);
}

/* ---- detach ------------------------------------------------------------ */

Test(ops_shape, detach_shares_data_and_stops_gradient)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 1, ak_shape(3), (float[]){1, 2, 3}, 1);
    ak_tensor *d = ak_detach(&c, x);
    cr_assert(d && d->data == x->data && !d->node && !d->requires_grad && !d->grad && ak_same_shape(d, x));
    /* y = detach(x) * x: dy/dx = detach(x) only (not 2x). */
    ak_tensor *y = ak_mul(&c, d, x);
    ak_err err;
    cr_assert_eq(ak_backward_seeded(&c, y, (float[]){1, 1, 1}, &err), 0, "%s", err.msg);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(x->grad[i], (float)(i + 1));
    cr_expect_null(d->grad);
    ak_ctx_free(&c);
}
