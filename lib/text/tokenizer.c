#include "text/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "text/counter.h"
#include "text/detok.h"
#include "text/pretok.h"
#include "text/unicode.h"
#include "text/utf8.h"

struct ak_tokenizer {
    ak_tok_kind kind;
    ak_vocab *vocab;
    ak_bpe *bpe;
};

static const char *const kind_names[] = {"char", "word", "bpe"};

int ak_tok_kind_parse(const char *name, ak_tok_kind *out, ak_err *err)
{
    for (int k = 0; k < 3; k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (ak_tok_kind)k;
            return 0;
        }
    }
    return ak_errorf(err, "tokenizer kind \"%s\": expected char, word or bpe", name);
}

const char *ak_tok_kind_name(ak_tok_kind kind)
{
    return (unsigned)kind < 3 ? kind_names[kind] : "?";
}

int ak_tokenizer_from_parts(ak_tok_kind kind, ak_vocab *vocab, ak_bpe *bpe, ak_tokenizer **out, ak_err *err)
{
    *out = NULL;
    int rc = 0;
    if ((unsigned)kind > AK_TOK_BPE)
        rc = ak_errorf(err, "tokenizer: unknown kind %d", (int)kind);
    else if (!vocab)
        rc = ak_errorf(err, "tokenizer: no vocabulary");
    else if ((kind == AK_TOK_BPE) != (bpe != NULL))
        rc = ak_errorf(err, "tokenizer: merges are needed for bpe and only for bpe");
    ak_tokenizer *t = rc == 0 ? malloc(sizeof *t) : NULL;
    if (rc == 0 && !t)
        rc = ak_errorf(err, "tokenizer: out of memory");
    if (rc < 0) {
        ak_vocab_free(vocab);
        ak_bpe_free(bpe);
        return -1;
    }
    t->kind = kind, t->vocab = vocab, t->bpe = bpe;
    *out = t;
    return 0;
}

void ak_tokenizer_free(ak_tokenizer *t)
{
    if (!t)
        return;
    ak_vocab_free(t->vocab);
    ak_bpe_free(t->bpe);
    free(t);
}

ak_tok_kind ak_tokenizer_kind(const ak_tokenizer *t)
{
    return t->kind;
}

const ak_vocab *ak_tokenizer_vocab(const ak_tokenizer *t)
{
    return t->vocab;
}

const ak_bpe *ak_tokenizer_bpe(const ak_tokenizer *t)
{
    return t->bpe;
}

/* The char tokenizer's token for s[sp]: the code point, or AK_CHAR_SPACE for whitespace. */
static void char_token(const char *s, ak_span sp, const char **tok, size_t *len)
{
    size_t pos = sp.off;
    int32_t c = ak_utf8_next(s, sp.off + sp.len, &pos);
    if (c >= 0 && ak_uc_isspace((uint32_t)c)) {
        *tok = AK_CHAR_SPACE, *len = sizeof AK_CHAR_SPACE - 1;
    } else {
        *tok = s + sp.off, *len = sp.len;
    }
}

/* Pre-tokenises one text for kind: words for word/bpe, code points for char. */
static int pretok(ak_tok_kind kind, const char *s, size_t n, ak_spans *sp, ak_err *err)
{
    sp->n = 0;
    return kind == AK_TOK_CHAR ? ak_pretok_chars(s, n, sp, err) : ak_pretok_words(s, n, sp, err);
}

int ak_tokenizer_train(ak_tok_kind kind, const char *const *texts, size_t n, size_t vocab_size, int64_t min_count,
                       ak_tokenizer **out, ak_err *err)
{
    *out = NULL;
    if ((unsigned)kind > AK_TOK_BPE)
        return ak_errorf(err, "tokenizer: unknown kind %d", (int)kind);
    ak_counter *c = ak_counter_new();
    ak_spans sp = {0};
    int rc = c ? 0 : ak_errorf(err, "tokenizer: out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t len = strlen(texts[i]);
        if (pretok(kind, texts[i], len, &sp, err) < 0) {
            rc = ak_err_prefix(err, "text %zu", i);
            break;
        }
        for (size_t k = 0; rc == 0 && k < sp.n; k++) {
            const char *tok = texts[i] + sp.v[k].off;
            size_t tl = sp.v[k].len;
            if (kind == AK_TOK_CHAR)
                char_token(texts[i], sp.v[k], &tok, &tl);
            rc = ak_counter_add(c, tok, tl, 1, err);
        }
    }
    ak_spans_free(&sp);
    ak_vocab *v = NULL;
    ak_bpe *b = NULL;
    if (rc == 0) {
        if (kind == AK_TOK_BPE)
            rc = ak_bpe_learn(c, vocab_size, min_count, &b, &v, err);
        else
            rc = ak_vocab_build(c, min_count, vocab_size, &v, err);
    }
    ak_counter_free(c);
    if (rc < 0)
        return -1;
    return ak_tokenizer_from_parts(kind, v, b, out, err);
}

