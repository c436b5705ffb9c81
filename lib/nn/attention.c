#include "nn/attention.h"

#include "ops/recompute.h"
#include "ops/sdpa.h"

#include <math.h>
#include <string.h>

static const char *const TYPE_NAMES[] = {"additive", "dot", "general", "scaled_dot", "multihead"};

const char *ak_attn_type_name(ak_attn_type t) { return t <= AK_ATTN_MULTIHEAD ? TYPE_NAMES[t] : "?"; }

int ak_attn_type_parse(const char *s)
{
    for (int i = 0; i <= AK_ATTN_MULTIHEAD; i++)
        if (strcmp(s, TYPE_NAMES[i]) == 0)
            return i;
    return -1;
}

int ak_nn_attention_init(ak_nn_attention *m, ak_params *p, const char *name, ak_attn_type type, int64_t d_q,
                         int64_t d_k, int64_t d_attn, int64_t heads, float dropout, ak_err *err)
{
    char nm[256];
    memset(m, 0, sizeof *m);
    m->type = type;
    m->d_q = d_q;
    m->d_k = d_k;
    m->d_attn = d_attn;
    m->heads = 1;
    m->dropout = dropout;
    switch (type) {
    case AK_ATTN_ADDITIVE:
        if (d_attn < 1)
            return ak_errorf(err, "%s: additive attention needs an attention size >= 1", name);
        if (ak_nn_linear_init(&m->wq, p, ak_nn_name(nm, sizeof nm, name, "W"), d_q, d_attn, 1, err) ||
            ak_nn_linear_init(&m->wk, p, ak_nn_name(nm, sizeof nm, name, "U"), d_k, d_attn, 1, err) ||
            ak_nn_linear_init(&m->v, p, ak_nn_name(nm, sizeof nm, name, "v"), d_attn, 1, 1, err))
            return -1;
        return 0;
    case AK_ATTN_DOT:
    case AK_ATTN_SCALED_DOT:
        if (d_q != d_k)
            return ak_errorf(err, "%s: %s attention needs query and key sizes equal, got %lld and %lld", name,
                             TYPE_NAMES[type], (long long)d_q, (long long)d_k);
        return 0;
    case AK_ATTN_GENERAL:
        m->w = ak_param(p, ak_nn_name(nm, sizeof nm, name, "W"), 2, ak_shape(d_q, d_k),
                        (ak_init){AK_INIT_UNIFORM, 1.0f / sqrtf((float)d_k)}, err);
        return m->w ? 0 : -1;
    case AK_ATTN_MULTIHEAD:
        if (d_q != d_attn || d_k != d_attn || heads < 1 || d_attn % heads)
            return ak_errorf(err,
                             "%s: multihead attention needs query, key and model sizes equal and divisible by "
                             "the head count, got %lld, %lld, %lld with %lld heads",
                             name, (long long)d_q, (long long)d_k, (long long)d_attn, (long long)heads);
        m->heads = heads;
        if (ak_nn_linear_init(&m->wq, p, ak_nn_name(nm, sizeof nm, name, "q"), d_attn, d_attn, 1, err) ||
            ak_nn_linear_init(&m->wk, p, ak_nn_name(nm, sizeof nm, name, "k"), d_attn, d_attn, 1, err) ||
            ak_nn_linear_init(&m->wv, p, ak_nn_name(nm, sizeof nm, name, "v"), d_attn, d_attn, 1, err) ||
            ak_nn_linear_init(&m->wo, p, ak_nn_name(nm, sizeof nm, name, "o"), d_attn, d_attn, 1, err))
            return -1;
        return 0;
    }
    return ak_errorf(err, "%s: unknown attention type %d", name, (int)type);
}

