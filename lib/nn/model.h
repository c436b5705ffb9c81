/* Seq2seq models behind one interface: the pre-LN Transformer and the RNN
 * encoder-decoder with attention, built from a description so that the
 * programs never hard-code an architecture.
 *
 * Token conventions (core/special_ids.h, shared with lib/text): PAD = 0,
 * UNK = 1, BOS = 2, EOS = 3. Teacher forcing: the decoder input is BOS + target, the target is
 * target + EOS, both PAD-padded. */
#ifndef AK_NN_MODEL_H
#define AK_NN_MODEL_H

#include "core/params.h"
#include "core/special_ids.h"
#include "nn/attention.h"
#include "nn/capture.h"


typedef enum ak_model_kind { AK_MODEL_TRANSFORMER, AK_MODEL_RNN } ak_model_kind;
typedef enum ak_rnn_cell { AK_CELL_GRU, AK_CELL_LSTM } ak_rnn_cell;

typedef struct ak_model_desc {
    ak_model_kind kind;
    int64_t src_vocab, tgt_vocab;
    int64_t d_model;          /* Transformer d; RNN hidden size H */
    int64_t heads, d_ff;      /* Transformer */
    int64_t enc_layers, dec_layers;
    int64_t max_len;          /* longest sequence (positional table, decoding cap) */
    float dropout;
    int learned_pos;          /* Transformer: learned instead of sinusoidal positions */
    float emb_std;            /* token embedding init std; 0 = kind default
                                 (Transformer d^-1/2, RNN 1 as torch.nn.Embedding) */
    ak_rnn_cell cell;         /* RNN */
    int bidirectional;        /* RNN encoder */
    ak_attn_type attention;   /* RNN decoder attention kind */
} ak_model_desc;

/* The reference models of shared/reference-models.md: T (Transformer d 256,
 * 4 heads, d_ff 1024, 3 + 3 layers) and R (GRU, H 256, 1 + 1 layers,
 * unidirectional, additive attention); dropout 0.1, max_len 256. */
ak_model_desc ak_model_desc_default(ak_model_kind kind, int64_t src_vocab, int64_t tgt_vocab);

/* Checks sizes and combinations; -1 with a message naming the field. */
int ak_model_desc_validate(const ak_model_desc *d, ak_err *err);

/* Text form, one "key = value" per line (the [model] keys of a config), for
 * checkpoints. The returned string is malloc'd; the caller frees it. */
char *ak_model_desc_to_text(const ak_model_desc *d);
/* Parses that text back: kind and both vocabularies are required, other keys
 * default as in ak_model_desc_default; unknown keys and bad values are errors
 * naming the line. */
int ak_model_desc_from_text(ak_model_desc *d, const char *text, ak_err *err);

typedef struct ak_model ak_model;

/* Builds a model with freshly initialised parameters (seeded). NULL + err on
 * an invalid description or out of memory. Free with ak_model_free. */
ak_model *ak_model_create(const ak_model_desc *d, uint64_t seed, ak_err *err);
void ak_model_free(ak_model *m);
const ak_model_desc *ak_model_get_desc(const ak_model *m);
ak_params *ak_model_params(ak_model *m);

/* Teacher-forced forward: src [B, Ls], tgt_in [B, Lt] (ids, PAD = 0) ->
 * logits [B, Lt, V_t]. Ids outside the vocabularies fail the context. Dropout
 * follows ctx->training. cap (may be NULL) receives every attention map. */
ak_tensor *ak_model_forward(ak_ctx *ctx, ak_model *m, const int32_t *src, int64_t B, int64_t Ls,
                            const int32_t *tgt_in, int64_t Lt, ak_attn_capture *cap);

/* Mean token cross-entropy of the teacher-forced batch (tgt_out targets, PAD
 * ignored, label smoothing eps); *ntok (may be NULL) gets the token count. */
ak_tensor *ak_model_loss(ak_ctx *ctx, ak_model *m, const int32_t *src, int64_t B, int64_t Ls, const int32_t *tgt_in,
                         const int32_t *tgt_out, int64_t Lt, float smoothing, int64_t *ntok, ak_attn_capture *cap);

/* Incremental decoding. begin encodes the source and returns a state (in the
 * context's arena: valid until ak_ctx_end_step) for at most max_steps decoder
 * steps; each step feeds one token per sequence and returns logits [B, V_t]
 * for the next; the Transformer's key/value caches (preallocated for
 * max_steps) and the RNN's hidden state are updated in place. Gives the same
 * logits as ak_model_forward on the prefix (tested). Use in no-grad mode.
 * A step beyond max_steps fails the context. */
typedef struct ak_decode_state ak_decode_state;
ak_decode_state *ak_model_begin_decode(ak_ctx *ctx, ak_model *m, const int32_t *src, int64_t B, int64_t Ls,
                                       int64_t max_steps, ak_attn_capture *cap);
ak_tensor *ak_model_decode_step(ak_ctx *ctx, ak_model *m, ak_decode_state *s, const int32_t *prev);
/* Reorders (and may duplicate) the sequences of a state: new row i takes old
 * row idx[i]; B' = n rows (beam search). */
int ak_decode_state_select(ak_ctx *ctx, ak_decode_state *s, const int32_t *idx, int64_t n);

#endif
