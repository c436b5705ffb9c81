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

/* Sizes in units of the smallest allocation the pool serves. */
enum { U = AK_ARENA_POOL_MIN };

Test(core_arena, given_back_spans_serve_the_best_fitting_later_allocation)
{
    ak_arena a;
    ak_arena_init(&a, 1 << 20);
    char *A = ak_arena_alloc(&a, 4 * U), *B = ak_arena_alloc(&a, U), *C = ak_arena_alloc(&a, 8 * U);
    char *D = ak_arena_alloc(&a, U), *E = ak_arena_alloc(&a, U);
    cr_assert(B == A + 4 * U && C == B + U && D == C + 8 * U && E == D + U);
    size_t used = a.used;
    ak_arena_give_back(&a, C, 8 * U);
    ak_arena_give_back(&a, A, 4 * U - 10); /* rounded up as the allocation was */
    cr_expect_eq(a.pool_bytes, 12 * U);
    cr_expect_eq(a.used, used, "spans below the bump pointer stay counted");
    /* A (4 U) fits 2 U better than C (8 U) does; its rest stays free. */
    char *x = ak_arena_alloc(&a, 2 * U);
    cr_expect(x == A);
    cr_expect_eq(a.pool_bytes, 10 * U);
    char *y = ak_arena_calloc(&a, 8 * U);
    cr_expect(y == C, "the exact fit was not taken");
    for (int i = 0; i < 8 * U; i++)
        cr_expect_eq(y[i], 0);
    cr_expect_eq(a.pool_bytes, 2 * U);
    /* Small requests never split a span; too large ones cannot use it. */
    char *small = ak_arena_alloc(&a, 64);
    cr_expect(small == E + U);
    char *z = ak_arena_alloc(&a, 16 * U);
    cr_expect(z == small + 64);
    cr_expect_eq(a.used, used + 64 + 16 * U);
    cr_expect_eq(a.pool_bytes, 2 * U);
    ak_arena_free(&a);
}

Test(core_arena, given_back_neighbours_merge_and_the_top_lowers_the_bump_pointer)
{
    ak_arena a;
    ak_arena_init(&a, 1 << 20);
    char *A = ak_arena_alloc(&a, 2 * U), *B = ak_arena_alloc(&a, U), *C = ak_arena_alloc(&a, 8 * U);
    char *D = ak_arena_alloc(&a, U), *E = ak_arena_alloc(&a, U);
    size_t hw = a.high_water;
    /* Out of order; B, C and D merge into one span of 10 U. */
    ak_arena_give_back(&a, C, 8 * U);
    ak_arena_give_back(&a, D, U);
    ak_arena_give_back(&a, B, U);
    cr_expect_eq(a.pool_bytes, 10 * U);
    char *big = ak_arena_alloc(&a, 10 * U);
    cr_expect(big == B, "the merged span did not serve a 10 U request");
    cr_expect_eq(a.pool_bytes, 0);
    ak_arena_give_back(&a, big, 10 * U);
    /* E sits at the bump pointer: giving it back lowers the pointer, and the
     * free span below it (B..E) goes with it; A stays. */
    ak_arena_give_back(&a, E, U);
    cr_expect_eq(a.pool_bytes, 0);
    cr_expect_eq(a.used, 2 * U);
    cr_expect_eq(a.high_water, hw, "the high water is the most ever in use");
    cr_expect(ak_arena_alloc(&a, U) == B);
    ak_arena_give_back(&a, NULL, U); /* ignored */
    ak_arena_give_back(&a, A, 2 * U);
    ak_arena_reset(&a);
    cr_expect_null(a.pool);
    cr_expect_eq(a.pool_bytes, 0);
    cr_expect(ak_arena_alloc(&a, U) == A, "reset starts the bump region over");
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

/* ---- ak_discard ------------------------------------------------------------ */

/* Four blocks x = x + Drop(W2 ReLUDrop(W1 x)), the FFN of a Transformer layer,
 * with the discards a model would make: W1 x and W2 r are read by no backward
 * (their memory goes back at once), the block input only by W1's backward
 * (its memory goes back during the backward pass). */
static float run_ffn_blocks(int discard, float *gx, float *gw1, float *gw2, size_t *high_water)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 9);
    c.training = 1;
    ak_tensor *x = ak_tensor_from(&c, 2, ak_shape(64, 32), th_rand(0, 64 * 32, -1, 1, 21), 1);
    ak_tensor *w1 = ak_tensor_from(&c, 2, ak_shape(128, 32), th_rand(1, 128 * 32, -0.3f, 0.3f, 22), 1);
    ak_tensor *w2 = ak_tensor_from(&c, 2, ak_shape(32, 128), th_rand(2, 32 * 128, -0.3f, 0.3f, 23), 1);
    ak_tensor *h = x;
    for (int k = 0; k < 4; k++) {
        ak_tensor *a = ak_linear(&c, h, w1, NULL);
        ak_tensor *r = ak_relu_dropout(&c, a, 0.1f);
        ak_tensor *f = ak_linear(&c, r, w2, NULL);
        ak_tensor *next = ak_residual_dropout(&c, h, f, 0.1f);
        if (discard) {
            ak_discard(&c, a);
            ak_discard(&c, f);
            ak_discard(&c, h); /* the leaf x: nothing happens */
        }
        h = next;
    }
    ak_tensor *loss = ak_sum_all(&c, ak_mul(&c, h, h));
    ak_err err;
    cr_assert_eq(ak_backward(&c, loss, &err), 0, "%s", err.msg);
    if (discard)
        cr_expect_null(c.discards, "discarded memory still waits after the backward pass");
    memcpy(gx, x->grad, sizeof(float) * 64 * 32);
    memcpy(gw1, w1->grad, sizeof(float) * 128 * 32);
    memcpy(gw2, w2->grad, sizeof(float) * 32 * 128);
    *high_water = c.arena.high_water;
    float l = loss->data[0];
    ak_ctx_free(&c);
    return l;
}

