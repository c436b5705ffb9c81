/* bin/attnview: a training run's attention, epoch by epoch, as ASCII or
 * images, its per-head statistics, and two runs compared. Options:
 * ak_attnview_usage() (lib/decode/attnview_opts.c). */
#include "decode/attn_view.h"
#include "decode/attnview_opts.h"
#include "decode/stats_tsv.h"
#include "viz/ascii.h"
#include "viz/panels.h"
#include "viz/png.h"
#include "viz/ppm.h"
#include "viz/side_by_side.h"
#include "viz/sparkline.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *msg)
{
    fprintf(stderr, "attnview: %s\n", msg);
    return 2;
}

static int read_epoch(const char *run, uint64_t epoch, ak_attn_file *f, ak_err *err)
{
    char path[4096];
    memset(f, 0, sizeof *f);
    if (ak_attn_file_path(path, sizeof path, run, epoch, err) != 0)
        return -1;
    return ak_attn_file_read(f, path, err);
}

/* The epochs of a run the spec selects. */
static int run_epochs(const char *run, const char *spec, uint64_t **sel, size_t *n, ak_err *err)
{
    uint64_t *all;
    size_t na;
    if (ak_attn_run_epochs(run, &all, &na, err) != 0)
        return -1;
    int rc = ak_epoch_select(spec, all, na, sel, n, err);
    free(all);
    return rc;
}

/* ------------------------------------------------------------------- list */

static void print_tokens(const char *what, const ak_attn_tokens *t, int eos)
{
    printf("     %s:", what);
    for (int32_t i = 0; i < t->n; i++)
        printf(" %s", t->tok[i]);
    printf("%s\n", eos ? " </s>" : "");
}

static int cmd_list(const ak_attnview_opts *o)
{
    ak_err err = {{0}};
    uint64_t *ep;
    size_t n;
    if (ak_attn_run_epochs(o->run, &ep, &n, &err) != 0)
        return fail(err.msg);
    ak_attn_file f;
    if (read_epoch(o->run, ep[n - 1], &f, &err) != 0) {
        free(ep);
        return fail(err.msg);
    }
    printf("run %s: %zu attention files, epochs", o->run, n);
    for (size_t i = 0; i < n; i++)
        printf(" %" PRIu64, ep[i]);
    printf("\nmodel:");
    for (int r = 0; r < AK_ATTN_NROLES; r++)
        if (f.model.layers[r])
            printf("  %s %d layer%s x %d head%s", ak_attn_role_name((ak_attn_role)r), f.model.layers[r],
                   f.model.layers[r] == 1 ? "" : "s", f.model.heads[r], f.model.heads[r] == 1 ? "" : "s");
    printf("\nprobes (tokens as of epoch %" PRIu64 "):\n", f.epoch);
    for (size_t i = 0; i < f.n_probes; i++) {
        const ak_attn_probe *p = f.probes[i];
        printf("  %zu  (id %" PRIu64 ")\n", i, p->id);
        print_tokens("src", &p->src, 0);
        print_tokens("ref", &p->ref, 0);
        print_tokens("out", &p->out, p->out_eos);
    }
    ak_attn_file_free(&f);
    free(ep);
    return 0;
}

/* ------------------------------------------------------------------- maps */

/* Views of one run: for each selected epoch, each selected head. */
typedef struct run_views {
    ak_attn_view *v;
    size_t n;
    int heads_per_epoch;
    char desc[256]; /* "probe 0: src tokens..." */
} run_views;

static void run_views_free(run_views *rv)
{
    for (size_t i = 0; i < rv->n; i++)
        ak_attn_view_free(&rv->v[i]);
    free(rv->v);
    memset(rv, 0, sizeof *rv);
}

