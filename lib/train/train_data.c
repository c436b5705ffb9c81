/* Corpus -> split -> tokenizers -> encoded, filtered pairs (train_data.h). */
#include "train/train_data.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/corpus_split.h"
#include "text/unicode.h"

void ak_train_data_free(ak_train_data *d)
{
    if (!d)
        return;
    ak_corpus_free(&d->corpus);
    ak_corpus_free(&d->vcorpus);
    if (d->tgt_tok != d->src_tok)
        ak_tokenizer_free(d->tgt_tok);
    ak_tokenizer_free(d->src_tok);
    ak_idcorpus_free(&d->train);
    ak_idcorpus_free(&d->valid);
    free(d->valid_src);
    free(d->valid_ref);
    for (size_t i = 0; i < d->n_owned; i++)
        free(d->owned[i]);
    free(d->owned);
    memset(d, 0, sizeof *d);
}

/* The text of one side as the tokenizers see it: lower-cased copies when
 * configured (kept in d->owned), else the corpus string. */
static const char *side_text(ak_train_data *d, const ak_train_cfg *cfg, const char *s, ak_err *err)
{
    if (!cfg->lowercase)
        return s;
    char *low = ak_utf8_lower(s, strlen(s), NULL, err);
    if (!low)
        return NULL;
    d->owned[d->n_owned++] = low;
    return low;
}

int ak_train_encode_text(const ak_train_cfg *cfg, const ak_tokenizer *t, const char *text, int64_t max_len,
                         ak_ids *out, ak_err *err)
{
    out->n = 0;
    char *low = NULL;
    if (cfg->lowercase && !(text = low = ak_utf8_lower(text, strlen(text), NULL, err)))
        return -1;
    int rc = ak_tokenizer_encode(t, text, out, err);
    free(low);
    if (rc == 0 && max_len > 0 && out->n > (size_t)max_len)
        out->n = (size_t)max_len;
    return rc;
}

typedef struct texts {
    const char **src, **tgt;
    const ak_corpus *corpus; /* for line numbers */
    const size_t *idx;       /* pair indices */
    size_t n;
} texts;

static int encode_split(ak_train_data *d, ak_idcorpus *out, const texts *t, ak_ids *a, ak_ids *b, ak_err *err)
{
    for (size_t i = 0; i < t->n; i++) {
        size_t line = t->corpus->pairs[t->idx[i]].line;
        if (ak_tokenizer_encode(d->src_tok, t->src[i], (a->n = 0, a), err) != 0)
            return ak_err_prefix(err, "%s:%zu: source", t->corpus->path, line);
        if (ak_tokenizer_encode(d->tgt_tok, t->tgt[i], (b->n = 0, b), err) != 0)
            return ak_err_prefix(err, "%s:%zu: target", t->corpus->path, line);
        if (a->n > INT32_MAX || b->n > INT32_MAX)
            return ak_errorf(err, "%s:%zu: sentence too long", t->corpus->path, line);
        if (ak_idcorpus_add(out, a->v, (int32_t)a->n, b->v, (int32_t)b->n, err) != 0)
            return -1;
    }
    return 0;
}

static uint32_t corpus_crc(uint32_t crc, const ak_corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        crc = (uint32_t)crc32(crc, (const Bytef *)c->pairs[i].src, (uInt)strlen(c->pairs[i].src));
        crc = (uint32_t)crc32(crc, (const Bytef *)"\t", 1);
        crc = (uint32_t)crc32(crc, (const Bytef *)c->pairs[i].tgt, (uInt)strlen(c->pairs[i].tgt));
        crc = (uint32_t)crc32(crc, (const Bytef *)"\n", 1);
    }
    return crc;
}

/* Fills t with the texts of corpus pairs idx[0..n). */
static int gather(ak_train_data *d, const ak_train_cfg *cfg, const ak_corpus *c, const size_t *idx, size_t n,
                  texts *t, ak_err *err)
{
    t->corpus = c;
    t->idx = idx;
    t->n = n;
    t->src = malloc(sizeof *t->src * (n ? n : 1));
    t->tgt = malloc(sizeof *t->tgt * (n ? n : 1));
    if (!t->src || !t->tgt)
        return ak_errorf(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const ak_text_pair *p = &c->pairs[idx[i]];
        if (!(t->src[i] = side_text(d, cfg, p->src, err)) || !(t->tgt[i] = side_text(d, cfg, p->tgt, err)))
            return ak_err_prefix(err, "%s:%zu", c->path, p->line);
    }
    return 0;
}

static int learn_tokenizers(ak_train_data *d, const ak_train_cfg *cfg, const texts *tr, ak_err *err)
{
    ak_tok_kind kind = cfg->tokenizer == AK_TC_TOK_BPE ? AK_TOK_BPE
                       : cfg->tokenizer == AK_TC_TOK_CHAR ? AK_TOK_CHAR
                                                          : AK_TOK_WORD;
    if (cfg->shared_vocab) {
        const char **all = malloc(sizeof *all * (2 * tr->n + 1));
        if (!all)
            return ak_errorf(err, "out of memory");
        memcpy(all, tr->src, sizeof *all * tr->n);
        memcpy(all + tr->n, tr->tgt, sizeof *all * tr->n);
        int rc = ak_tokenizer_train(kind, all, 2 * tr->n, (size_t)cfg->vocab_size, cfg->min_count, &d->src_tok, err);
        free(all);
        d->tgt_tok = d->src_tok;
        return rc ? ak_err_prefix(err, "learning the shared vocabulary") : 0;
    }
    if (ak_tokenizer_train(kind, tr->src, tr->n, (size_t)cfg->vocab_size, cfg->min_count, &d->src_tok, err))
        return ak_err_prefix(err, "learning the source vocabulary");
    if (ak_tokenizer_train(kind, tr->tgt, tr->n, (size_t)cfg->vocab_size, cfg->min_count, &d->tgt_tok, err))
        return ak_err_prefix(err, "learning the target vocabulary");
    return 0;
}

