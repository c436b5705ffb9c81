#include "io/ckpt_tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ak_ckpt_put_tokenizer(ak_container_writer *w, const char *side, const ak_tokenizer *t, ak_err *err)
{
    char key[64];
    ak_sbuf b = {0};
    const ak_vocab *v = ak_tokenizer_vocab(t);
    const ak_bpe *bpe = ak_tokenizer_bpe(t);
    int rc = 0;
    for (size_t i = 0; !rc && i < ak_vocab_size(v); i++)
        rc = ak_sbuf_put(&b, ak_vocab_token(v, (int32_t)i), ak_vocab_token_len(v, (int32_t)i), err) ||
             ak_sbuf_put(&b, "\n", 1, err);
    snprintf(key, sizeof key, "tok/%s/kind", side);
    rc = rc || ak_container_put_str(w, key, ak_tok_kind_name(ak_tokenizer_kind(t)), err);
    snprintf(key, sizeof key, "tok/%s/vocab", side);
    rc = rc || ak_container_put_str(w, key, b.v ? b.v : "", err);
    ak_sbuf_free(&b);
    if (!rc && bpe) {
        for (size_t i = 0; !rc && i < ak_bpe_n_merges(bpe); i++) {
            const char *l = ak_bpe_merge_left(bpe, i), *r = ak_bpe_merge_right(bpe, i);
            rc = ak_sbuf_put(&b, l, strlen(l), err) || ak_sbuf_put(&b, " ", 1, err) ||
                 ak_sbuf_put(&b, r, strlen(r), err) || ak_sbuf_put(&b, "\n", 1, err);
        }
        snprintf(key, sizeof key, "tok/%s/merges", side);
        rc = rc || ak_container_put_str(w, key, b.v ? b.v : "", err);
        ak_sbuf_free(&b);
    }
    return rc ? -1 : 0;
}

/* Splits text at '\n' (and, with pairs, each line at its one ' ') in place. */
static int split_lines(char *text, char ***lines, size_t *n)
{
    size_t count = 0, cap = 64;
    char **v = malloc(sizeof *v * cap);
    for (char *p = text; v && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        if (count == cap) {
            char **g = realloc(v, sizeof *v * (cap *= 2));
            if (!g) {
                free(v);
                return -1;
            }
            v = g;
        }
        v[count++] = p;
        p = nl ? nl + 1 : p + strlen(p);
    }
    *lines = v;
    *n = count;
    return v ? 0 : -1;
}

int ak_ckpt_get_tokenizer(const ak_container *c, const char *side, ak_tokenizer **out, ak_err *err)
{
    const char *path = ak_container_path(c), *kind_s, *vocab_s, *merges_s = NULL;
    char key[64];
    ak_tok_kind kind;
    *out = NULL;
    snprintf(key, sizeof key, "tok/%s/kind", side);
    if (ak_container_get_str(c, key, &kind_s, NULL, err) != 0)
        return -1;
    if (ak_tok_kind_parse(kind_s, &kind, err) != 0)
        return ak_err_prefix(err, "%s: %s", path, key);
    snprintf(key, sizeof key, "tok/%s/vocab", side);
    if (ak_container_get_str(c, key, &vocab_s, NULL, err) != 0)
        return -1;
    if (kind == AK_TOK_BPE) {
        snprintf(key, sizeof key, "tok/%s/merges", side);
        if (ak_container_get_str(c, key, &merges_s, NULL, err) != 0)
            return -1;
    }
    char *vt = strdup(vocab_s), *mt = merges_s ? strdup(merges_s) : NULL;
    char **toks = NULL, **ml = NULL, **left = NULL, **right = NULL;
    size_t nt = 0, nm = 0;
    ak_vocab *vocab = NULL;
    ak_bpe *bpe = NULL;
    int rc = -1;
    if (!vt || (merges_s && !mt) || split_lines(vt, &toks, &nt) != 0 || (mt && split_lines(mt, &ml, &nm) != 0)) {
        ak_errorf(err, "%s: out of memory reading the %s tokenizer", path, side);
        goto done;
    }
    if (ak_vocab_from_list((const char *const *)toks, nt, &vocab, err) != 0) {
        ak_err_prefix(err, "%s: tok/%s/vocab", path, side);
        goto done;
    }
    if (mt) {
        left = malloc(sizeof *left * (nm ? nm : 1));
        right = malloc(sizeof *right * (nm ? nm : 1));
        if (!left || !right) {
            ak_errorf(err, "%s: out of memory reading the %s merges", path, side);
            goto done;
        }
        for (size_t i = 0; i < nm; i++) {
            char *sp = strchr(ml[i], ' ');
            if (!sp || strchr(sp + 1, ' ')) {
                ak_errorf(err, "%s: tok/%s/merges line %zu: expected 'left right', got '%s'", path, side, i + 1,
                          ml[i]);
                goto done;
            }
            *sp = 0;
            left[i] = ml[i];
            right[i] = sp + 1;
        }
        if (ak_bpe_from_merges((const char *const *)left, (const char *const *)right, nm, &bpe, err) != 0) {
            ak_err_prefix(err, "%s: tok/%s/merges", path, side);
            goto done;
        }
    }
    rc = ak_tokenizer_from_parts(kind, vocab, bpe, out, err);
    vocab = NULL; /* owned by the tokenizer now, also on failure */
    bpe = NULL;
done:
    ak_vocab_free(vocab);
    ak_bpe_free(bpe);
    free(toks);
    free(ml);
    free(left);
    free(right);
    free(vt);
    free(mt);
    return rc;
}
