/* Validation loss, greedy decoding and scoring (evaluate.h). */
#include "train/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/batch.h"
#include "eval/bleu.h"
#include "eval/rouge.h"
#include "ops/ops.h"
#include "train/decode.h"

int ak_eval_loss(ak_ctx *ctx, ak_model *m, const ak_idcorpus *valid, int64_t batch_tokens, float smoothing,
                 ak_eval_result *r, const volatile sig_atomic_t *cancel, ak_err *err)
{
    ak_batcher bt;
    ak_batch_plan plan = {0};
    if (ak_batcher_init(&bt, valid, batch_tokens, 0, 0, err) != 0 || ak_batcher_plan(&bt, 1, &plan, err) != 0) {
        ak_batch_plan_free(&plan);
        return -1;
    }
    int grad = ak_set_grad_enabled(ctx, 0), training = ctx->training;
    ctx->training = 0;
    double sum_s = 0, sum_n = 0;
    int64_t tokens = 0;
    int rc = 0;
    for (size_t i = 0; !rc && i < plan.n_batches; i++) {
        if (cancel && *cancel) {
            rc = 1;
            break;
        }
        const ak_batch *b = &plan.batches[i];
        ak_tensor *logits = ak_model_forward(ctx, m, b->src, b->rows, b->src_cols, b->dec_in, b->tgt_cols, NULL);
        int64_t cnt = 0;
        ak_tensor *ls = ak_cross_entropy(ctx, logits, b->dec_out, AK_PAD, smoothing, &cnt);
        ak_tensor *ln = ak_cross_entropy(ctx, logits, b->dec_out, AK_PAD, 0.0f, NULL);
        if (ak_ctx_failed(ctx) || !ls || !ln)
            rc = ak_errorf(err, "validation: %s", ctx->err.msg);
        else {
            sum_s += (double)ls->data[0] * (double)cnt;
            sum_n += (double)ln->data[0] * (double)cnt;
            tokens += cnt;
        }
        ak_ctx_end_step(ctx);
    }
    ctx->training = training;
    ak_set_grad_enabled(ctx, grad);
    ak_batch_plan_free(&plan);
    if (rc)
        return rc;
    r->tokens = tokens;
    r->loss = tokens ? sum_s / (double)tokens : 0;
    r->nll = tokens ? sum_n / (double)tokens : 0;
    r->ppl = exp(r->nll);
    return 0;
}

void ak_eval_hyps_free(ak_eval_hyps *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        free(h->text[i]);
    free(h->text);
    h->text = NULL;
    h->n = 0;
}

static int score(const ak_train_data *d, const ak_train_cfg *cfg, char **text, size_t n, ak_eval_result *r,
                 ak_err *err)
{
    ak_bleu bleu;
    if (ak_bleu13a((const char *const *)text, d->valid_ref, n, &bleu, err) != 0)
        return ak_err_prefix(err, "BLEU");
    r->bleu = bleu.score;
    r->rouge1 = r->rouge2 = r->rougeL = 0;
    if (cfg->metric == AK_TC_METRIC_ROUGE) {
        ak_rouge_scores rs;
        if (ak_rouge((const char *const *)text, d->valid_ref, n, &rs, err) != 0)
            return ak_err_prefix(err, "ROUGE");
        r->rouge1 = rs.r1.f;
        r->rouge2 = rs.r2.f;
        r->rougeL = rs.rl.f;
    }
    return 0;
}

int ak_eval_decode(ak_ctx *ctx, ak_model *m, const ak_train_data *d, const ak_train_cfg *cfg, ak_eval_result *r,
                   ak_eval_hyps *hyps, const volatile sig_atomic_t *cancel, ak_err *err)
{
    size_t n = d->valid.n;
    if (cfg->decode_limit > 0 && (size_t)cfg->decode_limit < n)
        n = (size_t)cfg->decode_limit;
    const int32_t **src = calloc(n ? n : 1, sizeof *src);
    int32_t *len = calloc(n ? n : 1, sizeof *len);
    ak_ids *out = calloc(n ? n : 1, sizeof *out);
    char **text = calloc(n ? n : 1, sizeof *text);
    int rc = (!src || !len || !out || !text) ? ak_errorf(err, "out of memory") : 0;
    for (size_t i = 0; !rc && i < n; i++) {
        src[i] = ak_idcorpus_src(&d->valid, i);
        len[i] = d->valid.pairs[i].ns;
    }
    if (!rc)
        rc = ak_greedy_decode(ctx, m, src, len, n, cfg->max_len, cfg->decode_batch, out, cancel, err);
    size_t total = 0;
    int glue = cfg->detok == AK_TC_DETOK_GLUE;
    for (size_t i = 0; !rc && i < n; i++) {
        total += out[i].n;
        if (!(text[i] = ak_tokenizer_detok(d->tgt_tok, out[i].v, out[i].n, glue, err)))
            rc = -1;
    }
    if (!rc)
        rc = score(d, cfg, text, n, r, err);
    if (!rc) {
        r->n_decoded = n;
        r->hyp_len = n ? (double)total / (double)n : 0;
    }
    for (size_t i = 0; out && i < n; i++)
        ak_ids_free(&out[i]);
    free(out);
    free(src);
    free(len);
    if (!rc && hyps) {
        hyps->text = text;
        hyps->n = n;
    } else {
        for (size_t i = 0; text && i < n; i++)
            free(text[i]);
        free(text);
    }
    return rc;
}

double ak_eval_select_value(const ak_eval_result *r, int sel)
{
    switch (sel) {
    case AK_TC_SEL_ROUGE1: return r->rouge1;
    case AK_TC_SEL_ROUGE2: return r->rouge2;
    case AK_TC_SEL_ROUGEL: return r->rougeL;
    case AK_TC_SEL_VALID_LOSS: return -r->loss;
    default: return r->bleu;
    }
}
