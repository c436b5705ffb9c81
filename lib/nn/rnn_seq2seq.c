/* RNN encoder-decoder with attention (shared/reference-models.md, "R", and
 * its generalisations):
 *   encoder:  x = Drop(E_src[src]); N layers of GRU/LSTM, each forwards (and
 *             backwards when bidirectional, outputs concatenated), padded
 *             steps leaving the state unchanged
 *   decoder step t, from the previous state h (top layer h_top):
 *             e = Drop(E_tgt[y_{t-1}]);  a = softmax(score(h_top, enc_out) + pad mask)
 *             c = a @ enc_out;  h = RNN(cat(e, c), h);  logits = Linear(h_top)
 *   initial decoder state of layer i: the encoder's final state of layer
 *   min(i, N-1), forward plus backward when bidirectional. */
#include "nn/rnn.h"
#include "nn/seq2seq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ak_rnn_s2s {
    ak_model_desc d;
    int64_t enc_width;                    /* H, or 2H when bidirectional */
    ak_nn_embedding src_emb, tgt_emb;
    ak_nn_rnn_cell *enc_fw, *enc_bw;      /* [enc_layers] */
    ak_nn_rnn_cell *dec;                  /* [dec_layers] */
    ak_nn_attention attn;
    ak_nn_linear out;
};

struct ak_rnn_state {
    int64_t B, t, max_steps, layers;
    ak_tensor *enc_out, *src_mask;
    ak_attn_memory mem;
    ak_tensor **h, **c;                   /* per decoder layer */
    ak_attn_capture *cap;
};

ak_rnn_s2s *ak_rnn_s2s_create(const ak_model_desc *d, ak_params *p, ak_err *err)
{
    ak_rnn_s2s *r = calloc(1, sizeof *r);
    if (r) {
        r->enc_fw = calloc((size_t)d->enc_layers, sizeof *r->enc_fw);
        r->enc_bw = calloc((size_t)d->enc_layers, sizeof *r->enc_bw);
        r->dec = calloc((size_t)d->dec_layers, sizeof *r->dec);
    }
    if (!r || !r->enc_fw || !r->enc_bw || !r->dec) {
        ak_rnn_s2s_free(r);
        ak_errorf(err, "out of memory for an RNN model");
        return NULL;
    }
    r->d = *d;
    const int64_t H = d->d_model;
    r->enc_width = d->bidirectional ? 2 * H : H;
    float std = d->emb_std > 0 ? d->emb_std : 1.0f; /* torch.nn.Embedding's N(0, 1) */
    char nm[64];
    int rc = ak_nn_embedding_init(&r->src_emb, p, "enc_emb", d->src_vocab, H, std, err);
    for (int64_t i = 0; !rc && i < d->enc_layers; i++) {
        int64_t in = i == 0 ? H : r->enc_width;
        snprintf(nm, sizeof nm, "enc.%lld.fw", (long long)i);
        rc = ak_nn_rnn_cell_init(&r->enc_fw[i], p, nm, d->cell, in, H, err);
        if (!rc && d->bidirectional) {
            snprintf(nm, sizeof nm, "enc.%lld.bw", (long long)i);
            rc = ak_nn_rnn_cell_init(&r->enc_bw[i], p, nm, d->cell, in, H, err);
        }
    }
    rc = rc || ak_nn_embedding_init(&r->tgt_emb, p, "dec_emb", d->tgt_vocab, H, std, err);
    for (int64_t i = 0; !rc && i < d->dec_layers; i++) {
        snprintf(nm, sizeof nm, "dec.%lld", (long long)i);
        rc = ak_nn_rnn_cell_init(&r->dec[i], p, nm, d->cell, i == 0 ? H + r->enc_width : H, H, err);
    }
    rc = rc || ak_nn_attention_init(&r->attn, p, "attn", d->attention, H, r->enc_width, H, d->heads, d->dropout, err) ||
         ak_nn_linear_init(&r->out, p, "out", H, d->tgt_vocab, 1, err);
    if (rc) {
        ak_rnn_s2s_free(r);
        return NULL;
    }
    return r;
}

void ak_rnn_s2s_free(ak_rnn_s2s *r)
{
    if (!r)
        return;
    free(r->enc_fw);
    free(r->enc_bw);
    free(r->dec);
    free(r);
}

