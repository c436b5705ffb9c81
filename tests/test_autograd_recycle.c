/* Gradient buffers of intermediate tensors are recycled during backward
 * (autograd/tape.h, core/arena.h): the arena's size-class lists, what the
 * tape releases and what it keeps, and that recycling changes no result.
 * Also the arena's give-back pool (spans of any size). */
#include "helpers.h"

#include "core/params.h"
#include "ops/ops.h"

#include <string.h>

Test(core_arena, released_chunks_come_back_zeroed_for_the_same_size_only)
{
    ak_arena a;
    ak_arena_init(&a, 1 << 16);
    float *p = ak_arena_alloc(&a, 1000 * sizeof(float));
    for (int i = 0; i < 1000; i++)
        p[i] = 1.0f;
    ak_arena_release(&a, p, 1000 * sizeof(float));
    float *other = ak_arena_calloc_recycled(&a, 999 * sizeof(float) + 64); /* another class */
    cr_expect(other != p);
    float *q = ak_arena_calloc_recycled(&a, 1000 * sizeof(float));
    cr_expect(q == p, "the released chunk was not reused");
    for (int i = 0; i < 1000; i++)
        cr_expect_eq(q[i], 0.0f);
    /* Empty list: a fresh chunk. */
    float *r = ak_arena_calloc_recycled(&a, 1000 * sizeof(float));
    cr_expect(r != p && r != other);
    /* Reset forgets the lists (the memory is the bump region again). */
    ak_arena_release(&a, r, 1000 * sizeof(float));
    ak_arena_reset(&a);
    for (int i = 0; i < AK_ARENA_CLASSES; i++)
        cr_expect_null(a.free_head[i]);
    ak_arena_free(&a);
}

Test(core_arena, more_sizes_than_classes_are_dropped_not_corrupted)
{
    ak_arena a;
    ak_arena_init(&a, 1 << 20);
    void *ps[AK_ARENA_CLASSES + 4];
    for (int i = 0; i < AK_ARENA_CLASSES + 4; i++) {
        ps[i] = ak_arena_alloc(&a, (size_t)(i + 1) * 64);
        ak_arena_release(&a, ps[i], (size_t)(i + 1) * 64);
    }
    for (int i = 0; i < AK_ARENA_CLASSES + 4; i++) {
        void *q = ak_arena_calloc_recycled(&a, (size_t)(i + 1) * 64);
        if (i < AK_ARENA_CLASSES)
            cr_expect(q == ps[i], "size %d", (i + 1) * 64);
        else
            cr_expect(q != ps[i]);
    }
    ak_arena_free(&a);
}

Test(core_arena, given_back_spans_serve_the_best_fitting_later_allocation)
{
    ak_arena a;
    ak_arena_init(&a, 1 << 16);
    char *A = ak_arena_alloc(&a, 256), *B = ak_arena_alloc(&a, 64), *C = ak_arena_alloc(&a, 512);
    char *D = ak_arena_alloc(&a, 64), *E = ak_arena_alloc(&a, 64);
    cr_assert(B == A + 256 && C == B + 64 && D == C + 512 && E == D + 64);
    size_t used = a.used;
    ak_arena_give_back(&a, C, 512);
    ak_arena_give_back(&a, A, 200); /* rounded up to 256 as the allocation was */
    cr_expect_eq(a.pool_bytes, 768);
    cr_expect_eq(a.used, used, "spans below the bump pointer stay counted");
    /* 100 -> 128 bytes: A (256) fits better than C (512); its rest stays free. */
    char *x = ak_arena_alloc(&a, 100);
    cr_expect(x == A);
    cr_expect_eq(a.pool_bytes, 640);
    char *y = ak_arena_calloc(&a, 512);
    cr_expect(y == C, "the exact fit was not taken");
    for (int i = 0; i < 512; i++)
        cr_expect_eq(y[i], 0);
    cr_expect_eq(a.pool_bytes, 128);
    /* Nothing fits: the bump pointer moves. */
    char *z = ak_arena_alloc(&a, 1024);
    cr_expect(z == E + 64);
    cr_expect_eq(a.used, used + 1024);
    ak_arena_free(&a);
}