int ak_tokenizer_encode(const ak_tokenizer *t, const char *text, ak_ids *out, ak_err *err)
{
    size_t n = strlen(text), base = out->n;
    ak_spans sp = {0};
    int rc = pretok(t->kind, text, n, &sp, err);
    for (size_t k = 0; rc == 0 && k < sp.n; k++) {
        const char *tok = text + sp.v[k].off;
        size_t tl = sp.v[k].len;
        if (t->kind == AK_TOK_BPE) {
            rc = ak_bpe_encode_word(t->bpe, t->vocab, tok, tl, out, err);
            continue;
        }
        if (t->kind == AK_TOK_CHAR)
            char_token(text, sp.v[k], &tok, &tl);
        rc = ak_ids_push(out, ak_vocab_id(t->vocab, tok, tl), err);
    }
    ak_spans_free(&sp);
    if (rc < 0)
        out->n = base;
    return rc;
}

static int check_ids(const ak_tokenizer *t, const int32_t *ids, size_t n, ak_err *err)
{
    size_t v = ak_vocab_size(t->vocab);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= v)
            return ak_errorf(err, "decode: id %d at position %zu is outside the vocabulary [0, %zu)", ids[i], i, v);
    return 0;
}

/* The twin's BPEVocab.words(). */
static int bpe_words(const ak_tokenizer *t, const int32_t *ids, size_t n, ak_strlist *out, ak_err *err)
{
    ak_sbuf cur = {0};
    int rc = ak_sbuf_put(&cur, "", 0, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *tok = ak_vocab_token(t->vocab, ids[i]);
        size_t len = ak_vocab_token_len(t->vocab, ids[i]);
        int special = ids[i] < AK_NSPECIAL;
        int eow =
            !special && len >= AK_BPE_EOW_LEN && memcmp(tok + len - AK_BPE_EOW_LEN, AK_BPE_EOW, AK_BPE_EOW_LEN) == 0;
        rc = ak_sbuf_put(&cur, tok, eow ? len - AK_BPE_EOW_LEN : len, err);
        if (rc == 0 && (special || eow)) {
            rc = ak_strlist_push(out, cur.v, cur.n, err);
            cur.n = 0;
        }
    }
    if (rc == 0 && cur.n > 0)
        rc = ak_strlist_push(out, cur.v, cur.n, err);
    ak_sbuf_free(&cur);
    return rc;
}

int ak_tokenizer_words(const ak_tokenizer *t, const int32_t *ids, size_t n, ak_strlist *out, ak_err *err)
{
    if (check_ids(t, ids, n, err) < 0)
        return -1;
    if (t->kind == AK_TOK_BPE)
        return bpe_words(t, ids, n, out, err);
    for (size_t i = 0; i < n; i++)
        if (ak_strlist_push(out, ak_vocab_token(t->vocab, ids[i]), ak_vocab_token_len(t->vocab, ids[i]), err) < 0)
            return -1;
    return 0;
}

static char *char_detok(const ak_tokenizer *t, const int32_t *ids, size_t n, ak_err *err)
{
    ak_sbuf b = {0};
    int rc = ak_sbuf_put(&b, "", 0, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *tok = ak_vocab_token(t->vocab, ids[i]);
        if (strcmp(tok, AK_CHAR_SPACE) == 0)
            rc = ak_sbuf_put(&b, " ", 1, err);
        else
            rc = ak_sbuf_put(&b, tok, ak_vocab_token_len(t->vocab, ids[i]), err);
    }
    if (rc < 0) {
        ak_sbuf_free(&b);
        return NULL;
    }
    return b.v;
}

char *ak_tokenizer_detok(const ak_tokenizer *t, const int32_t *ids, size_t n, int glue, ak_err *err)
{
    if (check_ids(t, ids, n, err) < 0)
        return NULL;
    if (t->kind == AK_TOK_CHAR)
        return char_detok(t, ids, n, err);
    ak_strlist w = {0};
    char *s = NULL;
    if (ak_tokenizer_words(t, ids, n, &w, err) == 0)
        s = ak_detok((const char *const *)w.v, w.n, glue, err);
    ak_strlist_free(&w);
    return s;
}

int ak_tokenizer_save(const ak_tokenizer *t, const char *vocab_path, const char *merges_path, ak_err *err)
{
    if (t->kind == AK_TOK_BPE && !merges_path)
        return ak_errorf(err, "tokenizer: a bpe tokenizer needs a merges path to be saved");
    if (ak_vocab_save(t->vocab, vocab_path, err) < 0)
        return -1;
    return t->kind == AK_TOK_BPE ? ak_bpe_save(t->bpe, merges_path, err) : 0;
}

int ak_tokenizer_load(ak_tok_kind kind, const char *vocab_path, const char *merges_path, ak_tokenizer **out,
                      ak_err *err)
{
    *out = NULL;
    if (kind == AK_TOK_BPE && !merges_path)
        return ak_errorf(err, "tokenizer: a bpe tokenizer needs a merges path to be loaded");
    ak_vocab *v = NULL;
    ak_bpe *b = NULL;
    if (ak_vocab_load(vocab_path, &v, err) < 0)
        return -1;
    if (kind == AK_TOK_BPE && ak_bpe_load(merges_path, &b, err) < 0) {
        ak_vocab_free(v);
        return -1;
    }
    return ak_tokenizer_from_parts(kind, v, b, out, err);
}
