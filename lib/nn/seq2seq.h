/* The two model families behind ak_model (nn/model.h). model.c dispatches on
 * the description's kind; nothing else should need these directly, but they
 * are public so tests can reach the pieces. */
#ifndef AK_NN_SEQ2SEQ_H
#define AK_NN_SEQ2SEQ_H

#include "nn/model.h"

/* Per-kind decoding state, owned by the context arena. */
typedef struct ak_tf_state ak_tf_state;
typedef struct ak_rnn_state ak_rnn_state;

typedef struct ak_transformer ak_transformer;
/* Declares every parameter in p (not finalized). */
ak_transformer *ak_transformer_create(const ak_model_desc *d, ak_params *p, ak_err *err);
void ak_transformer_free(ak_transformer *t);
ak_tensor *ak_transformer_forward(ak_ctx *ctx, const ak_transformer *t, const int32_t *src, int64_t B, int64_t Ls,
                                  const int32_t *tgt_in, int64_t Lt, ak_attn_capture *cap);
/* ak_transformer_forward up to (without) the generator: the final decoder
 * states [B, Lt, d], and the generator itself (logits = Linear(hidden)). */
ak_tensor *ak_transformer_hidden(ak_ctx *ctx, const ak_transformer *t, const int32_t *src, int64_t B, int64_t Ls,
                                 const int32_t *tgt_in, int64_t Lt, ak_attn_capture *cap);
const ak_nn_linear *ak_transformer_generator(const ak_transformer *t);
ak_tf_state *ak_transformer_begin(ak_ctx *ctx, const ak_transformer *t, const int32_t *src, int64_t B, int64_t Ls,
                                  int64_t max_steps, ak_attn_capture *cap);
ak_tensor *ak_transformer_step(ak_ctx *ctx, const ak_transformer *t, ak_tf_state *s, const int32_t *prev);
int ak_transformer_select(ak_ctx *ctx, ak_tf_state *s, const int32_t *idx, int64_t n);

typedef struct ak_rnn_s2s ak_rnn_s2s;
ak_rnn_s2s *ak_rnn_s2s_create(const ak_model_desc *d, ak_params *p, ak_err *err);
void ak_rnn_s2s_free(ak_rnn_s2s *r);
ak_tensor *ak_rnn_s2s_forward(ak_ctx *ctx, const ak_rnn_s2s *r, const int32_t *src, int64_t B, int64_t Ls,
                              const int32_t *tgt_in, int64_t Lt, ak_attn_capture *cap);
/* As ak_transformer_hidden / _generator: top decoder states [B, Lt, H]. */
ak_tensor *ak_rnn_s2s_hidden(ak_ctx *ctx, const ak_rnn_s2s *r, const int32_t *src, int64_t B, int64_t Ls,
                             const int32_t *tgt_in, int64_t Lt, ak_attn_capture *cap);
const ak_nn_linear *ak_rnn_s2s_generator(const ak_rnn_s2s *r);
ak_rnn_state *ak_rnn_s2s_begin(ak_ctx *ctx, const ak_rnn_s2s *r, const int32_t *src, int64_t B, int64_t Ls,
                               int64_t max_steps, ak_attn_capture *cap);
ak_tensor *ak_rnn_s2s_step(ak_ctx *ctx, const ak_rnn_s2s *r, ak_rnn_state *s, const int32_t *prev);
int ak_rnn_s2s_select(ak_ctx *ctx, ak_rnn_state *s, const int32_t *idx, int64_t n);

#endif
