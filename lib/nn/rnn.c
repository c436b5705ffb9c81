#include "nn/rnn.h"

#include "ops/gru_cell.h"

#include <math.h>

int ak_nn_rnn_cell_init(ak_nn_rnn_cell *m, ak_params *p, const char *name, ak_rnn_cell kind, int64_t in,
                        int64_t hidden, ak_err *err)
{
    char nm[256];
    int64_t G = (kind == AK_CELL_GRU ? 3 : 4) * hidden;
    ak_init u = {AK_INIT_UNIFORM, 1.0f / sqrtf((float)hidden)};
    m->kind = kind;
    m->in = in;
    m->hidden = hidden;
    m->w_ih = ak_param(p, ak_nn_name(nm, sizeof nm, name, "weight_ih"), 2, ak_shape(G, in), u, err);
    m->w_hh = m->w_ih ? ak_param(p, ak_nn_name(nm, sizeof nm, name, "weight_hh"), 2, ak_shape(G, hidden), u, err) : NULL;
    m->b_ih = m->w_hh ? ak_param(p, ak_nn_name(nm, sizeof nm, name, "bias_ih"), 1, ak_shape(G), u, err) : NULL;
    m->b_hh = m->b_ih ? ak_param(p, ak_nn_name(nm, sizeof nm, name, "bias_hh"), 1, ak_shape(G), u, err) : NULL;
    return m->b_hh ? 0 : -1;
}

/* Gate k (of width H) of a [B, G*H] tensor. */
static ak_tensor *gate(ak_ctx *ctx, ak_tensor *x, int k, int64_t H) { return ak_slice(ctx, x, 1, k * H, H); }

/* m ? new : old, exactly (m is 0 or 1, so old * 0 and new * 1 are exact). */
static ak_tensor *keep_padded(ak_ctx *ctx, ak_tensor *mask, ak_tensor *new_, ak_tensor *old)
{
    if (!mask)
        return new_;
    ak_tensor *one = ak_tensor_from(ctx, 0, NULL, (const float[]){1.0f}, 0);
    return ak_add(ctx, ak_mul(ctx, new_, mask), ak_mul(ctx, old, ak_sub(ctx, one, mask)));
}

void ak_nn_rnn_cell_step_at(ak_ctx *ctx, const ak_nn_rnn_cell *m, ak_tensor *gi, int64_t t, ak_tensor *gx,
                            ak_tensor *h, ak_tensor *c, ak_tensor *mask, ak_tensor **h_out, ak_tensor **c_out)
{
    int64_t H = m->hidden;
    ak_tensor *gh = ak_linear(ctx, h, m->w_hh, m->b_hh);
    if (m->kind == AK_CELL_GRU) {
        /* The gates fused (ops/gru_cell.h): h' = n + z * (h - n), the form
         * PyTorch's CPU kernel evaluates, and the mask blend of keep_padded,
         * bitwise. */
        *h_out = ak_gru_cell(ctx, gi, t, gx, gh, h, mask);
        if (c_out)
            *c_out = NULL;
        return;
    }
    if (gi && gi->ndim == 3)
        gi = ak_reshape(ctx, ak_slice(ctx, gi, 1, t, 1), 2, ak_shape(gi->shape[0], gi->shape[2]));
    if (gx)
        gi = ak_add(ctx, gi, gx);
    ak_tensor *g = ak_add(ctx, gi, gh);
    ak_tensor *i = ak_sigmoid(ctx, gate(ctx, g, 0, H)), *f = ak_sigmoid(ctx, gate(ctx, g, 1, H));
    ak_tensor *gg = ak_tanh(ctx, gate(ctx, g, 2, H)), *o = ak_sigmoid(ctx, gate(ctx, g, 3, H));
    ak_tensor *cn = ak_add(ctx, ak_mul(ctx, f, c), ak_mul(ctx, i, gg));
    ak_tensor *hn = ak_mul(ctx, o, ak_tanh(ctx, cn));
    *h_out = keep_padded(ctx, mask, hn, h);
    *c_out = keep_padded(ctx, mask, cn, c);
}

void ak_nn_rnn_cell_step(ak_ctx *ctx, const ak_nn_rnn_cell *m, ak_tensor *gi, ak_tensor *h, ak_tensor *c,
                         ak_tensor *mask, ak_tensor **h_out, ak_tensor **c_out)
{
    ak_nn_rnn_cell_step_at(ctx, m, gi, 0, NULL, h, c, mask, h_out, c_out);
}

ak_tensor *ak_nn_step_mask(ak_ctx *ctx, const int32_t *ids, int64_t B, int64_t L, int64_t t)
{
    ak_tensor *m = ak_tensor_new(ctx, 2, ak_shape(B, 1));
    for (int64_t b = 0; m && b < B; b++)
        m->data[b] = ids[b * L + t] != AK_PAD ? 1.0f : 0.0f;
    return m;
}

ak_tensor *ak_nn_rnn_run(ak_ctx *ctx, const ak_nn_rnn_cell *m, ak_tensor *x, const int32_t *ids, int reverse,
                         ak_tensor **h_last, ak_tensor **c_last)
{
    *h_last = NULL;
    if (c_last)
        *c_last = NULL;
    if (!x)
        return NULL;
    int64_t B = x->shape[0], L = x->shape[1], H = m->hidden;
    /* The input projection of every step in one GEMM. */
    ak_tensor *gi_all = ak_linear(ctx, x, m->w_ih, m->b_ih);
    ak_tensor *h = ak_tensor_zeros(ctx, 2, ak_shape(B, H));
    ak_tensor *c = m->kind == AK_CELL_LSTM ? ak_tensor_zeros(ctx, 2, ak_shape(B, H)) : NULL;
    ak_tensor *outs[1024], **outv = outs;
    if (L > 1024) {
        outv = ak_arena_alloc(&ctx->arena, sizeof *outv * (size_t)L);
        if (!outv)
            return ak_ctx_fail(ctx, "rnn: out of memory for %lld steps", (long long)L);
    }
    for (int64_t s = 0; s < L && gi_all; s++) {
        int64_t t = reverse ? L - 1 - s : s;
        ak_tensor *mask = ids ? ak_nn_step_mask(ctx, ids, B, L, t) : NULL;
        ak_nn_rnn_cell_step_at(ctx, m, gi_all, t, NULL, h, c, mask, &h, &c);
        outv[t] = ak_reshape(ctx, h, 3, ak_shape(B, 1, H));
        if (!h)
            return NULL;
    }
    *h_last = h;
    if (c_last)
        *c_last = c;
    return ak_concat(ctx, outv, (int)L, 1);
}
