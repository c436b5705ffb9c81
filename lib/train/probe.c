/* Attention probes (probe.h). */
#include "train/probe.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/attnfile.h"
#include "text/pretok.h"
#include "text/unicode.h"
#include "train/decode.h"
#include "train/interrupt.h"

#define GOLD_HEADER "english\tgerman\tenglish_tokens"

void ak_probes_free(ak_probes *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->items && i < p->n; i++) {
        ak_probe_item *it = &p->items[i];
        ak_ids_free(&it->src);
        ak_ids_free(&it->ref);
        ak_strlist_free(&it->src_tok);
        ak_strlist_free(&it->ref_tok);
        free(it->src_word);
        free(it->ref_word);
    }
    free(p->items);
    free(p->gold);
    free(p->gold_ptr);
    ak_gold_free(&p->gold_file);
    ak_corpus_free(&p->tsv_file);
    memset(p, 0, sizeof *p);
}

static int is_gold_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char line[64] = {0};
    if (!f)
        return 0;
    int ok = fgets(line, sizeof line, f) && !strncmp(line, GOLD_HEADER, strlen(GOLD_HEADER));
    fclose(f);
    return ok;
}

/* The tokens shown for ids of text: the surface words for the word
 * tokenizer (one id per regex word), else the vocabulary strings. */
static int display_tokens(const ak_train_cfg *cfg, const ak_tokenizer *t, const char *text, const ak_ids *ids,
                          ak_strlist *out, ak_err *err)
{
    const ak_vocab *v = ak_tokenizer_vocab(t);
    if (ak_tokenizer_kind(t) == AK_TOK_WORD) {
        char *low = NULL;
        if (cfg->lowercase && !(text = low = ak_utf8_lower(text, strlen(text), NULL, err)))
            return -1;
        ak_spans sp = {0};
        int rc = ak_pretok_words(text, strlen(text), &sp, err);
        if (!rc && sp.n >= ids->n)
            for (size_t i = 0; !rc && i < ids->n; i++)
                rc = ak_strlist_push(out, text + sp.v[i].off, sp.v[i].len, err);
        int done = !rc && sp.n >= ids->n;
        ak_spans_free(&sp);
        free(low);
        if (rc || done)
            return rc;
        for (size_t i = 0; i < out->n; i++)
            free(out->v[i]);
        out->n = 0;
    }
    for (size_t i = 0; i < ids->n; i++)
        if (ak_strlist_push(out, ak_vocab_token(v, ids->v[i]), ak_vocab_token_len(v, ids->v[i]), err) != 0)
            return -1;
    return 0;
}

/* Word index of every character token of text (regex words; -1 for
 * whitespace), for the first n characters. Returns the word count, -1 on error. */
static int32_t char_word_map(const ak_train_cfg *cfg, const char *text, size_t n, int32_t *word, ak_err *err)
{
    char *low = NULL;
    if (cfg->lowercase && !(text = low = ak_utf8_lower(text, strlen(text), NULL, err)))
        return -1;
    ak_spans w = {0}, c = {0};
    int32_t words = -1;
    if (!ak_pretok_words(text, strlen(text), &w, err) && !ak_pretok_chars(text, strlen(text), &c, err)) {
        size_t k = 0;
        words = 0;
        for (size_t i = 0; i < n && i < c.n; i++) {
            while (k < w.n && w.v[k].off + w.v[k].len <= c.v[i].off)
                k++;
            int in = k < w.n && c.v[i].off >= w.v[k].off;
            word[i] = in ? (int32_t)k : -1;
            if (in && (int32_t)k + 1 > words)
                words = (int32_t)k + 1;
        }
    }
    ak_spans_free(&w);
    ak_spans_free(&c);
    free(low);
    return words;
}

/* Word map of one side; the word count, or -1 on error. */
static int32_t word_map(const ak_train_cfg *cfg, const ak_tokenizer *t, const char *text, const ak_strlist *tok,
                        int32_t *word, ak_err *err)
{
    ak_tok_kind k = ak_tokenizer_kind(t);
    if (k == AK_TOK_CHAR)
        return char_word_map(cfg, text, tok->n, word, err);
    return ak_attn_word_map(k == AK_TOK_BPE ? AK_WORDS_BPE : AK_WORDS_TOKENS, (const char *const *)tok->v,
                            (int32_t)tok->n, word);
}

