#include "text/vocab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/fileio.h"
#include "text/strtab.h"
#include "text/unicode.h"
#include "text/utf8.h"

const char *const ak_vocab_specials[AK_NSPECIAL] = {"<pad>", "<unk>", "<s>", "</s>"};

struct ak_vocab {
    ak_strtab *tab; /* strtab ids are vocabulary ids */
};

static ak_vocab *vocab_new(ak_err *err)
{
    ak_vocab *v = calloc(1, sizeof *v);
    if (v)
        v->tab = ak_strtab_new();
    if (!v || !v->tab) {
        free(v);
        ak_errorf(err, "vocab: out of memory");
        return NULL;
    }
    return v;
}

void ak_vocab_free(ak_vocab *v)
{
    if (!v)
        return;
    ak_strtab_free(v->tab);
    free(v);
}

/* Checks the token invariant; the message has no location (callers prefix it). */
static int check_token(const char *s, size_t len, ak_err *err)
{
    if (len == 0)
        return ak_errorf(err, "empty token");
    size_t bad;
    if (ak_utf8_validate(s, len, &bad, err) < 0)
        return -1;
    for (size_t pos = 0; pos < len;) {
        size_t at = pos;
        uint32_t c = (uint32_t)ak_utf8_next(s, len, &pos);
        if (c == 0)
            return ak_errorf(err, "NUL byte inside the token at byte %zu", at);
        if (c == '\r')
            return ak_errorf(err, "carriage return at byte %zu (CRLF line ends are not accepted)", at);
        if (ak_uc_isspace(c))
            return ak_errorf(err, "whitespace U+%04X inside the token at byte %zu", (unsigned)c, at);
    }
    return 0;
}

/* Appends token s as the next id; -1 on a broken invariant (message without location). */
static int append(ak_vocab *v, const char *s, size_t len, ak_err *err)
{
    size_t id = ak_strtab_size(v->tab);
    if (id < AK_NSPECIAL) {
        const char *want = ak_vocab_specials[id];
        if (len != strlen(want) || memcmp(s, want, len) != 0)
            return ak_errorf(err, "expected the special \"%s\" for id %zu, got \"%.*s\"", want, id,
                             (int)(len > 64 ? 64 : len), s);
    } else if (check_token(s, len, err) < 0) {
        return -1;
    }
    if (id >= INT32_MAX)
        return ak_errorf(err, "more than %d tokens", INT32_MAX);
    int added;
    int64_t got = ak_strtab_intern(v->tab, s, len, &added, err);
    if (got < 0)
        return -1;
    if (!added)
        return ak_errorf(err, "duplicate token \"%.*s\" (first as id %lld, line %lld of a file)",
                         (int)(len > 64 ? 64 : len), s, (long long)got, (long long)got + 1);
    return 0;
}

static int add_specials(ak_vocab *v, ak_err *err)
{
    for (int i = 0; i < AK_NSPECIAL; i++)
        if (append(v, ak_vocab_specials[i], strlen(ak_vocab_specials[i]), err) < 0)
            return -1;
    return 0;
}

typedef struct entry {
    int64_t count;
    const char *s;
    size_t len;
} entry;

/* (count desc, string asc); the string order is code point order == UTF-8 byte order. */
static int cmp_entry(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    size_t m = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, m);
    if (c)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

