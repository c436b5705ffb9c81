/* Translation session over a checkpoint (decode/translate.h). */
#include "decode/translate.h"

#include "core/special_ids.h"
#include "io/checkpoint.h"
#include "io/ckpt_tokenizer.h"
#include "text/unicode.h"
#include "train/decode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ak_translator_open(ak_translator *t, const char *path, ak_err *err)
{
    memset(t, 0, sizeof *t);
    t->ckpt = ak_ckpt_open(path, err);
    if (!t->ckpt)
        return -1;
    t->model = ak_ckpt_load_model(t->ckpt, err);
    if (!t->model) {
        ak_container_close(t->ckpt);
        t->ckpt = NULL;
        return -1;
    }
    const ak_model_desc *d = ak_model_get_desc(t->model);
    ak_err terr = {{0}};
    if (ak_ckpt_get_tokenizer(t->ckpt, "src", &t->src_tok, &terr) != 0 ||
        ak_ckpt_get_tokenizer(t->ckpt, "tgt", &t->tgt_tok, &terr) != 0) {
        snprintf(t->no_tok, sizeof t->no_tok,
                 "%.380s (no usable tokenizers; --score-ids works "
                 "on token ids without them)",
                 terr.msg);
    } else {
        size_t vs = ak_vocab_size(ak_tokenizer_vocab(t->src_tok)), vt = ak_vocab_size(ak_tokenizer_vocab(t->tgt_tok));
        if ((int64_t)vs > d->src_vocab || (int64_t)vt > d->tgt_vocab)
            snprintf(t->no_tok, sizeof t->no_tok,
                     "%.300s: the tokenizers have %zu and %zu tokens, more than the model's vocabularies (%lld, %lld)",
                     path, vs, vt, (long long)d->src_vocab, (long long)d->tgt_vocab);
    }
    if (t->no_tok[0]) {
        ak_tokenizer_free(t->src_tok);
        ak_tokenizer_free(t->tgt_tok);
        t->src_tok = t->tgt_tok = NULL;
    }
    const char *cfg_text;
    if (ak_container_get_str(t->ckpt, "run/config", &cfg_text, NULL, NULL) == 0) {
        ak_err cerr = {{0}};
        if (ak_train_cfg_parse_text(&t->run_cfg, "run/config", cfg_text, &cerr) == 0)
            t->has_run_cfg = 1;
        else
            snprintf(t->cfg_note, sizeof t->cfg_note,
                     "%.200s: the run configuration is not readable, using "
                     "defaults: %.250s",
                     path, cerr.msg);
    }
    ak_ctx_init(&t->ctx, 0, 1);
    ak_set_grad_enabled(&t->ctx, 0);
    t->ctx.training = 0;
    return 0;
}

void ak_translator_close(ak_translator *t)
{
    if (!t->ckpt)
        return;
    ak_ctx_free(&t->ctx);
    ak_tokenizer_free(t->src_tok);
    ak_tokenizer_free(t->tgt_tok);
    ak_model_free(t->model);
    ak_container_close(t->ckpt);
    memset(t, 0, sizeof *t);
}

int ak_translator_need_text(const ak_translator *t, ak_err *err)
{
    if (t->src_tok && t->tgt_tok)
        return 0;
    return ak_errorf(err, "%s", t->no_tok);
}

int ak_translator_encode(const ak_translator *t, const char *text, ak_ids *out, ak_err *err)
{
    out->n = 0;
    if (ak_translator_need_text(t, err) != 0)
        return -1;
    char *norm = ak_translator_normalize(t, text, err);
    if (!norm)
        return -1;
    int rc = ak_tokenizer_encode(t->src_tok, norm, out, err);
    free(norm);
    if (rc != 0)
        return -1;
    int64_t max = ak_model_get_desc(t->model)->max_len;
    if (out->n == 0)
        return ak_errorf(err, "empty input");
    if ((int64_t)out->n > max)
        return ak_errorf(err, "input of %zu tokens, the model takes at most %lld", out->n, (long long)max);
    return 0;
}

