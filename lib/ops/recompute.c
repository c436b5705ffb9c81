/* ak_linear_recompute: y = f(in) w^T + bias, f's output recomputed in the
 * backward pass (see recompute.h).
 *
 * f runs on a tape of its own (ctx->tape swapped out while it records), so
 * its nodes never join the step's tape: the forward pass uses them only to
 * find the memory f made, the backward pass runs their backward functions
 * itself, newest first, as ak_backward would have run them in place. */
#include "ops/recompute.h"

#include "ops/linear_grad.h"
#include "ops/ops.h"

#include <string.h>

/* Inputs of f an op takes at most (the node holds them, w and the bias). */
#define RC_MAX_IN 12

typedef struct rc_saved {
    ak_recompute_fn f;
    const void *arg; /* the arena copy */
    uint64_t calls;  /* ctx->dropout_calls before f ran */
    uint64_t calls_end;
    int n_f;      /* inputs of f: in[0..n_f), then w, then the bias */
    int64_t rows; /* u viewed as [rows, k] */
    int64_t size; /* of u */
} rc_saved;

/* Runs f on a tape of its own; *sub receives the nodes it recorded (newest
 * first), ctx->tape is left as it was. */
static ak_tensor *run_f(ak_ctx *ctx, ak_recompute_fn f, const void *arg, ak_tensor *const *in, ak_node **sub)
{
    ak_node *outer = ctx->tape;
    ctx->tape = NULL;
    ak_tensor *u = f(ctx, in, arg);
    *sub = ctx->tape;
    ctx->tape = outer;
    return u;
}

/* 1 when n's output shares memory with one of its inputs (a view): not
 * memory f made. */
static int shares_input(const ak_node *n)
{
    const ak_tensor *o = n->out;
    for (int i = 0; i < n->n_in; i++) {
        const ak_tensor *x = ak_node_in(n, i);
        if (o->size > 0 && x->size > 0 && o->data < x->data + x->size && x->data < o->data + o->size)
            return 1;
    }
    return 0;
}

/* Hands the outputs f's nodes made back to the arena (what they saved
 * besides stays to the step's end, like the nodes themselves). */
static void give_back_outputs(ak_ctx *ctx, const ak_node *sub)
{
    for (const ak_node *m = sub; m; m = m->prev)
        if (m->out->node == m && !m->grad_alias && m->out->size > 0 && !shares_input(m))
            ak_arena_give_back(&ctx->arena, m->out->data, sizeof(float) * (size_t)m->out->size);
}

/* ak_backward's loop over f's nodes: each node that received a gradient
 * passes it on, then its output's gradient buffer goes back (all of its
 * consumers are newer and have run). */
static void run_backward(ak_ctx *ctx, ak_node *sub)
{
    for (ak_node *m = sub; m && !ctx->failed; m = m->prev) {
        ak_tensor *o = m->out;
        if (!o->grad)
            continue;
        m->backward(ctx, m);
        if (!o->is_param && o->node == m) {
            if (!m->grad_alias)
                ak_arena_release(&ctx->arena, o->grad, sizeof(float) * (size_t)o->size);
            o->grad = NULL;
        }
    }
}

/* u = f(in) again (same inputs, same dropout call numbers, so the same
 * values), then ak_linear's backward with x = u (ops/linear_grad.h), then du
 * through f's nodes. */
