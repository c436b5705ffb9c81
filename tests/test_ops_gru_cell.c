#include "helpers.h"
#include "core/threads.h"
#include "ops/gru_cell.h"
#include "ops/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- gradients ------------------------------------------------------------ */

typedef struct gc_case {
    int seq; /* gi is [B, L, 3H] and step t is used */
    int64_t t;
    int mask; /* in[3] is a [B, 1] mask */
    int gx;   /* the last input is a second projection part gx */
} gc_case;

static ak_tensor *f_gru(ak_ctx *c, ak_tensor *const *in, void *u)
{
    const gc_case *k = u;
    return ak_gru_cell(c, in[0], k->seq ? k->t : 0, k->gx ? in[k->mask ? 4 : 3] : NULL, in[1], in[2],
                       k->mask ? in[3] : NULL);
}

Test(ops_gru_cell, gradcheck_without_mask)
{
    enum { B = 3, H = 4 };
    gc_case k = {0, 0, 0, 0};
    ak_gc_input in[3] = {th_in(th_rand(0, B * 3 * H, -1.5f, 1.5f, 41), 2, ak_shape(B, 3 * H), 1),
                         th_in(th_rand(1, B * 3 * H, -1.5f, 1.5f, 42), 2, ak_shape(B, 3 * H), 1),
                         th_in(th_rand(2, B * H, -1, 1, 43), 2, ak_shape(B, H), 1)};
    th_check_gradients(f_gru, &k, 3, in, TH_GC_OPTS);
}

Test(ops_gru_cell, gradcheck_with_mask_and_a_step_of_a_sequence)
{
    /* gi [B, L, 3H], step 1; rows 1 and 3 padded: their output is h, so dh
     * is the upstream gradient there and dgi, dgh are 0. */
    enum { B = 4, L = 3, H = 5 };
    static const float mask[B] = {1, 0, 1, 0};
    gc_case k = {1, 1, 1, 0};
    ak_gc_input in[4] = {th_in(th_rand(0, B * L * 3 * H, -1.5f, 1.5f, 51), 3, ak_shape(B, L, 3 * H), 1),
                         th_in(th_rand(1, B * 3 * H, -1.5f, 1.5f, 52), 2, ak_shape(B, 3 * H), 1),
                         th_in(th_rand(2, B * H, -1, 1, 53), 2, ak_shape(B, H), 1), th_in(mask, 2, ak_shape(B, 1), 0)};
    th_check_gradients(f_gru, &k, 4, in, TH_GC_OPTS);
}

Test(ops_gru_cell, gradcheck_with_a_state_that_needs_no_gradient)
{
    enum { B = 2, H = 3 };
    gc_case k = {0, 0, 0, 0};
    ak_gc_input in[3] = {th_in(th_rand(0, B * 3 * H, -1, 1, 61), 2, ak_shape(B, 3 * H), 1),
                         th_in(th_rand(1, B * 3 * H, -1, 1, 62), 2, ak_shape(B, 3 * H), 1),
                         th_in(th_rand(2, B * H, -1, 1, 63), 2, ak_shape(B, H), 0)};
    th_check_gradients(f_gru, &k, 3, in, TH_GC_OPTS);
}

Test(ops_gru_cell, gradcheck_with_a_second_projection_part)
{
    enum { B = 3, L = 2, H = 4 };
    static const float mask[B] = {1, 1, 0};
    gc_case k = {1, 1, 1, 1};
    ak_gc_input in[5] = {th_in(th_rand(0, B * L * 3 * H, -1, 1, 81), 3, ak_shape(B, L, 3 * H), 1),
                         th_in(th_rand(1, B * 3 * H, -1, 1, 82), 2, ak_shape(B, 3 * H), 1),
                         th_in(th_rand(2, B * H, -1, 1, 83), 2, ak_shape(B, H), 1), th_in(mask, 2, ak_shape(B, 1), 0),
                         th_in(th_rand(3, B * 3 * H, -1, 1, 84), 2, ak_shape(B, 3 * H), 1)};
    th_check_gradients(f_gru, &k, 5, in, TH_GC_OPTS);
}

