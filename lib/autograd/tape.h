/* The execution context: per-step arena, the recorded tape, and the error
 * that stops a forward pass.
 *
 * Every op takes an ak_ctx. In grad mode an op whose inputs require
 * gradients appends a node (its backward function and what it saved) to the
 * tape; ak_backward walks the tape newest-first. In no-grad mode nothing is
 * recorded. All memory an op creates (output, saved values, node) comes from
 * ctx->arena and lives until ak_ctx_end_step.
 *
 * Errors are sticky: an op given inputs it cannot accept (shapes, ids out of
 * range) records a message naming the op and the shapes, marks the context
 * failed and returns NULL; every op given a NULL input returns NULL. A caller
 * builds the whole forward pass and checks ak_ctx_failed once. */
#ifndef AK_AUTOGRAD_TAPE_H
#define AK_AUTOGRAD_TAPE_H

#include "core/arena.h"
#include "core/error.h"
#include "core/tensor.h"

#define AK_NODE_MAX_IN 4

/* What a node's backward reads besides gradients (ak_node.reads): the data of
 * input i < AK_NODE_MAX_IN, of the inputs beyond those, of its own output.
 * ak_tape_record sets AK_READS_ALL; an op whose backward needs less says so
 * after recording, which lets ak_discard give memory back earlier. Saying
 * less than the backward reads would let it read freed memory: an op states
 * exactly what its formulas use. */
#define AK_READS_IN(i) (1u << (i))
#define AK_READS_MORE (1u << AK_NODE_MAX_IN)
#define AK_READS_OUT (1u << (AK_NODE_MAX_IN + 1))
#define AK_READS_ALL ((AK_READS_OUT << 1) - 1u)
#define AK_READS_NONE 0u

typedef struct ak_ctx ak_ctx;
typedef struct ak_node ak_node;

/* Adds d(loss)/d(inputs) to the inputs' grads given n->out->grad. */
typedef void (*ak_backward_fn)(ak_ctx *ctx, ak_node *n);

struct ak_node {
    ak_backward_fn backward;
    const char *op;               /* for profiles and messages */
    ak_tensor *out;
    ak_tensor *in[AK_NODE_MAX_IN];
    ak_tensor **more;             /* inputs beyond AK_NODE_MAX_IN (concat) */
    int n_in;
    void *saved;                  /* op-specific, arena-owned */
    int64_t iarg[4];
    float farg[4];
    ak_node *prev;
    /* 1 when out is a view of in[0] whose gradient is in[0]'s gradient
     * buffer itself (reshape): ak_grad(out) returns ak_grad(in[0]), so the
     * node's backward has nothing to do. */
    int grad_alias;
    unsigned reads;               /* AK_READS_*: data the backward reads */
    /* ak_discard's bookkeeping for out's memory: discarded by the caller;
     * backward reads of it still to come; next node on ctx->discards. */
    int discarded;
    int pending;
    ak_node *next_discard;
};

struct ak_ctx {
    ak_arena arena;
    ak_node *tape;                /* newest node */
    int grad_enabled;             /* 0 inside no-grad */
    int training;                 /* enables dropout */
    uint64_t seed;                /* dropout randomness */
    uint64_t step;                /* advances at every ak_ctx_end_step */
    uint64_t dropout_calls;       /* dropout ops so far in this step */
    ak_node *discards;            /* producers of discarded tensors awaiting backward reads */
    int tape_spent;               /* a backward pass gave discarded memory back */
    int failed;
    ak_err err;
};

/* Sets up a context; `arena_bytes` sizes the first arena block (0 = default).
 * Grad mode on, training off. */
void ak_ctx_init(ak_ctx *ctx, size_t arena_bytes, uint64_t seed);
void ak_ctx_free(ak_ctx *ctx);

/* Ends a step: forgets the tape, resets the arena (every tensor made since
 * the previous call becomes invalid), clears the error, advances `step`. */
void ak_ctx_end_step(ak_ctx *ctx);

