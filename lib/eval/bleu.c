#include "eval/bleu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text/ngram.h"
#include "text/strtab.h"

typedef struct idvec {
    uint32_t *v;
    size_t n, cap;
} idvec;

/* 13a tokens of s as ids of tab (space-separated output of ak_tok13a). */
static int tokens(const char *s, ak_strtab *tab, idvec *out, ak_err *err)
{
    char *t = ak_tok13a(s, err);
    if (!t)
        return -1;
    out->n = 0;
    int rc = 0;
    for (char *p = t; rc == 0 && *p;) {
        char *sp = strchr(p, ' ');
        size_t len = sp ? (size_t)(sp - p) : strlen(p);
        int64_t id = ak_strtab_intern(tab, p, len, NULL, err);
        if (id < 0 || id > UINT32_MAX) {
            rc = -1;
            break;
        }
        if (out->n == out->cap) {
            size_t cap = out->cap ? 2 * out->cap : 64;
            uint32_t *v = realloc(out->v, cap * sizeof *v);
            if (!v) {
                rc = ak_errorf(err, "bleu: out of memory");
                break;
            }
            out->v = v, out->cap = cap;
        }
        out->v[out->n++] = (uint32_t)id;
        p += len + (sp != NULL);
    }
    free(t);
    return rc;
}

static void finish(ak_bleu *o)
{
    /* brevity penalty */
    o->bp = 1.0;
    if (o->sys_len < o->ref_len)
        o->bp = o->sys_len > 0 ? exp(1.0 - (double)o->ref_len / (double)o->sys_len) : 0.0;
    o->ratio = o->ref_len > 0 ? (double)o->sys_len / (double)o->ref_len : 0.0;
    double smooth = 1.0;
    for (int k = 0; k < 4; k++) {
        if (o->total[k] == 0)
            break;
        if (o->correct[k] == 0) {
            smooth *= 2;
            o->precisions[k] = 100.0 / (smooth * (double)o->total[k]);
        } else {
            o->precisions[k] = 100.0 * (double)o->correct[k] / (double)o->total[k];
        }
    }
    int any = 0;
    for (int k = 0; k < 4; k++)
        any |= o->correct[k] != 0;
    if (!any) {
        o->score = 0.0;
        return;
    }
    double sum = 0.0; /* Python's sum() starts from int 0: same value */
    for (int k = 0; k < 4; k++)
        sum += o->precisions[k] != 0.0 ? log(o->precisions[k]) : -9999999999.0;
    o->score = o->bp * exp(sum / 4);
}

int ak_bleu13a(const char *const *hyps, const char *const *refs, size_t n, ak_bleu *out, ak_err *err)
{
    memset(out, 0, sizeof *out);
    ak_strtab *tab = ak_strtab_new();
    idvec h = {0}, r = {0};
    int rc = tab ? 0 : ak_errorf(err, "bleu: out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (tokens(hyps[i], tab, &h, err) < 0) {
            rc = ak_err_prefix(err, "bleu: hypothesis %zu", i);
            break;
        }
        if (tokens(refs[i], tab, &r, err) < 0) {
            rc = ak_err_prefix(err, "bleu: reference %zu", i);
            break;
        }
        out->sys_len += (int64_t)h.n;
        out->ref_len += (int64_t)r.n;
        for (int k = 0; rc == 0 && k < 4; k++) {
            int64_t m;
            rc = ak_ngram_matches(h.v, h.n, r.v, r.n, k + 1, &m, err);
            out->correct[k] += m;
            out->total[k] += h.n > (size_t)k ? (int64_t)(h.n - (size_t)k) : 0;
        }
    }
    free(h.v);
    free(r.v);
    ak_strtab_free(tab);
    if (rc < 0)
        return -1;
    finish(out);
    return 0;
}
