#include "nn/layers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ak_nn_name(char *buf, size_t n, const char *prefix, const char *field)
{
    snprintf(buf, n, "%s.%s", prefix, field);
    return buf;
}

int ak_nn_linear_init(ak_nn_linear *m, ak_params *p, const char *name, int64_t in, int64_t out, int bias,
                      ak_err *err)
{
    char nm[256];
    if (in < 1 || out < 1)
        return ak_errorf(err, "%s: linear sizes must be >= 1, got in %lld out %lld", name, (long long)in,
                         (long long)out);
    ak_init u = {AK_INIT_UNIFORM, 1.0f / sqrtf((float)in)};
    m->in = in;
    m->out = out;
    m->w = ak_param(p, ak_nn_name(nm, sizeof nm, name, "weight"), 2, ak_shape(out, in), u, err);
    m->b = bias ? ak_param(p, ak_nn_name(nm, sizeof nm, name, "bias"), 1, ak_shape(out), u, err) : NULL;
    return m->w && (!bias || m->b) ? 0 : -1;
}

ak_tensor *ak_nn_linear_forward(ak_ctx *ctx, const ak_nn_linear *m, ak_tensor *x)
{
    return ak_linear(ctx, x, m->w, m->b);
}

int ak_nn_embedding_init(ak_nn_embedding *m, ak_params *p, const char *name, int64_t vocab, int64_t dim, float std,
                         ak_err *err)
{
    char nm[256];
    if (vocab < 1 || dim < 1)
        return ak_errorf(err, "%s: embedding sizes must be >= 1, got vocab %lld dim %lld", name,
                         (long long)vocab, (long long)dim);
    m->vocab = vocab;
    m->dim = dim;
    m->w = ak_param(p, ak_nn_name(nm, sizeof nm, name, "weight"), 2, ak_shape(vocab, dim),
                    (ak_init){AK_INIT_NORMAL, std}, err);
    return m->w ? 0 : -1;
}

ak_tensor *ak_nn_embedding_forward(ak_ctx *ctx, const ak_nn_embedding *m, const int32_t *ids, int ids_ndim,
                                   const int64_t *ids_shape)
{
    return ak_embedding(ctx, m->w, ids, ids_ndim, ids_shape);
}

int ak_nn_layernorm_init(ak_nn_layernorm *m, ak_params *p, const char *name, int64_t dim, float eps, ak_err *err)
{
    char nm[256];
    m->eps = eps;
    m->w = ak_param(p, ak_nn_name(nm, sizeof nm, name, "weight"), 1, ak_shape(dim), (ak_init){AK_INIT_ONES, 0},
                    err);
    m->b = m->w ? ak_param(p, ak_nn_name(nm, sizeof nm, name, "bias"), 1, ak_shape(dim),
                           (ak_init){AK_INIT_ZEROS, 0}, err)
                : NULL;
    return m->b ? 0 : -1;
}

ak_tensor *ak_nn_layernorm_forward(ak_ctx *ctx, const ak_nn_layernorm *m, ak_tensor *x)
{
    return ak_layernorm(ctx, x, m->w, m->b, m->eps);
}

int ak_nn_posenc_init(ak_nn_posenc *m, ak_params *p, const char *name, int learned, int64_t max_len, int64_t dim,
                      ak_err *err)
{
    char nm[256];
    m->learned = learned;
    m->max_len = max_len;
    m->dim = dim;
    m->table = NULL;
    m->w = NULL;
    if (learned) {
        m->w = ak_param(p, ak_nn_name(nm, sizeof nm, name, "weight"), 2, ak_shape(max_len, dim),
                        (ak_init){AK_INIT_NORMAL, 0.02f}, err);
        return m->w ? 0 : -1;
    }
    m->table = malloc(sizeof(float) * (size_t)(max_len * dim));
    if (!m->table)
        return ak_errorf(err, "%s: out of memory for a [%lld, %lld] positional table", name, (long long)max_len,
                         (long long)dim);
    /* Computed as the reference does (float32 exp of a float32 product), so
     * the table matches PyTorch's to the last bit or two. */
    for (int64_t i = 0; i < dim; i += 2) {
        float div = expf((float)i * (float)(-log(10000.0) / (double)dim));
        for (int64_t pos = 0; pos < max_len; pos++) {
            float a = (float)pos * div;
            m->table[pos * dim + i] = sinf(a);
            if (i + 1 < dim)
                m->table[pos * dim + i + 1] = cosf(a);
        }
    }
    return 0;
}

void ak_nn_posenc_free(ak_nn_posenc *m)
{
    free(m->table);
    m->table = NULL;
}

ak_tensor *ak_nn_posenc_forward(ak_ctx *ctx, const ak_nn_posenc *m, ak_tensor *x, int64_t offset)
{
    if (!x)
        return NULL;
    int64_t L = ak_dim(x, -2);
    if (x->ndim != 3 || ak_dim(x, -1) != m->dim)
        return ak_ctx_fail(ctx, "posenc: expected [B, L, %lld], got a %d-d tensor", (long long)m->dim, x->ndim);
    if (offset + L > m->max_len)
        return ak_ctx_fail(ctx, "posenc: positions %lld..%lld exceed max_len %lld", (long long)offset,
                           (long long)(offset + L - 1), (long long)m->max_len);
    ak_tensor *pe;
    if (m->learned) {
        pe = ak_slice(ctx, m->w, 0, offset, L);
    } else {
        pe = ak_tensor_from(ctx, 2, ak_shape(L, m->dim), m->table + offset * m->dim, 0);
    }
    return ak_add(ctx, x, pe);
}

ak_tensor *ak_nn_gather_rows(ak_ctx *ctx, const ak_tensor *x, const int32_t *idx, int64_t n)
{
    if (!x)
        return NULL;
    int64_t shape[AK_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    int64_t row = x->shape[0] ? x->size / x->shape[0] : 0;
    shape[0] = n;
    ak_tensor *y = ak_tensor_new(ctx, x->ndim, shape);
    for (int64_t i = 0; y && i < n; i++)
        memcpy(y->data + i * row, x->data + (int64_t)idx[i] * row, sizeof(float) * (size_t)row);
    return y;
}