static int collect(const ak_attnview_opts *o, const char *run, const char *label, run_views *rv, ak_err *err)
{
    memset(rv, 0, sizeof *rv);
    uint64_t *sel;
    size_t ns;
    if (run_epochs(run, o->epoch ? o->epoch : "last", &sel, &ns, err) != 0)
        return -1;
    int rc = 0;
    for (size_t e = 0; e < ns && rc == 0; e++) {
        ak_attn_file f;
        if (read_epoch(run, sel[e], &f, err) != 0) {
            rc = -1;
            break;
        }
        int layer = o->layer >= 0 ? o->layer : f.model.layers[o->role] - 1;
        int check_head = o->head >= 0 ? o->head : -1;
        if (ak_attn_file_check(&f, (size_t)o->probe, o->role, layer < 0 ? 0 : layer, check_head, err) != 0) {
            if (label)
                ak_err_prefix(err, "%s", run);
            ak_attn_file_free(&f);
            rc = -1;
            break;
        }
        int h0 = o->head, h1 = o->head + 1;
        if (o->head == AK_HEAD_AVG)
            h0 = -1, h1 = 0;
        else if (o->head == AK_HEAD_ALL)
            h0 = 0, h1 = f.model.heads[o->role];
        if (e == 0) {
            rv->heads_per_epoch = h1 - h0;
            rv->v = calloc(ns * (size_t)rv->heads_per_epoch, sizeof *rv->v);
            if (!rv->v) {
                rc = ak_errorf(err, "out of memory");
                ak_attn_file_free(&f);
                break;
            }
            const ak_attn_probe *p = f.probes[o->probe];
            int k = snprintf(rv->desc, sizeof rv->desc, "probe %ld:", o->probe);
            for (int32_t i = 0; i < p->src.n && k > 0 && (size_t)k < sizeof rv->desc; i++)
                k += snprintf(rv->desc + k, sizeof rv->desc - (size_t)k, " %s", p->src.tok[i]);
        } else if (h1 - h0 != rv->heads_per_epoch) {
            rc = ak_errorf(err, "%s: epoch %" PRIu64 " has %d heads, epoch %" PRIu64 " had %d", run, sel[e], h1 - h0,
                           sel[0], rv->heads_per_epoch);
            ak_attn_file_free(&f);
            break;
        }
        for (int h = h0; h < h1 && rc == 0; h++) {
            ak_attn_view *v = &rv->v[rv->n];
            if (ak_attn_file_view(&f, (size_t)o->probe, o->mode, o->role, layer, h, v, err) != 0) {
                rc = -1;
                break;
            }
            rv->n++;
            if (label) {
                char t[sizeof v->title];
                snprintf(t, sizeof t, "%s", v->title);
                snprintf(v->title, sizeof v->title, "%.8s: %.80s", label, t);
            }
        }
        ak_attn_file_free(&f);
    }
    free(sel);
    if (rc != 0)
        run_views_free(rv);
    return rc;
}

static int write_image(const ak_attnview_opts *o, const ak_heatmap *maps, int n, int columns, const char *title,
                       ak_err *err)
{
    ak_panel_opts po = {.image = {.cell = o->cell}, .columns = columns, .title = title};
    ak_canvas c = {0};
    if (ak_panels_render(maps, n, &po, &c, err) != 0)
        return -1;
    int rc = 0;
    if (o->png)
        rc = ak_png_write(o->png, &c, err);
    if (rc == 0 && o->ppm)
        rc = ak_ppm_write(o->ppm, &c, err);
    ak_canvas_free(&c);
    return rc;
}

