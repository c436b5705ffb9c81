/* Attention views from attention files, and a run's epochs (decode/attn_view.h). */
#include "decode/attn_view.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EOW "</w>"
#define EOW_LEN 4

void ak_attn_view_free(ak_attn_view *v)
{
    free(v->w);
    ak_strlist_free(&v->row_labels);
    ak_strlist_free(&v->col_labels);
    memset(v, 0, sizeof *v);
}

ak_heatmap ak_attn_view_heatmap(const ak_attn_view *v)
{
    return (ak_heatmap){.w = v->w,
                        .rows = v->rows,
                        .cols = v->cols,
                        .row_labels = (const char *const *)v->row_labels.v,
                        .col_labels = (const char *const *)v->col_labels.v,
                        .title = v->title[0] ? v->title : NULL};
}

static int is_special(const char *t)
{
    return !strcmp(t, "<pad>") || !strcmp(t, "<unk>") || !strcmp(t, "<s>") || !strcmp(t, "</s>");
}

void ak_attn_token_label(const char *tok, int bpe, char *buf, size_t n)
{
    size_t len = strlen(tok);
    if (!bpe || is_special(tok))
        snprintf(buf, n, "%s", tok);
    else if (len >= EOW_LEN && strcmp(tok + len - EOW_LEN, EOW) == 0)
        snprintf(buf, n, "%.*s", (int)(len - EOW_LEN), tok);
    else
        snprintf(buf, n, "%s@@", tok);
}

static int ends_eow(const ak_attn_tokens *t)
{
    for (int32_t i = 0; i < t->n; i++) {
        size_t len = strlen(t->tok[i]);
        if (len >= EOW_LEN && strcmp(t->tok[i] + len - EOW_LEN, EOW) == 0)
            return 1;
    }
    return 0;
}

int ak_attn_file_is_bpe(const ak_attn_file *f)
{
    for (size_t i = 0; i < f->n_probes; i++) {
        const ak_attn_probe *p = f->probes[i];
        if (ends_eow(&p->src) || ends_eow(&p->ref) || ends_eow(&p->out))
            return 1;
    }
    return 0;
}

int ak_attn_file_check(const ak_attn_file *f, size_t probe, ak_attn_role role, int layer, int head, ak_err *err)
{
    if (f->n_probes == 0)
        return ak_errorf(err, "the attention file holds no probe");
    if (probe >= f->n_probes)
        return ak_errorf(err, "--probe %zu out of range: the run has %zu probe%s (0..%zu)", probe, f->n_probes,
                         f->n_probes == 1 ? "" : "s", f->n_probes - 1);
    int layers = f->model.layers[role], heads = f->model.heads[role];
    if (layers == 0)
        return ak_errorf(err, "the model has no %s attention", ak_attn_role_name(role));
    if (layer < 0 || layer >= layers)
        return ak_errorf(err, "--layer %d out of range: the model has %d %s attention layer%s (0..%d)", layer, layers,
                         ak_attn_role_name(role), layers == 1 ? "" : "s", layers - 1);
    if (head < -1 || head >= heads)
        return ak_errorf(err, "--head %d out of range: the model has %d head%s (0..%d, avg or all)", head, heads,
                         heads == 1 ? "" : "s", heads - 1);
    return 0;
}

static int push(ak_strlist *l, const char *tok, int bpe, ak_err *err)
{
    char buf[256];
    ak_attn_token_label(tok, bpe, buf, sizeof buf);
    return ak_strlist_push(l, buf, strlen(buf), err);
}

/* The tokens the decoder positions of a mode predict (tokens, then "</s>"
 * for the rows past them). */
static const ak_attn_tokens *dec_tokens(const ak_attn_probe *p, ak_attn_mode mode)
{
    return mode == AK_ATTN_TF ? &p->ref : &p->out;
}

