/* A linear layer whose input is computed again in the backward pass instead
 * of being kept (activation recomputation, for memory).
 *
 *   y = ak_linear_recompute(ctx, f, arg, arg_bytes, n, in, w, bias)
 *
 * has the values and gradients of ak_linear(f(in), w, bias), bitwise: f runs
 * in the forward pass, its output u feeds the product, and then u and every
 * tensor f made on the way are handed back to the arena; the backward pass
 * runs f again on the same inputs (and the same dropout call numbers), takes
 * linear's backward from there and runs the backward of the ops inside f in
 * tape order, exactly the calls the composition would make. What stays in
 * memory between the passes is what f's ops save besides their outputs (row
 * statistics, dropout bits), not their outputs.
 *
 * Worth it where f is cheap and its output large next to what f reads: a
 * LayerNorm before a projection, the attention context (dropout on the
 * probabilities, then P V) before the output projection.
 *
 * f must be made of differentiable ops only and compute the same values
 * every time it runs (no state of its own, no ak_discard). It may return one
 * of its inputs unchanged. `arg` (arg_bytes bytes, may be NULL with 0) is
 * copied into the arena, so it need not outlive the call; f receives the
 * copy.
 *
 * Same contract as ops/ops.h otherwise: w [out, k] with u [..., k], bias
 * [out] or NULL; NULL and a message on bad shapes (from ak_linear), NULL on
 * NULL input or when f fails. The tape node reads in[] and w in backward (for
 * ak_discard), not the bias and not y. In no-grad mode it is plain
 * ak_linear(f(in), w, bias), with f's tensors left to the step's end as
 * usual. */
#ifndef AK_OPS_RECOMPUTE_H
#define AK_OPS_RECOMPUTE_H

#include "autograd/tape.h"

typedef ak_tensor *(*ak_recompute_fn)(ak_ctx *ctx, ak_tensor *const *in, const void *arg);

ak_tensor *ak_linear_recompute(ak_ctx *ctx, ak_recompute_fn f, const void *arg, size_t arg_bytes, int n_in,
                               ak_tensor *const *in, ak_tensor *w, ak_tensor *bias);

#endif