/* Keeps the pairs the twin keeps and records the texts of kept validation pairs. */
static int filter_valid(ak_train_data *d, const ak_train_cfg *cfg, const texts *va, ak_err *err)
{
    d->valid_src = malloc(sizeof *d->valid_src * (va->n ? va->n : 1));
    d->valid_ref = malloc(sizeof *d->valid_ref * (va->n ? va->n : 1));
    if (!d->valid_src || !d->valid_ref)
        return ak_errorf(err, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < d->valid.n; i++) {
        const ak_idpair *p = &d->valid.pairs[i];
        if (p->ns > 0 && p->ns <= cfg->max_len && p->nt <= cfg->max_len) {
            d->valid_src[k] = va->src[i];
            d->valid_ref[k] = va->tgt[i];
            k++;
        }
    }
    d->n_valid_dropped = ak_idcorpus_filter(&d->valid, (int32_t)cfg->max_len, (int32_t)cfg->max_len);
    if (d->valid.n != k)
        return ak_errorf(err, "internal: validation filter disagrees (%zu vs %zu)", d->valid.n, k);
    return 0;
}

int ak_train_data_prepare(ak_train_data *d, const ak_train_cfg *cfg, ak_tokenizer *src_tok, ak_tokenizer *tgt_tok,
                          ak_err *err)
{
    memset(d, 0, sizeof *d);
    d->src_tok = src_tok;
    d->tgt_tok = tgt_tok;
    ak_on_malformed mal = cfg->on_malformed == AK_TC_MALFORMED_SKIP ? AK_MALFORMED_SKIP : AK_MALFORMED_FAIL;
    if (ak_corpus_read(&d->corpus, cfg->train, mal, err) != 0)
        return -1;
    if (*cfg->valid && ak_corpus_read(&d->vcorpus, cfg->valid, mal, err) != 0)
        return -1;
    d->crc = corpus_crc(corpus_crc(0, &d->corpus), &d->vcorpus);
    size_t n_all = d->corpus.n + d->vcorpus.n;
    if (cfg->lowercase && !(d->owned = malloc(sizeof *d->owned * (2 * n_all + 1))))
        return ak_errorf(err, "out of memory");

    ak_split split = {0};
    size_t *all_valid = NULL;
    texts tr = {0}, va = {0};
    ak_ids a = {0}, b = {0};
    int rc = 0;
    if (*cfg->valid) {
        rc = ak_split_make(&split, d->corpus.n, 0, cfg->seed, err);
        all_valid = malloc(sizeof *all_valid * (d->vcorpus.n + 1));
        for (size_t i = 0; all_valid && i < d->vcorpus.n; i++)
            all_valid[i] = i;
        rc = rc || (!all_valid && ak_errorf(err, "out of memory"));
        rc = rc || gather(d, cfg, &d->corpus, split.train, split.n_train, &tr, err) ||
             gather(d, cfg, &d->vcorpus, all_valid, d->vcorpus.n, &va, err);
    } else {
        if ((size_t)cfg->valid_size >= d->corpus.n)
            rc = ak_errorf(err, "[data] valid_size = %lld: expected fewer than the %zu pairs of %s",
                           (long long)cfg->valid_size, d->corpus.n, cfg->train);
        rc = rc || ak_split_make(&split, d->corpus.n, (size_t)cfg->valid_size, cfg->seed, err) ||
             gather(d, cfg, &d->corpus, split.train, split.n_train, &tr, err) ||
             gather(d, cfg, &d->corpus, split.valid, split.n_valid, &va, err);
    }
    d->n_train_pairs = tr.n;
    d->n_valid_pairs = va.n;
    if (!rc && !d->src_tok)
        rc = learn_tokenizers(d, cfg, &tr, err);
    rc = rc || encode_split(d, &d->train, &tr, &a, &b, err) || encode_split(d, &d->valid, &va, &a, &b, err);
    if (!rc) {
        d->n_train_dropped = ak_idcorpus_filter(&d->train, (int32_t)cfg->max_len, (int32_t)cfg->max_len);
        rc = filter_valid(d, cfg, &va, err);
    }
    if (!rc && d->train.n == 0)
        rc = ak_errorf(err, "%s: no training pair has 1..%lld source and at most %lld target tokens ([data] max_len)",
                       cfg->train, (long long)cfg->max_len, (long long)cfg->max_len);
    if (!rc && d->valid.n == 0)
        rc = ak_errorf(err, "%s: no validation pair is left after the length filter ([data] max_len = %lld)",
                       *cfg->valid ? cfg->valid : cfg->train, (long long)cfg->max_len);
    ak_ids_free(&a);
    ak_ids_free(&b);
    free(tr.src);
    free(tr.tgt);
    free(va.src);
    free(va.tgt);
    free(all_valid);
    ak_split_free(&split);
    return rc ? -1 : 0;
}
