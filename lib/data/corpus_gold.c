#include "data/corpus_gold.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/textfile.h"

#define HEADER "english\tgerman\tenglish_tokens\tgerman_tokens\tsure\tpossible"

/* Where a pair's tokens and links start in the builder's arrays, which may
 * still move; turned into pointers once the read is done. */
typedef struct {
    size_t src_tok, tgt_tok, sure, possible;
} pair_offs;

typedef struct {
    const char **toks;
    size_t n_toks, cap_toks;
    ak_gold_link *links;
    size_t n_links, cap_links;
    ak_gold_pair *pairs;
    pair_offs *offs; /* one per pair */
    size_t n, cap;
} builder;

/* Returns p grown to hold `need` elements (updating *cap), p itself when it
 * is large enough, or NULL (p untouched) when out of memory. */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(p, c * elem);
    if (q)
        *cap = c;
    return q;
}

static int grow_pairs(builder *b)
{
    size_t cap = b->cap;
    ak_gold_pair *p = grow(b->pairs, &cap, b->n + 1, sizeof *p);
    if (!p)
        return -1;
    b->pairs = p;
    if (cap != b->cap) {
        pair_offs *o = realloc(b->offs, cap * sizeof *o);
        if (!o)
            return -1;
        b->offs = o;
        b->cap = cap;
    }
    return 0;
}

/* Splits a field of single-space-separated tokens in place. */
static int split_tokens(builder *b, char *field, const char *name, int32_t *count, ak_err *err)
{
    int32_t n = 0;
    for (char *p = field;; n++) {
        char *sp = strchr(p, ' ');
        if (sp == p || *p == '\0')
            return ak_errorf(err, "%s: expected non-empty tokens separated by single spaces, got an empty "
                                  "token at position %d", name, n);
        const char **toks = grow(b->toks, &b->cap_toks, b->n_toks + 1, sizeof *toks);
        if (!toks)
            return ak_errorf(err, "out of memory");
        b->toks = toks;
        b->toks[b->n_toks++] = p;
        if (!sp)
            break;
        *sp = '\0';
        p = sp + 1;
    }
    *count = n + 1;
    return 0;
}

static int parse_index(const char *s, const char *end, int32_t limit, int32_t *out)
{
    if (s == end || end - s > 9)
        return -1;
    int32_t v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return v < limit ? 0 : -1;
}

static int has_link(const ak_gold_link *l, size_t n, ak_gold_link x)
{
    for (size_t i = 0; i < n; i++)
        if (l[i].src == x.src && l[i].tgt == x.tgt)
            return 1;
    return 0;
}

/* Parses a space-separated list of "i-j" links (possibly empty). */
static int parse_links(builder *b, char *field, const char *name, int32_t ns, int32_t nt, int32_t *count,
                       ak_err *err)
{
    size_t first = b->n_links;
    for (char *p = field; *p;) {
        char *end = strchr(p, ' ');
        if (!end)
            end = p + strlen(p);
        const char *dash = memchr(p, '-', (size_t)(end - p));
        ak_gold_link x;
        if (!dash || parse_index(p, dash, ns, &x.src) < 0 || parse_index(dash + 1, end, nt, &x.tgt) < 0)
            return ak_errorf(err, "%s: expected links i-j with 0 <= i < %d (English tokens) and 0 <= j < %d "
                                  "(German tokens), got '%.*s'", name, ns, nt, (int)(end - p), p);
        if (has_link(b->links + first, b->n_links - first, x))
            return ak_errorf(err, "%s: expected each link once, got '%d-%d' twice", name, x.src, x.tgt);
        ak_gold_link *links = grow(b->links, &b->cap_links, b->n_links + 1, sizeof *links);
        if (!links)
            return ak_errorf(err, "out of memory");
        b->links = links;
        b->links[b->n_links++] = x;
        p = *end ? end + 1 : end;
    }
    *count = (int32_t)(b->n_links - first);
    return 0;
}