Test(ops_gru_cell, a_second_projection_part_is_bitwise_an_add_first)
{
    /* gi step t plus gx inside the op against ak_add(slice of gi, gx) fed as
     * a 2-D gi: the same values, and gx gets the gradient that gi gets. */
    enum { B = 5, L = 3, H = 7, G = 3 * H };
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *gi = ak_tensor_from(&c, 3, ak_shape(B, L, G), th_rand(0, B * L * G, -2, 2, 91), 1);
    ak_tensor *gx = ak_tensor_from(&c, 2, ak_shape(B, G), th_rand(1, B * G, -2, 2, 92), 1);
    ak_tensor *gh = ak_tensor_from(&c, 2, ak_shape(B, G), th_rand(2, B * G, -2, 2, 93), 0);
    ak_tensor *h = ak_tensor_from(&c, 2, ak_shape(B, H), th_rand(3, B * H, -1, 1, 94), 0);
    ak_tensor *y = ak_gru_cell(&c, gi, 1, gx, gh, h, NULL);
    ak_tensor *sum = ak_add(&c, ak_reshape(&c, ak_slice(&c, gi, 1, 1, 1), 2, ak_shape(B, G)), gx);
    ak_tensor *ref = ak_gru_cell(&c, sum, 0, NULL, gh, h, NULL);
    cr_assert(y && ref, "%s", c.err.msg);
    cr_expect(memcmp(y->data, ref->data, sizeof(float) * B * H) == 0, "values differ");
    float g[B * H];
    for (int i = 0; i < B * H; i++)
        g[i] = 0.1f * (float)(i % 5) - 0.2f;
    ak_err err;
    cr_assert_eq(ak_backward_seeded(&c, y, g, &err), 0, "%s", err.msg);
    float dgx[B * G];
    memcpy(dgx, gx->grad, sizeof dgx);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < G; j++) {
            cr_expect_eq(gi->grad[(b * L + 1) * G + j], dgx[b * G + j], "gi and gx gradients differ at %d, %d", b, j);
            cr_expect_eq(gi->grad[(b * L + 0) * G + j], 0.0f, "step 0 of gi got a gradient");
        }
    ak_ctx_free(&c);
}

/* ---- values: the composition the op replaced ------------------------------ */

/* The cell as lib/nn/rnn.c built it before the op, from tape ops. */
static ak_tensor *composed(ak_ctx *c, ak_tensor *gi, ak_tensor *gh, ak_tensor *h, ak_tensor *mask)
{
    int64_t H = h->shape[1];
    ak_tensor *r = ak_sigmoid(c, ak_add(c, ak_slice(c, gi, 1, 0, H), ak_slice(c, gh, 1, 0, H)));
    ak_tensor *z = ak_sigmoid(c, ak_add(c, ak_slice(c, gi, 1, H, H), ak_slice(c, gh, 1, H, H)));
    ak_tensor *n = ak_tanh(c, ak_add(c, ak_slice(c, gi, 1, 2 * H, H), ak_mul(c, r, ak_slice(c, gh, 1, 2 * H, H))));
    ak_tensor *hn = ak_add(c, n, ak_mul(c, z, ak_sub(c, h, n)));
    if (!mask)
        return hn;
    ak_tensor *one = ak_tensor_from(c, 0, NULL, (const float[]){1.0f}, 0);
    return ak_add(c, ak_mul(c, hn, mask), ak_mul(c, h, ak_sub(c, one, mask)));
}

/* Output, then the gradients of gi, gh and h for a fixed upstream gradient,
 * into out (B*H + 2*B*3H + B*H floats). */