static void linear_recompute_backward(ak_ctx *ctx, ak_node *n)
{
    const rc_saved *sv = n->saved;
    ak_tensor *in[RC_MAX_IN] = {0};
    for (int i = 0; i < sv->n_f; i++)
        in[i] = ak_node_in(n, i);
    ak_tensor *w = ak_node_in(n, sv->n_f), *bias = n->n_in > sv->n_f + 1 ? ak_node_in(n, sv->n_f + 1) : NULL;
    /* The caller may have discarded an input after this op (ak_discard keeps
     * its memory until this backward has run); the ops inside f would
     * refuse it, so the mark is lifted while f runs again. */
    ak_node *lifted[RC_MAX_IN];
    int nl = 0;
    for (int i = 0; i < sv->n_f; i++) {
        ak_node *p = in[i]->node;
        if (p && p->out == in[i] && p->discarded) {
            p->discarded = 0;
            lifted[nl++] = p;
        }
    }
    uint64_t calls = ctx->dropout_calls;
    ctx->dropout_calls = sv->calls;
    int grad = ak_set_grad_enabled(ctx, 1);
    ak_node *sub;
    ak_tensor *u = run_f(ctx, sv->f, sv->arg, in, &sub);
    uint64_t calls_end = ctx->dropout_calls;
    ak_set_grad_enabled(ctx, grad);
    ctx->dropout_calls = calls;
    for (int i = 0; i < nl; i++)
        lifted[i]->discarded = 1;
    if (!u || calls_end != sv->calls_end || u->size != sv->size) {
        give_back_outputs(ctx, sub);
        if (!ctx->failed)
            ak_ctx_fail(ctx, "linear_recompute: the recomputed input differs from the forward pass's");
        return;
    }
    float *gu = ak_grad(ctx, u), *gw = ak_grad(ctx, w), *gb = bias ? ak_grad(ctx, bias) : NULL;
    ak_linear_grad(sv->rows, w->shape[1], w->shape[0], n->out->grad, u->data, w->data, gu, gw, gb);
    run_backward(ctx, sub);
    give_back_outputs(ctx, sub);
}

ak_tensor *ak_linear_recompute(ak_ctx *ctx, ak_recompute_fn f, const void *arg, size_t arg_bytes, int n_in,
                               ak_tensor *const *in, ak_tensor *w, ak_tensor *bias)
{
    if (!f || n_in < 0 || n_in > RC_MAX_IN)
        return ak_ctx_fail(ctx, "linear_recompute: expected a function of 0 to %d inputs, got %d", RC_MAX_IN, n_in);
    for (int i = 0; i < n_in; i++)
        if (!in[i])
            return NULL;
    if (!w)
        return NULL;
    if (!ctx->grad_enabled)
        return ak_linear(ctx, f(ctx, in, arg), w, bias);
    uint64_t calls = ctx->dropout_calls;
    ak_node *sub;
    ak_tensor *u = run_f(ctx, f, arg, in, &sub);
    int grad = ak_set_grad_enabled(ctx, 0);
    ak_tensor *y = ak_linear(ctx, u, w, bias);
    ak_set_grad_enabled(ctx, grad);
    if (!y) {
        give_back_outputs(ctx, sub);
        return NULL;
    }
    ak_tensor *all[RC_MAX_IN + 2];
    int n_all = 0;
    for (int i = 0; i < n_in; i++)
        all[n_all++] = in[i];
    all[n_all++] = w;
    if (bias)
        all[n_all++] = bias;
    ak_node *node = ak_tape_record(ctx, y, "linear_recompute", linear_recompute_backward, n_all, all);
    if (!node)
        return ctx->failed ? NULL : y; /* nothing requires grad: y is all there is */
    rc_saved *sv = ak_arena_alloc(&ctx->arena, sizeof *sv);
    void *copy = arg_bytes ? ak_arena_alloc(&ctx->arena, arg_bytes) : NULL;
    if (!sv || (arg_bytes && !copy))
        return ak_ctx_fail(ctx, "linear_recompute: out of memory for the saved arguments");
    if (arg_bytes)
        memcpy(copy, arg, arg_bytes);
    *sv = (rc_saved){.f = f,
                     .arg = copy,
                     .calls = calls,
                     .calls_end = ctx->dropout_calls,
                     .n_f = n_in,
                     .rows = ak_rows(u),
                     .size = u->size};
    node->saved = sv;
    node->reads = 0;
    for (int i = 0; i <= n_in; i++) /* f's inputs and w */
        node->reads |= i < AK_NODE_MAX_IN ? AK_READS_IN(i) : AK_READS_MORE;
    give_back_outputs(ctx, sub);
    return y;
}