int ak_search_cfg_check(const ak_translator *t, const ak_search_cfg *cfg, ak_err *err)
{
    int64_t max = ak_model_get_desc(t->model)->max_len;
    if (cfg->beam < 0 || cfg->beam > 4096)
        return ak_errorf(err, "--beam must be in [1, 4096], got %d", cfg->beam);
    int nbest = cfg->nbest ? cfg->nbest : 1;
    if (nbest < 1 || nbest > (cfg->beam ? cfg->beam : 1))
        return ak_errorf(err, "--nbest %d: must be in [1, beam size %d]%s", nbest, cfg->beam ? cfg->beam : 1,
                         cfg->beam ? "" : " (greedy decoding gives one output; use --beam K)");
    if (cfg->max_len < 0 || cfg->max_len > max)
        return ak_errorf(err, "--max-len %lld: must be in [1, %lld] (the model's max_len)", (long long)cfg->max_len,
                         (long long)max);
    if (!(cfg->alpha >= 0.0 && cfg->alpha <= 10.0))
        return ak_errorf(err, "--alpha %g: must be in [0, 10]", cfg->alpha);
    if (cfg->batch < 0 || cfg->batch > 65536)
        return ak_errorf(err, "--batch %d: must be in [1, 65536]", cfg->batch);
    return 0;
}

/* Greedy decoding is the trainer's (train/decode.h): one implementation, so
 * validation BLEU in training and `infer --eval` agree. */
static int decode_greedy(ak_translator *t, const ak_ids *srcs, size_t n, const ak_search_cfg *cfg, int64_t max_len,
                         ak_hyps *out, ak_err *err)
{
    const int32_t **src = malloc(sizeof *src * (n ? n : 1));
    int32_t *len = malloc(sizeof *len * (n ? n : 1));
    ak_ids *ids = calloc(n ? n : 1, sizeof *ids);
    int rc = 0;
    if (!src || !len || !ids)
        rc = ak_errorf(err, "decode: out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        src[i] = srcs[i].v;
        len[i] = (int32_t)srcs[i].n;
    }
    if (rc == 0 && ak_greedy_decode(&t->ctx, t->model, (const int32_t *const *)src, len, n, max_len,
                                    cfg->batch ? cfg->batch : 32, ids, NULL, err) != 0)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        ak_hyp *h = calloc(1, sizeof *h);
        if (!h) {
            rc = ak_errorf(err, "decode: out of memory");
            break;
        }
        h->n = (int64_t)ids[i].n;
        h->finished = h->n < max_len;
        h->logprob = h->score = NAN;
        if (ids[i].n) {
            h->ids = ids[i].v; /* take the buffer */
            ids[i] = (ak_ids){0};
        }
        out[i].v = h;
        out[i].n = 1;
    }
    for (size_t i = 0; ids && i < n; i++)
        ak_ids_free(&ids[i]);
    free(src);
    free(len);
    free(ids);
    return rc;
}

int ak_translator_decode(ak_translator *t, const ak_ids *srcs, size_t n, const ak_search_cfg *cfg, ak_hyps *out,
                         ak_err *err)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (ak_hyps){0};
    if (ak_search_cfg_check(t, cfg, err) != 0)
        return -1;
    const ak_model_desc *d = ak_model_get_desc(t->model);
    int64_t max_len = cfg->max_len ? cfg->max_len : ak_translator_default_max_len(t);
    for (size_t i = 0; i < n; i++)
        if (srcs[i].n < 1 || (int64_t)srcs[i].n > d->max_len)
            return ak_errorf(err, "source %zu: %zu tokens, outside [1, %lld]", i + 1, srcs[i].n, (long long)d->max_len);
    int rc = 0;
    if (cfg->beam == 0) {
        rc = decode_greedy(t, srcs, n, cfg, max_len, out, err);
    } else {
        ak_beam_opts bo = {
            .beam = cfg->beam, .nbest = cfg->nbest ? cfg->nbest : 1, .max_len = max_len, .alpha = cfg->alpha};
        for (size_t i = 0; i < n && rc == 0; i++) {
            rc = ak_decode_beam(&t->ctx, t->model, srcs[i].v, (int64_t)srcs[i].n, &bo, &out[i], err);
            ak_ctx_end_step(&t->ctx);
        }
    }
    if (rc != 0)
        for (size_t i = 0; i < n; i++)
            ak_hyps_free(&out[i]);
    return rc;
}

