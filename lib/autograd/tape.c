#include "autograd/tape.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ak_ctx_init(ak_ctx *ctx, size_t arena_bytes, uint64_t seed)
{
    memset(ctx, 0, sizeof *ctx);
    ak_arena_init(&ctx->arena, arena_bytes);
    ctx->grad_enabled = 1;
    ctx->seed = seed;
}

void ak_ctx_free(ak_ctx *ctx)
{
    ak_arena_free(&ctx->arena);
    ctx->tape = NULL;
}

void ak_ctx_end_step(ak_ctx *ctx)
{
    ak_arena_reset(&ctx->arena);
    ctx->tape = NULL;
    ctx->discards = NULL;
    ctx->tape_spent = 0;
    ctx->failed = 0;
    ctx->err.msg[0] = 0;
    ctx->dropout_calls = 0;
    ctx->step++;
}

int ak_set_grad_enabled(ak_ctx *ctx, int enabled)
{
    int old = ctx->grad_enabled;
    ctx->grad_enabled = enabled;
    return old;
}

ak_tensor *ak_ctx_fail(ak_ctx *ctx, const char *fmt, ...)
{
    if (!ctx->failed) {
        va_list ap;
        va_start(ap, fmt);
        ak_verrorf(&ctx->err, fmt, ap);
        va_end(ap);
        ctx->failed = 1;
    }
    return NULL;
}

static ak_tensor *make(ak_ctx *ctx, int ndim, const int64_t *shape, int zero)
{
    ak_tensor *t = ak_arena_calloc(&ctx->arena, sizeof *t);
    if (!t)
        return ak_ctx_fail(ctx, "out of memory for a tensor header");
    if (ak_tensor_set_shape(t, ndim, shape) != 0)
        return ak_ctx_fail(ctx, "invalid tensor shape (ndim %d)", ndim);
    size_t bytes = (size_t)t->size * sizeof(float);
    t->data = zero ? ak_arena_calloc(&ctx->arena, bytes) : ak_arena_alloc(&ctx->arena, bytes);
    if (!t->data)
        return ak_ctx_fail(ctx, "out of memory for a tensor of %lld floats", (long long)t->size);
    return t;
}

ak_tensor *ak_tensor_new(ak_ctx *ctx, int ndim, const int64_t *shape) { return make(ctx, ndim, shape, 0); }

ak_tensor *ak_tensor_zeros(ak_ctx *ctx, int ndim, const int64_t *shape) { return make(ctx, ndim, shape, 1); }

ak_tensor *ak_tensor_from(ak_ctx *ctx, int ndim, const int64_t *shape, const float *data, int requires_grad)
{
    ak_tensor *t = make(ctx, ndim, shape, 0);
    if (!t)
        return NULL;
    memcpy(t->data, data, (size_t)t->size * sizeof(float));
    t->requires_grad = requires_grad;
    return t;
}

ak_node *ak_tape_record(ak_ctx *ctx, ak_tensor *out, const char *op, ak_backward_fn bw, int n_in, ak_tensor *const *in)
{
    out->requires_grad = 0;
    out->node = NULL;
    if (!ctx->grad_enabled)
        return NULL;
    int any = 0;
    for (int i = 0; i < n_in; i++)
        any |= in[i]->requires_grad;
    if (!any)
        return NULL;
    for (int i = 0; i < n_in; i++)
        if (in[i]->node && in[i]->node->discarded && in[i]->node->out == in[i]) {
            ak_ctx_fail(ctx, "%s: input %d was discarded (ak_discard) before this use", op, i);
            return NULL;
        }
    ak_node *n = ak_arena_calloc(&ctx->arena, sizeof *n);
    if (n_in > AK_NODE_MAX_IN)
        n->more = ak_arena_alloc(&ctx->arena, sizeof(ak_tensor *) * (size_t)(n_in - AK_NODE_MAX_IN));
    if (!n || (n_in > AK_NODE_MAX_IN && !n->more)) {
        ak_ctx_fail(ctx, "%s: out of memory for the tape", op);
        return NULL;
    }
    for (int i = 0; i < n_in; i++) {
        if (i < AK_NODE_MAX_IN)
            n->in[i] = in[i];
        else
            n->more[i - AK_NODE_MAX_IN] = in[i];
    }
    n->n_in = n_in;
    n->op = op;
    n->backward = bw;
    n->reads = AK_READS_ALL;
    n->out = out;
    n->prev = ctx->tape;
    ctx->tape = n;
    out->requires_grad = 1;
    out->node = n;
    return n;
}

/* ---- ak_discard ----------------------------------------------------------- */

static size_t data_bytes(const ak_tensor *t) { return (size_t)t->size * sizeof(float); }