int ak_attn_file_view(const ak_attn_file *f, size_t probe, ak_attn_mode mode, ak_attn_role role, int layer, int head,
                      ak_attn_view *out, ak_err *err)
{
    memset(out, 0, sizeof *out);
    if (ak_attn_file_check(f, probe, role, layer, head, err) != 0)
        return -1;
    const ak_attn_probe *p = f->probes[probe];
    int64_t nq = ak_attn_probe_queries(p, mode, role), nk = ak_attn_probe_keys(p, mode, role);
    int heads = f->model.heads[role];
    if (nq < 1 || nk < 1 || nq > AK_HEATMAP_MAX_DIM || nk > AK_HEATMAP_MAX_DIM)
        return ak_errorf(err, "probe %zu: a %lld x %lld map cannot be shown", probe, (long long)nq, (long long)nk);
    out->w = malloc(sizeof(float) * (size_t)(nq * nk));
    if (!out->w)
        return ak_errorf(err, "out of memory");
    out->rows = (int)nq;
    out->cols = (int)nk;
    int h0 = head < 0 ? 0 : head, h1 = head < 0 ? heads : head + 1;
    for (int64_t q = 0; q < nq; q++) {
        for (int64_t k = 0; k < nk; k++) {
            double s = 0.0;
            for (int h = h0; h < h1; h++) {
                const float *row = ak_attn_probe_row(f, p, mode, role, layer, h, q);
                if (!row) {
                    ak_attn_view_free(out);
                    return ak_errorf(err, "probe %zu: %s %s map of layer %d is missing", probe, ak_attn_mode_name(mode),
                                     ak_attn_role_name(role), layer);
                }
                s += row[k];
            }
            out->w[q * nk + k] = (float)(s / (h1 - h0));
        }
    }
    int bpe = ak_attn_file_is_bpe(f), rc = 0;
    const ak_attn_tokens *dec = dec_tokens(p, mode);
    if (role == AK_ROLE_ENC_SELF) {
        for (int32_t i = 0; rc == 0 && i < p->src.n; i++)
            rc = push(&out->row_labels, p->src.tok[i], bpe, err);
    } else {
        for (int64_t i = 0; rc == 0 && i < nq; i++)
            rc = push(&out->row_labels, i < dec->n ? dec->tok[i] : "</s>", bpe, err);
    }
    if (role == AK_ROLE_DEC_SELF) {
        for (int64_t i = 0; rc == 0 && i < nk; i++)
            rc = push(&out->col_labels, i == 0 ? "<s>" : i - 1 < dec->n ? dec->tok[i - 1] : "</s>", bpe, err);
    } else {
        for (int32_t i = 0; rc == 0 && i < p->src.n; i++)
            rc = push(&out->col_labels, p->src.tok[i], bpe, err);
    }
    if (rc == 0 && ((int64_t)out->row_labels.n != nq || (int64_t)out->col_labels.n != nk))
        rc = ak_errorf(err, "probe %zu: map of %lld x %lld does not match its %zu x %zu tokens", probe, (long long)nq,
                       (long long)nk, out->row_labels.n, out->col_labels.n);
    if (rc != 0) {
        ak_attn_view_free(out);
        return -1;
    }
    char hd[16];
    if (head < 0)
        snprintf(hd, sizeof hd, "avg");
    else
        snprintf(hd, sizeof hd, "H%d", head);
    snprintf(out->title, sizeof out->title, "epoch %" PRIu64 "  %s L%d %s%s", f->epoch, ak_attn_role_name(role), layer,
             hd, mode == AK_ATTN_GREEDY ? " (greedy)" : "");
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* "epoch-NNN.attn" with NNN all digits -> 1 and the epoch. */
static int parse_name(const char *name, uint64_t *epoch)
{
    if (strncmp(name, "epoch-", 6) != 0)
        return 0;
    const char *p = name + 6, *d = p;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*p++ - '0');
    }
    if (p == d || strcmp(p, ".attn") != 0)
        return 0;
    *epoch = v;
    return 1;
}

int ak_attn_run_epochs(const char *run_dir, uint64_t **epochs, size_t *n, ak_err *err)
{
    *epochs = NULL;
    *n = 0;
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s/attn", run_dir) >= (int)sizeof dir)
        return ak_errorf(err, "%s: path too long", run_dir);
    DIR *d = opendir(dir);
    if (!d)
        return ak_errorf(err, "%s: cannot read: %s", dir, strerror(errno));
    size_t cap = 0;
    uint64_t *v = NULL;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        uint64_t ep;
        if (!parse_name(e->d_name, &ep))
            continue;
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            uint64_t *g = realloc(v, sizeof *v * nc);
            if (!g) {
                rc = ak_errorf(err, "out of memory");
                break;
            }
            v = g;
            cap = nc;
        }
        v[(*n)++] = ep;
    }
    closedir(d);
    if (rc == 0 && *n == 0)
        rc = ak_errorf(err, "%s: no attention file (epoch-NNN.attn) in it", dir);
    if (rc != 0) {
        free(v);
        *n = 0;
        return -1;
    }
    qsort(v, *n, sizeof *v, cmp_u64);
    /* "epoch-7.attn" and "epoch-007.attn" name the same epoch: keep one */
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (k == 0 || v[k - 1] != v[i])
            v[k++] = v[i];
    *n = k;
    *epochs = v;
    return 0;
}

static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 19)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

int ak_epoch_select(const char *spec, const uint64_t *avail, size_t n_avail, uint64_t **out, size_t *n_out, ak_err *err)
{
    *out = NULL;
    *n_out = 0;
    if (n_avail == 0)
        return ak_errorf(err, "no epoch available");
    uint64_t lo, hi;
    const char *dash = strchr(spec, '-');
    if (!strcmp(spec, "all")) {
        lo = 0;
        hi = UINT64_MAX;
    } else if (!strcmp(spec, "last")) {
        lo = hi = avail[n_avail - 1];
    } else if (!dash) {
        if (parse_u64(spec, strlen(spec), &lo) != 0)
            return ak_errorf(err, "--epoch: expected N, A-B, last or all, got '%.64s'", spec);
        hi = lo;
    } else {
        size_t nl = (size_t)(dash - spec), nr = strlen(dash + 1);
        lo = 0;
        hi = UINT64_MAX;
        if ((nl && parse_u64(spec, nl, &lo) != 0) || (nr && parse_u64(dash + 1, nr, &hi) != 0) || (!nl && !nr) ||
            lo > hi)
            return ak_errorf(err, "--epoch: expected N, A-B, last or all, got '%.64s'", spec);
    }
    uint64_t *v = malloc(sizeof *v * n_avail);
    if (!v)
        return ak_errorf(err, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n_avail; i++)
        if (avail[i] >= lo && avail[i] <= hi)
            v[k++] = avail[i];
    if (k == 0) {
        free(v);
        return ak_errorf(err, "--epoch %.64s: no such epoch; the run has epochs %" PRIu64 "..%" PRIu64 " (%zu files)",
                         spec, avail[0], avail[n_avail - 1], n_avail);
    }
    *out = v;
    *n_out = k;
    return 0;
}
