/* Multi-head attention's recomputing paths (nn/attention.h) against the
 * composition of ops they replace, built here from scratch: LayerNorm, the
 * q/k/v projections, ak_sdpa_probs, dropout, ak_sdpa_context and the output
 * projection, in the order the unfused path records them. Values and
 * every gradient must be the same bits, with dropout, masks, and for 1, 2
 * and 4 threads; with capture the weights are the same too. */
#include "helpers.h"

#include "core/params.h"
#include "core/threads.h"
#include "nn/attention.h"
#include "ops/ops.h"
#include "ops/sdpa.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { B = 4, LQ = 16, LK = 11, D = 64, H = 4 };
enum { SELF, CROSS, PLAIN }; /* self_attention_ln, attention_forward_ln, attention_forward */

typedef struct run_out {
    float *y, *grads; /* grads: every parameter's, then x's and the memory's */
    int64_t n_y, n_grads;
    float *weights; /* captured, when asked: the first row */
} run_out;

/* The unfused path, as attention.c and transformer.c ran it before. */
static ak_tensor *composed(ak_ctx *c, int kind, const ak_nn_attention *m, const ak_nn_layernorm *ln, ak_tensor *x,
                           ak_tensor *mem, const ak_tensor *mask)
{
    ak_tensor *h = kind == PLAIN ? x : ak_layernorm(c, x, ln->w, ln->b, ln->eps);
    ak_tensor *src = kind == SELF ? h : mem;
    ak_tensor *k = ak_linear(c, src, m->wk.w, m->wk.b), *v = ak_linear(c, src, m->wv.w, m->wv.b);
    ak_tensor *q = ak_linear(c, h, m->wq.w, m->wq.b);
    ak_tensor *p = ak_sdpa_probs(c, q, k, H, mask, 1.0f / sqrtf((float)(D / H)));
    return ak_linear(c, ak_sdpa_context(c, ak_dropout(c, p, m->dropout), v), m->wo.w, m->wo.b);
}

