/* Differentiable ops. One family per file in lib/ops/, each forward beside
 * its backward.
 *
 * Common contract (see autograd/tape.h): every op allocates its output (and
 * whatever it saves for backward) from ctx's arena; records a tape node only
 * in grad mode when an input requires grad; returns NULL and fails the
 * context with "op: expected ..., got shapes [..] and [..]" on inputs it
 * cannot accept; returns NULL without a new message when an input is NULL.
 * Inputs are never modified. Integer id arrays passed in are copied, so the
 * caller's buffer need not outlive the call. Results are bitwise identical
 * for any thread count (core/threads.h). */
#ifndef AK_OPS_OPS_H
#define AK_OPS_OPS_H

#include "autograd/tape.h"

/* ---- matmul.c ---------------------------------------------------------- */
/* op(a) @ op(b) over the last two dimensions; op transposes when ta/tb.
 * a: [..., M, K] (or [..., K, M] when ta), b: [..., K, N] (or [..., N, K]).
 * Leading (batch) dimensions must be equal, or b may be 2-D (one matrix
 * shared by the whole batch; then a's batch dimensions fold into M). */
ak_tensor *ak_matmul(ak_ctx *ctx, ak_tensor *a, ak_tensor *b, int ta, int tb);
/* x @ w^T + bias with w stored [out, in] (PyTorch's layout); x [..., in];
 * bias [out] or NULL. */
ak_tensor *ak_linear(ak_ctx *ctx, ak_tensor *x, ak_tensor *w, ak_tensor *bias);

/* ---- elementwise.c (NumPy broadcasting, up to 4-D) ---------------------- */
ak_tensor *ak_add(ak_ctx *ctx, ak_tensor *a, ak_tensor *b);
ak_tensor *ak_sub(ak_ctx *ctx, ak_tensor *a, ak_tensor *b);
ak_tensor *ak_mul(ak_ctx *ctx, ak_tensor *a, ak_tensor *b);
ak_tensor *ak_div(ak_ctx *ctx, ak_tensor *a, ak_tensor *b);
/* s * x */
ak_tensor *ak_scale(ak_ctx *ctx, ak_tensor *x, float s);

/* ---- unary.c ------------------------------------------------------------ */
ak_tensor *ak_relu(ak_ctx *ctx, ak_tensor *x);
ak_tensor *ak_gelu(ak_ctx *ctx, ak_tensor *x);     /* exact, erf form (PyTorch default) */
ak_tensor *ak_tanh(ak_ctx *ctx, ak_tensor *x);
ak_tensor *ak_sigmoid(ak_ctx *ctx, ak_tensor *x);
ak_tensor *ak_exp(ak_ctx *ctx, ak_tensor *x);
ak_tensor *ak_log(ak_ctx *ctx, ak_tensor *x);      /* x <= 0 gives -inf/NaN like libm */

/* ---- reduce.c ----------------------------------------------------------- */
/* Sum / mean over one axis (negative counts from the end); keepdim keeps it
 * as size 1. */
ak_tensor *ak_sum(ak_ctx *ctx, ak_tensor *x, int axis, int keepdim);
ak_tensor *ak_mean(ak_ctx *ctx, ak_tensor *x, int axis, int keepdim);
/* Sum / mean of all elements: a 0-d scalar. */
ak_tensor *ak_sum_all(ak_ctx *ctx, ak_tensor *x);
ak_tensor *ak_mean_all(ak_ctx *ctx, ak_tensor *x);

/* ---- softmax.c ---------------------------------------------------------- */
/* softmax(scale * x + mask) over the last axis. mask is additive (0 keeps,
 * -INFINITY removes), constant (never differentiated), broadcastable to x,
 * or NULL. A row whose keys are all masked yields zeros, not NaN. */
ak_tensor *ak_softmax(ak_ctx *ctx, ak_tensor *x, const ak_tensor *mask, float scale);
ak_tensor *ak_log_softmax(ak_ctx *ctx, ak_tensor *x, const ak_tensor *mask, float scale);

/* ---- layernorm.c -------------------------------------------------------- */
/* Normalises the last axis: (x - mean) / sqrt(var + eps) * gamma + beta,
 * biased variance as PyTorch; gamma, beta [D] or NULL. */
ak_tensor *ak_layernorm(ak_ctx *ctx, ak_tensor *x, ak_tensor *gamma, ak_tensor *beta, float eps);

/* ---- embedding.c -------------------------------------------------------- */
/* Rows of w [V, D] gathered by ids (shape ids_shape, ids_ndim <= 3): output
 * [ids_shape..., D]. An id outside [0, V) fails the op naming the id and its
 * position. Backward scatter-adds in a fixed order (deterministic). */
ak_tensor *ak_embedding(ak_ctx *ctx, ak_tensor *w, const int32_t *ids, int ids_ndim, const int64_t *ids_shape);