/* Encodes src; fills the state's memory, mask and initial decoder state. */
static int encode(ak_ctx *ctx, const ak_rnn_s2s *r, const int32_t *src, int64_t B, int64_t Ls, ak_rnn_state *s)
{
    const ak_model_desc *d = &r->d;
    ak_tensor *x = ak_dropout(ctx, ak_nn_embedding_forward(ctx, &r->src_emb, src, 2, ak_shape(B, Ls)), d->dropout);
    ak_tensor *hf[64], *cf[64];
    for (int64_t i = 0; i < d->enc_layers; i++) {
        ak_tensor *out = ak_nn_rnn_run(ctx, &r->enc_fw[i], x, src, 0, &hf[i], &cf[i]);
        if (d->bidirectional) {
            ak_tensor *hb, *cb;
            ak_tensor *back = ak_nn_rnn_run(ctx, &r->enc_bw[i], x, src, 1, &hb, &cb);
            ak_tensor *both[2] = {out, back};
            out = ak_concat(ctx, both, 2, 2);
            hf[i] = ak_add(ctx, hf[i], hb);
            cf[i] = cf[i] ? ak_add(ctx, cf[i], cb) : NULL;
        }
        x = out;
    }
    s->B = B;
    s->enc_out = x;
    s->src_mask = ak_mask_key_padding(ctx, src, B, Ls, AK_PAD);
    s->mem = ak_nn_attention_memory(ctx, &r->attn, x, x);
    s->layers = d->dec_layers;
    s->h = ak_arena_calloc(&ctx->arena, sizeof *s->h * (size_t)d->dec_layers);
    s->c = ak_arena_calloc(&ctx->arena, sizeof *s->c * (size_t)d->dec_layers);
    if (!s->h || !s->c) {
        ak_ctx_fail(ctx, "rnn: out of memory");
        return -1;
    }
    for (int64_t i = 0; i < d->dec_layers; i++) {
        int64_t k = i < d->enc_layers ? i : d->enc_layers - 1;
        s->h[i] = hf[k];
        s->c[i] = cf[k];
    }
    return ctx->failed ? -1 : 0;
}

/* The first decoder layer's input projection, cat(e, c) W_ih^T + b_ih, in
 * two parts when the embeddings of every step are known up front (teacher
 * forcing): pre = e W_e^T + b_ih for all steps in one GEMM, and per step
 * gx = c W_c^T, with W_e, W_c the embedding and context columns of W_ih.
 * The GEMM sums K in blocks of 256 (kernels/gemm.h), so with H a multiple of
 * 256 and a context of at most 256 (r-small), bias + embedding part +
 * context part are the very additions of the one-GEMM form and the values
 * are bitwise the same; otherwise they differ by rounding only. Neither the embedding slice nor the concatenation is
 * built per step. */
typedef struct pre_proj {
    ak_tensor *pre; /* [B, Lt, G*H] */
    ak_tensor *w_c; /* [G*H, enc_width] */
} pre_proj;

/* One decoder step: on embedded input e [B, H], or on step s->t of pp (e
 * NULL). Returns the top state [B, H]. */
static ak_tensor *step(ak_ctx *ctx, const ak_rnn_s2s *r, ak_rnn_state *s, ak_tensor *e, const pre_proj *pp)
{
    int64_t B = s->B, H = r->d.d_model, top = s->layers - 1;
    ak_tensor *q = ak_reshape(ctx, s->h[top], 3, ak_shape(B, 1, H));
    ak_tensor *ctxv = ak_nn_attention_forward(ctx, &r->attn, q, s->mem, s->src_mask, NULL, s->cap, AK_ROLE_CROSS, 0);
    if (!ctxv)
        return NULL;
    ak_tensor *c2 = ak_reshape(ctx, ctxv, 2, ak_shape(B, ctxv->shape[2]));
    ak_tensor *x = NULL;
    for (int64_t i = 0; i < s->layers; i++) {
        const ak_nn_rnn_cell *cell = &r->dec[i];
        if (i == 0 && pp) {
            ak_tensor *gx = ak_linear(ctx, c2, pp->w_c, NULL);
            ak_nn_rnn_cell_step_at(ctx, cell, pp->pre, s->t, gx, s->h[0], s->c[0], NULL, &s->h[0], &s->c[0]);
        } else {
            ak_tensor *parts[2] = {e, c2};
            ak_tensor *gi = ak_linear(ctx, i == 0 ? ak_concat(ctx, parts, 2, 1) : x, cell->w_ih, cell->b_ih);
            ak_nn_rnn_cell_step(ctx, cell, gi, s->h[i], s->c[i], NULL, &s->h[i], &s->c[i]);
        }
        x = s->h[i];
    }
    s->t++;
    return x;
}