static ak_attn_memory project(ak_ctx *ctx, const ak_nn_attention *m, ak_tensor *k, ak_tensor *v)
{
    ak_attn_memory mem = {k, v};
    switch (m->type) {
    case AK_ATTN_ADDITIVE:
        mem.keys = ak_nn_linear_forward(ctx, &m->wk, k);
        break;
    case AK_ATTN_GENERAL:
        /* q^T W k = q . (W k): project the keys once, then it is a dot product. */
        mem.keys = ak_matmul(ctx, k, m->w, 0, 1);
        break;
    case AK_ATTN_MULTIHEAD:
        /* Heads stay side by side in [B, Lk, d]: ak_sdpa_* read them in place. */
        mem.keys = ak_nn_linear_forward(ctx, &m->wk, k);
        mem.values = ak_nn_linear_forward(ctx, &m->wv, v);
        break;
    default:
        break;
    }
    return mem;
}

ak_attn_memory ak_nn_attention_memory(ak_ctx *ctx, const ak_nn_attention *m, ak_tensor *k, ak_tensor *v)
{
    return project(ctx, m, k, v);
}

ak_attn_memory ak_nn_attention_memory_append(ak_ctx *ctx, const ak_nn_attention *m, ak_attn_memory mem,
                                             ak_tensor *k, ak_tensor *v)
{
    ak_attn_memory add = project(ctx, m, k, v);
    ak_tensor *keys[2] = {mem.keys, add.keys}, *vals[2] = {mem.values, add.values};
    ak_attn_memory out = {ak_concat(ctx, keys, 2, 1), ak_concat(ctx, vals, 2, 1)};
    return out;
}

/* Raw scores [B, 1, Lq, Lk] of the single-head kinds before the softmax. */
static ak_tensor *scores(ak_ctx *ctx, const ak_nn_attention *m, ak_tensor *q, ak_attn_memory mem)
{
    int64_t B = q->shape[0], Lq = q->shape[1], Lk = mem.keys->shape[mem.keys->ndim - 2];
    switch (m->type) {
    case AK_ATTN_ADDITIVE: {
        /* v^T tanh(W q_i + U k_j) + b_v for every (i, j), fused: nothing of
         * size [B, Lq, Lk, A] is kept. */
        ak_tensor *e = ak_additive_scores(ctx, ak_nn_linear_forward(ctx, &m->wq, q), mem.keys, m->v.w, m->v.b);
        return ak_reshape(ctx, e, 4, ak_shape(B, 1, Lq, Lk));
    }
    case AK_ATTN_DOT:
    case AK_ATTN_SCALED_DOT:
    case AK_ATTN_GENERAL:
        return ak_reshape(ctx, ak_matmul(ctx, q, mem.keys, 0, 1), 4, ak_shape(B, 1, Lq, Lk));
    case AK_ATTN_MULTIHEAD:
        break;
    }
    return NULL;
}

/* ---- multihead: what the output projection recomputes --------------------
 *
 * The output projection is an ak_linear_recompute (ops/recompute.h): its
 * input, the attention context, is computed again in the backward pass
 * instead of being kept, and with it as much of the attention as is cheap
 * next to the projections (the per-head products are small): Drop(P)
 * always, P itself unless the caller wants the weights (capture, *weights),
 * and for ak_nn_attention_forward_ln the LayerNorm and the query projection
 * too. The functions below are that input, each from the tensors it reads;
 * the tape then holds only those tensors, which stay anyway. */

typedef struct mh_arg {
    const ak_tensor *mask; /* constant, lives to the step's end; may be NULL */
    int64_t heads;
    float scale, dropout, eps;
} mh_arg;

/* in: P, V -> Drop(P) V (heads merged). */
static ak_tensor *context_of(ak_ctx *ctx, ak_tensor *const *in, const void *arg)
{
    const mh_arg *a = arg;
    return ak_sdpa_context(ctx, ak_dropout(ctx, in[0], a->dropout), in[1]);
}

/* in: Q, K, V (projected) -> Drop(softmax(scale Q K^T + mask)) V per head. */
static ak_tensor *attend_of(ak_ctx *ctx, ak_tensor *const *in, const void *arg)
{
    const mh_arg *a = arg;
    ak_tensor *pv[2] = {ak_sdpa_probs(ctx, in[0], in[1], a->heads, a->mask, a->scale), in[2]};
    return context_of(ctx, pv, arg);
}