/* Turns recording off/on; returns the previous setting so calls nest. */
int ak_set_grad_enabled(ak_ctx *ctx, int enabled);

/* 1 after an op failed; the message is in ctx->err.msg. */
static inline int ak_ctx_failed(const ak_ctx *ctx) { return ctx->failed; }

/* Records the first failure (later ones are consequences) and returns NULL. */
ak_tensor *ak_ctx_fail(ak_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A new arena tensor with uninitialised (ak_tensor_new) or zeroed data.
 * Fails the context on a bad shape or out of memory. */
ak_tensor *ak_tensor_new(ak_ctx *ctx, int ndim, const int64_t *shape);
ak_tensor *ak_tensor_zeros(ak_ctx *ctx, int ndim, const int64_t *shape);
/* Arena tensor holding a copy of `data`; requires_grad as given (a leaf). */
ak_tensor *ak_tensor_from(ak_ctx *ctx, int ndim, const int64_t *shape, const float *data, int requires_grad);

/* Shape shorthands: ak_shape(3, 2, 4, 5) builds the array in place. */
#define ak_shape(...) ((const int64_t[]){__VA_ARGS__})

/* Appends a node for `out` computed from inputs in[0..n_in) when grad mode is
 * on and some input requires grad; returns the node (for saved values) or
 * NULL when nothing was recorded. Marks out->requires_grad accordingly. */
ak_node *ak_tape_record(ak_ctx *ctx, ak_tensor *out, const char *op, ak_backward_fn bw, int n_in, ak_tensor *const *in);

/* Declares that the caller will not read t's data again in this step (t may
 * still receive and pass on gradients). The memory goes back to the arena
 * (ak_arena_give_back) as soon as no backward pass needs it: at once when no
 * recorded node's backward reads t's data (per ak_node.reads, through views
 * or any tensor sharing its memory), otherwise right after the last of those
 * backward functions has run. Later allocations of the step reuse it, which
 * is what lowers the step's peak memory.
 *
 * Only tensors an op produced with a tape node own memory that can go back;
 * for anything else (leaves, parameters, views, tensors made without a node)
 * the call does nothing, as does a second call. An op that takes a discarded
 * tensor as input afterwards fails the context (its data may be gone).
 * Once a backward pass has given discarded memory back, a second pass over
 * the same tape fails (it would read it). */
void ak_discard(ak_ctx *ctx, ak_tensor *t);

/* The input tensors of a node, uniformly for any count. */
static inline ak_tensor *ak_node_in(const ak_node *n, int i)
{
    return i < AK_NODE_MAX_IN ? n->in[i] : n->more[i - AK_NODE_MAX_IN];
}

/* Gradient buffer of t for accumulation: NULL when t needs no gradient;
 * allocated zeroed from the arena on first use for non-parameters (the
 * gradient of a gradient-aliasing view, see ak_node.grad_alias, is its
 * base's buffer).
 *
 * Lifetime: during a backward pass the gradient buffer of a tensor produced
 * by a node is handed back to the arena (and t->grad reset to NULL) right
 * after that node's backward has run: every consumer of the tensor is newer
 * on the tape, so nothing adds to it any more. Gradients of parameters and
 * of leaves (tensors no node produced, e.g. inputs with requires_grad) stay
 * until the step ends; read those after ak_backward. */
float *ak_grad(ak_ctx *ctx, ak_tensor *t);

/* Reverse pass from a scalar `loss` (seed gradient 1). Returns 0, or -1 with
 * a message when loss is not a scalar or does not depend on any parameter
 * (or when the tape was spent, see ak_discard). */
int ak_backward(ak_ctx *ctx, ak_tensor *loss, ak_err *err);

/* Reverse pass from any tensor with a given seed gradient (same size as
 * out; copied). Used by gradient checks and by losses computed outside. */
int ak_backward_seeded(ak_ctx *ctx, ak_tensor *out, const float *seed, ak_err *err);

#endif
