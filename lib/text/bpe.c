/* BPE merge table: construction from a merge sequence, segmentation, merges file I/O.
 * The learner is in bpe_learn.c. */
#include "text/bpe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/fileio.h"
#include "text/pairmap.h"
#include "text/pretok.h"
#include "text/strtab.h"
#include "text/unicode.h"
#include "text/utf8.h"

struct ak_bpe {
    ak_strtab *sym;        /* every symbol named by a merge: left, right and their concatenation */
    int32_t *left, *right; /* the merge sequence, as symbol ids */
    size_t n;
    ak_pairmap pairs;       /* (left, right) -> pair index */
    int32_t *rank, *merged; /* per pair index: rank (the twin's ranks[p]) and the merged symbol */
};

void ak_bpe_free(ak_bpe *b)
{
    if (!b)
        return;
    ak_strtab_free(b->sym);
    free(b->left);
    free(b->right);
    ak_pairmap_free(&b->pairs);
    free(b->rank);
    free(b->merged);
    free(b);
}

static int has_eow_at(const char *s, size_t len, size_t at)
{
    return at + AK_BPE_EOW_LEN <= len && memcmp(s + at, AK_BPE_EOW, AK_BPE_EOW_LEN) == 0;
}

/* A merge side: non-empty valid UTF-8 without whitespace; "</w>" only as the suffix of a right side
 * that has something before it.  Message without location. */
static int check_side(const char *s, size_t len, int right, ak_err *err)
{
    const char *what = right ? "right" : "left";
    if (len == 0)
        return ak_errorf(err, "empty %s symbol", what);
    if (ak_utf8_validate(s, len, NULL, err) < 0)
        return ak_err_prefix(err, "%s symbol", what);
    for (size_t pos = 0; pos < len;) {
        size_t at = pos;
        uint32_t c = (uint32_t)ak_utf8_next(s, len, &pos);
        if (c == 0 || ak_uc_isspace(c))
            return ak_errorf(err, "%s symbol has whitespace or NUL U+%04X at byte %zu", what, (unsigned)c, at);
        if (has_eow_at(s, len, at) && !(right && at > 0 && at + AK_BPE_EOW_LEN == len))
            return ak_errorf(err, "%s symbol \"%.*s\" has \"" AK_BPE_EOW "\" where no word can end", what,
                             (int)(len > 64 ? 64 : len), s);
    }
    return 0;
}

static int add_merge(ak_bpe *b, const char *l, const char *r, ak_err *err)
{
    size_t ll = strlen(l), rl = strlen(r);
    if (check_side(l, ll, 0, err) < 0 || check_side(r, rl, 1, err) < 0)
        return -1;
    if (ll > SIZE_MAX / 2 || rl > SIZE_MAX / 2)
        return ak_errorf(err, "merge symbols too long");
    char *cat = malloc(ll + rl + 1);
    if (!cat)
        return ak_errorf(err, "bpe: out of memory");
    memcpy(cat, l, ll);
    memcpy(cat + ll, r, rl);
    int64_t a = ak_strtab_intern(b->sym, l, ll, NULL, err);
    int64_t c = a < 0 ? -1 : ak_strtab_intern(b->sym, r, rl, NULL, err);
    int64_t m = c < 0 ? -1 : ak_strtab_intern(b->sym, cat, ll + rl, NULL, err);
    free(cat);
    if (m < 0)
        return -1;
    if (ak_strtab_size(b->sym) > INT32_MAX)
        return ak_errorf(err, "bpe: too many symbols");
    size_t before = b->pairs.n;
    int added;
    int32_t p = ak_pairmap_intern(&b->pairs, (uint32_t)a, (uint32_t)c, &added);
    if (p < 0)
        return ak_errorf(err, "bpe: out of memory at %zu merges", b->n);
    /* The twin: self.ranks[p] = len(self.ranks), evaluated before a new key is inserted. */
    b->rank[p] = (int32_t)before;
    b->merged[p] = (int32_t)m;
    b->left[b->n] = (int32_t)a;
    b->right[b->n] = (int32_t)c;
    b->n++;
    return 0;
}

static ak_bpe *bpe_alloc(size_t n, ak_err *err)
{
    if (n >= INT32_MAX) {
        ak_errorf(err, "bpe: %zu merges is too many", n);
        return NULL;
    }
    ak_bpe *b = calloc(1, sizeof *b);
    size_t cap = n ? n : 1;
    if (b) {
        b->sym = ak_strtab_new();
        b->left = malloc(cap * sizeof *b->left);
        b->right = malloc(cap * sizeof *b->right);
        b->rank = malloc(cap * sizeof *b->rank);
        b->merged = malloc(cap * sizeof *b->merged);
    }
    if (!b || !b->sym || !b->left || !b->right || !b->rank || !b->merged) {
        ak_bpe_free(b);
        ak_errorf(err, "bpe: out of memory for %zu merges", n);
        return NULL;
    }
    return b;
}

int ak_bpe_from_merges(const char *const *left, const char *const *right, size_t n, ak_bpe **out, ak_err *err)
{
    *out = NULL;
    ak_bpe *b = bpe_alloc(n, err);
    if (!b)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (add_merge(b, left[i], right[i], err) < 0) {
            ak_err_prefix(err, "bpe: merge %zu", i);
            ak_bpe_free(b);
            return -1;
        }
    }
    *out = b;
    return 0;
}

size_t ak_bpe_n_merges(const ak_bpe *b)
{
    return b->n;
}

const char *ak_bpe_merge_left(const ak_bpe *b, size_t i)
{
    return i < b->n ? ak_strtab_str(b->sym, b->left[i]) : NULL;
}

