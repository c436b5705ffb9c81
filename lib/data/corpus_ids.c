#include "data/corpus_ids.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/textfile.h"

/* Makes room for `more` ids and one more pair. */
static int reserve(ak_idcorpus *c, size_t more, ak_err *err)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 1024;
        ak_idpair *p = realloc(c->pairs, cap * sizeof *p);
        if (!p)
            return ak_errorf(err, "encoded corpus: out of memory for %zu pairs", cap);
        c->pairs = p;
        c->cap = cap;
    }
    if (more > SIZE_MAX / 8 - c->n_ids)
        return ak_errorf(err, "encoded corpus: %zu more ids overflow the buffer size", more);
    if (c->n_ids + more > c->ids_cap) {
        size_t cap = c->ids_cap ? c->ids_cap : 4096;
        while (cap < c->n_ids + more)
            cap *= 2;
        int32_t *ids = realloc(c->ids, cap * sizeof *ids);
        if (!ids)
            return ak_errorf(err, "encoded corpus: out of memory for %zu ids", cap);
        c->ids = ids;
        c->ids_cap = cap;
    }
    return 0;
}

int ak_idcorpus_add(ak_idcorpus *c, const int32_t *src, int32_t ns, const int32_t *tgt, int32_t nt,
                    ak_err *err)
{
    if (ns < 0 || nt < 0)
        return ak_errorf(err, "ak_idcorpus_add: expected lengths >= 0, got %d and %d", ns, nt);
    if (reserve(c, (size_t)ns + (size_t)nt, err) < 0)
        return -1;
    size_t off = c->n_ids;
    if (ns)
        memcpy(c->ids + off, src, (size_t)ns * sizeof *src);
    if (nt)
        memcpy(c->ids + off + (size_t)ns, tgt, (size_t)nt * sizeof *tgt);
    c->n_ids += (size_t)ns + (size_t)nt;
    c->pairs[c->n++] = (ak_idpair){.off = off, .ns = ns, .nt = nt};
    return 0;
}

/* Encodes one side into the end of the id buffer (not yet counted in n_ids
 * past `at`); returns the length or -1. */
static int64_t encode_side(ak_idcorpus *c, size_t at, int side, const char *text, ak_encode_fn encode,
                           void *ctx, ak_err *err)
{
    size_t room = 2 * strlen(text) + 16;
    for (;;) {
        if (reserve(c, at - c->n_ids + room, err) < 0)
            return -1;
        int64_t got = encode(ctx, side, text, c->ids + at, room, err);
        if (got < 0)
            return -1;
        if (got > INT32_MAX)
            return ak_errorf(err, "expected at most %d ids, got %lld", INT32_MAX, (long long)got);
        if ((uint64_t)got <= room)
            return got;
        room = (size_t)got;
    }
}

int ak_idcorpus_encode(ak_idcorpus *c, const ak_corpus *corpus, const size_t *idx, size_t n,
                       ak_encode_fn encode, void *ctx, ak_err *err)
{
    if (!idx)
        n = corpus->n;
    for (size_t k = 0; k < n; k++) {
        size_t i = idx ? idx[k] : k;
        if (i >= corpus->n)
            return ak_errorf(err, "%s: expected pair indices below %zu, got %zu", corpus->path, corpus->n, i);
        const ak_text_pair *p = &corpus->pairs[i];
        int64_t ns = encode_side(c, c->n_ids, AK_SIDE_SRC, p->src, encode, ctx, err);
        if (ns < 0)
            return ak_err_prefix(err, "%s:%zu: source", corpus->path, p->line);
        int64_t nt = encode_side(c, c->n_ids + (size_t)ns, AK_SIDE_TGT, p->tgt, encode, ctx, err);
        if (nt < 0)
            return ak_err_prefix(err, "%s:%zu: target", corpus->path, p->line);
        c->pairs[c->n++] = (ak_idpair){.off = c->n_ids, .ns = (int32_t)ns, .nt = (int32_t)nt};
        c->n_ids += (size_t)(ns + nt);
    }
    return 0;
}

/* Parses the space-separated ids of one field into the id buffer at `at`;
 * returns the count or -1 with "what: expected ..." in err. */