static int add_item(ak_probes *p, const ak_train_cfg *cfg, const ak_train_data *d, uint64_t id, const char *src,
                    const char *ref, const ak_gold_pair *gp, ak_err *err)
{
    ak_probe_item *it = &p->items[p->n];
    memset(it, 0, sizeof *it);
    it->id = id;
    p->n++;
    if (ak_train_encode_text(cfg, d->src_tok, src, p->max_len, &it->src, err) ||
        ak_train_encode_text(cfg, d->tgt_tok, ref, p->max_len, &it->ref, err) ||
        display_tokens(cfg, d->src_tok, src, &it->src, &it->src_tok, err) ||
        display_tokens(cfg, d->tgt_tok, ref, &it->ref, &it->ref_tok, err))
        return -1;
    if (it->src.n == 0) { /* decoded as [UNK], as the twin does with an empty source */
        if (ak_ids_push(&it->src, AK_UNK, err) || ak_strlist_push(&it->src_tok, "<unk>", 5, err))
            return -1;
    }
    if (!gp)
        return 0;
    it->src_word = malloc(sizeof *it->src_word * (it->src.n + 1));
    it->ref_word = malloc(sizeof *it->ref_word * (it->ref.n + 1));
    if (!it->src_word || !it->ref_word)
        return ak_errorf(err, "out of memory");
    int32_t ns = word_map(cfg, d->src_tok, src, &it->src_tok, it->src_word, err);
    int32_t nt = word_map(cfg, d->tgt_tok, ref, &it->ref_tok, it->ref_word, err);
    if (ns < 0 || nt < 0)
        return -1;
    if (ns != gp->n_src_tok || nt != gp->n_tgt_tok) {
        free(it->src_word);
        free(it->ref_word);
        it->src_word = it->ref_word = NULL;
        p->n_gold_dropped++;
        return 0;
    }
    size_t i = (size_t)(it - p->items);
    p->gold[i] = (ak_attn_gold){.sure = gp->sure, .possible = gp->possible, .n_sure = gp->n_sure,
                                .n_possible = gp->n_possible, .src_word = it->src_word, .tgt_word = it->ref_word};
    p->gold_ptr[i] = &p->gold[i];
    return 0;
}

int ak_probes_prepare(ak_probes *p, const ak_train_cfg *cfg, const ak_train_data *d, ak_err *err)
{
    memset(p, 0, sizeof *p);
    p->max_len = cfg->probe_max_len ? cfg->probe_max_len : cfg->max_len;
    p->tgt_tok = d->tgt_tok;
    size_t want = cfg->probe_count > 0 ? (size_t)cfg->probe_count : SIZE_MAX, n = 0;
    if (*cfg->probes) {
        p->has_gold = is_gold_file(cfg->probes);
        if (p->has_gold ? ak_gold_read(&p->gold_file, cfg->probes, err)
                        : ak_corpus_read(&p->tsv_file, cfg->probes, AK_MALFORMED_FAIL, err))
            return -1;
        n = p->has_gold ? p->gold_file.n : p->tsv_file.n;
    } else {
        if (cfg->probe_count == 0)
            want = 0;
        n = d->valid.n;
    }
    if (n > want)
        n = want;
    p->items = calloc(n ? n : 1, sizeof *p->items);
    p->gold = calloc(n ? n : 1, sizeof *p->gold);
    p->gold_ptr = calloc(n ? n : 1, sizeof *p->gold_ptr);
    if (!p->items || !p->gold || !p->gold_ptr)
        return ak_errorf(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (p->has_gold) {
            const ak_gold_pair *g = &p->gold_file.pairs[i];
            rc = add_item(p, cfg, d, i, g->src, g->tgt, g, err);
            if (rc)
                ak_err_prefix(err, "%s:%zu", cfg->probes, g->line);
        } else if (*cfg->probes) {
            const ak_text_pair *t = &p->tsv_file.pairs[i];
            rc = add_item(p, cfg, d, i, t->src, t->tgt, NULL, err);
            if (rc)
                ak_err_prefix(err, "%s:%zu", cfg->probes, t->line);
        } else {
            rc = add_item(p, cfg, d, i, d->valid_src[i], d->valid_ref[i], NULL, err);
            if (rc)
                ak_err_prefix(err, "validation probe %zu", i);
        }
        if (rc)
            return -1;
    }
    return 0;
}

static int ensure_dir(const char *path, ak_err *err)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return ak_errorf(err, "%s: cannot create directory: %s", path, strerror(errno));
    return 0;
}

/* Greedy and teacher-forced passes with captures. */
static int run_model(const ak_probes *p, ak_ctx *ctx, ak_model *m, ak_attn_capture *tf, ak_attn_capture *gr,
                     int32_t *out, int32_t *len, ak_err *err)
{
    int64_t B = (int64_t)p->n, Ls = 1, Lt = 1;
    for (size_t i = 0; i < p->n; i++) {
        if ((int64_t)p->items[i].src.n > Ls)
            Ls = (int64_t)p->items[i].src.n;
        if ((int64_t)p->items[i].ref.n + 1 > Lt)
            Lt = (int64_t)p->items[i].ref.n + 1;
    }
    int32_t *src = calloc((size_t)(B * Ls), sizeof *src), *din = calloc((size_t)(B * Lt), sizeof *din);
    int rc = (!src || !din) ? ak_errorf(err, "out of memory") : 0;
    for (int64_t b = 0; !rc && b < B; b++) {
        const ak_probe_item *it = &p->items[b];
        memcpy(src + b * Ls, it->src.v, sizeof *src * it->src.n);
        din[b * Lt] = AK_BOS;
        if (it->ref.n)
            memcpy(din + b * Lt + 1, it->ref.v, sizeof *din * it->ref.n);
    }
    if (!rc)
        rc = ak_greedy_batch(ctx, m, src, B, Ls, p->max_len, out, len, gr, err);
    if (!rc) {
        int grad = ak_set_grad_enabled(ctx, 0), training = ctx->training;
        ctx->training = 0;
        ak_model_forward(ctx, m, src, B, Ls, din, Lt, tf);
        if (ak_ctx_failed(ctx))
            rc = ak_errorf(err, "probes: %s", ctx->err.msg);
        ak_ctx_end_step(ctx);
        ctx->training = training;
        ak_set_grad_enabled(ctx, grad);
    }
    free(src);
    free(din);
    return rc;
}