const char *ak_bpe_merge_right(const ak_bpe *b, size_t i)
{
    return i < b->n ? ak_strtab_str(b->sym, b->right[i]) : NULL;
}

/* Symbol id of word[off..off+len) (plus "</w>" when last), or -1 when no merge names it.  tmp has room
 * for the whole word plus the marker. */
static int32_t sym_id(const ak_bpe *b, const char *word, size_t off, size_t len, int last, char *tmp)
{
    if (!last)
        return (int32_t)ak_strtab_find(b->sym, word + off, len);
    memcpy(tmp, word + off, len);
    memcpy(tmp + len, AK_BPE_EOW, AK_BPE_EOW_LEN);
    return (int32_t)ak_strtab_find(b->sym, tmp, len + AK_BPE_EOW_LEN);
}

int ak_bpe_segment(const ak_bpe *b, const char *word, size_t len, ak_spans *out, ak_err *err)
{
    if (len == 0)
        return ak_errorf(err, "bpe: empty word");
    size_t base = out->n;
    if (ak_pretok_chars(word, len, out, err) < 0) {
        out->n = base;
        return -1;
    }
    size_t m = out->n - base;
    ak_span *sp = out->v + base;
    int32_t *id = malloc(m * sizeof *id);
    char *tmp = malloc(len + AK_BPE_EOW_LEN);
    if (!id || !tmp) {
        free(id);
        free(tmp);
        out->n = base;
        return ak_errorf(err, "bpe: out of memory segmenting a %zu-byte word", len);
    }
    for (size_t k = 0; k < m; k++)
        id[k] = sym_id(b, word, sp[k].off, sp[k].len, k + 1 == m, tmp);
    while (m > 1) {
        int32_t best = -1, bp = -1;
        size_t bk = 0;
        for (size_t k = 0; k + 1 < m; k++) {
            if (id[k] < 0 || id[k + 1] < 0)
                continue;
            int32_t p = ak_pairmap_find(&b->pairs, (uint32_t)id[k], (uint32_t)id[k + 1]);
            if (p >= 0 && (bp < 0 || b->rank[p] < best))
                best = b->rank[p], bp = p, bk = k;
        }
        if (bp < 0)
            break;
        int32_t l = id[bk], r = id[bk + 1];
        size_t w = 0;
        for (size_t j = 0; j < m; w++) {
            if (j + 1 < m && id[j] == l && id[j + 1] == r) {
                sp[w].off = sp[j].off;
                sp[w].len = sp[j].len + sp[j + 1].len;
                id[w] = b->merged[bp];
                j += 2;
            } else {
                sp[w] = sp[j];
                id[w] = id[j];
                j += 1;
            }
        }
        m = w;
    }
    out->n = base + m;
    free(id);
    free(tmp);
    return 0;
}

int ak_bpe_encode_word(const ak_bpe *b, const ak_vocab *v, const char *word, size_t len, ak_ids *out, ak_err *err)
{
    ak_spans sp = {0};
    char *tmp = NULL;
    int rc = ak_bpe_segment(b, word, len, &sp, err);
    if (rc == 0 && !(tmp = malloc(len + AK_BPE_EOW_LEN)))
        rc = ak_errorf(err, "bpe: out of memory");
    for (size_t k = 0; rc == 0 && k < sp.n; k++) {
        size_t l = sp.v[k].len;
        memcpy(tmp, word + sp.v[k].off, l);
        if (k + 1 == sp.n) {
            memcpy(tmp + l, AK_BPE_EOW, AK_BPE_EOW_LEN);
            l += AK_BPE_EOW_LEN;
        }
        rc = ak_ids_push(out, ak_vocab_id(v, tmp, l), err);
    }
    free(tmp);
    ak_spans_free(&sp);
    return rc;
}

static const char header[] = "#version: 0.2";

int ak_bpe_save(const ak_bpe *b, const char *path, ak_err *err)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return ak_errorf(err, "%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "%s\n", header);
    for (size_t i = 0; i < b->n; i++)
        fprintf(f, "%s %s\n", ak_strtab_str(b->sym, b->left[i]), ak_strtab_str(b->sym, b->right[i]));
    if (ferror(f) | (fclose(f) != 0))
        return ak_errorf(err, "%s: write failed: %s", path, strerror(errno));
    return 0;
}

int ak_bpe_load(const char *path, ak_bpe **out, ak_err *err)
{
    *out = NULL;
    size_t n;
    char *buf = ak_read_file(path, &n, err);
    if (!buf)
        return -1;
    size_t lines = 1;
    for (size_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    ak_bpe *b = bpe_alloc(lines, err);
    int rc = b ? 0 : -1;
    size_t line = 0;
    for (size_t pos = 0; rc == 0 && pos < n;) {
        char *s = buf + pos, *nl = memchr(s, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - buf) : n, len = end - pos;
        buf[end] = '\0'; /* end == n rewrites the terminator that ak_read_file put there */
        line++;
        pos = end + 1;
        if (line == 1 && strncmp(s, "#version", 8) == 0)
            continue;
        char *sp = memchr(s, ' ', len);
        if (!sp || memchr(sp + 1, ' ', (size_t)(buf + end - sp - 1))) {
            rc = ak_errorf(err, "%s:%zu: expected \"LEFT RIGHT\" (one space), got \"%.*s\"", path, line,
                           (int)(len > 64 ? 64 : len), s);
            break;
        }
        *sp = '\0';
        if (add_merge(b, s, sp + 1, err) < 0)
            rc = ak_err_prefix(err, "%s:%zu", path, line);
    }
    free(buf);
    if (rc < 0) {
        ak_bpe_free(b);
        return -1;
    }
    *out = b;
    return 0;
}