int ak_vocab_build(const ak_counter *counts, int64_t min_count, size_t max_size, ak_vocab **out, ak_err *err)
{
    *out = NULL;
    size_t n = ak_counter_size(counts), k = 0;
    entry *e = malloc((n ? n : 1) * sizeof *e);
    if (!e)
        return ak_errorf(err, "vocab: out of memory sorting %zu tokens", n);
    for (size_t i = 0; i < n; i++) {
        int64_t c = ak_counter_count(counts, i);
        if (c >= min_count)
            e[k++] = (entry){c, ak_counter_str(counts, i), ak_counter_len(counts, i)};
    }
    qsort(e, k, sizeof *e, cmp_entry);
    size_t keep = max_size > AK_NSPECIAL ? max_size - AK_NSPECIAL : 0;
    if (keep > k)
        keep = k;
    ak_vocab *v = vocab_new(err);
    int rc = v ? add_specials(v, err) : -1;
    for (size_t i = 0; rc == 0 && i < keep; i++) {
        rc = append(v, e[i].s, e[i].len, err);
        if (rc < 0)
            ak_err_prefix(err, "vocab: token of rank %zu (count %lld)", i, (long long)e[i].count);
    }
    free(e);
    if (rc < 0) {
        ak_vocab_free(v);
        return -1;
    }
    *out = v;
    return 0;
}

int ak_vocab_from_list(const char *const *toks, size_t n, ak_vocab **out, ak_err *err)
{
    *out = NULL;
    if (n < AK_NSPECIAL)
        return ak_errorf(err, "vocab: %zu tokens, need at least the %d specials", n, AK_NSPECIAL);
    ak_vocab *v = vocab_new(err);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (append(v, toks[i], strlen(toks[i]), err) < 0) {
            ak_err_prefix(err, "vocab: token %zu", i);
            ak_vocab_free(v);
            return -1;
        }
    }
    *out = v;
    return 0;
}

size_t ak_vocab_size(const ak_vocab *v)
{
    return ak_strtab_size(v->tab);
}

const char *ak_vocab_token(const ak_vocab *v, int32_t id)
{
    if (id < 0 || (size_t)id >= ak_strtab_size(v->tab))
        return NULL;
    return ak_strtab_str(v->tab, id);
}

size_t ak_vocab_token_len(const ak_vocab *v, int32_t id)
{
    if (id < 0 || (size_t)id >= ak_strtab_size(v->tab))
        return 0;
    return ak_strtab_len(v->tab, id);
}

int32_t ak_vocab_find(const ak_vocab *v, const char *s, size_t len)
{
    return (int32_t)ak_strtab_find(v->tab, s, len);
}

int32_t ak_vocab_id(const ak_vocab *v, const char *s, size_t len)
{
    int64_t id = ak_strtab_find(v->tab, s, len);
    return id < 0 ? AK_UNK : (int32_t)id;
}

int ak_vocab_save(const ak_vocab *v, const char *path, ak_err *err)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return ak_errorf(err, "%s: cannot create: %s", path, strerror(errno));
    size_t n = ak_strtab_size(v->tab);
    for (size_t i = 0; i < n; i++) {
        fwrite(ak_strtab_str(v->tab, (int64_t)i), 1, ak_strtab_len(v->tab, (int64_t)i), f);
        fputc('\n', f);
    }
    if (ferror(f) | (fclose(f) != 0))
        return ak_errorf(err, "%s: write failed: %s", path, strerror(errno));
    return 0;
}

int ak_vocab_load(const char *path, ak_vocab **out, ak_err *err)
{
    *out = NULL;
    size_t n;
    char *buf = ak_read_file(path, &n, err);
    if (!buf)
        return -1;
    ak_vocab *v = vocab_new(err);
    int rc = v ? 0 : -1;
    size_t line = 0;
    for (size_t pos = 0; rc == 0 && pos < n;) {
        const char *nl = memchr(buf + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - buf) : n;
        line++;
        if (append(v, buf + pos, end - pos, err) < 0) {
            ak_err_prefix(err, "%s:%zu", path, line);
            rc = -1;
        }
        pos = end + 1;
    }
    if (rc == 0 && ak_vocab_size(v) < AK_NSPECIAL)
        rc = ak_errorf(err, "%s:%zu: file ends before the special \"%s\"", path, line + 1,
                       ak_vocab_specials[ak_vocab_size(v)]);
    free(buf);
    if (rc < 0) {
        ak_vocab_free(v);
        return -1;
    }
    *out = v;
    return 0;
}