Test(autograd, discarded_activations_change_no_bit_and_lower_the_peak)
{
    static float gx[64 * 32], gw1[128 * 32], gw2[32 * 128], gx2[64 * 32], gw12[128 * 32], gw22[32 * 128];
    size_t hw, hw2;
    float l = run_ffn_blocks(0, gx, gw1, gw2, &hw);
    float l2 = run_ffn_blocks(1, gx2, gw12, gw22, &hw2);
    cr_expect_eq(memcmp(&l, &l2, sizeof l), 0, "loss %.9g vs %.9g", (double)l, (double)l2);
    cr_expect_eq(memcmp(gx, gx2, sizeof gx), 0);
    cr_expect_eq(memcmp(gw1, gw12, sizeof gw1), 0);
    cr_expect_eq(memcmp(gw2, gw22, sizeof gw2), 0);
    /* Each block's W1 x is 32 KiB: with the discards the next block's reuses
     * it, so at least three of the four are never live at once. */
    cr_expect_lt(hw2 + 3 * 32768, hw, "high water %zu with discards, %zu without", hw2, hw);
}

Test(autograd, discard_gives_memory_back_at_once_when_no_backward_reads_it)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 1, ak_shape(1024), th_rand(0, 1024, -1, 1, 3), 1);
    ak_tensor *t = ak_scale(&c, x, 2.0f);
    ak_tensor *u = ak_scale(&c, t, 3.0f); /* scale's backward reads no data */
    float *where = t->data;
    size_t pool = c.arena.pool_bytes;
    ak_discard(&c, t);
    cr_expect_eq(c.arena.pool_bytes, pool + 4096);
    ak_tensor *v = ak_tensor_new(&c, 1, ak_shape(1024));
    cr_expect(v->data == where, "the next tensor of that size did not reuse the memory");
    ak_err err;
    cr_assert_eq(ak_backward_seeded(&c, u, th_rand(1, 1024, -1, 1, 4), &err), 0, "%s", err.msg);
    const float *seed = th_rand(1, 1024, -1, 1, 4);
    for (int i = 0; i < 1024; i++)
        cr_expect_eq(x->grad[i], 2.0f * (3.0f * seed[i]));
    ak_ctx_free(&c);
}

Test(autograd, discarded_tensor_read_by_a_backward_goes_back_after_it_and_spends_the_tape)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 1, ak_shape(256), th_rand(0, 256, -1, 1, 3), 1);
    ak_tensor *t = ak_scale(&c, x, 2.0f);
    ak_tensor *loss = ak_sum_all(&c, ak_mul(&c, t, t)); /* mul reads t twice */
    size_t pool = c.arena.pool_bytes;
    ak_discard(&c, t);
    cr_expect_eq(c.arena.pool_bytes, pool, "t went back while mul's backward still needs it");
    cr_expect(c.discards == t->node && t->node->pending == 2);
    ak_err err;
    cr_assert_eq(ak_backward(&c, loss, &err), 0, "%s", err.msg);
    cr_expect_null(c.discards);
    for (int i = 0; i < 256; i++)
        cr_expect_eq(x->grad[i], 2.0f * (2.0f * (2.0f * x->data[i])));
    cr_expect_neq(ak_backward(&c, loss, &err), 0, "a second pass would read the memory given back");
    cr_expect(strstr(err.msg, "discarded") != NULL, "%s", err.msg);
    ak_ctx_free(&c);
}

Test(autograd, discard_of_leaves_and_views_does_nothing_and_later_use_fails)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *x = ak_tensor_from(&c, 1, ak_shape(256), th_rand(0, 256, -1, 1, 3), 1);
    ak_tensor *t = ak_scale(&c, x, 2.0f);
    ak_tensor *view = ak_reshape(&c, t, 2, ak_shape(16, 16));
    size_t pool = c.arena.pool_bytes;
    ak_discard(&c, NULL);
    ak_discard(&c, x);
    ak_discard(&c, view);
    cr_expect_eq(c.arena.pool_bytes, pool);
    cr_expect_not_null(ak_scale(&c, x, 1.0f));
    cr_expect_not_null(ak_scale(&c, view, 1.0f));
    cr_expect_not(ak_ctx_failed(&c));
    ak_discard(&c, t);
    ak_discard(&c, t); /* a second call does nothing */
    ak_add(&c, t, t);
    cr_expect(ak_ctx_failed(&c));
    cr_expect(strstr(c.err.msg, "add: input 0 was discarded") != NULL, "%s", c.err.msg);
    ak_ctx_free(&c);
}