/* in: x, LN gamma, LN beta, Wq, bq, K, V -> attend_of(LN(x) Wq^T + bq, K, V). */
static ak_tensor *attend_normed_of(ak_ctx *ctx, ak_tensor *const *in, const void *arg)
{
    const mh_arg *a = arg;
    ak_tensor *qkv[3] = {ak_linear(ctx, ak_layernorm(ctx, in[0], in[1], in[2], a->eps), in[3], in[4]), in[5], in[6]};
    return attend_of(ctx, qkv, arg);
}

/* in: x, LN gamma, LN beta, Wq, bq, Wk, bk, Wv, bv -> self-attention over
 * h = LN(x): keys, values and queries projected from h in the order the
 * unfused path makes them (ak_nn_attention_memory, then the queries). */
static ak_tensor *self_attend_normed_of(ak_ctx *ctx, ak_tensor *const *in, const void *arg)
{
    const mh_arg *a = arg;
    ak_tensor *h = ak_layernorm(ctx, in[0], in[1], in[2], a->eps);
    ak_tensor *k = ak_linear(ctx, h, in[5], in[6]), *v = ak_linear(ctx, h, in[7], in[8]);
    ak_tensor *qkv[3] = {ak_linear(ctx, h, in[3], in[4]), k, v};
    return attend_of(ctx, qkv, arg);
}

static mh_arg mh_arg_of(const ak_nn_attention *m, const ak_tensor *mask)
{
    return (mh_arg){.mask = mask,
                    .heads = m->heads,
                    .scale = 1.0f / sqrtf((float)(m->d_attn / m->heads)),
                    .dropout = m->dropout};
}

/* Fails the context unless q is [B, Lq, d_q] with the keys' batch. */
static int queries_fit(ak_ctx *ctx, const ak_nn_attention *m, const ak_tensor *q, ak_attn_memory mem)
{
    if (q->ndim == 3 && q->shape[2] == m->d_q && mem.keys->shape[0] == q->shape[0])
        return 1;
    char sq[64], sk[64];
    ak_ctx_fail(ctx, "attention (%s): expected queries [B, Lq, %lld] and keys of the same batch, got %s and %s",
                TYPE_NAMES[m->type], (long long)m->d_q, ak_shape_str(q, sq, sizeof sq),
                ak_shape_str(mem.keys, sk, sizeof sk));
    return 0;
}

ak_tensor *ak_nn_attention_forward(ak_ctx *ctx, const ak_nn_attention *m, ak_tensor *q, ak_attn_memory mem,
                                   const ak_tensor *mask, ak_tensor **weights, ak_attn_capture *cap,
                                   ak_attn_role role, int layer)
{
    if (weights)
        *weights = NULL;
    if (!q || !mem.keys || !mem.values || !queries_fit(ctx, m, q, mem))
        return NULL;
    int mh = m->type == AK_ATTN_MULTIHEAD;
    mh_arg a = mh ? mh_arg_of(m, mask) : (mh_arg){0};
    if (mh && !weights && !cap) {
        ak_tensor *in[3] = {ak_nn_linear_forward(ctx, &m->wq, q), mem.keys, mem.values};
        return in[0] ? ak_linear_recompute(ctx, attend_of, &a, sizeof a, 3, in, m->wo.w, m->wo.b) : NULL;
    }
    float scale = m->type == AK_ATTN_SCALED_DOT ? 1.0f / sqrtf((float)m->d_k) : mh ? a.scale : 1.0f;
    ak_tensor *p = mh ? ak_sdpa_probs(ctx, ak_nn_linear_forward(ctx, &m->wq, q), mem.keys, m->heads, mask, scale)
                      : ak_softmax(ctx, scores(ctx, m, q, mem), mask, scale);
    if (!p)
        return NULL;
    if (weights)
        *weights = p;
    if (cap)
        ak_capture_add(cap, role, layer, p);
    if (mh) {
        ak_tensor *in[2] = {p, mem.values};
        return ak_linear_recompute(ctx, context_of, &a, sizeof a, 2, in, m->wo.w, m->wo.b);
    }
    int64_t B = p->shape[0], Lq = p->shape[2], Lk = p->shape[3];
    return ak_matmul(ctx, ak_reshape(ctx, p, 3, ak_shape(B, Lq, Lk)), mem.values, 0, 0);
}