int ak_translator_logprob(ak_translator *t, const ak_ids *src, ak_hyp *h, ak_err *err)
{
    const ak_model_desc *d = ak_model_get_desc(t->model);
    int64_t L = h->n + h->finished; /* predicted positions */
    if (L < 1 || L > d->max_len)
        return ak_errorf(err, "score: output of %lld tokens outside [1, %lld]", (long long)L, (long long)d->max_len);
    int32_t *tin = malloc(sizeof(int32_t) * (size_t)L);
    if (!tin)
        return ak_errorf(err, "score: out of memory");
    tin[0] = AK_BOS;
    for (int64_t i = 1; i < L; i++)
        tin[i] = h->ids[i - 1];
    ak_set_grad_enabled(&t->ctx, 0);
    t->ctx.training = 0;
    ak_tensor *logits = ak_model_forward(&t->ctx, t->model, src->v, 1, (int64_t)src->n, tin, L, NULL);
    int rc = 0;
    if (!logits || ak_ctx_failed(&t->ctx)) {
        rc = ak_errorf(err, "score: %s", t->ctx.err.msg);
    } else {
        int64_t V = d->tgt_vocab;
        double *lp = malloc(sizeof(double) * (size_t)V);
        if (!lp) {
            rc = ak_errorf(err, "score: out of memory");
        } else {
            double s = 0.0;
            for (int64_t i = 0; i < L; i++) {
                ak_log_softmax_rows(logits->data + i * V, 1, V, lp);
                s += lp[i < h->n ? h->ids[i] : AK_EOS];
            }
            h->logprob = h->score = s;
        }
        free(lp);
    }
    ak_ctx_end_step(&t->ctx);
    free(tin);
    return rc;
}

char *ak_translator_detok(const ak_translator *t, const ak_hyp *h, int glue, ak_err *err)
{
    if (ak_translator_need_text(t, err) != 0)
        return NULL;
    return ak_tokenizer_detok(t->tgt_tok, h->ids, (size_t)h->n, glue, err);
}

void ak_token_label(const ak_tokenizer *tok, int32_t id, char *buf, size_t n)
{
    const char *s = tok ? ak_vocab_token(ak_tokenizer_vocab(tok), id) : NULL;
    if (!s) {
        snprintf(buf, n, "#%d", id);
        return;
    }
    size_t len = strlen(s);
    if (tok && ak_tokenizer_kind(tok) == AK_TOK_BPE && id >= AK_NSPECIAL) {
        if (len >= AK_BPE_EOW_LEN && strcmp(s + len - AK_BPE_EOW_LEN, AK_BPE_EOW) == 0)
            snprintf(buf, n, "%.*s", (int)(len - AK_BPE_EOW_LEN), s);
        else
            snprintf(buf, n, "%s@@", s);
        return;
    }
    snprintf(buf, n, "%s", s);
}

void ak_model_attn_layout(const ak_model_desc *d, ak_attn_role role, int *layers, int *heads)
{
    if (d->kind == AK_MODEL_TRANSFORMER) {
        *layers = (int)(role == AK_ROLE_ENC_SELF ? d->enc_layers : d->dec_layers);
        *heads = (int)d->heads;
        return;
    }
    *layers = role == AK_ROLE_CROSS ? 1 : 0;
    *heads = d->attention == AK_ATTN_MULTIHEAD ? (int)d->heads : 1;
}

int ak_attn_choice_check(const ak_model_desc *d, ak_attn_role role, int layer, int head, ak_err *err)
{
    int layers, heads;
    ak_model_attn_layout(d, role, &layers, &heads);
    if (layers == 0)
        return ak_errorf(err, "this %s model has no %s attention (only cross)",
                         d->kind == AK_MODEL_RNN ? "RNN" : "Transformer", ak_attn_role_name(role));
    if (layer >= layers)
        return ak_errorf(err, "--layer %d out of range: the model has %d %s attention layer%s (0..%d)", layer, layers,
                         ak_attn_role_name(role), layers == 1 ? "" : "s", layers - 1);
    if (head >= heads || head < -1)
        return ak_errorf(err, "--head %d out of range: the model has %d head%s (0..%d, or avg)", head, heads,
                         heads == 1 ? "" : "s", heads - 1);
    return 0;
}

static int push_label(ak_strlist *l, const ak_tokenizer *tok, int32_t id, ak_err *err)
{
    char buf[256];
    ak_token_label(tok, id, buf, sizeof buf);
    return ak_strlist_push(l, buf, strlen(buf), err);
}