static int parse_line(builder *b, char *line, size_t len, ak_err *err)
{
    char why[160];
    if (ak_textfile_bad_bytes(line, len, why, sizeof why))
        return ak_errorf(err, "expected a UTF-8 text line, got %s", why);
    size_t fields = ak_textfile_fields(line);
    if (fields != 6)
        return ak_errorf(err, "expected 6 TAB-separated fields (" HEADER "), got %zu", fields);
    char *f[6];
    f[0] = line;
    for (int k = 1; k < 6; k++) {
        f[k] = strchr(f[k - 1], '\t');
        *f[k]++ = '\0';
    }
    if (!*f[0] || !*f[1])
        return ak_errorf(err, "expected non-empty English and German sentences, got an empty %s",
                         *f[0] ? "german" : "english");
    if (grow_pairs(b) < 0)
        return ak_errorf(err, "out of memory");
    ak_gold_pair *p = &b->pairs[b->n];
    pair_offs *o = &b->offs[b->n];
    memset(p, 0, sizeof *p);
    p->src = f[0];
    p->tgt = f[1];
    o->src_tok = b->n_toks;
    if (split_tokens(b, f[2], "english_tokens", &p->n_src_tok, err) < 0)
        return -1;
    o->tgt_tok = b->n_toks;
    if (split_tokens(b, f[3], "german_tokens", &p->n_tgt_tok, err) < 0)
        return -1;
    o->sure = b->n_links;
    if (parse_links(b, f[4], "sure", p->n_src_tok, p->n_tgt_tok, &p->n_sure, err) < 0)
        return -1;
    o->possible = b->n_links;
    if (parse_links(b, f[5], "possible", p->n_src_tok, p->n_tgt_tok, &p->n_possible, err) < 0)
        return -1;
    for (int32_t i = 0; i < p->n_sure; i++) {
        ak_gold_link x = b->links[o->sure + (size_t)i];
        if (!has_link(b->links + o->possible, (size_t)p->n_possible, x))
            return ak_errorf(err, "expected every sure link to be possible too, got sure '%d-%d' missing "
                                  "from possible", x.src, x.tgt);
    }
    b->n++;
    return 0;
}

int ak_gold_read(ak_gold *g, const char *path, ak_err *err)
{
    memset(g, 0, sizeof *g);
    ak_textfile tf;
    if (ak_textfile_load(&tf, path, err) < 0)
        return -1;
    builder b = {0};
    char *line;
    size_t len;
    int rc = 0;
    if (!ak_textfile_next(&tf, &line, &len) || strcmp(line, HEADER) != 0 || strlen(line) != len)
        rc = ak_errorf(err, "%s:1: expected the header '%s', got '%.60s'", path,
                       "english<TAB>german<TAB>english_tokens<TAB>german_tokens<TAB>sure<TAB>possible",
                       tf.line ? line : "");
    while (rc == 0 && ak_textfile_next(&tf, &line, &len)) {
        if (parse_line(&b, line, len, err) < 0)
            rc = ak_err_prefix(err, "%s:%zu", path, tf.line);
        else
            b.pairs[b.n - 1].line = tf.line;
    }
    if (rc < 0) {
        free(b.toks);
        free(b.links);
        free(b.pairs);
        free(b.offs);
        ak_textfile_free(&tf);
        return -1;
    }
    for (size_t i = 0; i < b.n; i++) {
        const pair_offs *o = &b.offs[i];
        b.pairs[i].src_tok = b.toks + o->src_tok;
        b.pairs[i].tgt_tok = b.toks + o->tgt_tok;
        b.pairs[i].sure = b.links + o->sure;
        b.pairs[i].possible = b.links + o->possible;
    }
    free(b.offs);
    *g = (ak_gold){.pairs = b.pairs, .n = b.n, .text = tf.buf, .toks = b.toks, .links = b.links};
    return 0;
}

void ak_gold_free(ak_gold *g)
{
    free(g->pairs);
    free(g->toks);
    free(g->links);
    free(g->text);
    memset(g, 0, sizeof *g);
}
