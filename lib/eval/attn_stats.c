#include "eval/attn_stats.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic_file.h"
#include "text/vocab.h"

/* ---------------------------------------------------------- row measures */

double ak_attn_entropy(const float *w, int64_t n)
{
    double h = 0.0;
    for (int64_t j = 0; j < n; j++)
        if (w[j] > 0.0f)
            h -= (double)w[j] * log((double)w[j]);
    return h;
}

double ak_attn_max_weight(const float *w, int64_t n)
{
    float m = w[0];
    for (int64_t j = 1; j < n; j++)
        if (w[j] > m)
            m = w[j];
    return m;
}

/* |j - c_i| <= 1 in integers, so the band is exact:
 *   n_q >= 2: c_i = i (n_k-1)/(n_q-1)  ->  |j (n_q-1) - i (n_k-1)| <= n_q-1
 *   n_q == 1: c_0 = (n_k-1)/2          ->  |2j - (n_k-1)| <= 2 */
double ak_attn_diagonality(const float *w, int64_t i, int64_t nq, int64_t nk)
{
    int64_t num = nq >= 2 ? i * (nk - 1) : nk - 1;
    int64_t den = nq >= 2 ? nq - 1 : 2;
    double mass = 0.0;
    for (int64_t j = 0; j < nk; j++) {
        int64_t d = j * den - num;
        if (d >= -den && d <= den)
            mass += w[j];
    }
    return mass;
}

/* JS(p, q) = (KL(p||m) + KL(q||m)) / 2, m = (p + q) / 2, log base 2. */
double ak_attn_js(const float *p, const float *q, int64_t n)
{
    double kp = 0.0, kq = 0.0;
    for (int64_t j = 0; j < n; j++) {
        double a = p[j] > 0.0f ? p[j] : 0.0, b = q[j] > 0.0f ? q[j] : 0.0, m = 0.5 * (a + b);
        if (a > 0.0)
            kp += a * log2(a / m);
        if (b > 0.0)
            kq += b * log2(b / m);
    }
    return 0.5 * (kp + kq);
}

/* ------------------------------------------------------------- alignment */

