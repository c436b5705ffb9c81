/* The GRU cell's gate arithmetic as one differentiable op (PyTorch's gate
 * order r, z, n):
 *
 *   r = s(gi_r + gh_r)   z = s(gi_z + gh_z)   n = tanh(gi_n + r * gh_n)
 *   h' = n + z * (h - n)                      s(x) = 1 / (1 + e^-x)
 *
 * where gi = x W_ih^T + b_ih and gh = h W_hh^T + b_hh are the two
 * projections (computed by the caller: the GEMMs stay GEMMs). With a mask,
 * row b's output is h'[b] * m[b] + h[b] * (1 - m[b]): a padded step (m 0)
 * keeps h, a real one (m 1) takes h'.
 *
 * Values are bitwise those of the composition it replaces (ak_slice, ak_add,
 * ak_sigmoid, ak_tanh, ak_mul, ak_sub and the mask blend, lib/nn/rnn.c
 * before this op): the same expressions in the same order, so the PyTorch
 * cross-check keeps its margins. Gradients use the composition's formulas
 * too but accumulate into dgi, dgh and dh in this op's own order (equal to
 * rounding). One tape node instead of about 25, and backward keeps only r,
 * z and n ([B, 3H]), not the composition's dozen intermediates. */
#ifndef AK_OPS_GRU_CELL_H
#define AK_OPS_GRU_CELL_H

#include "autograd/tape.h"

/* h' from gi, gh [B, 3H], h [B, H] and mask [B, 1] of 0/1 (constant, never
 * differentiated) or NULL for no padding. gi may also be [B, L, 3H], the
 * input projections of a whole sequence, of which step t is used (its
 * gradient lands in that step's slot): no per-step slice copy. t must be 0
 * for a 2-D gi. gx [B, 3H] or NULL: a second part of the input projection,
 * added to gi's step before the gates (the RNN decoder projects the
 * embeddings of all steps at once, the attention context step by step); the
 * sum is rounded as ak_add rounds it, and gx receives gi's gradient.
 * Returns a new [B, H] arena tensor, or NULL (context failed with a message
 * naming the shapes) on mismatched shapes or t out of range; NULL without a
 * new message when gi, gh or h is NULL. */
ak_tensor *ak_gru_cell(ak_ctx *ctx, ak_tensor *gi, int64_t t, ak_tensor *gx, ak_tensor *gh, ak_tensor *h,
                       ak_tensor *mask);

#endif