/* ---- dropout.c ---------------------------------------------------------- */
/* Inverted dropout: zeroes each element with probability p and scales the
 * rest by 1/(1-p); the identity when !ctx->training or p == 0. The mask is a
 * function of (ctx->seed, ctx->step, call number within the step, element
 * index), so a run is reproducible and thread-count independent. */
ak_tensor *ak_dropout(ak_ctx *ctx, ak_tensor *x, float p);
/* ak_dropout(ak_relu(x), p) fused: one pass, one output, and the backward
 * needs only that output. Takes one dropout call number like ak_dropout, so
 * it gives bitwise the same values and gradients as the composition. In
 * eval mode or with p == 0 it is ak_relu(x). */
ak_tensor *ak_relu_dropout(ak_ctx *ctx, ak_tensor *x, float p);
/* x + ak_dropout(f, p) fused (residual connections): one pass, no Drop(f)
 * tensor, the mask kept as bits. x and f of the same shape. Takes one
 * dropout call number like ak_dropout and gives bitwise the same values and
 * gradients as the composition; in eval mode or with p == 0 it is
 * ak_add(x, f). */
ak_tensor *ak_residual_dropout(ak_ctx *ctx, ak_tensor *x, ak_tensor *f, float p);

/* ---- additive.c --------------------------------------------------------- */
/* Additive attention scores e[b, i, j] = v . tanh(q[b, i] + k[b, j]) + bias:
 * q [B, Lq, A], k [B, Lk, A], v [1, A] (a Linear(A, 1) weight), bias [1] or
 * NULL; output [B, Lq, Lk]. Bitwise ak_linear(ak_tanh(ak_add(q as
 * [B,Lq,1,A], k as [B,1,Lk,A])), v, bias) in values and gradients, without
 * keeping the [B, Lq, Lk, A] sum and tanh (backward recomputes the tanh). */
ak_tensor *ak_additive_scores(ak_ctx *ctx, ak_tensor *q, ak_tensor *k, ak_tensor *v, ak_tensor *bias);

/* ---- shape.c ------------------------------------------------------------ */
/* Same data, new shape (a view; -1 in one place infers that dimension). */
ak_tensor *ak_reshape(ak_ctx *ctx, ak_tensor *x, int ndim, const int64_t *shape);
/* Copy with dimensions reordered: out.shape[i] = x.shape[perm[i]]. */
ak_tensor *ak_permute(ak_ctx *ctx, ak_tensor *x, const int *perm);
/* Copy with two dimensions swapped. */
ak_tensor *ak_transpose(ak_ctx *ctx, ak_tensor *x, int d0, int d1);
/* Joins tensors equal in every dimension but `axis`. */
ak_tensor *ak_concat(ak_ctx *ctx, ak_tensor *const *xs, int n, int axis);
/* x[..., start:start+len, ...] along axis (a copy). */
ak_tensor *ak_slice(ak_ctx *ctx, ak_tensor *x, int axis, int64_t start, int64_t len);
/* Shares x's data but is cut from the tape: no gradient flows back. */
ak_tensor *ak_detach(ak_ctx *ctx, ak_tensor *x);

/* ---- loss.c ------------------------------------------------------------- */
/* Token-mean cross-entropy from logits [..., V] against targets (one per row
 * of logits). Rows whose target equals ignore_index (padding) contribute
 * nothing and are not counted. Label smoothing eps as PyTorch: loss =
 * (1-eps) * nll + eps * mean over all V classes of -log p. A target outside
 * [0, V) that is not ignore_index fails the op. Returns a 0-d scalar (0 when
 * every row is ignored). `count` (may be NULL) receives the number of
 * counted rows. */
ak_tensor *ak_cross_entropy(ak_ctx *ctx, ak_tensor *logits, const int32_t *targets, int32_t ignore_index,
                            float smoothing, int64_t *count);
/* ak_cross_entropy(ak_linear(x, w, bias), targets, ...) fused: the logits
 * [rows, V] are computed a chunk of rows at a time and never kept (backward
 * recomputes them), so neither they nor their gradient take memory. Same
 * contract, shapes as ak_linear (w [V, in], bias [V] or NULL); values and
 * gradients bitwise those of the composition. */
ak_tensor *ak_linear_cross_entropy(ak_ctx *ctx, ak_tensor *x, ak_tensor *w, ak_tensor *bias,
                                   const int32_t *targets, int32_t ignore_index, float smoothing, int64_t *count);

/* ---- select.c (no gradient) --------------------------------------------- */
/* Index of the largest value of each row of the last axis (first on ties);
 * out holds ak_rows(x) entries. */
void ak_argmax(const ak_tensor *x, int32_t *out);
/* The k largest entries of each last-axis row, descending (ties: lower index
 * first); idx and val hold ak_rows(x) * k entries. Requires k <= last dim. */
int ak_topk(const ak_tensor *x, int k, int32_t *idx, float *val, ak_err *err);

#endif