static int cmd_maps(const ak_attnview_opts *o)
{
    ak_err err = {{0}};
    run_views a, b = {0};
    if (collect(o, o->run, o->compare ? "A" : NULL, &a, &err) != 0)
        return fail(err.msg);
    if (o->compare && collect(o, o->compare, "B", &b, &err) != 0) {
        run_views_free(&a);
        return fail(err.msg);
    }
    if (o->compare && strcmp(a.desc, b.desc) != 0)
        fprintf(stderr, "attnview: warning: the runs' probes differ:\n  A %s\n  B %s\n", a.desc, b.desc);
    int rc = 0, width = o->width ? o->width : ak_ascii_env_columns(100);
    if (o->png || o->ppm) {
        size_t n = a.n + b.n;
        ak_heatmap *maps = malloc(sizeof *maps * n);
        if (!maps) {
            rc = ak_errorf(&err, "out of memory");
        } else {
            for (size_t i = 0; i < a.n; i++)
                maps[i] = ak_attn_view_heatmap(&a.v[i]);
            for (size_t i = 0; i < b.n; i++)
                maps[a.n + i] = ak_attn_view_heatmap(&b.v[i]);
            /* heads across, epochs down; compare: epochs across, a row per run */
            int columns = o->compare ? (int)a.n : a.heads_per_epoch > 1 ? a.heads_per_epoch : (int)a.n;
            char title[1024];
            if (o->compare)
                snprintf(title, sizeof title, "A = %.300s   B = %.300s   %s", o->run, o->compare, a.desc);
            else
                snprintf(title, sizeof title, "%s", a.desc);
            rc = write_image(o, maps, (int)n, columns, title, &err);
            free(maps);
        }
    } else if (!o->compare) {
        printf("%s\n\n", a.desc);
        ak_ascii_opts ao = {.max_width = width, .color = o->ansi};
        for (size_t i = 0; i < a.n && rc == 0; i++) {
            ak_heatmap hm = ak_attn_view_heatmap(&a.v[i]);
            rc = ak_ascii_print(stdout, &hm, &ao, &err);
            putchar('\n');
        }
    } else {
        printf("A = %s   B = %s\n%s\n\n", o->run, o->compare, a.desc);
        ak_ascii_opts ao = {.max_width = (width - 3) / 2, .color = o->ansi};
        size_t n = a.n > b.n ? a.n : b.n;
        for (size_t i = 0; i < n && rc == 0; i++) {
            char *l = NULL, *r = NULL;
            ak_heatmap hl, hr;
            if (i < a.n)
                hl = ak_attn_view_heatmap(&a.v[i]);
            if (i < b.n)
                hr = ak_attn_view_heatmap(&b.v[i]);
            if ((i < a.n && ak_ascii_render(&hl, &ao, &l, NULL, &err) != 0) ||
                (i < b.n && ak_ascii_render(&hr, &ao, &r, NULL, &err) != 0))
                rc = -1;
            else
                rc = ak_side_by_side(stdout, l ? l : "", r ? r : "", " | ", &err);
            free(l);
            free(r);
            putchar('\n');
        }
    }
    run_views_free(&a);
    run_views_free(&b);
    return rc == 0 ? 0 : fail(err.msg);
}

/* ------------------------------------------------------------------ stats */

typedef struct run_stats {
    ak_stat_row *rows;
    size_t n;
    uint64_t *epochs; /* selected, ascending */
    size_t n_epochs;
} run_stats;

static void run_stats_free(run_stats *s)
{
    free(s->rows);
    free(s->epochs);
    memset(s, 0, sizeof *s);
}

static const char *selection(const ak_attnview_opts *o, char *buf, size_t n)
{
    char l[16] = "all layers", h[16] = "all heads";
    if (o->layer >= 0)
        snprintf(l, sizeof l, "L%d", o->layer);
    if (o->head >= 0)
        snprintf(h, sizeof h, "H%d", o->head);
    snprintf(buf, n, "%s %s %s", ak_attn_role_name(o->role), l, h);
    return buf;
}

