/* Basic modules: linear, embedding, layer norm, positional encodings.
 *
 * A module is a small struct of borrowed parameter pointers. Its _init
 * declares the parameters in an ak_params store under "<name>.<field>"
 * (the store owns them; the names are the checkpoint's keys, see
 * docs/formats.md) and its _forward builds ops on a context. Initialisers
 * follow PyTorch's defaults unless stated, because the reference models do.
 * _init returns 0, or -1 with err set (duplicate name, bad size). */
#ifndef AK_NN_LAYERS_H
#define AK_NN_LAYERS_H

#include "core/params.h"
#include "ops/ops.h"

/* Joins "prefix" and "field" as "prefix.field" into buf (n bytes). */
const char *ak_nn_name(char *buf, size_t n, const char *prefix, const char *field);

/* ---- Linear: y = x W^T + b, W [out, in] ------------------------------------
 * Init as torch.nn.Linear: W, b ~ U(-1/sqrt(in), 1/sqrt(in)) (Kaiming-uniform
 * with a = sqrt(5) reduces to this bound). */
typedef struct ak_nn_linear {
    ak_tensor *w, *b;   /* b NULL without bias */
    int64_t in, out;
} ak_nn_linear;

int ak_nn_linear_init(ak_nn_linear *m, ak_params *p, const char *name, int64_t in, int64_t out, int bias,
                      ak_err *err);
ak_tensor *ak_nn_linear_forward(ak_ctx *ctx, const ak_nn_linear *m, ak_tensor *x);

/* ---- Embedding: W [vocab, dim], init N(0, std^2) ------------------------- */
typedef struct ak_nn_embedding {
    ak_tensor *w;
    int64_t vocab, dim;
} ak_nn_embedding;

int ak_nn_embedding_init(ak_nn_embedding *m, ak_params *p, const char *name, int64_t vocab, int64_t dim, float std,
                         ak_err *err);
/* ids [B, L] -> [B, L, dim] (ids_ndim 1..3 accepted). */
ak_tensor *ak_nn_embedding_forward(ak_ctx *ctx, const ak_nn_embedding *m, const int32_t *ids, int ids_ndim,
                                   const int64_t *ids_shape);

/* ---- LayerNorm over the last axis: weight ones, bias zeros, eps ---------- */
typedef struct ak_nn_layernorm {
    ak_tensor *w, *b;
    float eps;
} ak_nn_layernorm;

int ak_nn_layernorm_init(ak_nn_layernorm *m, ak_params *p, const char *name, int64_t dim, float eps, ak_err *err);
ak_tensor *ak_nn_layernorm_forward(ak_ctx *ctx, const ak_nn_layernorm *m, ak_tensor *x);

/* ---- Positional encodings ------------------------------------------------
 * Sinusoidal: PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(..),
 * a constant table [max_len, d] owned by the module (not a parameter).
 * Learned: a parameter "<name>.weight" [max_len, d] ~ N(0, 0.02^2). */
typedef struct ak_nn_posenc {
    int learned;
    float *table;       /* sinusoidal: owned; learned: NULL */
    ak_tensor *w;       /* learned: the parameter */
    int64_t max_len, dim;
} ak_nn_posenc;

int ak_nn_posenc_init(ak_nn_posenc *m, ak_params *p, const char *name, int learned, int64_t max_len, int64_t dim,
                      ak_err *err);
void ak_nn_posenc_free(ak_nn_posenc *m);
/* x [B, L, d] + PE[offset .. offset+L). Fails the context when offset + L
 * exceeds max_len (names both). */
ak_tensor *ak_nn_posenc_forward(ak_ctx *ctx, const ak_nn_posenc *m, ak_tensor *x, int64_t offset);

/* No-grad helper for beam search: a new arena tensor whose row i (leading
 * dimension) is row idx[i] of x, n rows. NULL x gives NULL. */
ak_tensor *ak_nn_gather_rows(ak_ctx *ctx, const ak_tensor *x, const int32_t *idx, int64_t n);

#endif
