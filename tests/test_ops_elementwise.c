#include "helpers.h"
#include "ops/ops.h"

#include <math.h>

static ak_tensor *f_add(ak_ctx *c, ak_tensor *const *in, void *u) { (void)u; return ak_add(c, in[0], in[1]); }
static ak_tensor *f_sub(ak_ctx *c, ak_tensor *const *in, void *u) { (void)u; return ak_sub(c, in[0], in[1]); }
static ak_tensor *f_mul(ak_ctx *c, ak_tensor *const *in, void *u) { (void)u; return ak_mul(c, in[0], in[1]); }
static ak_tensor *f_div(ak_ctx *c, ak_tensor *const *in, void *u) { (void)u; return ak_div(c, in[0], in[1]); }
static ak_tensor *f_scale(ak_ctx *c, ak_tensor *const *in, void *u) { (void)u; return ak_scale(c, in[0], -1.5f); }

static const ak_gc_fn BINARY[] = {f_add, f_sub, f_mul, f_div};

/* Every binary op, with a gradient flowing into both operands. */
static void check_all(int nda, const int64_t *sa, int ndb, const int64_t *sb)
{
    ak_tensor ta = {0}, tb = {0};
    ak_tensor_set_shape(&ta, nda, sa);
    ak_tensor_set_shape(&tb, ndb, sb);
    /* b in [0.5, 1.5]: keeps div away from its pole. */
    ak_gc_input in[2] = {th_in(th_rand(0, ta.size, -1, 1, 1), nda, sa, 1),
                         th_in(th_rand(1, tb.size, 0.5f, 1.5f, 2), ndb, sb, 1)};
    for (int op = 0; op < 4; op++)
        th_check_gradients(BINARY[op], NULL, 2, in, TH_GC_OPTS);
}

Test(ops_elementwise, gradients_same_shape) { check_all(2, ak_shape(3, 4), 2, ak_shape(3, 4)); }

Test(ops_elementwise, gradients_broadcast_bias_row)
{
    check_all(3, ak_shape(2, 3, 5), 1, ak_shape(5));
}

Test(ops_elementwise, gradients_broadcast_both_sides)
{
    /* [2,1,4] with [3,1]: each operand is stretched along a different axis. */
    check_all(3, ak_shape(2, 1, 4), 2, ak_shape(3, 1));
}

Test(ops_elementwise, gradients_broadcast_4d_mask_like)
{
    check_all(4, ak_shape(2, 2, 3, 3), 4, ak_shape(2, 1, 1, 3));
}

Test(ops_elementwise, scale_gradient)
{
    ak_gc_input in = th_in(th_rand(0, 6, -1, 1, 3), 2, ak_shape(2, 3), 1);
    th_check_gradients(f_scale, NULL, 1, &in, TH_GC_OPTS);
}

Test(ops_elementwise, broadcast_values)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *a = ak_tensor_from(&c, 2, ak_shape(2, 3), (float[]){1, 2, 3, 4, 5, 6}, 0);
    ak_tensor *b = ak_tensor_from(&c, 2, ak_shape(2, 1), (float[]){10, 20}, 0);
    ak_tensor *y = ak_add(&c, a, b);
    cr_assert(y && y->ndim == 2 && y->shape[0] == 2 && y->shape[1] == 3);
    const float want[] = {11, 12, 13, 24, 25, 26};
    for (int i = 0; i < 6; i++)
        cr_expect_eq(y->data[i], want[i]);
    ak_ctx_free(&c);
}

Test(ops_elementwise, incompatible_shapes_fail_with_message)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *a = ak_tensor_zeros(&c, 2, ak_shape(2, 3));
    ak_tensor *b = ak_tensor_zeros(&c, 1, ak_shape(4));
    cr_assert_null(ak_mul(&c, a, b));
    cr_assert(ak_ctx_failed(&c));
    cr_expect_str_eq(c.err.msg, "mul: shapes [2, 3] and [4] do not broadcast");
    /* A failed input propagates NULL without replacing the first message. */
    cr_assert_null(ak_add(&c, NULL, a));
    cr_expect_str_eq(c.err.msg, "mul: shapes [2, 3] and [4] do not broadcast");
    ak_ctx_free(&c);
}