/* 1 when r's data and b's share memory. */
static int overlaps(const ak_tensor *r, const ak_tensor *b)
{
    return r->size > 0 && b->size > 0 && r->data < b->data + b->size && b->data < r->data + r->size;
}

/* How many of the data reads n's backward makes touch b's memory. */
static int reads_of(const ak_node *n, const ak_tensor *b)
{
    int c = 0;
    for (int i = 0; i < n->n_in; i++) {
        unsigned bit = i < AK_NODE_MAX_IN ? AK_READS_IN(i) : AK_READS_MORE;
        c += (n->reads & bit) && overlaps(ak_node_in(n, i), b);
    }
    return c + ((n->reads & AK_READS_OUT) && overlaps(n->out, b));
}

void ak_discard(ak_ctx *ctx, ak_tensor *t)
{
    ak_node *p = t ? t->node : NULL;
    if (!p || p->out != t || p->grad_alias || p->discarded)
        return;
    /* Every node that can read t is newer than its producer p: the reads
     * still to come are counted among p and the nodes after it. */
    int pending = 0;
    for (const ak_node *n = ctx->tape; n; n = n->prev) {
        pending += reads_of(n, t);
        if (n == p)
            break;
    }
    p->discarded = 1;
    p->pending = pending;
    if (pending == 0) {
        ak_arena_give_back(&ctx->arena, t->data, data_bytes(t));
    } else {
        p->next_discard = ctx->discards;
        ctx->discards = p;
    }
}

/* After n's backward: gives back the discarded memory whose last backward
 * read that was. */
static void settle_discards(ak_ctx *ctx, const ak_node *n)
{
    for (ak_node **link = &ctx->discards; *link;) {
        ak_node *p = *link;
        p->pending -= reads_of(n, p->out);
        if (p->pending > 0) {
            link = &p->next_discard;
            continue;
        }
        *link = p->next_discard;
        ak_arena_give_back(&ctx->arena, p->out->data, data_bytes(p->out));
        ctx->tape_spent = 1;
    }
}

float *ak_grad(ak_ctx *ctx, ak_tensor *t)
{
    if (!t->requires_grad)
        return NULL;
    if (!t->grad) {
        if (t->node && t->node->grad_alias)
            return t->grad = ak_grad(ctx, t->node->in[0]);
        /* Parameters own persistent grads; everything else lives for the
         * step at most (see run_tape). */
        t->grad = ak_arena_calloc_recycled(&ctx->arena, (size_t)t->size * sizeof(float));
        if (!t->grad)
            ak_ctx_fail(ctx, "out of memory for a gradient of %lld floats", (long long)t->size);
    }
    return t->grad;
}

static int run_tape(ak_ctx *ctx, ak_err *err)
{
    for (ak_node *n = ctx->tape; n; n = n->prev) {
        ak_tensor *out = n->out;
        if (out->grad) { /* no gradient reached this node: nothing to pass on */
            n->backward(ctx, n);
            /* Every consumer of out is newer and has run: its gradient is
             * complete and used up. Recycle it (an aliasing view's buffer
             * belongs to its base, a parameter's is persistent). */
            if (!out->is_param && out->node == n) {
                if (!n->grad_alias)
                    ak_arena_release(&ctx->arena, out->grad, (size_t)out->size * sizeof(float));
                out->grad = NULL;
            }
        }
        if (ctx->discards)
            settle_discards(ctx, n);
        if (ctx->failed)
            return ak_errorf(err, "backward: %s", ctx->err.msg);
    }
    return 0;
}

int ak_backward_seeded(ak_ctx *ctx, ak_tensor *out, const float *seed, ak_err *err)
{
    if (!out)
        return ak_errorf(err, "backward: no output (the forward pass failed: %s)", ctx->err.msg);
    if (!out->requires_grad)
        return ak_errorf(err, "backward: the output does not depend on anything that requires grad");
    if (ctx->tape_spent)
        return ak_errorf(err, "backward: a previous pass over this tape gave discarded tensors (ak_discard) back; "
                              "run the forward pass again");
    float *g = ak_grad(ctx, out);
    if (!g)
        return ak_errorf(err, "backward: %s", ctx->err.msg);
    for (int64_t i = 0; i < out->size; i++)
        g[i] += seed[i];
    return run_tape(ctx, err);
}

int ak_backward(ak_ctx *ctx, ak_tensor *loss, ak_err *err)
{
    if (loss && loss->size != 1) {
        char s[64];
        return ak_errorf(err, "backward: expected a scalar loss, got shape %s", ak_shape_str(loss, s, sizeof s));
    }
    const float one = 1.0f;
    return ak_backward_seeded(ctx, loss, &one, err);
}
