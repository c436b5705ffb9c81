/* ak_model: one interface over the Transformer and the RNN seq2seq. */
#include "nn/model.h"

#include "nn/seq2seq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ak_model {
    ak_model_desc desc;
    ak_params params;
    ak_transformer *tf;
    ak_rnn_s2s *rnn;
};

struct ak_decode_state {
    ak_tf_state *tf;
    ak_rnn_state *rnn;
};

ak_model_desc ak_model_desc_default(ak_model_kind kind, int64_t src_vocab, int64_t tgt_vocab)
{
    ak_model_desc d = {
        .kind = kind,
        .src_vocab = src_vocab,
        .tgt_vocab = tgt_vocab,
        .d_model = 256,
        .heads = 4,
        .d_ff = 1024,
        .enc_layers = kind == AK_MODEL_TRANSFORMER ? 3 : 1,
        .dec_layers = kind == AK_MODEL_TRANSFORMER ? 3 : 1,
        .max_len = 256,
        .dropout = 0.1f,
        .cell = AK_CELL_GRU,
        .attention = AK_ATTN_ADDITIVE,
    };
    return d;
}

int ak_model_desc_validate(const ak_model_desc *d, ak_err *err)
{
    if (d->kind != AK_MODEL_TRANSFORMER && d->kind != AK_MODEL_RNN)
        return ak_errorf(err, "model: kind must be transformer or rnn");
    if (d->src_vocab < 5 || d->tgt_vocab < 5)
        return ak_errorf(err, "model: vocabularies need at least 5 entries (4 specials + 1), got %lld and %lld",
                         (long long)d->src_vocab, (long long)d->tgt_vocab);
    if (d->d_model < 1 || d->d_model > 65536)
        return ak_errorf(err, "model: d_model must be in [1, 65536], got %lld", (long long)d->d_model);
    if (d->enc_layers < 1 || d->enc_layers > 64 || d->dec_layers < 1 || d->dec_layers > 64)
        return ak_errorf(err, "model: layer counts must be in [1, 64], got %lld + %lld", (long long)d->enc_layers,
                         (long long)d->dec_layers);
    if (d->max_len < 2 || d->max_len > 100000)
        return ak_errorf(err, "model: max_len must be in [2, 100000], got %lld", (long long)d->max_len);
    if (!(d->dropout >= 0.0f && d->dropout < 1.0f))
        return ak_errorf(err, "model: dropout must be in [0, 1), got %g", d->dropout);
    if (d->kind == AK_MODEL_TRANSFORMER) {
        if (d->heads < 1 || d->d_model % d->heads)
            return ak_errorf(err, "model: heads (%lld) must divide d_model (%lld)", (long long)d->heads,
                             (long long)d->d_model);
        if (d->d_ff < 1)
            return ak_errorf(err, "model: d_ff must be >= 1, got %lld", (long long)d->d_ff);
    } else {
        if (d->cell != AK_CELL_GRU && d->cell != AK_CELL_LSTM)
            return ak_errorf(err, "model: cell must be gru or lstm");
        if (d->attention < AK_ATTN_ADDITIVE || d->attention > AK_ATTN_MULTIHEAD)
            return ak_errorf(err, "model: unknown attention kind %d", (int)d->attention);
        if (d->attention == AK_ATTN_MULTIHEAD && (d->heads < 1 || d->d_model % d->heads))
            return ak_errorf(err, "model: heads (%lld) must divide the hidden size (%lld)", (long long)d->heads,
                             (long long)d->d_model);
    }
    return 0;
}

