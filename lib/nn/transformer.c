/* Pre-LN Transformer encoder-decoder (shared/reference-models.md, "T"):
 *   embed(x)  = Drop(E[x] * sqrt(d) + PE)
 *   encoder:  x += Drop(SelfAttn(LN1 x, pad mask));  x += Drop(FFN(LN2 x));  final LN
 *   decoder:  x += Drop(SelfAttn(LN1 x, causal));  x += Drop(CrossAttn(LN2 x, memory, pad mask));
 *             x += Drop(FFN(LN3 x));  final LN;  logits = Linear(x)
 *   FFN(x)    = W2 Drop(ReLU(W1 x + b1)) + b2 */
#include "nn/seq2seq.h"

#include "ops/ffn.h"
#include "ops/recompute.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tf_layer {
    ak_nn_layernorm ln1, ln2, ln3;   /* ln3: decoder only */
    ak_nn_attention self, cross;     /* cross: decoder only */
    ak_nn_linear ff1, ff2;
} tf_layer;

struct ak_transformer {
    ak_model_desc d;
    ak_nn_embedding src_emb, tgt_emb;
    ak_nn_posenc pos;
    tf_layer *enc, *dec;
    ak_nn_layernorm enc_norm, dec_norm;
    ak_nn_linear gen;
};

struct ak_tf_state {
    int64_t B, Ls, t, max_steps, layers;
    ak_tensor *src_mask;             /* [B,1,1,Ls] */
    ak_attn_memory *self, *cross;    /* per decoder layer; self caches are [B,max_steps,d] */
    ak_attn_capture *cap;
};

static int layer_init(tf_layer *l, ak_params *p, const char *name, const ak_model_desc *d, int decoder, ak_err *err)
{
    char nm[256];
    const int64_t dm = d->d_model;
#define N(field) ak_nn_name(nm, sizeof nm, name, field)
    if (ak_nn_layernorm_init(&l->ln1, p, N("ln1"), dm, 1e-5f, err) ||
        ak_nn_attention_init(&l->self, p, N("self_attn"), AK_ATTN_MULTIHEAD, dm, dm, dm, d->heads, d->dropout,
                             err) ||
        ak_nn_layernorm_init(&l->ln2, p, N("ln2"), dm, 1e-5f, err))
        return -1;
    if (decoder && (ak_nn_attention_init(&l->cross, p, N("cross_attn"), AK_ATTN_MULTIHEAD, dm, dm, dm, d->heads,
                                         d->dropout, err) ||
                    ak_nn_layernorm_init(&l->ln3, p, N("ln3"), dm, 1e-5f, err)))
        return -1;
    if (ak_nn_linear_init(&l->ff1, p, N("ff1"), dm, d->d_ff, 1, err) ||
        ak_nn_linear_init(&l->ff2, p, N("ff2"), d->d_ff, dm, 1, err))
        return -1;
#undef N
    return 0;
}

ak_transformer *ak_transformer_create(const ak_model_desc *d, ak_params *p, ak_err *err)
{
    ak_transformer *t = calloc(1, sizeof *t);
    if (t) {
        t->enc = calloc((size_t)d->enc_layers, sizeof *t->enc);
        t->dec = calloc((size_t)d->dec_layers, sizeof *t->dec);
    }
    if (!t || !t->enc || !t->dec) {
        ak_transformer_free(t);
        ak_errorf(err, "out of memory for a Transformer");
        return NULL;
    }
    t->d = *d;
    float std = d->emb_std > 0 ? d->emb_std : 1.0f / sqrtf((float)d->d_model);
    char nm[64];
    int rc = ak_nn_embedding_init(&t->src_emb, p, "src_emb", d->src_vocab, d->d_model, std, err) ||
             ak_nn_embedding_init(&t->tgt_emb, p, "tgt_emb", d->tgt_vocab, d->d_model, std, err) ||
             ak_nn_posenc_init(&t->pos, p, "pos", d->learned_pos, d->max_len, d->d_model, err);
    for (int64_t i = 0; !rc && i < d->enc_layers; i++) {
        snprintf(nm, sizeof nm, "enc.%lld", (long long)i);
        rc = layer_init(&t->enc[i], p, nm, d, 0, err);
    }
    rc = rc || ak_nn_layernorm_init(&t->enc_norm, p, "enc_norm", d->d_model, 1e-5f, err);
    for (int64_t i = 0; !rc && i < d->dec_layers; i++) {
        snprintf(nm, sizeof nm, "dec.%lld", (long long)i);
        rc = layer_init(&t->dec[i], p, nm, d, 1, err);
    }
    rc = rc || ak_nn_layernorm_init(&t->dec_norm, p, "dec_norm", d->d_model, 1e-5f, err) ||
         ak_nn_linear_init(&t->gen, p, "gen", d->d_model, d->tgt_vocab, 1, err);
    if (rc) {
        ak_transformer_free(t);
        return NULL;
    }
    return t;
}