ak_tensor *ak_nn_attention_forward_ln(ak_ctx *ctx, const ak_nn_attention *m, const ak_nn_layernorm *ln, ak_tensor *x,
                                      ak_attn_memory mem, const ak_tensor *mask, ak_attn_capture *cap,
                                      ak_attn_role role, int layer)
{
    if (m->type != AK_ATTN_MULTIHEAD || cap || !ln->w || !ln->b || !m->wq.b)
        return ak_nn_attention_forward(ctx, m, ak_nn_layernorm_forward(ctx, ln, x), mem, mask, NULL, cap, role,
                                       layer);
    if (!x || !mem.keys || !mem.values || !queries_fit(ctx, m, x, mem))
        return NULL;
    mh_arg a = mh_arg_of(m, mask);
    a.eps = ln->eps;
    ak_tensor *in[7] = {x, ln->w, ln->b, m->wq.w, m->wq.b, mem.keys, mem.values};
    return ak_linear_recompute(ctx, attend_normed_of, &a, sizeof a, 7, in, m->wo.w, m->wo.b);
}

ak_tensor *ak_mask_key_padding(ak_ctx *ctx, const int32_t *ids, int64_t B, int64_t Lk, int32_t pad)
{
    ak_tensor *mask = ak_tensor_new(ctx, 4, ak_shape(B, 1, 1, Lk));
    if (!mask)
        return NULL;
    for (int64_t i = 0; i < B * Lk; i++)
        mask->data[i] = ids[i] == pad ? -INFINITY : 0.0f;
    return mask;
}

ak_tensor *ak_mask_causal(ak_ctx *ctx, int64_t Lq, int64_t Lk, int64_t offset)
{
    ak_tensor *mask = ak_tensor_new(ctx, 2, ak_shape(Lq, Lk));
    if (!mask)
        return NULL;
    for (int64_t i = 0; i < Lq; i++)
        for (int64_t j = 0; j < Lk; j++)
            mask->data[i * Lk + j] = j > i + offset ? -INFINITY : 0.0f;
    return mask;
}

ak_tensor *ak_nn_self_attention_ln(ak_ctx *ctx, const ak_nn_attention *m, const ak_nn_layernorm *ln, ak_tensor *x,
                                   const ak_tensor *mask, ak_attn_capture *cap, ak_attn_role role, int layer)
{
    if (m->type != AK_ATTN_MULTIHEAD || cap || !ln->w || !ln->b || !m->wq.b || !m->wk.b || !m->wv.b) {
        ak_tensor *h = ak_nn_layernorm_forward(ctx, ln, x);
        return ak_nn_attention_forward(ctx, m, h, ak_nn_attention_memory(ctx, m, h, h), mask, NULL, cap, role,
                                       layer);
    }
    if (!x)
        return NULL;
    if (x->ndim != 3 || x->shape[2] != m->d_q) {
        char sx[64];
        return ak_ctx_fail(ctx, "attention (%s): expected queries [B, Lq, %lld], got %s", TYPE_NAMES[m->type],
                           (long long)m->d_q, ak_shape_str(x, sx, sizeof sx));
    }
    mh_arg a = mh_arg_of(m, mask);
    a.eps = ln->eps;
    ak_tensor *in[9] = {x, ln->w, ln->b, m->wq.w, m->wq.b, m->wk.w, m->wk.b, m->wv.w, m->wv.b};
    return ak_linear_recompute(ctx, self_attend_normed_of, &a, sizeof a, 9, in, m->wo.w, m->wo.b);
}
