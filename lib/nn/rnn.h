/* GRU and LSTM cells, and layers unrolled over time with padding masks.
 *
 * Parameters and gate order are PyTorch's, so weights move between the two
 * unchanged: weight_ih [G*H, in], weight_hh [G*H, H], bias_ih, bias_hh [G*H],
 * with G = 3 gates (r, z, n) for GRU and 4 (i, f, g, o) for LSTM, all
 * initialised U(-1/sqrt(H), 1/sqrt(H)).
 *   GRU:  r = s(Wir x + bir + Whr h + bhr)   z = s(Wiz x + biz + Whz h + bhz)
 *         n = tanh(Win x + bin + r * (Whn h + bhn))      h' = n + z * (h - n)
 *   LSTM: i, f, o = s(.), g = tanh(.) of Wi x + bi + Wh h + bh
 *         c' = f * c + i * g                              h' = o * tanh(c')
 * A padded step (mask 0) leaves h (and c) unchanged. */
#ifndef AK_NN_RNN_H
#define AK_NN_RNN_H

#include "nn/layers.h"
#include "nn/model.h"

typedef struct ak_nn_rnn_cell {
    ak_rnn_cell kind;
    int64_t in, hidden;
    ak_tensor *w_ih, *w_hh, *b_ih, *b_hh;
} ak_nn_rnn_cell;

int ak_nn_rnn_cell_init(ak_nn_rnn_cell *m, ak_params *p, const char *name, ak_rnn_cell kind, int64_t in,
                        int64_t hidden, ak_err *err);

/* One step. gi: the input projection x W_ih^T + b_ih for this step [B, G*H]
 * (precomputed for all steps at once by the caller); h, c: state [B, H] (c
 * NULL for GRU); mask: [B, 1] of 1 (real token) / 0 (padding), or NULL for
 * no padding. Writes the new state to *h_out, *c_out. */
void ak_nn_rnn_cell_step(ak_ctx *ctx, const ak_nn_rnn_cell *m, ak_tensor *gi, ak_tensor *h, ak_tensor *c,
                         ak_tensor *mask, ak_tensor **h_out, ak_tensor **c_out);

/* The same step with the input projection given as step t of gi ([B, G*H]
 * with t 0, or [B, L, G*H]: the projections of a whole sequence, read in
 * place) plus gx ([B, G*H], or NULL), a second part of it added first (as
 * ak_add): the decoder projects its embeddings for all steps at once and
 * the attention context step by step. */
void ak_nn_rnn_cell_step_at(ak_ctx *ctx, const ak_nn_rnn_cell *m, ak_tensor *gi, int64_t t, ak_tensor *gx,
                            ak_tensor *h, ak_tensor *c, ak_tensor *mask, ak_tensor **h_out, ak_tensor **c_out);

/* Runs a cell over x [B, L, in] from zero state, forwards or backwards in
 * time, skipping padded positions (ids == AK_PAD, row-major [B, L]; NULL:
 * none). Returns outputs [B, L, H] (a padded position carries the state
 * unchanged) and the final state in *h_last, *c_last (c_last may be NULL). */
ak_tensor *ak_nn_rnn_run(ak_ctx *ctx, const ak_nn_rnn_cell *m, ak_tensor *x, const int32_t *ids, int reverse,
                         ak_tensor **h_last, ak_tensor **c_last);

/* [B, 1] float mask of column t of ids [B, L]: 1 for a token, 0 for PAD. */
ak_tensor *ak_nn_step_mask(ak_ctx *ctx, const int32_t *ids, int64_t B, int64_t L, int64_t t);

#endif
