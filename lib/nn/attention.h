/* Attention, every common kind, selectable by name.
 *
 *   additive     (Bahdanau)  score(q, k) = v^T tanh(W q + U k)      W,U: [A, d], v: [A]
 *   dot          (Luong)     score(q, k) = q . k                    (needs d_q == d_k)
 *   general      (Luong)     score(q, k) = q^T W k                  W: [d_q, d_k]
 *   scaled_dot               score(q, k) = q . k / sqrt(d)
 *   multihead                h heads of scaled_dot on projections: Q = q Wq^T + bq, K, V alike,
 *                            heads concatenated and projected by Wo (PyTorch's nn.MultiheadAttention)
 *
 * weights = softmax(score + mask) over keys, context = weights @ values.
 * The single-head kinds attend over the values as given; multihead projects
 * them. Dropout (multihead only, as in the reference Transformer) applies to
 * the weights used for the context, never to the weights reported.
 *
 * Multihead runs on ops/sdpa.h: the projections' [B, L, d] outputs are read
 * head by head in place and the heads' contexts written side by side, with
 * no split or merge copies.
 *
 * Keys and values are projected once per sequence (ak_nn_attention_memory),
 * so a decoder that attends to the same encoder output at every step, or a
 * self-attention cache that grows one position at a time, does not redo the
 * projection. */
#ifndef AK_NN_ATTENTION_H
#define AK_NN_ATTENTION_H

#include "nn/capture.h"
#include "nn/layers.h"

typedef enum ak_attn_type {
    AK_ATTN_ADDITIVE,
    AK_ATTN_DOT,
    AK_ATTN_GENERAL,
    AK_ATTN_SCALED_DOT,
    AK_ATTN_MULTIHEAD,
} ak_attn_type;

/* "additive", "dot", "general", "scaled_dot", "multihead" */
const char *ak_attn_type_name(ak_attn_type t);
/* Parses the names above; -1 when unknown. */
int ak_attn_type_parse(const char *s);

typedef struct ak_nn_attention {
    ak_attn_type type;
    int64_t d_q, d_k, d_attn, heads;   /* d_attn: additive's A, multihead's model size */
    float dropout;
    ak_nn_linear wq, wk, wv, wo;       /* additive: wq = W_a, wk = U_a (with bias, as the reference);
                                          multihead: all four */
    ak_nn_linear v;                    /* additive: v_a, [1, A] with bias */
    ak_tensor *w;                      /* general: [d_q, d_k] */
} ak_nn_attention;

/* Declares the parameters of `type` under `name`:
 *   additive:   name.W.{weight,bias} [A, d_q], name.U.{weight,bias} [A, d_k], name.v.{weight,bias} [1, A]
 *   general:    name.W [d_q, d_k]
 *   multihead:  name.{q,k,v,o}.{weight,bias} [d, d]   (d = d_q = d_k = d_attn, heads divides d)
 *   dot, scaled_dot: none (need d_q == d_k)
 * Fails on a size mismatch the kind cannot work with. */
int ak_nn_attention_init(ak_nn_attention *m, ak_params *p, const char *name, ak_attn_type type, int64_t d_q,
                         int64_t d_k, int64_t d_attn, int64_t heads, float dropout, ak_err *err);

/* Keys and values after whatever projection the kind applies to them. */
typedef struct ak_attn_memory {
    ak_tensor *keys;     /* additive: U k [B,Lk,A]; multihead: K [B,Lk,d], head h in
                            columns [h*dh, (h+1)*dh); else k */
    ak_tensor *values;   /* multihead: V [B,Lk,d], heads as K; else v */
} ak_attn_memory;

/* Projects k, v [B, Lk, d_k] (v may equal k). */
ak_attn_memory ak_nn_attention_memory(ak_ctx *ctx, const ak_nn_attention *m, ak_tensor *k, ak_tensor *v);

/* Appends one or more new positions (k, v [B, Lnew, d_k]) to a memory built
 * by ak_nn_attention_memory; used by incremental self-attention. */
ak_attn_memory ak_nn_attention_memory_append(ak_ctx *ctx, const ak_nn_attention *m, ak_attn_memory mem,
                                             ak_tensor *k, ak_tensor *v);

/* q [B, Lq, d_q] attends to mem. mask is additive and broadcastable to
 * [B, H, Lq, Lk] (e.g. [B, 1, 1, Lk] key padding, [Lq, Lk] causal) or NULL.
 * Returns the context [B, Lq, d_out] (d_out = d_attn for multihead, else the
 * value width); *weights (may be NULL) receives the probabilities
 * [B, H, Lq, Lk] (H = 1 for single-head kinds). With cap non-NULL the
 * weights are also captured under (role, layer). */
ak_tensor *ak_nn_attention_forward(ak_ctx *ctx, const ak_nn_attention *m, ak_tensor *q, ak_attn_memory mem,
                                   const ak_tensor *mask, ak_tensor **weights, ak_attn_capture *cap,
                                   ak_attn_role role, int layer);

/* ak_nn_attention_forward(ctx, m, LN(x), mem, mask, NULL, cap, role, layer)
 * with ln applied to x here, the same values and gradients bit for bit. For
 * multihead attention without capture it keeps less for the backward pass:
 * LN(x), the projected queries, the probabilities and the context are
 * computed again there from x, the keys and the values (ops/recompute.h).
 *
 * Memory, multihead: the output projection's backward recomputes what it
 * reads (the context, and in ak_nn_attention_forward the probabilities too
 * unless weights or cap ask for them), so of an attention call the tape
 * keeps the projected queries, keys and values, not the [B, H, Lq, Lk]
 * probabilities or the context. */
ak_tensor *ak_nn_attention_forward_ln(ak_ctx *ctx, const ak_nn_attention *m, const ak_nn_layernorm *ln, ak_tensor *x,
                                      ak_attn_memory mem, const ak_tensor *mask, ak_attn_capture *cap,
                                      ak_attn_role role, int layer);

/* Self-attention over h = LN(x): ak_nn_attention_forward(ctx, m, h,
 * ak_nn_attention_memory(ctx, m, h, h), mask, NULL, cap, role, layer), the
 * same values and gradients bit for bit. For multihead attention without
 * capture the whole attention is computed again in the backward pass (its
 * output projection's input, ops/recompute.h): the tape keeps x and the
 * dropout bits, not h, the projected queries, keys and values, the
 * probabilities or the context; the price is the LayerNorm and the three
 * projections once more. */
ak_tensor *ak_nn_self_attention_ln(ak_ctx *ctx, const ak_nn_attention *m, const ak_nn_layernorm *ln, ak_tensor *x,
                                   const ak_tensor *mask, ak_attn_capture *cap, ak_attn_role role, int layer);

/* Masks as additive float tensors in the arena: key padding [B, 1, 1, Lk]
 * (-inf where ids[b, j] == pad) and causal [Lq, Lk] (-inf where key j comes
 * after query i, with queries starting at position offset). */
ak_tensor *ak_mask_key_padding(ak_ctx *ctx, const int32_t *ids, int64_t B, int64_t Lk, int32_t pad);
ak_tensor *ak_mask_causal(ak_ctx *ctx, int64_t Lq, int64_t Lk, int64_t offset);

#endif