static int is_special(const char *t)
{
    for (int i = 0; i < AK_NSPECIAL; i++)
        if (strcmp(t, ak_vocab_specials[i]) == 0)
            return 1;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

int32_t ak_attn_word_map(ak_attn_words kind, const char *const *tok, int32_t n, int32_t *word)
{
    int32_t w = 0;
    int open = 0;
    for (int32_t i = 0; i < n; i++) {
        if (kind == AK_WORDS_TOKENS) {
            word[i] = w++;
        } else if (kind == AK_WORDS_CHARS && strcmp(tok[i], "\xE2\x96\x81") == 0) {
            word[i] = -1;
            w += open;
            open = 0;
        } else {
            word[i] = w;
            open = 1;
            if (kind == AK_WORDS_BPE && (is_special(tok[i]) || ends_with(tok[i], "</w>"))) {
                w++;
                open = 0;
            }
        }
    }
    return w + open;
}

/* 1 + the largest entry (>= -1 each), or -1 with err on an entry below -1. */
static int32_t count_words(const int32_t *word, int64_t n, const char *what, ak_err *err)
{
    int32_t m = -1;
    for (int64_t i = 0; i < n; i++) {
        if (word[i] < -1)
            return ak_errorf(err, "%s word map: token %lld has word %d (expected >= -1)", what, (long long)i, word[i]);
        if (word[i] > m)
            m = word[i];
    }
    return m + 1;
}

int ak_attn_align(const float *w, int64_t nq, int64_t nk, const int32_t *src_word, const int32_t *tgt_word,
                  int64_t n_tgt, int shift, int32_t *out, int32_t *n_out, ak_err *err)
{
    int32_t n_sw = count_words(src_word, nk, "source", err);
    int32_t n_tw = n_sw < 0 ? -1 : count_words(tgt_word, n_tgt, "target", err);
    if (n_sw < 0 || n_tw < 0)
        return -1;
    for (int64_t k = 0; k < n_tgt; k++)
        if (tgt_word[k] >= 0 && (k + shift < 0 || k + shift >= nq))
            return ak_errorf(err, "target token %lld with shift %d needs row %lld, the map has %lld rows", (long long)k,
                             shift, (long long)(k + shift), (long long)nq);
    double *W = calloc((size_t)n_tw * (size_t)n_sw + 1, sizeof *W);
    char *has_row = calloc((size_t)n_tw + 1, 1);
    if (!W || !has_row) {
        free(W);
        free(has_row);
        return ak_errorf(err, "out of memory for a %d x %d word alignment", n_tw, n_sw);
    }
    for (int64_t k = 0; k < n_tgt; k++) {
        int32_t t = tgt_word[k];
        if (t < 0)
            continue;
        has_row[t] = 1;
        const float *row = w + (k + shift) * nk;
        for (int64_t j = 0; j < nk; j++)
            if (src_word[j] >= 0)
                W[(int64_t)t * n_sw + src_word[j]] += row[j];
    }
    for (int32_t t = 0; t < n_tw; t++) {
        int32_t best = -1;
        double bv = 0.0;
        for (int32_t s = 0; s < n_sw && has_row[t]; s++)
            if (W[(int64_t)t * n_sw + s] > bv) {
                bv = W[(int64_t)t * n_sw + s];
                best = s;
            }
        out[t] = best;
    }
    free(W);
    free(has_row);
    *n_out = n_tw;
    return 0;
}

int ak_aer_add(ak_aer_counts *c, const int32_t *align, int32_t n_tgt_words, int32_t n_src_words,
               const ak_attn_gold *gold, ak_err *err)
{
    /* g[s][t]: 0 no link, 1 possible, 2 sure. */
    unsigned char *g = calloc((size_t)n_src_words * (size_t)n_tgt_words + 1, 1);
    if (!g)
        return ak_errorf(err, "out of memory for a %d x %d gold matrix", n_src_words, n_tgt_words);
    for (int pass = 0; pass < 2; pass++) {
        const ak_gold_link *links = pass ? gold->sure : gold->possible;
        int32_t n = pass ? gold->n_sure : gold->n_possible;
        for (int32_t i = 0; i < n; i++) {
            int32_t s = gold->swapped ? links[i].tgt : links[i].src;
            int32_t t = gold->swapped ? links[i].src : links[i].tgt;
            if (s < 0 || s >= n_src_words || t < 0 || t >= n_tgt_words) {
                free(g);
                return ak_errorf(err, "%s link %d-%d outside the %d source x %d target words",
                                 pass ? "sure" : "possible", links[i].src, links[i].tgt, n_src_words, n_tgt_words);
            }
            g[(int64_t)s * n_tgt_words + t] = (unsigned char)(pass + 1);
        }
    }
    for (int64_t i = 0; i < (int64_t)n_src_words * n_tgt_words; i++)
        c->s += g[i] == 2;
    for (int32_t t = 0; t < n_tgt_words; t++) {
        int32_t s = align[t];
        if (s < 0)
            continue;
        unsigned char v = s < n_src_words ? g[(int64_t)s * n_tgt_words + t] : 0;
        c->a++;
        c->a_s += v == 2;
        c->a_p += v >= 1;
    }
    free(g);
    return 0;
}

double ak_aer(const ak_aer_counts *c)
{
    if (c->a + c->s == 0)
        return NAN;
    return 1.0 - (double)(c->a_s + c->a_p) / (double)(c->a + c->s);
}

/* --------------------------------------------------------- per-head stats */

/* Checks one probe's gold against its tokens. */
static int check_gold(const ak_attn_probe *p, const ak_attn_gold *g, ak_err *err)
{
    if ((p->src.n > 0 && !g->src_word) || (p->ref.n > 0 && !g->tgt_word))
        return ak_errorf(err, "gold without source or target word map");
    if ((g->n_sure > 0 && !g->sure) || (g->n_possible > 0 && !g->possible) || g->n_sure < 0 || g->n_possible < 0)
        return ak_errorf(err, "gold link counts without links");
    if (count_words(g->src_word, p->src.n, "source", err) < 0 || count_words(g->tgt_word, p->ref.n, "target", err) < 0)
        return -1;
    return 0;
}

/* AER counts of one head of one probe's cross map. */
static int head_aer(const ak_attn_file *f, const ak_attn_probe *p, int layer, int head, int shift,
                    const ak_attn_gold *g, ak_aer_counts *c, ak_err *err)
{
    int64_t nq = ak_attn_probe_queries(p, AK_ATTN_TF, AK_ROLE_CROSS), nk = p->src.n;
    const float *w = ak_attn_probe_row(f, p, AK_ATTN_TF, AK_ROLE_CROSS, layer, head, 0);
    int32_t n_sw = count_words(g->src_word, nk, "source", err);
    int32_t n_tw = count_words(g->tgt_word, p->ref.n, "target", err);
    if (!w)
        return ak_errorf(err, "cross layer %d map missing", layer);
    int32_t *align = malloc(sizeof *align * (size_t)(n_tw + 1)), n_out;
    if (!align)
        return ak_errorf(err, "out of memory");
    int rc = ak_attn_align(w, nq, nk, g->src_word, g->tgt_word, p->ref.n, shift, align, &n_out, err);
    if (rc == 0)
        rc = ak_aer_add(c, align, n_out, n_sw, g, err);
    free(align);
    return rc;
}

int ak_attn_stats(const ak_attn_file *f, const ak_attn_gold *const *gold, const ak_attn_stats_opts *opts,
                  ak_attn_head_stats **out, size_t *n_out, ak_err *err)
{
    ak_attn_stats_opts o = opts ? *opts : AK_ATTN_STATS_DEFAULTS;
    *out = NULL;
    *n_out = 0;
    if ((unsigned)o.mode >= AK_ATTN_NMODES)
        return ak_errorf(err, "attention stats: mode %d is not tf or greedy", (int)o.mode);
    if (o.align_shift != 0 && o.align_shift != 1)
        return ak_errorf(err, "attention stats: align_shift %d, expected 0 or 1", o.align_shift);
    size_t total = 0;
    for (int r = 0; r < AK_ATTN_NROLES; r++)
        total += (size_t)f->model.layers[r] * (size_t)f->model.heads[r];
    for (size_t i = 0; i < f->n_probes && gold; i++)
        if (gold[i] && check_gold(f->probes[i], gold[i], err) != 0)
            return ak_err_prefix(err, "attention stats: probe %zu (id %" PRIu64 ")", i, f->probes[i]->id);
    ak_attn_head_stats *st = calloc(total ? total : 1, sizeof *st);
    if (!st)
        return ak_errorf(err, "attention stats: out of memory");
    size_t k = 0;
    for (int r = 0; r < AK_ATTN_NROLES; r++)
        for (int l = 0; l < f->model.layers[r]; l++)
            for (int h = 0; h < f->model.heads[r]; h++, k++) {
                ak_attn_role role = (ak_attn_role)r;
                int H = f->model.heads[r];
                double ent = 0, mx = 0, diag = 0, js = 0;
                int64_t rows = 0, js_n = 0;
                int with_gold = 0;
                ak_attn_head_stats *s = &st[k];
                s->role = role;
                s->layer = l;
                s->head = h;
                for (size_t i = 0; i < f->n_probes; i++) {
                    const ak_attn_probe *p = f->probes[i];
                    int64_t nq = ak_attn_probe_queries(p, o.mode, role), nk = ak_attn_probe_keys(p, o.mode, role);
                    if (!p->map[o.mode][r][l]) {
                        free(st);
                        return ak_errorf(err, "attention stats: probe %zu (id %" PRIu64 ") has no %s %s layer %d map",
                                         i, p->id, ak_attn_mode_name(o.mode), ak_attn_role_name(role), l);
                    }
                    for (int64_t q = 0; q < nq; q++) {
                        const float *w = ak_attn_probe_row(f, p, o.mode, role, l, h, q);
                        ent += ak_attn_entropy(w, nk);
                        mx += ak_attn_max_weight(w, nk);
                        diag += ak_attn_diagonality(w, q, nq, nk);
                        for (int g = 0; g < H; g++)
                            if (g != h) {
                                js += ak_attn_js(w, ak_attn_probe_row(f, p, o.mode, role, l, g, q), nk);
                                js_n++;
                            }
                    }
                    rows += nq;
                    if (role == AK_ROLE_CROSS && o.mode == AK_ATTN_TF && gold && gold[i]) {
                        if (head_aer(f, p, l, h, o.align_shift, gold[i], &s->counts, err) != 0) {
                            free(st);
                            return ak_err_prefix(err,
                                                 "attention stats: probe %zu (id %" PRIu64 ") cross layer %d "
                                                 "head %d",
                                                 i, p->id, l, h);
                        }
                        with_gold = 1;
                    }
                }
                s->rows = rows;
                s->entropy = rows ? ent / (double)rows : NAN;
                s->max_weight = rows ? mx / (double)rows : NAN;
                s->diagonality = rows ? diag / (double)rows : NAN;
                s->js_div = js_n ? js / (double)js_n : NAN;
                s->aer = with_gold ? ak_aer(&s->counts) : NAN;
            }
    *out = st;
    *n_out = total;
    return 0;
}

/* ------------------------------------------------------------------ TSV */

typedef struct sbuf {
    char *v;
    size_t n, cap;
} sbuf;

static int sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *v = realloc(b->v, cap);
        if (!v)
            return -1;
        b->v = v;
        b->cap = cap;
    }
    memcpy(b->v + b->n, s, n);
    b->n += n;
    b->v[b->n] = '\0';
    return 0;
}

