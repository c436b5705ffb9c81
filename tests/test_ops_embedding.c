#include "helpers.h"
#include "core/threads.h"
#include "ops/ops.h"

#include <string.h>

typedef struct emb_case {
    const int32_t *ids;
    int nd;
    int64_t shape[3];
} emb_case;

static ak_tensor *f_emb(ak_ctx *c, ak_tensor *const *in, void *u)
{
    const emb_case *k = u;
    return ak_embedding(c, in[0], k->ids, k->nd, k->shape);
}

Test(ops_embedding, gathers_rows_into_ids_shape_plus_d)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *w = ak_tensor_from(&c, 2, ak_shape(3, 2), (float[]){0, 1, 10, 11, 20, 21}, 0);
    const int32_t ids[] = {2, 0, 2, 1, 1, 0};
    ak_tensor *y = ak_embedding(&c, w, ids, 2, ak_shape(2, 3));
    cr_assert(y && y->ndim == 3 && y->shape[0] == 2 && y->shape[1] == 3 && y->shape[2] == 2);
    for (int t = 0; t < 6; t++)
        for (int j = 0; j < 2; j++)
            cr_expect_eq(y->data[t * 2 + j], (float)(10 * ids[t] + j));
    /* 0-d ids: one row, shape [D]. */
    ak_tensor *s = ak_embedding(&c, w, (int32_t[]){1}, 0, NULL);
    cr_assert(s && s->ndim == 1 && s->shape[0] == 2 && s->data[0] == 10.0f && s->data[1] == 11.0f);
    ak_ctx_free(&c);
}

Test(ops_embedding, gradient_with_repeated_ids)
{
    static const int32_t ids[] = {3, 1, 3, 0, 3, 1, 4, 0};
    emb_case k = {ids, 2, {2, 4}};
    ak_gc_input in = th_in(th_rand(0, 5 * 3, -1, 1, 1), 2, ak_shape(5, 3), 1);
    th_check_gradients(f_emb, &k, 1, &in, TH_GC_OPTS);
}

Test(ops_embedding, backward_sums_repeated_ids_and_leaves_unused_rows_zero)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *w = ak_tensor_zeros(&c, 2, ak_shape(4, 2));
    w->requires_grad = 1;
    int32_t ids[] = {1, 3, 1, 1};
    ak_tensor *y = ak_embedding(&c, w, ids, 1, ak_shape(4));
    /* The op copied the ids: scribbling on the caller's buffer changes nothing. */
    ids[0] = ids[1] = ids[2] = ids[3] = 0;
    ak_err err;
    cr_assert(ak_backward_seeded(&c, y, (float[]){1, 2, 10, 20, 100, 200, 1000, 2000}, &err) == 0, "%s", err.msg);
    const float want[] = {0, 0, 1101, 2202, 0, 0, 10, 20};
    for (int i = 0; i < 8; i++)
        cr_expect_eq(w->grad[i], want[i], "dw[%d] = %g", i, w->grad[i]);
    ak_ctx_free(&c);
}

Test(ops_embedding, id_out_of_range_fails_naming_id_position_and_v)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *w = ak_tensor_zeros(&c, 2, ak_shape(50, 8));
    cr_assert_null(ak_embedding(&c, w, (int32_t[]){1, 2, 3, 4, 5, 6, 7, 57}, 2, ak_shape(2, 4)));
    cr_assert(ak_ctx_failed(&c));
    cr_expect_str_eq(c.err.msg,
                     "embedding: id 57 at position [1, 3] of ids [2, 4] is outside [0, 50) for weight [50, 8]");
    ak_ctx_end_step(&c);
    w = ak_tensor_zeros(&c, 2, ak_shape(50, 8));
    cr_assert_null(ak_embedding(&c, w, (int32_t[]){0, -1, 2}, 1, ak_shape(3)));
    cr_expect_str_eq(c.err.msg, "embedding: id -1 at position [1] of ids [3] is outside [0, 50) for weight [50, 8]");
    ak_ctx_end_step(&c);
    w = ak_tensor_zeros(&c, 1, ak_shape(50));
    cr_assert_null(ak_embedding(&c, w, (int32_t[]){0}, 1, ak_shape(1)));
    cr_expect_str_eq(c.err.msg, "embedding: expected a weight [V, D], got shape [50]");
    ak_ctx_end_step(&c);
    w = ak_tensor_zeros(&c, 2, ak_shape(50, 8));
    cr_assert_null(ak_embedding(&c, w, (int32_t[]){0}, 4, ak_shape(1, 1, 1, 1)));
    cr_expect_str_eq(c.err.msg, "embedding: expected ids with 0 to 3 dimensions, got 4");
    ak_ctx_free(&c);
}

/* dw for 4096 tokens over V = 100 (heavy repetition), D = 64, at n threads. */
static void run_big(int nthreads, float *dw)
{
    enum { V = 100, D = 64, NT = 64 * 64 };
    ak_set_threads(nthreads);
    static int32_t ids[NT];
    static float seed[NT * D];
    ak_rng r = ak_rng_make(8, 1);
    for (int t = 0; t < NT; t++)
        ids[t] = (int32_t)(t % 7 == 0 ? 0 : ak_rng_below(&r, V)); /* id 0 like a frequent PAD */
    for (int i = 0; i < NT * D; i++)
        seed[i] = ak_rng_uniform_range(&r, -1, 1);
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *w = ak_tensor_from(&c, 2, ak_shape(V, D), th_rand(0, V * D, -1, 1, 3), 1);
    ak_tensor *y = ak_embedding(&c, w, ids, 2, ak_shape(64, 64));
    ak_err err;
    cr_assert(y && ak_backward_seeded(&c, y, seed, &err) == 0, "%s", err.msg);
    memcpy(dw, w->grad, sizeof(float) * V * D);
    ak_ctx_free(&c);
}

Test(ops_embedding, backward_bitwise_equal_for_1_2_4_threads)
{
    enum { V = 100, D = 64 };
    cr_assert(64 * 64 * D >= AK_PAR_MIN);
    static float a[V * D], b[V * D];
    run_big(1, a);
    for (int t = 2; t <= 4; t += 2) {
        run_big(t, b);
        cr_expect(memcmp(a, b, sizeof a) == 0, "dw differs at %d threads", t);
    }
}