ak_tensor *ak_rnn_s2s_hidden(ak_ctx *ctx, const ak_rnn_s2s *r, const int32_t *src, int64_t B, int64_t Ls,
                             const int32_t *tgt_in, int64_t Lt, ak_attn_capture *cap)
{
    ak_rnn_state s = {.cap = cap};
    if (encode(ctx, r, src, B, Ls, &s) != 0)
        return NULL;
    int64_t H = r->d.d_model;
    const ak_nn_rnn_cell *c0 = &r->dec[0];
    ak_tensor *emb = ak_dropout(ctx, ak_nn_embedding_forward(ctx, &r->tgt_emb, tgt_in, 2, ak_shape(B, Lt)), r->d.dropout);
    pre_proj pp = {ak_linear(ctx, emb, ak_slice(ctx, c0->w_ih, 1, 0, H), c0->b_ih),
                   ak_slice(ctx, c0->w_ih, 1, H, r->enc_width)};
    ak_tensor **tops = ak_arena_alloc(&ctx->arena, sizeof *tops * (size_t)Lt);
    if (!tops)
        return ak_ctx_fail(ctx, "rnn: out of memory");
    if (!pp.pre || !pp.w_c)
        return NULL;
    for (int64_t t = 0; t < Lt; t++) {
        tops[t] = ak_reshape(ctx, step(ctx, r, &s, NULL, &pp), 3, ak_shape(B, 1, H));
        if (!tops[t])
            return NULL;
    }
    return ak_concat(ctx, tops, (int)Lt, 1);
}

const ak_nn_linear *ak_rnn_s2s_generator(const ak_rnn_s2s *r) { return &r->out; }

ak_tensor *ak_rnn_s2s_forward(ak_ctx *ctx, const ak_rnn_s2s *r, const int32_t *src, int64_t B, int64_t Ls,
                              const int32_t *tgt_in, int64_t Lt, ak_attn_capture *cap)
{
    /* All output projections in one GEMM. */
    return ak_nn_linear_forward(ctx, &r->out, ak_rnn_s2s_hidden(ctx, r, src, B, Ls, tgt_in, Lt, cap));
}

ak_rnn_state *ak_rnn_s2s_begin(ak_ctx *ctx, const ak_rnn_s2s *r, const int32_t *src, int64_t B, int64_t Ls,
                               int64_t max_steps, ak_attn_capture *cap)
{
    ak_rnn_state *s = ak_arena_calloc(&ctx->arena, sizeof *s);
    if (!s) {
        ak_ctx_fail(ctx, "rnn: out of memory");
        return NULL;
    }
    s->cap = cap;
    s->max_steps = max_steps;
    return encode(ctx, r, src, B, Ls, s) == 0 ? s : NULL;
}

ak_tensor *ak_rnn_s2s_step(ak_ctx *ctx, const ak_rnn_s2s *r, ak_rnn_state *s, const int32_t *prev)
{
    if (!s)
        return NULL;
    if (s->t >= s->max_steps)
        return ak_ctx_fail(ctx, "decode: step %lld beyond the %lld steps the state was built for", (long long)s->t + 1,
                           (long long)s->max_steps);
    int64_t B = s->B, H = r->d.d_model;
    ak_tensor *e = ak_dropout(ctx, ak_nn_embedding_forward(ctx, &r->tgt_emb, prev, 1, ak_shape(B)), r->d.dropout);
    ak_tensor *top = step(ctx, r, s, ak_reshape(ctx, e, 2, ak_shape(B, H)), NULL);
    return ak_nn_linear_forward(ctx, &r->out, top);
}

int ak_rnn_s2s_select(ak_ctx *ctx, ak_rnn_state *s, const int32_t *idx, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= s->B) {
            ak_ctx_fail(ctx, "decode: select row %d outside [0, %lld)", idx[i], (long long)s->B);
            return -1;
        }
    s->enc_out = ak_nn_gather_rows(ctx, s->enc_out, idx, n);
    s->src_mask = ak_nn_gather_rows(ctx, s->src_mask, idx, n);
    s->mem.keys = ak_nn_gather_rows(ctx, s->mem.keys, idx, n);
    s->mem.values = ak_nn_gather_rows(ctx, s->mem.values, idx, n);
    for (int64_t i = 0; i < s->layers; i++) {
        s->h[i] = ak_nn_gather_rows(ctx, s->h[i], idx, n);
        s->c[i] = ak_nn_gather_rows(ctx, s->c[i], idx, n);
    }
    s->B = n;
    return ctx->failed ? -1 : 0;
}