Test(core_arena, given_back_neighbours_merge_and_the_top_lowers_the_bump_pointer)
{
    ak_arena a;
    ak_arena_init(&a, 1 << 16);
    char *A = ak_arena_alloc(&a, 128), *B = ak_arena_alloc(&a, 64), *C = ak_arena_alloc(&a, 512);
    char *D = ak_arena_alloc(&a, 64), *E = ak_arena_alloc(&a, 64);
    size_t hw = a.high_water;
    /* Out of order; B, C and D merge into one span of 640 bytes. */
    ak_arena_give_back(&a, C, 512);
    ak_arena_give_back(&a, D, 64);
    ak_arena_give_back(&a, B, 64);
    cr_expect_eq(a.pool_bytes, 640);
    char *big = ak_arena_alloc(&a, 640);
    cr_expect(big == B, "the merged span did not serve a 640-byte request");
    cr_expect_eq(a.pool_bytes, 0);
    ak_arena_give_back(&a, big, 640);
    /* E sits at the bump pointer: giving it back lowers the pointer, and the
     * free span below it (B..E) goes with it; A stays. */
    ak_arena_give_back(&a, E, 64);
    cr_expect_eq(a.pool_bytes, 0);
    cr_expect_eq(a.used, 128);
    cr_expect_eq(a.high_water, hw, "the high water is the most ever in use");
    cr_expect(ak_arena_alloc(&a, 64) == B);
    ak_arena_give_back(&a, NULL, 64); /* ignored */
    ak_arena_give_back(&a, A, 128);
    ak_arena_reset(&a);
    cr_expect_null(a.pool);
    cr_expect_eq(a.pool_bytes, 0);
    cr_expect(ak_arena_alloc(&a, 64) == A, "reset starts the bump region over");
    ak_arena_free(&a);
}

/* loss = sum(relu(reshape(x W^T)) * 2), on a chain long enough to recycle. */
static float run_chain(int recycle_check, float *gx_out, float *gw_out, size_t *high_water)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 3);
    const float *xd = th_rand(0, 64 * 32, -1, 1, 11), *wd = th_rand(1, 32 * 32, -1, 1, 12);
    ak_tensor *x = ak_tensor_from(&c, 2, ak_shape(64, 32), xd, 1);
    ak_tensor *w = ak_tensor_from(&c, 2, ak_shape(32, 32), wd, 1);
    ak_tensor *h = x, *mid = NULL;
    for (int k = 0; k < 6; k++) {
        h = ak_relu(&c, ak_linear(&c, h, w, NULL));
        h = ak_reshape(&c, ak_reshape(&c, h, 3, ak_shape(8, 8, 32)), 2, ak_shape(64, 32));
        if (k == 2)
            mid = h;
    }
    ak_tensor *loss = ak_sum_all(&c, ak_scale(&c, h, 2.0f));
    ak_err err;
    cr_assert_eq(ak_backward(&c, loss, &err), 0, "%s", err.msg);
    if (recycle_check) {
        cr_expect_null(mid->grad, "an intermediate kept its gradient buffer");
        cr_expect_null(mid->node->in[0]->grad);
    }
    memcpy(gx_out, x->grad, sizeof(float) * 64 * 32);
    memcpy(gw_out, w->grad, sizeof(float) * 32 * 32);
    *high_water = c.arena.high_water;
    float l = loss->data[0];
    ak_ctx_free(&c);
    return l;
}

Test(autograd, intermediate_gradients_are_recycled_leaves_keep_theirs)
{
    static float gx[64 * 32], gw[32 * 32], gx2[64 * 32], gw2[32 * 32];
    size_t hw, hw2;
    float l = run_chain(1, gx, gw, &hw);
    cr_expect_gt(l, 0.0f);
    /* Same again: identical bits (recycled buffers are zeroed). */
    float l2 = run_chain(0, gx2, gw2, &hw2);
    cr_expect_eq(l, l2);
    cr_expect_eq(memcmp(gx, gx2, sizeof gx), 0);
    cr_expect_eq(memcmp(gw, gw2, sizeof gw), 0);
    double s = 0;
    for (int i = 0; i < 64 * 32; i++)
        s += gx[i] * gx[i];
    cr_expect_gt(s, 0.0);
    /* Without recycling the six [64, 32] gradients of the linear outputs and
     * the six of the relu outputs would all be live: 12 * 8 KiB. With it,
     * at most a few are live at once. The forward alone is ~ 13 * 8 KiB. */
    cr_expect_lt(hw, (size_t)(13 + 6) * 8192 + 16384, "high water %zu", hw);
}

static ak_tensor *f_reshape_twice(ak_ctx *c, ak_tensor *const *in, void *u)
{
    (void)u;
    /* x used directly and through a view: both paths add into x's buffer. */
    ak_tensor *v = ak_reshape(c, in[0], 1, ak_shape(6));
    ak_tensor *y = ak_mul(c, v, ak_reshape(c, in[1], 1, ak_shape(6)));
    return ak_add(c, ak_reshape(c, y, 2, ak_shape(2, 3)), ak_mul(c, in[0], in[0]));
}

Test(autograd, gradient_through_aliasing_views_and_direct_use)
{
    ak_gc_input in[2] = {th_in(th_rand(0, 6, -1, 1, 5), 2, ak_shape(2, 3), 1),
                         th_in(th_rand(1, 6, -1, 1, 6), 2, ak_shape(3, 2), 1)};
    th_check_gradients(f_reshape_twice, NULL, 2, in, TH_GC_OPTS);
}