static int64_t parse_ids(ak_idcorpus *c, size_t at, char *field, int32_t vocab, const char *what, ak_err *err)
{
    int64_t count = 0;
    char *p = field;
    for (;;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        char *end = p;
        while (*end && *end != ' ')
            end++;
        char save = *end;
        *end = '\0';
        char *stop;
        errno = 0;
        long long v = (*p >= '0' && *p <= '9') ? strtoll(p, &stop, 10) : -1;
        if (v < 0 || *stop || errno || v >= vocab) {
            ak_errorf(err, "%s field: expected a token id in [0, %d), got '%.40s'", what, vocab, p);
            *end = save;
            return -1;
        }
        *end = save;
        if (count >= INT32_MAX)
            return ak_errorf(err, "%s field: expected at most %d ids", what, INT32_MAX);
        if (reserve(c, at - c->n_ids + (size_t)count + 1, err) < 0)
            return -1;
        c->ids[at + (size_t)count++] = (int32_t)v;
        p = end;
    }
    return count;
}

/* Describes what keeps a line from being two non-empty fields of ids (the
 * part after "got "), or returns NULL. Ids themselves are checked later. */
static const char *check_line(const char *line, size_t len, char *why, size_t whylen)
{
    if (ak_textfile_bad_bytes(line, len, why, whylen))
        return why;
    size_t fields = ak_textfile_fields(line);
    if (fields != 2) {
        snprintf(why, whylen, "%zu field%s", fields, fields == 1 ? "" : "s");
        return why;
    }
    const char *tab = strchr(line, '\t');
    if (line[strspn(line, " ")] == '\t')
        return "an empty source field";
    if (tab[1 + strspn(tab + 1, " ")] == '\0')
        return "an empty target field";
    return NULL;
}

int ak_idcorpus_read(ak_idcorpus *c, const char *path, int32_t src_vocab, int32_t tgt_vocab, ak_err *err)
{
    if (src_vocab < 1 || tgt_vocab < 1)
        return ak_errorf(err, "%s: expected vocabulary sizes >= 1, got %d and %d", path, src_vocab, tgt_vocab);
    ak_textfile tf;
    if (ak_textfile_load(&tf, path, err) < 0)
        return -1;
    char *line, why[160];
    size_t len;
    int rc = 0;
    while (rc == 0 && ak_textfile_next(&tf, &line, &len)) {
        const char *got = check_line(line, len, why, sizeof why);
        if (got) {
            rc = ak_errorf(err, "%s:%zu: expected two non-empty TAB-separated fields of space-separated token ids, got %s",
                           path, tf.line, got);
            break;
        }
        if (reserve(c, 0, err) < 0) { /* the pair slot */
            rc = -1;
            break;
        }
        char *tab = strchr(line, '\t');
        *tab = '\0';
        int64_t ns = parse_ids(c, c->n_ids, line, src_vocab, "source", err);
        int64_t nt = ns < 0 ? -1 : parse_ids(c, c->n_ids + (size_t)ns, tab + 1, tgt_vocab, "target", err);
        if (nt < 0) {
            rc = ak_err_prefix(err, "%s:%zu", path, tf.line);
            break;
        }
        c->pairs[c->n++] = (ak_idpair){.off = c->n_ids, .ns = (int32_t)ns, .nt = (int32_t)nt};
        c->n_ids += (size_t)(ns + nt);
    }
    ak_textfile_free(&tf);
    return rc;
}

size_t ak_idcorpus_filter(ak_idcorpus *c, int32_t max_src, int32_t max_tgt)
{
    size_t kept = 0;
    for (size_t i = 0; i < c->n; i++) {
        const ak_idpair p = c->pairs[i];
        if (p.ns > 0 && p.ns <= max_src && p.nt <= max_tgt)
            c->pairs[kept++] = p;
    }
    size_t dropped = c->n - kept;
    c->n = kept;
    return dropped;
}

void ak_idcorpus_free(ak_idcorpus *c)
{
    free(c->pairs);
    free(c->ids);
    memset(c, 0, sizeof *c);
}