void ak_transformer_free(ak_transformer *t)
{
    if (!t)
        return;
    ak_nn_posenc_free(&t->pos);
    free(t->enc);
    free(t->dec);
    free(t);
}

/* The forward pass is done with `used`, which made `result`: its memory goes
 * back to the step's arena (ak_discard: at once when no backward reads it,
 * else after the last backward that does), so later activations reuse it
 * and the step's peak shrinks. Nothing when an op handed its input through
 * unchanged (dropout in eval mode returns x itself). */
static void discard_used(ak_ctx *ctx, ak_tensor *used, const ak_tensor *result)
{
    if (used && used != result)
        ak_discard(ctx, used);
}

static ak_tensor *embed(ak_ctx *ctx, const ak_transformer *t, const ak_nn_embedding *e, const int32_t *ids,
                        int64_t B, int64_t L, int64_t offset)
{
    ak_tensor *x = ak_nn_embedding_forward(ctx, e, ids, 2, ak_shape(B, L));
    ak_tensor *s = ak_scale(ctx, x, sqrtf((float)t->d.d_model));
    discard_used(ctx, x, s);
    x = ak_nn_posenc_forward(ctx, &t->pos, s, offset);
    discard_used(ctx, s, x);
    ak_tensor *y = ak_dropout(ctx, x, t->d.dropout);
    discard_used(ctx, x, y);
    return y;
}

/* LN(x) (in: x, gamma, beta; arg: eps), recomputed in the backward pass by
 * the projection that reads it (ops/recompute.h): cheap next to the
 * product, and the normalised copy of x does not stay in memory. */
static ak_tensor *layernorm_of(ak_ctx *ctx, ak_tensor *const *in, const void *arg)
{
    return ak_layernorm(ctx, in[0], in[1], in[2], *(const float *)arg);
}

/* Linear(LN(x)) with LN(x) recomputed in the backward pass. */
static ak_tensor *normed_linear(ak_ctx *ctx, const ak_nn_layernorm *ln, const ak_nn_linear *lin, ak_tensor *x)
{
    ak_tensor *in[3] = {x, ln->w, ln->b};
    return ak_linear_recompute(ctx, layernorm_of, &ln->eps, sizeof ln->eps, 3, in, lin->w, lin->b);
}

/* FFN(LN(x)) = W2 Drop(ReLU(W1 LN(x) + b1)) + b2. Kept for the backward
 * pass: x (its LayerNorm is recomputed from it) and the hidden, packed
 * (ops/ffn.h); not LN(x), not W1 LN(x) + b1. */
static ak_tensor *ffn(ak_ctx *ctx, const tf_layer *l, const ak_nn_layernorm *ln, float p, ak_tensor *x)
{
    ak_tensor *a = normed_linear(ctx, ln, &l->ff1, x);
    ak_tensor *y = ak_relu_dropout_linear(ctx, a, p, l->ff2.w, l->ff2.b);
    discard_used(ctx, a, y);
    return y;
}

/* x + Drop(f); the caller is done with x and f (the residual stream moves
 * on to the result). */
static ak_tensor *residual(ak_ctx *ctx, ak_tensor *x, ak_tensor *f, float p)
{
    ak_tensor *y = ak_residual_dropout(ctx, x, f, p);
    discard_used(ctx, f, y);
    discard_used(ctx, x, y);
    return y;
}

static ak_tensor *encode(ak_ctx *ctx, const ak_transformer *t, const int32_t *src, int64_t B, int64_t Ls,
                         const ak_tensor *src_mask, ak_attn_capture *cap)
{
    float p = t->d.dropout;
    ak_tensor *x = embed(ctx, t, &t->src_emb, src, B, Ls, 0);
    for (int64_t i = 0; i < t->d.enc_layers; i++) {
        const tf_layer *l = &t->enc[i];
        x = residual(ctx, x, ak_nn_self_attention_ln(ctx, &l->self, &l->ln1, x, src_mask, cap, AK_ROLE_ENC_SELF, (int)i), p);
        x = residual(ctx, x, ffn(ctx, l, &l->ln2, p, x), p);
    }
    return ak_nn_layernorm_forward(ctx, &t->enc_norm, x);
}