static int sb_num(sbuf *b, double x)
{
    char t[64];
    int k = isnan(x) ? snprintf(t, sizeof t, "\tnan") : snprintf(t, sizeof t, "\t%.6f", x);
    return sb_put(b, t, (size_t)k);
}

/* The whole file, or an empty buffer when it does not exist. */
static int slurp(const char *path, sbuf *b, ak_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return errno == ENOENT ? 0 : ak_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    char chunk[65536];
    size_t k;
    int rc = 0;
    while (rc == 0 && (k = fread(chunk, 1, sizeof chunk, fp)) > 0)
        if (sb_put(b, chunk, k) != 0)
            rc = ak_errorf(err, "%s: out of memory", path);
    if (rc == 0 && ferror(fp))
        rc = ak_errorf(err, "%s: read error", path);
    fclose(fp);
    return rc;
}

int ak_attn_stats_append_tsv(const char *path, uint64_t epoch, const ak_attn_head_stats *s, size_t n, ak_err *err)
{
    static const char header[] = AK_ATTN_STATS_HEADER "\n";
    sbuf old = {0}, out = {0};
    char pre[32];
    int plen = snprintf(pre, sizeof pre, "%" PRIu64 "\t", epoch);
    int rc = slurp(path, &old, err);
    if (rc == 0 && sb_put(&out, header, sizeof header - 1) != 0)
        rc = ak_errorf(err, "%s: out of memory", path);
    if (rc == 0 && old.n > 0) {
        const char *nl = memchr(old.v, '\n', old.n);
        size_t hl = nl ? (size_t)(nl - old.v) : old.n;
        if (hl != sizeof header - 2 || memcmp(old.v, header, hl) != 0)
            rc = ak_errorf(err, "%s: not an attention statistics file (first line is not \"%s\")", path,
                           "epoch\\trole\\t...\\taer");
        /* Keep every later line except this epoch's. */
        for (size_t i = nl ? hl + 1 : old.n; rc == 0 && i < old.n;) {
            const char *e = memchr(old.v + i, '\n', old.n - i);
            size_t len = e ? (size_t)(e - (old.v + i)) : old.n - i;
            int same = len >= (size_t)plen && memcmp(old.v + i, pre, (size_t)plen) == 0;
            if (!same && len > 0 && (sb_put(&out, old.v + i, len) != 0 || sb_put(&out, "\n", 1) != 0))
                rc = ak_errorf(err, "%s: out of memory", path);
            i += len + 1;
        }
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        char t[128];
        int k = snprintf(t, sizeof t, "%" PRIu64 "\t%s\t%d\t%d", epoch, ak_attn_role_name(s[i].role), s[i].layer,
                         s[i].head);
        if (sb_put(&out, t, (size_t)k) != 0 || sb_num(&out, s[i].entropy) != 0 || sb_num(&out, s[i].max_weight) != 0 ||
            sb_num(&out, s[i].diagonality) != 0 || sb_num(&out, s[i].js_div) != 0 || sb_num(&out, s[i].aer) != 0 ||
            sb_put(&out, "\n", 1) != 0)
            rc = ak_errorf(err, "%s: out of memory", path);
    }
    if (rc == 0)
        rc = ak_atomic_write(path, out.v, out.n, err);
    free(old.v);
    free(out.v);
    return rc;
}
