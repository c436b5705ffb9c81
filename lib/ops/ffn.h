/* The second half of a Transformer FFN with its hidden kept packed.
 *
 *   y = ak_relu_dropout_linear(ctx, a, p, w, bias)
 *
 * has the values and gradients of ak_linear(ak_relu_dropout(a, p), w, bias),
 * bitwise (it runs those two ops), but keeps the hidden h = Drop(ReLU(a))
 * for the backward pass only as its nonzero entries and a bit mask
 * (kernels/nzpack.h): ReLU zeroes about half of h and dropout a tenth of
 * the rest, so that is 1/32 of h plus its nonzero share, about 0.5 of h
 * when the ReLU splits evenly, instead of all of it. The backward pass
 * unpacks h into a scratch buffer (given back at once); the two formulas it
 * needs read only h:
 *   dh = dy w,  dw += dy^T h,  dbias += sum_r dy,  da += [h > 0] dh / (1 - p)
 * (in eval mode or with p == 0 the dropout factor is 1: ReLU's derivative).
 *
 * Memory the step keeps: the packed hidden, not a's data and not y (the node
 * reads only w besides it, for ak_discard: a may be discarded right after).
 * Takes one dropout call number, like ak_relu_dropout. Same contract as
 * ops/ops.h otherwise; errors are ak_relu_dropout's and ak_linear's. */
#ifndef AK_OPS_FFN_H
#define AK_OPS_FFN_H

#include "autograd/tape.h"

ak_tensor *ak_relu_dropout_linear(ak_ctx *ctx, ak_tensor *a, float p, ak_tensor *w, ak_tensor *bias);

#endif