static run_out run(int kind, int fused, int nthreads, int capture)
{
    ak_set_threads(nthreads);
    ak_params ps;
    ak_params_init(&ps);
    ak_nn_attention m;
    ak_nn_layernorm ln;
    ak_err err = {{0}};
    cr_assert_eq(ak_nn_attention_init(&m, &ps, "att", AK_ATTN_MULTIHEAD, D, D, D, H, 0.2f, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_nn_layernorm_init(&ln, &ps, "ln", D, 1e-5f, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_params_finalize(&ps, 3, 0, &err), 0, "%s", err.msg);
    /* LayerNorm's gamma and beta away from their 1 and 0 */
    for (int64_t j = 0; j < D; j++) {
        ln.w->data[j] = 0.5f + (float)j / D;
        ln.b->data[j] = 0.1f * (float)(j % 7) - 0.3f;
    }
    ak_ctx c;
    ak_ctx_init(&c, 0, 7);
    c.training = 1;
    int64_t lk = kind == SELF ? LQ : LK;
    ak_tensor *x = ak_tensor_from(&c, 3, ak_shape(B, LQ, D), th_rand(0, B * LQ * D, -2, 2, 51), 1);
    ak_tensor *mem = ak_tensor_from(&c, 3, ak_shape(B, LK, D), th_rand(1, B * LK * D, -1, 1, 52), 1);
    float mk[B * LQ * LQ];
    ak_tensor *mask;
    if (kind == SELF) { /* causal */
        for (int i = 0; i < LQ; i++)
            for (int j = 0; j < LQ; j++)
                mk[i * LQ + j] = j <= i ? 0.0f : -INFINITY;
        mask = ak_tensor_from(&c, 2, ak_shape(LQ, LQ), mk, 0);
    } else { /* key padding */
        for (int b = 0; b < B; b++)
            for (int j = 0; j < LK; j++)
                mk[b * LK + j] = j < LK - 2 * b ? 0.0f : -INFINITY;
        mask = ak_tensor_from(&c, 4, ak_shape(B, 1, 1, LK), mk, 0);
    }
    ak_attn_capture cap;
    ak_capture_init(&cap);
    ak_attn_capture *cp = capture ? &cap : NULL;
    ak_tensor *y;
    if (!fused)
        y = composed(&c, kind, &m, &ln, x, mem, mask);
    else if (kind == SELF)
        y = ak_nn_self_attention_ln(&c, &m, &ln, x, mask, cp, AK_ROLE_DEC_SELF, 0);
    else if (kind == CROSS)
        y = ak_nn_attention_forward_ln(&c, &m, &ln, x, ak_nn_attention_memory(&c, &m, mem, mem), mask, cp,
                                       AK_ROLE_CROSS, 0);
    else
        y = ak_nn_attention_forward(&c, &m, x, ak_nn_attention_memory(&c, &m, mem, mem), mask, NULL, cp, AK_ROLE_CROSS,
                                    0);
    cr_assert_not_null(y, "%s", c.err.msg);
    cr_assert(ak_backward_seeded(&c, y, th_rand(2, B * LQ * D, -1, 1, 53), &err) == 0, "%s", err.msg);
    run_out o = {.n_y = y->size, .n_grads = ps.total + x->size + mem->size};
    o.y = malloc(sizeof(float) * (size_t)o.n_y);
    o.grads = calloc((size_t)o.n_grads, sizeof(float));
    memcpy(o.y, y->data, sizeof(float) * (size_t)o.n_y);
    memcpy(o.grads, ps.grad, sizeof(float) * (size_t)ps.total);
    memcpy(o.grads + ps.total, x->grad, sizeof(float) * (size_t)x->size);
    if (kind != SELF)
        memcpy(o.grads + ps.total + x->size, mem->grad, sizeof(float) * (size_t)mem->size);
    if (capture) {
        cr_assert_eq(cap.n, 1);
        cr_assert_eq(cap.maps[0].lk, lk);
        o.weights = malloc(sizeof(float) * (size_t)lk); /* row 0 of batch 0, head 0 */
        memcpy(o.weights, cap.maps[0].w, sizeof(float) * (size_t)lk);
    }
    ak_capture_free(&cap);
    ak_ctx_free(&c);
    ak_params_free(&ps);
    return o;
}

static void free_out(run_out *o)
{
    free(o->y);
    free(o->grads);
    free(o->weights);
}

static void expect_same(const run_out *a, const run_out *b, const char *what)
{
    cr_assert_eq(a->n_grads, b->n_grads);
    cr_expect(memcmp(a->y, b->y, sizeof(float) * (size_t)a->n_y) == 0, "%s: values differ", what);
    cr_expect(memcmp(a->grads, b->grads, sizeof(float) * (size_t)a->n_grads) == 0, "%s: gradients differ", what);
}

Test(nn_attention, recomputing_paths_bitwise_equal_to_composition)
{
    static const char *const names[] = {"self_attention_ln", "attention_forward_ln", "attention_forward"};
    for (int kind = SELF; kind <= PLAIN; kind++) {
        run_out r = run(kind, 0, 2, 0);
        for (int t = 1; t <= 4; t *= 2) {
            run_out f = run(kind, 1, t, 0);
            char what[64];
            snprintf(what, sizeof what, "%s, %d threads", names[kind], t);
            expect_same(&f, &r, what);
            free_out(&f);
        }
        free_out(&r);
    }
    ak_set_threads(2);
}

/* With capture the probabilities stay outside the recomputation (they are
 * reported): the same values and gradients, and the weights captured. */
Test(nn_attention, capture_gives_the_same_values_and_weights)
{
    run_out ref = run(SELF, 1, 2, 1);
    for (int kind = SELF; kind <= PLAIN; kind++) {
        run_out f = run(kind, 1, 2, 1), r = run(kind, 0, 2, 0);
        expect_same(&f, &r, "captured");
        free_out(&f);
        free_out(&r);
    }
    cr_assert_not_null(ref.weights);
    /* causal self-attention: row 0 attends to key 0 only */
    cr_expect_eq(ref.weights[0], 1.0f);
    cr_expect_eq(ref.weights[1], 0.0f);
    free_out(&ref);
}