static void run_cell(int fused, int with_mask, int nthreads, int64_t B, int64_t H, float *out)
{
    ak_set_threads(nthreads);
    ak_ctx c;
    ak_ctx_init(&c, 0, 3);
    ak_rng r = ak_rng_make(17, 5);
    ak_tensor *gi = ak_tensor_new(&c, 2, ak_shape(B, 3 * H)), *gh = ak_tensor_new(&c, 2, ak_shape(B, 3 * H));
    ak_tensor *h = ak_tensor_new(&c, 2, ak_shape(B, H)), *mask = ak_tensor_new(&c, 2, ak_shape(B, 1));
    ak_tensor *all[3] = {gi, gh, h};
    for (int k = 0; k < 3; k++) {
        for (int64_t i = 0; i < all[k]->size; i++)
            all[k]->data[i] = ak_rng_uniform_range(&r, -3.0f, 3.0f);
        all[k]->requires_grad = 1;
    }
    for (int64_t b = 0; b < B; b++)
        mask->data[b] = b % 3 == 2 ? 0.0f : 1.0f;
    ak_tensor *m = with_mask ? mask : NULL;
    ak_tensor *y = fused ? ak_gru_cell(&c, gi, 0, NULL, gh, h, m) : composed(&c, gi, gh, h, m);
    cr_assert_not_null(y, "%s", c.err.msg);
    float *g = malloc(sizeof(float) * (size_t)y->size);
    for (int64_t i = 0; i < y->size; i++)
        g[i] = (float)(i % 7) * 0.3f - 0.9f;
    ak_err err;
    cr_assert_eq(ak_backward_seeded(&c, y, g, &err), 0, "%s", err.msg);
    memcpy(out, y->data, sizeof(float) * (size_t)y->size);
    out += y->size;
    for (int k = 0; k < 3; k++) {
        memcpy(out, all[k]->grad, sizeof(float) * (size_t)all[k]->size);
        out += all[k]->size;
    }
    free(g);
    ak_ctx_free(&c);
}

Test(ops_gru_cell, values_are_bitwise_the_composition_and_gradients_agree)
{
    /* B * 3H above the parallel threshold, so that 2 and 4 threads split rows. */
    const int64_t B = 64, H = 256, ny = B * H;
    const size_t n = (size_t)(ny + 2 * B * 3 * H + B * H);
    float *ref = malloc(sizeof(float) * n), *got = malloc(sizeof(float) * n);
    for (int with_mask = 0; with_mask <= 1; with_mask++) {
        run_cell(0, with_mask, 1, B, H, ref);
        run_cell(1, with_mask, 1, B, H, got);
        cr_expect(memcmp(ref, got, sizeof(float) * (size_t)ny) == 0, "values differ from the composition (mask %d)",
                  with_mask);
        double worst = 0;
        for (size_t i = (size_t)ny; i < n; i++)
            worst = fmax(worst, fabs((double)ref[i] - got[i]) / (1.0 + fabs((double)ref[i])));
        cr_expect_lt(worst, 1e-6, "gradients differ from the composition by %g (mask %d)", worst, with_mask);
    }
    free(ref);
    free(got);
}

Test(ops_gru_cell, same_bits_for_1_2_4_threads)
{
    const int64_t B = 64, H = 256;
    const size_t n = (size_t)(B * H + 2 * B * 3 * H + B * H);
    float *ref = malloc(sizeof(float) * n), *got = malloc(sizeof(float) * n);
    run_cell(1, 1, 1, B, H, ref);
    for (int t = 2; t <= 4; t *= 2) {
        run_cell(1, 1, t, B, H, got);
        cr_expect(memcmp(ref, got, sizeof(float) * n) == 0, "%d threads differ from 1", t);
    }
    ak_set_threads(1);
    free(ref);
    free(got);
}