/* The text form: one key per line, in this order. */
char *ak_model_desc_to_text(const ak_model_desc *d)
{
    char *buf = malloc(1024);
    if (!buf)
        return NULL;
    snprintf(buf, 1024,
             "kind = %s\nsrc_vocab = %lld\ntgt_vocab = %lld\nd_model = %lld\nheads = %lld\nd_ff = %lld\n"
             "enc_layers = %lld\ndec_layers = %lld\nmax_len = %lld\ndropout = %.9g\npositions = %s\n"
             "emb_std = %.9g\ncell = %s\nbidirectional = %d\nattention = %s\n",
             d->kind == AK_MODEL_TRANSFORMER ? "transformer" : "rnn", (long long)d->src_vocab,
             (long long)d->tgt_vocab, (long long)d->d_model, (long long)d->heads, (long long)d->d_ff,
             (long long)d->enc_layers, (long long)d->dec_layers, (long long)d->max_len, d->dropout,
             d->learned_pos ? "learned" : "sinusoidal", d->emb_std, d->cell == AK_CELL_GRU ? "gru" : "lstm",
             d->bidirectional, ak_attn_type_name(d->attention));
    return buf;
}

static int parse_int(const char *v, long long lo, long long hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

/* Copies field k of src into dst (k indexes KEYS below). */
static void copy_field(ak_model_desc *dst, const ak_model_desc *src, int k)
{
    switch (k) {
    case 0: dst->kind = src->kind; break;
    case 1: dst->src_vocab = src->src_vocab; break;
    case 2: dst->tgt_vocab = src->tgt_vocab; break;
    case 3: dst->d_model = src->d_model; break;
    case 4: dst->heads = src->heads; break;
    case 5: dst->d_ff = src->d_ff; break;
    case 6: dst->enc_layers = src->enc_layers; break;
    case 7: dst->dec_layers = src->dec_layers; break;
    case 8: dst->max_len = src->max_len; break;
    case 9: dst->dropout = src->dropout; break;
    case 10: dst->learned_pos = src->learned_pos; break;
    case 11: dst->emb_std = src->emb_std; break;
    case 12: dst->cell = src->cell; break;
    case 13: dst->bidirectional = src->bidirectional; break;
    case 14: dst->attention = src->attention; break;
    }
}

static int parse_float(const char *v, float *out)
{
    char *end;
    errno = 0;
    float x = strtof(v, &end);
    if (errno || end == v || *end)
        return -1;
    *out = x;
    return 0;
}

int ak_model_desc_from_text(ak_model_desc *out, const char *text, ak_err *err)
{
    static const char *const KEYS[] = {"kind",      "src_vocab", "tgt_vocab", "d_model", "heads",
                                       "d_ff",      "enc_layers", "dec_layers", "max_len", "dropout",
                                       "positions", "emb_std",   "cell",      "bidirectional", "attention"};
    enum { NKEYS = sizeof KEYS / sizeof *KEYS };
    int seen[NKEYS] = {0};
    ak_model_desc p, *d = &p;
    memset(d, 0, sizeof *d);
    int lineno = 0;
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        lineno++;
        char buf[256], key[64], val[128];
        size_t n = strcspn(line, "\n");
        if (n == 0)
            continue;
        if (n >= sizeof buf)
            return ak_errorf(err, "model description line %d: too long", lineno);
        memcpy(buf, line, n);
        buf[n] = 0;
        if (sscanf(buf, " %63[^ =] = %127s", key, val) != 2)
            return ak_errorf(err, "model description line %d: expected 'key = value', got '%s'", lineno, buf);
        int k = 0;
        while (k < NKEYS && strcmp(KEYS[k], key))
            k++;
        if (k == NKEYS)
            return ak_errorf(err, "model description line %d: unknown key '%s'", lineno, key);
        seen[k] = 1;
        int bad = 0;
        int64_t iv = 0;
        switch (k) {
        case 0:
            bad = strcmp(val, "transformer") && strcmp(val, "rnn");
            d->kind = strcmp(val, "rnn") == 0 ? AK_MODEL_RNN : AK_MODEL_TRANSFORMER;
            break;
        case 1: bad = parse_int(val, 1, 1LL << 31, &d->src_vocab); break;
        case 2: bad = parse_int(val, 1, 1LL << 31, &d->tgt_vocab); break;
        case 3: bad = parse_int(val, 1, 65536, &d->d_model); break;
        case 4: bad = parse_int(val, 1, 1024, &d->heads); break;
        case 5: bad = parse_int(val, 1, 1LL << 20, &d->d_ff); break;
        case 6: bad = parse_int(val, 1, 64, &d->enc_layers); break;
        case 7: bad = parse_int(val, 1, 64, &d->dec_layers); break;
        case 8: bad = parse_int(val, 2, 100000, &d->max_len); break;
        case 9: bad = parse_float(val, &d->dropout); break;
        case 10:
            bad = strcmp(val, "learned") && strcmp(val, "sinusoidal");
            d->learned_pos = strcmp(val, "learned") == 0;
            break;
        case 11: bad = parse_float(val, &d->emb_std); break;
        case 12:
            bad = strcmp(val, "gru") && strcmp(val, "lstm");
            d->cell = strcmp(val, "lstm") == 0 ? AK_CELL_LSTM : AK_CELL_GRU;
            break;
        case 13:
            bad = parse_int(val, 0, 1, &iv);
            d->bidirectional = (int)iv;
            break;
        case 14:
            bad = ak_attn_type_parse(val) < 0;
            d->attention = bad ? AK_ATTN_ADDITIVE : (ak_attn_type)ak_attn_type_parse(val);
            break;
        }
        if (bad)
            return ak_errorf(err, "model description line %d: bad value '%s' for '%s'", lineno, val, key);
    }
    for (int k = 0; k < 3; k++)
        if (!seen[k])
            return ak_errorf(err, "model description: missing key '%s'", KEYS[k]);
    /* Keys not given keep the defaults of the kind. */
    *out = ak_model_desc_default(d->kind, d->src_vocab, d->tgt_vocab);
    for (int k = 0; k < NKEYS; k++)
        if (seen[k])
            copy_field(out, d, k);
    return ak_model_desc_validate(out, err);
}