ak_tensor *ak_transformer_hidden(ak_ctx *ctx, const ak_transformer *t, const int32_t *src, int64_t B, int64_t Ls,
                                 const int32_t *tgt_in, int64_t Lt, ak_attn_capture *cap)
{
    float p = t->d.dropout;
    ak_tensor *src_mask = ak_mask_key_padding(ctx, src, B, Ls, AK_PAD);
    ak_tensor *causal = ak_mask_causal(ctx, Lt, Lt, 0);
    ak_tensor *memory = encode(ctx, t, src, B, Ls, src_mask, cap);
    ak_tensor *x = embed(ctx, t, &t->tgt_emb, tgt_in, B, Lt, 0);
    for (int64_t i = 0; i < t->d.dec_layers; i++) {
        const tf_layer *l = &t->dec[i];
        x = residual(ctx, x, ak_nn_self_attention_ln(ctx, &l->self, &l->ln1, x, causal, cap, AK_ROLE_DEC_SELF, (int)i), p);
        ak_attn_memory cross = ak_nn_attention_memory(ctx, &l->cross, memory, memory);
        x = residual(ctx, x, ak_nn_attention_forward_ln(ctx, &l->cross, &l->ln2, x, cross, src_mask, cap, AK_ROLE_CROSS, (int)i), p);
        x = residual(ctx, x, ffn(ctx, l, &l->ln3, p, x), p);
    }
    return ak_nn_layernorm_forward(ctx, &t->dec_norm, x);
}

const ak_nn_linear *ak_transformer_generator(const ak_transformer *t) { return &t->gen; }

ak_tensor *ak_transformer_forward(ak_ctx *ctx, const ak_transformer *t, const int32_t *src, int64_t B, int64_t Ls,
                                  const int32_t *tgt_in, int64_t Lt, ak_attn_capture *cap)
{
    return ak_nn_linear_forward(ctx, &t->gen, ak_transformer_hidden(ctx, t, src, B, Ls, tgt_in, Lt, cap));
}

ak_tf_state *ak_transformer_begin(ak_ctx *ctx, const ak_transformer *t, const int32_t *src, int64_t B, int64_t Ls,
                                  int64_t max_steps, ak_attn_capture *cap)
{
    int64_t n = t->d.dec_layers, dm = t->d.d_model;
    if (max_steps < 1 || max_steps > t->d.max_len) {
        ak_ctx_fail(ctx, "decode: max_steps %lld outside [1, max_len %lld]", (long long)max_steps,
                    (long long)t->d.max_len);
        return NULL;
    }
    ak_tf_state *s = ak_arena_calloc(&ctx->arena, sizeof *s);
    ak_attn_memory *mems = ak_arena_calloc(&ctx->arena, sizeof *mems * (size_t)(2 * n));
    if (!s || !mems) {
        ak_ctx_fail(ctx, "decode: out of memory");
        return NULL;
    }
    s->B = B;
    s->Ls = Ls;
    s->max_steps = max_steps;
    s->layers = n;
    s->cap = cap;
    s->self = mems;
    s->cross = mems + n;
    s->src_mask = ak_mask_key_padding(ctx, src, B, Ls, AK_PAD);
    ak_tensor *memory = encode(ctx, t, src, B, Ls, s->src_mask, cap);
    for (int64_t i = 0; i < n; i++) {
        s->cross[i] = ak_nn_attention_memory(ctx, &t->dec[i].cross, memory, memory);
        /* Zeroed, so masked-out future slots contribute 0 * 0 to the context. */
        s->self[i].keys = ak_tensor_zeros(ctx, 3, ak_shape(B, max_steps, dm));
        s->self[i].values = ak_tensor_zeros(ctx, 3, ak_shape(B, max_steps, dm));
    }
    return ctx->failed ? NULL : s;
}

/* Copies one new position [B,1,d] into slot t of a cache [B,T,d]. */
static void cache_put(ak_tensor *cache, const ak_tensor *row, int64_t t)
{
    int64_t B = cache->shape[0], T = cache->shape[1], d = cache->shape[2];
    for (int64_t b = 0; b < B; b++)
        memcpy(cache->data + (b * T + t) * d, row->data + b * d, sizeof(float) * (size_t)d);
}

/* Keeps none of the tensors it makes in ctx (the caches are copied into):
 * greedy decoding (train/decode.c) resets ctx after every step. */
