/* Multi-head scaled-dot-product attention on heads kept side by side.
 *
 * Queries, keys and values stay in the layout the projections produce,
 * [B, L, d] with head h in columns [h * dh, (h + 1) * dh) (dh = d / H), and
 * the context comes out merged the same way. Nothing is split into
 * [B, H, L, dh] copies or merged back: the ops read and write the heads in
 * place, one (batch, head) pair per task.
 *
 *   P   = ak_sdpa_probs(q, k, H, mask, scale)    softmax(scale * Q_h K_h^T + mask)
 *   ctx = ak_sdpa_context(Drop(P), v)            ctx[:, :, head h] = P_h V_h
 *
 * With dropout between the two (ak_dropout on P, as the reference
 * Transformer has it), P itself stays the undropped probabilities for
 * attention capture.
 *
 * Same contract as ops/ops.h (arena outputs, tape nodes in grad mode, NULL
 * and a message naming the op and shapes on bad input, NULL on NULL input).
 * Bits: on the avx512 path of the GEMM (kernels/sgemm_small.h) the values
 * and gradients equal, bitwise, those of the composition with copies,
 *   ak_softmax(ak_matmul(split(q), split(k), 0, 1), mask, scale)  and
 *   merge(ak_matmul(P, split(v), 0, 0)),
 * split/merge being the [B, L, H, dh] <-> [B, H, L, dh] permutes; they are
 * the same for any thread count. */
#ifndef AK_OPS_SDPA_H
#define AK_OPS_SDPA_H

#include "autograd/tape.h"

/* Attention probabilities [B, H, Lq, Lk] of queries q [B, Lq, d] against keys
 * k [B, Lk, d], H = heads (dividing d). The mask is additive, constant and
 * broadcastable to [B, H, Lq, Lk] as in ak_softmax ([B, 1, 1, Lk] key
 * padding, [Lq, Lk] causal) or NULL; a row whose keys are all masked is all
 * zeros. q may equal k. */
ak_tensor *ak_sdpa_probs(ak_ctx *ctx, ak_tensor *q, ak_tensor *k, int64_t heads, const ak_tensor *mask, float scale);

/* Weighted sums of values per head: p [B, H, Lq, Lk], v [B, Lk, d] (H
 * divides d) -> [B, Lq, d], heads side by side. */
ak_tensor *ak_sdpa_context(ak_ctx *ctx, ak_tensor *p, ak_tensor *v);

#endif