ak_model *ak_model_create(const ak_model_desc *d, uint64_t seed, ak_err *err)
{
    if (ak_model_desc_validate(d, err) != 0)
        return NULL;
    ak_model *m = calloc(1, sizeof *m);
    if (!m) {
        ak_errorf(err, "out of memory for a model");
        return NULL;
    }
    m->desc = *d;
    ak_params_init(&m->params);
    if (d->kind == AK_MODEL_TRANSFORMER)
        m->tf = ak_transformer_create(d, &m->params, err);
    else
        m->rnn = ak_rnn_s2s_create(d, &m->params, err);
    if ((!m->tf && !m->rnn) || ak_params_finalize(&m->params, seed, 0, err) != 0) {
        ak_model_free(m);
        return NULL;
    }
    return m;
}

void ak_model_free(ak_model *m)
{
    if (!m)
        return;
    ak_transformer_free(m->tf);
    ak_rnn_s2s_free(m->rnn);
    ak_params_free(&m->params);
    free(m);
}

const ak_model_desc *ak_model_get_desc(const ak_model *m) { return &m->desc; }

ak_params *ak_model_params(ak_model *m) { return &m->params; }

/* Ids are user input (a corrupt batch, a vocabulary from another run):
 * check them here so the message names the side and position. */
static int check_ids(ak_ctx *ctx, const char *side, const int32_t *ids, int64_t n, int64_t L, int64_t vocab)
{
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= vocab) {
            ak_ctx_fail(ctx, "model: %s id %d at row %lld position %lld is outside the vocabulary [0, %lld)", side,
                        ids[i], (long long)(i / L), (long long)(i % L), (long long)vocab);
            return -1;
        }
    return 0;
}

/* The checks every entry point with a whole batch makes; 0 when it may go on. */
static int check_batch(ak_ctx *ctx, const ak_model *m, const int32_t *src, int64_t B, int64_t Ls,
                       const int32_t *tgt_in, int64_t Lt)
{
    if (B < 1 || Ls < 1 || Lt < 1) {
        ak_ctx_fail(ctx, "model: empty batch (B %lld, Ls %lld, Lt %lld)", (long long)B, (long long)Ls, (long long)Lt);
        return -1;
    }
    if (Ls > m->desc.max_len || Lt > m->desc.max_len) {
        ak_ctx_fail(ctx, "model: sequence of %lld tokens exceeds max_len %lld", (long long)(Ls > Lt ? Ls : Lt),
                    (long long)m->desc.max_len);
        return -1;
    }
    if (check_ids(ctx, "source", src, B * Ls, Ls, m->desc.src_vocab) ||
        check_ids(ctx, "target", tgt_in, B * Lt, Lt, m->desc.tgt_vocab))
        return -1;
    return 0;
}