ak_tensor *ak_transformer_step(ak_ctx *ctx, const ak_transformer *t, ak_tf_state *s, const int32_t *prev)
{
    if (!s)
        return NULL;
    if (s->t >= s->max_steps)
        return ak_ctx_fail(ctx, "decode: step %lld beyond the %lld steps the state was built for", (long long)s->t + 1,
                           (long long)s->max_steps);
    int64_t B = s->B;
    ak_tensor *x = embed(ctx, t, &t->tgt_emb, prev, B, 1, s->t);
    /* Slots after t are still empty: mask them like the causal mask would. */
    ak_tensor *mask = ak_mask_causal(ctx, 1, s->max_steps, s->t);
    for (int64_t i = 0; i < t->d.dec_layers && x; i++) {
        const tf_layer *l = &t->dec[i];
        ak_tensor *h = ak_nn_layernorm_forward(ctx, &l->ln1, x);
        ak_attn_memory add = ak_nn_attention_memory(ctx, &l->self, h, h);
        if (!add.keys || !add.values)
            return NULL;
        cache_put(s->self[i].keys, add.keys, s->t);
        cache_put(s->self[i].values, add.values, s->t);
        ak_tensor *w = NULL;
        ak_tensor *a = ak_nn_attention_forward(ctx, &l->self, h, s->self[i], mask, &w, NULL, AK_ROLE_DEC_SELF, (int)i);
        if (s->cap && w)
            ak_capture_add(s->cap, AK_ROLE_DEC_SELF, (int)i, ak_slice(ctx, w, 3, 0, s->t + 1));
        float p = t->d.dropout;
        x = residual(ctx, x, a, p);
        h = ak_nn_layernorm_forward(ctx, &l->ln2, x);
        x = residual(ctx, x, ak_nn_attention_forward(ctx, &l->cross, h, s->cross[i], s->src_mask, NULL, s->cap, AK_ROLE_CROSS, (int)i), p);
        x = residual(ctx, x, ffn(ctx, l, &l->ln3, p, x), p);
    }
    ak_tensor *logits = ak_nn_linear_forward(ctx, &t->gen, ak_nn_layernorm_forward(ctx, &t->dec_norm, x));
    s->t++;
    return ak_reshape(ctx, logits, 2, ak_shape(B, t->d.tgt_vocab));
}

/* Row i of x [B, ...] takes row idx[i] (idx increasing, so every source row
 * lies at or after its destination), copying the first `used` floats of
 * each; x then has n rows. */
static void keep_rows(ak_tensor *x, const int32_t *idx, int64_t n, int64_t used)
{
    int64_t row = x->size / x->shape[0], shape[AK_MAX_DIMS];
    for (int64_t i = 0; i < n; i++)
        if (idx[i] != i)
            memcpy(x->data + i * row, x->data + idx[i] * row, sizeof(float) * (size_t)used);
    memcpy(shape, x->shape, sizeof shape);
    shape[0] = n;
    ak_tensor_set_shape(x, x->ndim, shape);
}

int ak_transformer_select(ak_ctx *ctx, ak_tf_state *s, const int32_t *idx, int64_t n)
{
    int increasing = 1;
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= s->B) {
            ak_ctx_fail(ctx, "decode: select row %d outside [0, %lld)", idx[i], (long long)s->B);
            return -1;
        }
        increasing &= i == 0 || idx[i] > idx[i - 1];
    }
    if (increasing) {
        /* Rows dropped, order kept (greedy decoding leaving out ended rows):
         * in place, and of the self caches only the slots filled so far (the
         * others are still zero in every row). */
        for (int64_t i = 0; i < s->layers; i++) {
            int64_t filled = s->t * s->self[i].keys->shape[2], mem = s->cross[i].keys->size / s->B;
            keep_rows(s->self[i].keys, idx, n, filled);
            keep_rows(s->self[i].values, idx, n, filled);
            keep_rows(s->cross[i].keys, idx, n, mem);
            keep_rows(s->cross[i].values, idx, n, mem);
        }
        keep_rows(s->src_mask, idx, n, s->Ls);
        s->B = n;
        return 0;
    }
    for (int64_t i = 0; i < s->layers; i++) {
        s->self[i].keys = ak_nn_gather_rows(ctx, s->self[i].keys, idx, n);
        s->self[i].values = ak_nn_gather_rows(ctx, s->self[i].values, idx, n);
        s->cross[i].keys = ak_nn_gather_rows(ctx, s->cross[i].keys, idx, n);
        s->cross[i].values = ak_nn_gather_rows(ctx, s->cross[i].values, idx, n);
    }
    s->src_mask = ak_nn_gather_rows(ctx, s->src_mask, idx, n);
    s->B = n;
    return ctx->failed ? -1 : 0;
}
