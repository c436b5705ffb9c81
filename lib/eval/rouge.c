#include "eval/rouge.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/ngram.h"
#include "text/strtab.h"
#include "text/unicode.h"

typedef struct idvec {
    uint32_t *v;
    size_t n, cap;
} idvec;

static int is_tok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* rouge_score.tokenize.tokenize(text, stemmer=None) as ids of tab. */
static int tokens(const char *s, ak_strtab *tab, idvec *out, ak_err *err)
{
    size_t n;
    char *low = ak_utf8_lower(s, strlen(s), &n, err);
    if (!low)
        return -1;
    out->n = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n;) {
        if (!is_tok(low[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && is_tok(low[j]))
            j++;
        int64_t id = ak_strtab_intern(tab, low + i, j - i, NULL, err);
        if (id < 0 || id > UINT32_MAX) {
            rc = -1;
            break;
        }
        if (out->n == out->cap) {
            size_t cap = out->cap ? 2 * out->cap : 64;
            uint32_t *v = realloc(out->v, cap * sizeof *v);
            if (!v) {
                rc = ak_errorf(err, "rouge: out of memory");
                break;
            }
            out->v = v, out->cap = cap;
        }
        out->v[out->n++] = (uint32_t)id;
        i = j;
    }
    free(low);
    return rc;
}

static double fmeasure(double p, double r)
{
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

/* The twin's _lcs_len(a=ref, b=hyp) with two rows; row has room for nb + 1 entries. */
static size_t lcs_len(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, size_t *prev, size_t *cur)
{
    memset(prev, 0, (nb + 1) * sizeof *prev);
    for (size_t i = 0; i < na; i++) {
        cur[0] = 0;
        for (size_t j = 0; j < nb; j++)
            cur[j + 1] = a[i] == b[j] ? prev[j] + 1 : (prev[j + 1] > cur[j] ? prev[j + 1] : cur[j]);
        size_t *t = prev;
        prev = cur, cur = t;
    }
    return prev[nb];
}

int ak_rouge(const char *const *hyps, const char *const *refs, size_t n, ak_rouge_scores *out, ak_err *err)
{
    memset(out, 0, sizeof *out);
    ak_strtab *tab = ak_strtab_new();
    idvec h = {0}, r = {0};
    size_t *rows = NULL, rcap = 0;
    int rc = tab ? 0 : ak_errorf(err, "rouge: out of memory");
    ak_rouge_prf *acc[2] = {&out->r1, &out->r2};
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (tokens(hyps[i], tab, &h, err) < 0) {
            rc = ak_err_prefix(err, "rouge: hypothesis %zu", i);
            break;
        }
        if (tokens(refs[i], tab, &r, err) < 0) {
            rc = ak_err_prefix(err, "rouge: reference %zu", i);
            break;
        }
        for (int k = 1; rc == 0 && k <= 2; k++) {
            int64_t inter;
            rc = ak_ngram_matches(h.v, h.n, r.v, r.n, k, &inter, err);
            size_t ph = h.n >= (size_t)k ? h.n - (size_t)k + 1 : 0, pr = r.n >= (size_t)k ? r.n - (size_t)k + 1 : 0;
            double p = (double)inter / (double)(ph > 1 ? ph : 1), q = (double)inter / (double)(pr > 1 ? pr : 1);
            acc[k - 1]->p += p;
            acc[k - 1]->r += q;
            acc[k - 1]->f += fmeasure(p, q);
        }
        if (rc == 0 && h.n && r.n) {
            if (h.n + 1 > rcap) {
                size_t *p = realloc(rows, 2 * (h.n + 1) * sizeof *p);
                if (!p) {
                    rc = ak_errorf(err, "rouge: out of memory");
                    break;
                }
                rows = p, rcap = h.n + 1;
            }
            size_t lcs = lcs_len(r.v, r.n, h.v, h.n, rows, rows + rcap);
            double p = (double)lcs / (double)h.n, q = (double)lcs / (double)r.n;
            out->rl.p += p;
            out->rl.r += q;
            out->rl.f += fmeasure(p, q);
        }
    }
    free(h.v);
    free(r.v);
    free(rows);
    ak_strtab_free(tab);
    if (rc < 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    double d = (double)(n > 1 ? n : 1);
    ak_rouge_prf *all[3] = {&out->r1, &out->r2, &out->rl};
    for (int k = 0; k < 3; k++) {
        all[k]->p = 100.0 * all[k]->p / d;
        all[k]->r = 100.0 * all[k]->r / d;
        all[k]->f = 100.0 * all[k]->f / d;
    }
    out->n = n;
    return 0;
}