ak_tensor *ak_model_forward(ak_ctx *ctx, ak_model *m, const int32_t *src, int64_t B, int64_t Ls,
                            const int32_t *tgt_in, int64_t Lt, ak_attn_capture *cap)
{
    if (check_batch(ctx, m, src, B, Ls, tgt_in, Lt))
        return NULL;
    if (m->tf)
        return ak_transformer_forward(ctx, m->tf, src, B, Ls, tgt_in, Lt, cap);
    return ak_rnn_s2s_forward(ctx, m->rnn, src, B, Ls, tgt_in, Lt, cap);
}

/* The generator and the loss fused (ak_linear_cross_entropy): the logits
 * [B * Lt, V] are never materialised; bitwise the same loss and gradients as
 * ak_cross_entropy(ak_model_forward(...)). */
ak_tensor *ak_model_loss(ak_ctx *ctx, ak_model *m, const int32_t *src, int64_t B, int64_t Ls, const int32_t *tgt_in,
                         const int32_t *tgt_out, int64_t Lt, float smoothing, int64_t *ntok, ak_attn_capture *cap)
{
    if (ntok)
        *ntok = 0;
    if (check_batch(ctx, m, src, B, Ls, tgt_in, Lt))
        return NULL;
    ak_tensor *h;
    const ak_nn_linear *gen;
    if (m->tf) {
        h = ak_transformer_hidden(ctx, m->tf, src, B, Ls, tgt_in, Lt, cap);
        gen = ak_transformer_generator(m->tf);
    } else {
        h = ak_rnn_s2s_hidden(ctx, m->rnn, src, B, Ls, tgt_in, Lt, cap);
        gen = ak_rnn_s2s_generator(m->rnn);
    }
    return ak_linear_cross_entropy(ctx, h, gen->w, gen->b, tgt_out, AK_PAD, smoothing, ntok);
}

ak_decode_state *ak_model_begin_decode(ak_ctx *ctx, ak_model *m, const int32_t *src, int64_t B, int64_t Ls,
                                       int64_t max_steps, ak_attn_capture *cap)
{
    if (B < 1 || Ls < 1 || Ls > m->desc.max_len) {
        ak_ctx_fail(ctx, "decode: source of %lld tokens (batch %lld) outside [1, max_len %lld]", (long long)Ls,
                    (long long)B, (long long)m->desc.max_len);
        return NULL;
    }
    if (check_ids(ctx, "source", src, B * Ls, Ls, m->desc.src_vocab))
        return NULL;
    ak_decode_state *s = ak_arena_calloc(&ctx->arena, sizeof *s);
    if (!s) {
        ak_ctx_fail(ctx, "decode: out of memory");
        return NULL;
    }
    if (m->tf)
        s->tf = ak_transformer_begin(ctx, m->tf, src, B, Ls, max_steps, cap);
    else
        s->rnn = ak_rnn_s2s_begin(ctx, m->rnn, src, B, Ls, max_steps, cap);
    return s->tf || s->rnn ? s : NULL;
}

ak_tensor *ak_model_decode_step(ak_ctx *ctx, ak_model *m, ak_decode_state *s, const int32_t *prev)
{
    if (!s)
        return NULL;
    if (m->tf)
        return ak_transformer_step(ctx, m->tf, s->tf, prev);
    return ak_rnn_s2s_step(ctx, m->rnn, s->rnn, prev);
}

int ak_decode_state_select(ak_ctx *ctx, ak_decode_state *s, const int32_t *idx, int64_t n)
{
    if (s->tf)
        return ak_transformer_select(ctx, s->tf, idx, n);
    return ak_rnn_s2s_select(ctx, s->rnn, idx, n);
}