Test(ops_gru_cell, matches_a_double_reference_and_padded_rows_keep_h)
{
    enum { B = 3, H = 4 };
    const float *gi = th_rand(0, B * 3 * H, -2, 2, 71), *gh = th_rand(1, B * 3 * H, -2, 2, 72);
    const float *h = th_rand(2, B * H, -1, 1, 73);
    static const float mask[B] = {1, 0, 1};
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *tgi = ak_tensor_from(&c, 2, ak_shape(B, 3 * H), gi, 0);
    ak_tensor *tgh = ak_tensor_from(&c, 2, ak_shape(B, 3 * H), gh, 0);
    ak_tensor *th = ak_tensor_from(&c, 2, ak_shape(B, H), h, 0);
    ak_tensor *tm = ak_tensor_from(&c, 2, ak_shape(B, 1), mask, 0);
    ak_tensor *y = ak_gru_cell(&c, tgi, 0, NULL, tgh, th, tm);
    cr_assert_not_null(y, "%s", c.err.msg);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < H; j++) {
            const float *gib = gi + b * 3 * H, *ghb = gh + b * 3 * H;
            double r = 1 / (1 + exp(-((double)gib[j] + ghb[j])));
            double z = 1 / (1 + exp(-((double)gib[H + j] + ghb[H + j])));
            double nn = tanh((double)gib[2 * H + j] + r * ghb[2 * H + j]);
            double want = (1 - z) * nn + z * h[b * H + j];
            float got = y->data[b * H + j];
            if (mask[b] == 0.0f)
                cr_expect(got == h[b * H + j], "padded row %d, %d: %g, not h %g", b, j, got, h[b * H + j]);
            else
                cr_expect_lt(fabs(got - want), 1e-6, "row %d, %d: %.8f, want %.8f", b, j, got, want);
        }
    ak_ctx_free(&c);
}

Test(ops_gru_cell, records_nothing_in_no_grad_mode)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *gi = ak_tensor_zeros(&c, 2, ak_shape(2, 6)), *gh = ak_tensor_zeros(&c, 2, ak_shape(2, 6));
    ak_tensor *h = ak_tensor_zeros(&c, 2, ak_shape(2, 2));
    gi->requires_grad = 1;
    int prev = ak_set_grad_enabled(&c, 0);
    ak_tensor *y = ak_gru_cell(&c, gi, 0, NULL, gh, h, NULL);
    ak_set_grad_enabled(&c, prev);
    cr_assert_not_null(y, "%s", c.err.msg);
    cr_expect_null(c.tape);
    cr_expect_eq(y->requires_grad, 0);
    /* gates all 0.5, n = tanh(0) = 0: h' = 0 + 0.5 * (0 - 0) */
    for (int i = 0; i < 4; i++)
        cr_expect_eq(y->data[i], 0.0f);
    ak_ctx_free(&c);
}

Test(ops_gru_cell, error_names_shapes)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_tensor *gi = ak_tensor_zeros(&c, 3, ak_shape(2, 4, 6)), *gh = ak_tensor_zeros(&c, 2, ak_shape(2, 6));
    ak_tensor *h = ak_tensor_zeros(&c, 2, ak_shape(2, 2));
    cr_expect_null(ak_gru_cell(&c, gi, 4, NULL, gh, h, NULL));
    cr_expect_str_eq(c.err.msg, "gru_cell: expected gi [B, 3H] or [B, L, 3H] with step t in [0, L), gx [B, 3H] or "
                                "none, gh [B, 3H], h [B, H] and mask [B, 1] or none, got gi [2, 4, 6] (t 4), gx "
                                "none, gh [2, 6], h [2, 2], mask none");
    ak_ctx_free(&c);
    ak_ctx_init(&c, 0, 1);
    gi = ak_tensor_zeros(&c, 2, ak_shape(2, 6));
    h = ak_tensor_zeros(&c, 2, ak_shape(2, 2));
    ak_tensor *bad = ak_tensor_zeros(&c, 2, ak_shape(2, 5));
    cr_expect_null(ak_gru_cell(&c, gi, 0, NULL, bad, h, NULL));
    cr_expect(strstr(c.err.msg, "gh [2, 5]") != NULL, "%s", c.err.msg);
    cr_expect_null(ak_gru_cell(&c, NULL, 0, NULL, gi, h, NULL));
    ak_ctx_free(&c);
}