int ak_translator_attention(ak_translator *t, const ak_ids *src, const ak_hyp *h, ak_attn_role role, int layer,
                            int head, ak_attn_view *out, ak_err *err)
{
    memset(out, 0, sizeof *out);
    const ak_model_desc *d = ak_model_get_desc(t->model);
    int layers, heads;
    ak_model_attn_layout(d, role, &layers, &heads);
    if (layer < 0)
        layer = layers - 1;
    if (ak_attn_choice_check(d, role, layer, head, err) != 0)
        return -1;
    int64_t Ls = (int64_t)src->n;
    int64_t rows = h->n + h->finished; /* produced tokens */
    if (rows < 1 || rows > d->max_len || Ls < 1)
        return ak_errorf(err, "attention: output of %lld tokens, source of %lld: nothing to show", (long long)rows,
                         (long long)Ls);
    int32_t *tin = malloc(sizeof(int32_t) * (size_t)rows);
    if (!tin)
        return ak_errorf(err, "attention: out of memory");
    tin[0] = AK_BOS;
    for (int64_t i = 1; i < rows; i++)
        tin[i] = h->ids[i - 1];
    ak_attn_capture cap;
    ak_capture_init(&cap);
    ak_set_grad_enabled(&t->ctx, 0);
    t->ctx.training = 0;
    ak_model_forward(&t->ctx, t->model, src->v, 1, Ls, tin, rows, &cap);
    int rc = 0;
    const ak_attn_map *m = NULL;
    if (ak_ctx_failed(&t->ctx))
        rc = ak_errorf(err, "attention: %s", t->ctx.err.msg);
    else if (cap.failed || !(m = ak_capture_find(&cap, role, layer)))
        rc = ak_errorf(err, "attention: no %s map for layer %d was captured", ak_attn_role_name(role), layer);
    ak_ctx_end_step(&t->ctx);
    free(tin);
    if (rc == 0 && (head >= m->heads || m->batch != 1)) {
        rc = ak_errorf(err, "attention: captured map has %d heads, asked for head %d", m->heads, head);
    }
    if (rc == 0) {
        out->rows = (int)m->lq;
        out->cols = (int)m->lk;
        out->w = malloc(sizeof(float) * (size_t)(m->lq * m->lk));
        if (!out->w)
            rc = ak_errorf(err, "attention: out of memory");
    }
    if (rc == 0) {
        int h0 = head < 0 ? 0 : head, h1 = head < 0 ? m->heads : head + 1;
        for (int64_t q = 0; q < m->lq; q++)
            for (int64_t k = 0; k < m->lk; k++) {
                double s = 0.0;
                for (int hh = h0; hh < h1; hh++)
                    s += ak_attn_map_row(m, 0, hh, q)[k];
                out->w[q * m->lk + k] = (float)(s / (h1 - h0));
            }
        const ak_tokenizer *src_tok = t->src_tok, *tgt_tok = t->tgt_tok;
        for (int64_t i = 0; rc == 0 && i < rows; i++)
            rc = push_label(&out->row_labels, tgt_tok, i < h->n ? h->ids[i] : AK_EOS, err);
        if (role == AK_ROLE_DEC_SELF) {
            /* keys are the decoder inputs: BOS, then the produced tokens */
            for (int64_t i = 0; rc == 0 && i < rows; i++)
                rc = push_label(&out->col_labels, tgt_tok, i == 0 ? AK_BOS : h->ids[i - 1], err);
        } else {
            for (int64_t i = 0; rc == 0 && i < Ls; i++)
                rc = push_label(&out->col_labels, src_tok, src->v[i], err);
        }
        if (role == AK_ROLE_ENC_SELF) { /* rows are source tokens too */
            ak_strlist_free(&out->row_labels);
            for (int64_t i = 0; rc == 0 && i < Ls; i++)
                rc = push_label(&out->row_labels, src_tok, src->v[i], err);
        }
        if (head < 0)
            snprintf(out->title, sizeof out->title, "%s L%d avg of %d head%s", ak_attn_role_name(role), layer, m->heads,
                     m->heads == 1 ? "" : "s");
        else
            snprintf(out->title, sizeof out->title, "%s L%d H%d", ak_attn_role_name(role), layer, head);
    }
    ak_capture_free(&cap);
    if (rc != 0)
        ak_attn_view_free(out);
    return rc;
}

const char *ak_translator_metric_hint(const ak_translator *t)
{
    if (!t->has_run_cfg)
        return NULL;
    return t->run_cfg.metric == AK_TC_METRIC_ROUGE ? "rouge" : "bleu";
}

int64_t ak_translator_default_max_len(const ak_translator *t)
{
    int64_t max = ak_model_get_desc(t->model)->max_len;
    if (t->has_run_cfg && t->run_cfg.max_len >= 1 && t->run_cfg.max_len < max)
        return t->run_cfg.max_len;
    return max;
}

int ak_translator_glue(const ak_translator *t)
{
    return t->has_run_cfg && t->run_cfg.detok == AK_TC_DETOK_GLUE;
}

char *ak_translator_normalize(const ak_translator *t, const char *text, ak_err *err)
{
    if (t->has_run_cfg && t->run_cfg.lowercase)
        return ak_utf8_lower(text, strlen(text), NULL, err);
    char *c = strdup(text);
    if (!c)
        ak_errorf(err, "out of memory");
    return c;
}