static int load_stats(const ak_attnview_opts *o, const char *run, run_stats *s, ak_err *err)
{
    memset(s, 0, sizeof *s);
    char path[4096];
    if (snprintf(path, sizeof path, "%s/attn_stats.tsv", run) >= (int)sizeof path)
        return ak_errorf(err, "%s: path too long", run);
    if (ak_stats_tsv_read(path, &s->rows, &s->n, err) != 0)
        return -1;
    uint64_t *all;
    size_t na;
    int rc = ak_stats_epochs(s->rows, s->n, &all, &na, err);
    if (rc == 0 && na == 0)
        rc = ak_errorf(err, "%s: no statistics in it", path);
    if (rc == 0)
        rc = ak_epoch_select(o->epoch ? o->epoch : "all", all, na, &s->epochs, &s->n_epochs, err);
    if (rc == 0 && ak_stats_mean(s->rows, s->n, s->epochs[0], o->role, o->layer, o->head >= 0 ? o->head : -1,
                                 (double[AK_NSTATS]){0}) == 0) {
        char sel[96];
        rc = ak_errorf(err, "%s: no statistics of %s at epoch %" PRIu64 " (out of range?)", path,
                       selection(o, sel, sizeof sel), s->epochs[0]);
    }
    free(all);
    if (rc != 0)
        run_stats_free(s);
    return rc;
}

/* Sparkline rows of every selected head, one block per statistic. */
static void print_sparklines(const ak_attnview_opts *o, const run_stats *s, int k)
{
    int ne = (int)s->n_epochs;
    double *v = malloc(sizeof *v * (size_t)ne);
    char *line = malloc((size_t)ne + 1);
    if (!v || !line) {
        free(v);
        free(line);
        return;
    }
    /* the distinct (layer, head) of the selection, in file order of the first epoch */
    /* one scale per statistic: [0, 1] for the bounded ones, [0, max] for entropy */
    double lo = 0, hi = 1;
    if (k == AK_STAT_ENTROPY)
        for (size_t i = 0; i < s->n; i++) {
            const ak_stat_row *r = &s->rows[i];
            if (r->role == o->role && (o->layer < 0 || r->layer == o->layer) && (o->head < 0 || r->head == o->head) &&
                isfinite(r->v[k]) && r->v[k] > hi)
                hi = r->v[k];
        }
    printf("%s, epochs %" PRIu64 "..%" PRIu64 " (scale %.3g .. %.3g)\n", ak_stat_names[k], s->epochs[0],
           s->epochs[ne - 1], lo, hi);
    for (size_t i = 0; i < s->n; i++) {
        const ak_stat_row *r = &s->rows[i];
        if (r->epoch != s->epochs[0] || r->role != o->role || (o->layer >= 0 && r->layer != o->layer) ||
            (o->head >= 0 && r->head != o->head))
            continue;
        for (int e = 0; e < ne; e++) {
            const ak_stat_row *x = ak_stats_find(s->rows, s->n, s->epochs[e], r->role, r->layer, r->head);
            v[e] = x ? x->v[k] : NAN;
        }
        ak_sparkline(v, ne, lo, hi, line, (size_t)ne + 1);
        printf("  %-8s L%-2d H%-2d %9.4f |%s| %.4f\n", ak_attn_role_name(r->role), r->layer, r->head, v[0], line,
               v[ne - 1]);
    }
    putchar('\n');
    free(v);
    free(line);
}

