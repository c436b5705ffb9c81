/* Teacher-forced per-pair cross-entropy (decode/score.h). */
#include "decode/score.h"

#include "core/special_ids.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int ak_score_check(const ak_model_desc *d, int64_t ns, int64_t nt, ak_err *err)
{
    if (ns < 1)
        return ak_errorf(err, "empty source");
    if (ns > d->max_len)
        return ak_errorf(err, "source of %lld tokens, the model takes at most %lld", (long long)ns,
                         (long long)d->max_len);
    if (nt + 1 > d->max_len)
        return ak_errorf(err, "target of %lld tokens (+ EOS), the model takes at most %lld", (long long)nt,
                         (long long)d->max_len);
    return 0;
}

static int check_pair(const ak_model_desc *d, const ak_idcorpus *c, size_t i, ak_err *err)
{
    const ak_idpair *p = &c->pairs[i];
    if (ak_score_check(d, p->ns, p->nt, err) != 0)
        return ak_err_prefix(err, "pair %zu", i + 1);
    const int32_t *s = ak_idcorpus_src(c, i), *t = ak_idcorpus_tgt(c, i);
    for (int32_t k = 0; k < p->ns; k++)
        if (s[k] < 0 || s[k] >= d->src_vocab)
            return ak_errorf(err, "pair %zu: source id %d outside the vocabulary [0, %lld)", i + 1, s[k],
                             (long long)d->src_vocab);
    for (int32_t k = 0; k < p->nt; k++)
        if (t[k] < 0 || t[k] >= d->tgt_vocab)
            return ak_errorf(err, "pair %zu: target id %d outside the vocabulary [0, %lld)", i + 1, t[k],
                             (long long)d->tgt_vocab);
    return 0;
}

/* -log softmax(z)[y] in double (sum >= 1: the largest term is exp(0)). */
static double token_nll(const float *z, int64_t V, int32_t y)
{
    double mx = z[0];
    for (int64_t j = 1; j < V; j++)
        if (z[j] > mx)
            mx = z[j];
    double sum = 0.0;
    for (int64_t j = 0; j < V; j++)
        sum += exp((double)z[j] - mx);
    return mx + log(sum) - (double)z[y];
}

int ak_score_pairs(ak_ctx *ctx, ak_model *m, const ak_idcorpus *c, const size_t *idx, size_t n, int64_t batch_tokens,
                   double *nll, int64_t *ntok, double *total_nll, int64_t *total_tok, ak_err *err)
{
    const ak_model_desc *d = ak_model_get_desc(m);
    if (!idx)
        n = c->n;
    if (batch_tokens <= 0)
        batch_tokens = 4096;
    for (size_t k = 0; k < n; k++) {
        size_t i = idx ? idx[k] : k;
        if (i >= c->n)
            return ak_errorf(err, "score: pair index %zu out of range (%zu pairs)", i, c->n);
        if (check_pair(d, c, i, err) != 0)
            return -1;
    }
    ak_set_grad_enabled(ctx, 0);
    ctx->training = 0;
    int64_t cap = d->max_len; /* a batch holds B * max(Ls, Lt) <= max(batch_tokens, max_len) ids */
    if (cap < batch_tokens)
        cap = batch_tokens;
    int32_t *src = malloc(sizeof(int32_t) * (size_t)cap);
    int32_t *tin = malloc(sizeof(int32_t) * (size_t)cap), *tout = malloc(sizeof(int32_t) * (size_t)cap);
    if (!src || !tin || !tout) {
        free(src);
        free(tin);
        free(tout);
        return ak_errorf(err, "score: out of memory");
    }
    double sum = 0.0;
    int64_t toks = 0;
    int rc = 0;
    for (size_t k0 = 0; k0 < n && rc == 0;) {
        /* the batch: pairs k0..k1-1 */
        size_t k1 = k0;
        int64_t Ls = 0, Lt = 0;
        while (k1 < n) {
            const ak_idpair *p = &c->pairs[idx ? idx[k1] : k1];
            int64_t ls = Ls > p->ns ? Ls : p->ns, lt = Lt > p->nt + 1 ? Lt : p->nt + 1;
            int64_t B = (int64_t)(k1 - k0) + 1;
            if (k1 > k0 && B * (ls > lt ? ls : lt) > batch_tokens)
                break;
            Ls = ls;
            Lt = lt;
            k1++;
        }
        int64_t B = (int64_t)(k1 - k0);
        for (int64_t b = 0; b < B; b++) {
            size_t i = idx ? idx[k0 + (size_t)b] : k0 + (size_t)b;
            const ak_idpair *p = &c->pairs[i];
            const int32_t *s = ak_idcorpus_src(c, i), *t = ak_idcorpus_tgt(c, i);
            for (int64_t j = 0; j < Ls; j++)
                src[b * Ls + j] = j < p->ns ? s[j] : AK_PAD;
            for (int64_t j = 0; j < Lt; j++) {
                tin[b * Lt + j] = j == 0 ? AK_BOS : j <= p->nt ? t[j - 1] : AK_PAD;
                tout[b * Lt + j] = j < p->nt ? t[j] : j == p->nt ? AK_EOS : AK_PAD;
            }
        }
        ak_tensor *logits = ak_model_forward(ctx, m, src, B, Ls, tin, Lt, NULL);
        if (!logits || ak_ctx_failed(ctx)) {
            rc = ak_errorf(err, "score: %s", ctx->err.msg);
            ak_ctx_end_step(ctx);
            break;
        }
        int64_t V = d->tgt_vocab;
        for (int64_t b = 0; b < B; b++) {
            size_t i = idx ? idx[k0 + (size_t)b] : k0 + (size_t)b;
            int64_t nt = c->pairs[i].nt + 1;
            double s = 0.0;
            for (int64_t j = 0; j < nt; j++)
                s += token_nll(logits->data + (b * Lt + j) * V, V, tout[b * Lt + j]);
            if (nll)
                nll[k0 + (size_t)b] = s;
            if (ntok)
                ntok[k0 + (size_t)b] = nt;
            sum += s;
            toks += nt;
        }
        ak_ctx_end_step(ctx);
        k0 = k1;
    }
    free(src);
    free(tin);
    free(tout);
    if (rc == 0) {
        if (total_nll)
            *total_nll = sum;
        if (total_tok)
            *total_tok = toks;
    }
    return rc;
}