static int build_file(const ak_probes *p, ak_model *m, int64_t epoch, const ak_attn_capture *tf,
                      const ak_attn_capture *gr, const int32_t *out, const int32_t *len, ak_attn_file *f,
                      ak_err *err)
{
    ak_attn_summary s = ak_attn_summary_from_desc(ak_model_get_desc(m));
    char *desc = ak_model_desc_to_text(ak_model_get_desc(m));
    int rc = ak_attn_file_init(f, (uint64_t)epoch, &s, desc, err);
    free(desc);
    const ak_vocab *v = ak_tokenizer_vocab(p->tgt_tok);
    const char **otok = malloc(sizeof *otok * (size_t)(p->max_len + 1));
    if (!rc && !otok)
        rc = ak_errorf(err, "out of memory");
    for (size_t b = 0; !rc && b < p->n; b++) {
        const ak_probe_item *it = &p->items[b];
        const int32_t *o = out + b * (size_t)p->max_len;
        for (int32_t k = 0; k < len[b]; k++)
            otok[k] = ak_vocab_token(v, o[k]);
        ak_attn_probe *pr = ak_attn_file_add_probe(
            f, it->id, (const char *const *)it->src_tok.v, (int32_t)it->src_tok.n, (const char *const *)it->ref_tok.v,
            (int32_t)it->ref_tok.n, otok, len[b], len[b] < p->max_len, err);
        rc = !pr || ak_attn_probe_from_capture(f, pr, AK_ATTN_TF, tf, (int64_t)b, err) ||
             ak_attn_probe_from_capture(f, pr, AK_ATTN_GREEDY, gr, (int64_t)b, err);
        if (rc)
            ak_err_prefix(err, "probe %zu", b);
    }
    free(otok);
    return rc ? -1 : 0;
}

static void digest_of(const ak_attn_head_stats *st, size_t n, ak_probe_digest *d)
{
    d->best_aer = NAN;
    d->aer_layer = d->aer_head = -1;
    double ent = 0;
    int cross = 0;
    for (size_t i = 0; i < n; i++) {
        if (st[i].role != AK_ROLE_CROSS)
            continue;
        ent += st[i].entropy;
        cross++;
        if (!isnan(st[i].aer) && (isnan(d->best_aer) || st[i].aer < d->best_aer)) {
            d->best_aer = st[i].aer;
            d->aer_layer = st[i].layer;
            d->aer_head = st[i].head;
        }
    }
    d->cross_entropy = cross ? ent / cross : NAN;
}

int ak_probes_run(const ak_probes *p, ak_ctx *ctx, ak_model *m, const char *run_dir, int64_t epoch,
                  ak_probe_digest *digest, ak_err *err)
{
    if (p->n == 0)
        return 0;
    ak_attn_capture tf, gr;
    ak_capture_init(&tf);
    ak_capture_init(&gr);
    ak_attn_file f = {0};
    ak_attn_head_stats *st = NULL;
    size_t nst = 0;
    int32_t *out = malloc(sizeof *out * p->n * (size_t)p->max_len), *len = malloc(sizeof *len * p->n);
    size_t plen = strlen(run_dir) + 64;
    char *dir = malloc(plen), *path = malloc(plen), *tsv = malloc(plen);
    int rc = (!out || !len || !dir || !path || !tsv) ? ak_errorf(err, "out of memory") : 0;
    rc = rc || run_model(p, ctx, m, &tf, &gr, out, len, err) || build_file(p, m, epoch, &tf, &gr, out, len, &f, err);
    if (!rc) {
        snprintf(dir, plen, "%s/attn", run_dir);
        snprintf(tsv, plen, "%s/attn_stats.tsv", run_dir);
        rc = ensure_dir(dir, err) || ak_attn_file_path(path, plen, run_dir, (uint64_t)epoch, err);
    }
    if (!rc) {
        ak_interrupt_guard(path);
        rc = ak_attn_file_write(&f, path, err);
        ak_interrupt_unguard();
    }
    rc = rc || ak_attn_stats(&f, p->has_gold ? p->gold_ptr : NULL, NULL, &st, &nst, err);
    if (!rc) {
        ak_interrupt_guard(tsv);
        rc = ak_attn_stats_append_tsv(tsv, (uint64_t)epoch, st, nst, err);
        ak_interrupt_unguard();
    }
    if (!rc && digest)
        digest_of(st, nst, digest);
    free(st);
    ak_attn_file_free(&f);
    ak_capture_free(&tf);
    ak_capture_free(&gr);
    free(out);
    free(len);
    free(dir);
    free(path);
    free(tsv);
    return rc ? -1 : 0;
}