static int cmd_stats(const ak_attnview_opts *o)
{
    ak_err err = {{0}};
    run_stats a, b = {0};
    if (load_stats(o, o->run, &a, &err) != 0)
        return fail(err.msg);
    if (o->compare && load_stats(o, o->compare, &b, &err) != 0) {
        run_stats_free(&a);
        return fail(err.msg);
    }
    int k0 = o->stat >= 0 ? o->stat : 0, k1 = o->stat >= 0 ? o->stat + 1 : AK_NSTATS;
    char sel[96];
    selection(o, sel, sizeof sel);
    int lh = o->layer >= 0 ? o->layer : -1, hh = o->head >= 0 ? o->head : -1;
    if (!o->compare) {
        printf("%s/attn_stats.tsv: %s, mean over the selected heads\n%6s", o->run, sel, "epoch");
        for (int k = k0; k < k1; k++)
            printf("  %12s", ak_stat_names[k]);
        putchar('\n');
        for (size_t e = 0; e < a.n_epochs; e++) {
            double m[AK_NSTATS];
            ak_stats_mean(a.rows, a.n, a.epochs[e], o->role, lh, hh, m);
            printf("%6" PRIu64, a.epochs[e]);
            for (int k = k0; k < k1; k++)
                printf("  %12.6f", m[k]);
            putchar('\n');
        }
        putchar('\n');
        for (int k = k0; k < k1; k++)
            print_sparklines(o, &a, k);
    } else {
        /* the last epoch both have, within the selection */
        uint64_t at = 0;
        int found = 0;
        for (size_t i = 0; i < a.n_epochs; i++)
            for (size_t j = 0; j < b.n_epochs; j++)
                if (a.epochs[i] == b.epochs[j])
                    at = a.epochs[i], found = 1;
        if (!found) {
            run_stats_free(&a);
            run_stats_free(&b);
            return fail("the two runs have no epoch in common within the selection");
        }
        double ma[AK_NSTATS], mb[AK_NSTATS];
        ak_stats_mean(a.rows, a.n, at, o->role, lh, hh, ma);
        ak_stats_mean(b.rows, b.n, at, o->role, lh, hh, mb);
        printf("A = %s\nB = %s\n%s, mean over the selected heads, epoch %" PRIu64 "\n", o->run, o->compare, sel, at);
        printf("%-12s  %12s  %12s  %12s\n", "stat", "A", "B", "B - A");
        for (int k = k0; k < k1; k++)
            printf("%-12s  %12.6f  %12.6f  %12.6f\n", ak_stat_names[k], ma[k], mb[k], mb[k] - ma[k]);
        putchar('\n');
        /* both runs' means across their selected epochs, on one scale per statistic */
        for (int k = k0; k < k1; k++) {
            const run_stats *rs[2] = {&a, &b};
            double *v[2];
            char *line[2];
            int ok = 1;
            for (int r = 0; r < 2; r++) {
                v[r] = malloc(sizeof(double) * (rs[r]->n_epochs + 1));
                line[r] = malloc(rs[r]->n_epochs + 1);
                ok = ok && v[r] && line[r];
            }
            if (ok) {
                double lo = 0, hi = 1;
                for (int r = 0; r < 2; r++)
                    for (size_t e = 0; e < rs[r]->n_epochs; e++) {
                        double m[AK_NSTATS];
                        ak_stats_mean(rs[r]->rows, rs[r]->n, rs[r]->epochs[e], o->role, lh, hh, m);
                        v[r][e] = m[k];
                        if (k == AK_STAT_ENTROPY && isfinite(m[k]) && m[k] > hi)
                            hi = m[k];
                    }
                printf("%-12s (scale %.3g .. %.3g)\n", ak_stat_names[k], lo, hi);
                for (int r = 0; r < 2; r++) {
                    int ne = (int)rs[r]->n_epochs;
                    ak_sparkline(v[r], ne, lo, hi, line[r], (size_t)ne + 1);
                    printf("  %s  epochs %3" PRIu64 "..%-3" PRIu64 " %9.4f |%s| %.4f\n", r ? "B" : "A",
                           rs[r]->epochs[0], rs[r]->epochs[ne - 1], v[r][0], line[r], v[r][ne - 1]);
                }
            }
            for (int r = 0; r < 2; r++) {
                free(v[r]);
                free(line[r]);
            }
        }
    }
    run_stats_free(&a);
    run_stats_free(&b);
    return 0;
}

int main(int argc, char **argv)
{
    ak_attnview_opts o;
    ak_err err = {{0}};
    int p = ak_attnview_parse(argc, argv, &o, &err);
    if (p == 1) {
        ak_attnview_usage(stdout);
        return 0;
    }
    if (p != 0)
        return fail(err.msg);
    if (o.list)
        return cmd_list(&o);
    if (o.stats)
        return cmd_stats(&o);
    return cmd_maps(&o);
}
