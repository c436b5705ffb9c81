/* What bin/attnview reads and shows (lib/decode/attn_view.c, stats_tsv.c,
 * lib/viz/sparkline.c, side_by_side.c): a run's epochs and their selection,
 * views of attention-file maps with their labels and head averages, the
 * statistics TSV read back, sparklines and side-by-side blocks; then the
 * program end to end on a run directory built here. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "decode/attn_view.h"
#include "decode/stats_tsv.h"
#include "eval/attn_stats.h"
#include "viz/side_by_side.h"
#include "viz/sparkline.h"

static char g_dir[128];

static const char *run_dir(void)
{
    if (!g_dir[0]) {
        snprintf(g_dir, sizeof g_dir, "/tmp/ak_attnview_test_%d", (int)getpid());
        mkdir(g_dir, 0755);
        char a[160];
        snprintf(a, sizeof a, "%s/attn", g_dir);
        mkdir(a, 0755);
    }
    return g_dir;
}

static void cleanup(void)
{
    if (!g_dir[0])
        return;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
}

/* Weight of (mode, role, layer, head, q, k) before row normalisation:
 * distinct per head, so averages and head picks are checkable. */
static float raw_w(int mode, int role, int layer, int head, int64_t q, int64_t k, uint64_t epoch)
{
    return 1.0f + (float)((q * 7 + k * 3 + head * 5 + layer * 11 + role * 2 + mode + (int64_t)epoch) % 9);
}

/* One probe: src "la</w> ma</w> x" (BPE pieces), ref "A B", greedy "A"
 * + EOS. Summary: enc-self 1 x 2, dec-self 1 x 2, cross 2 x 2. */
static void write_epoch(uint64_t epoch)
{
    ak_attn_summary s = {.layers = {1, 1, 2}, .heads = {2, 2, 2}};
    ak_attn_file f = {0};
    ak_err err = {{0}};
    cr_assert_eq(ak_attn_file_init(&f, epoch, &s, NULL, &err), 0, "%s", err.msg);
    const char *src[] = {"la</w>", "ma</w>", "x"}, *ref[] = {"A</w>", "B</w>"}, *out[] = {"A</w>"};
    ak_attn_probe *p = ak_attn_file_add_probe(&f, 7, src, 3, ref, 2, out, 1, 1, &err);
    cr_assert_not_null(p, "%s", err.msg);
    for (int mode = 0; mode < 2; mode++)
        for (int role = 0; role < 3; role++)
            for (int layer = 0; layer < s.layers[role]; layer++) {
                int64_t nq = ak_attn_probe_queries(p, mode, role), nk = ak_attn_probe_keys(p, mode, role);
                float w[2 * 16 * 16];
                for (int h = 0; h < 2; h++)
                    for (int64_t q = 0; q < nq; q++) {
                        float sum = 0;
                        for (int64_t k = 0; k < nk; k++)
                            sum += raw_w(mode, role, layer, h, q, k, epoch);
                        for (int64_t k = 0; k < nk; k++)
                            w[(h * nq + q) * nk + k] = raw_w(mode, role, layer, h, q, k, epoch) / sum;
                    }
                cr_assert_eq(ak_attn_probe_set_map(&f, p, mode, role, layer, w, &err), 0, "%s", err.msg);
            }
    char path[256];
    cr_assert_eq(ak_attn_file_path(path, sizeof path, run_dir(), epoch, &err), 0);
    cr_assert_eq(ak_attn_file_write(&f, path, &err), 0, "%s", err.msg);
    /* statistics as training logs them */
    ak_attn_head_stats *st;
    size_t n;
    cr_assert_eq(ak_attn_stats(&f, NULL, NULL, &st, &n, &err), 0, "%s", err.msg);
    char tsv[256];
    snprintf(tsv, sizeof tsv, "%s/attn_stats.tsv", run_dir());
    cr_assert_eq(ak_attn_stats_append_tsv(tsv, epoch, st, n, &err), 0, "%s", err.msg);
    free(st);
    ak_attn_file_free(&f);
}

static void make_run(void)
{
    write_epoch(0);
    write_epoch(1);
    write_epoch(10);
    char junk[256];
    snprintf(junk, sizeof junk, "%s/attn/epoch-x.attn", run_dir());
    FILE *f = fopen(junk, "w");
    fclose(f);
}

Test(decode_attn_view, run_epochs_and_their_selection, .fini = cleanup)
{
    make_run();
    uint64_t *ep, *sel;
    size_t n, ns;
    ak_err err = {{0}};
    cr_assert_eq(ak_attn_run_epochs(run_dir(), &ep, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_expect(ep[0] == 0 && ep[1] == 1 && ep[2] == 10);
    static const struct {
        const char *spec;
        int n;
        uint64_t first, last;
    } ok[] = {{"all", 3, 0, 10}, {"last", 1, 10, 10}, {"1", 1, 1, 1},
              {"1-", 2, 1, 10},  {"-1", 2, 0, 1},     {"0-10", 3, 0, 10}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        cr_assert_eq(ak_epoch_select(ok[i].spec, ep, n, &sel, &ns, &err), 0, "%s: %s", ok[i].spec, err.msg);
        cr_expect(ns == (size_t)ok[i].n && sel[0] == ok[i].first && sel[ns - 1] == ok[i].last, "%s", ok[i].spec);
        free(sel);
    }
    cr_expect_eq(ak_epoch_select("2-9", ep, n, &sel, &ns, &err), -1);
    cr_expect_str_eq(err.msg, "--epoch 2-9: no such epoch; the run has epochs 0..10 (3 files)");
    cr_expect_eq(ak_epoch_select("5", ep, n, &sel, &ns, &err), -1);
    cr_expect_eq(ak_epoch_select("3-1", ep, n, &sel, &ns, &err), -1);
    cr_expect_str_eq(err.msg, "--epoch: expected N, A-B, last or all, got '3-1'");
    cr_expect_eq(ak_epoch_select("x", ep, n, &sel, &ns, &err), -1);
    free(ep);
    cr_expect_eq(ak_attn_run_epochs("/nonexistent-run", &ep, &n, &err), -1);
    cr_expect(strstr(err.msg, "/nonexistent-run/attn: cannot read") != NULL, "%s", err.msg);
}

Test(decode_attn_view, views_pick_heads_average_and_label_tokens, .fini = cleanup)
{
    write_epoch(1);
    char path[256];
    ak_err err = {{0}};
    ak_attn_file f;
    cr_assert_eq(ak_attn_file_path(path, sizeof path, run_dir(), 1, &err), 0);
    cr_assert_eq(ak_attn_file_read(&f, path, &err), 0, "%s", err.msg);
    cr_expect(ak_attn_file_is_bpe(&f));
    ak_attn_view v0, v1, avg;
    cr_assert_eq(ak_attn_file_view(&f, 0, AK_ATTN_TF, AK_ROLE_CROSS, 1, 0, &v0, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_attn_file_view(&f, 0, AK_ATTN_TF, AK_ROLE_CROSS, 1, 1, &v1, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_attn_file_view(&f, 0, AK_ATTN_TF, AK_ROLE_CROSS, 1, -1, &avg, &err), 0, "%s", err.msg);
    cr_assert(v0.rows == 3 && v0.cols == 3, "tf cross: (2 ref + EOS) x 3 src, got %d x %d", v0.rows, v0.cols);
    for (int q = 0; q < 3; q++)
        for (int k = 0; k < 3; k++) {
            cr_expect_float_eq(v0.w[q * 3 + k],
                               ak_attn_probe_row(&f, f.probes[0], AK_ATTN_TF, AK_ROLE_CROSS, 1, 0, q)[k], 0);
            cr_expect_float_eq(avg.w[q * 3 + k], (v0.w[q * 3 + k] + v1.w[q * 3 + k]) / 2, 1e-7);
        }
    const char *rows[] = {"A", "B", "</s>"}, *cols[] = {"la", "ma", "x@@"};
    for (int i = 0; i < 3; i++) {
        cr_expect_str_eq(v0.row_labels.v[i], rows[i]);
        cr_expect_str_eq(v0.col_labels.v[i], cols[i]);
    }
    cr_expect_str_eq(v0.title, "epoch 1  cross L1 H0");
    cr_expect_str_eq(avg.title, "epoch 1  cross L1 avg");
    ak_heatmap hm = ak_attn_view_heatmap(&avg);
    cr_expect(hm.rows == 3 && hm.cols == 3 && hm.w == avg.w && !strcmp(hm.title, avg.title));
    ak_attn_view_free(&v0);
    ak_attn_view_free(&v1);
    ak_attn_view_free(&avg);
    /* greedy dec-self: rows "A" "</s>", keys the decoder inputs "<s>" "A" */
    cr_assert_eq(ak_attn_file_view(&f, 0, AK_ATTN_GREEDY, AK_ROLE_DEC_SELF, 0, 1, &v0, &err), 0, "%s", err.msg);
    cr_assert(v0.rows == 2 && v0.cols == 2);
    cr_expect(!strcmp(v0.row_labels.v[1], "</s>") && !strcmp(v0.col_labels.v[0], "<s>") &&
              !strcmp(v0.col_labels.v[1], "A"));
    cr_expect_str_eq(v0.title, "epoch 1  dec-self L0 H1 (greedy)");
    ak_attn_view_free(&v0);
    /* enc-self: source by source */
    cr_assert_eq(ak_attn_file_view(&f, 0, AK_ATTN_TF, AK_ROLE_ENC_SELF, 0, -1, &v0, &err), 0, "%s", err.msg);
    cr_expect(v0.rows == 3 && v0.cols == 3 && !strcmp(v0.row_labels.v[2], "x@@"));
    ak_attn_view_free(&v0);
    /* choices out of range */
    cr_expect_eq(ak_attn_file_view(&f, 1, AK_ATTN_TF, AK_ROLE_CROSS, 0, 0, &v0, &err), -1);
    cr_expect_str_eq(err.msg, "--probe 1 out of range: the run has 1 probe (0..0)");
    cr_expect_eq(ak_attn_file_view(&f, 0, AK_ATTN_TF, AK_ROLE_CROSS, 2, 0, &v0, &err), -1);
    cr_expect_str_eq(err.msg, "--layer 2 out of range: the model has 2 cross attention layers (0..1)");
    cr_expect_eq(ak_attn_file_view(&f, 0, AK_ATTN_TF, AK_ROLE_ENC_SELF, 0, 2, &v0, &err), -1);
    cr_expect_str_eq(err.msg, "--head 2 out of range: the model has 2 heads (0..1, avg or all)");
    ak_attn_file_free(&f);
}

Test(decode_attn_view, stats_tsv_reads_back_what_training_wrote, .fini = cleanup)
{
    make_run();
    char tsv[256];
    snprintf(tsv, sizeof tsv, "%s/attn_stats.tsv", run_dir());
    ak_stat_row *rows;
    size_t n;
    ak_err err = {{0}};
    cr_assert_eq(ak_stats_tsv_read(tsv, &rows, &n, &err), 0, "%s", err.msg);
    cr_expect_eq(n, 3 * (2 + 2 + 4), "3 epochs x 8 heads");
    uint64_t *ep;
    size_t ne;
    cr_assert_eq(ak_stats_epochs(rows, n, &ep, &ne, &err), 0);
    cr_expect(ne == 3 && ep[2] == 10);
    free(ep);
    /* against the statistics computed from the file */
    char path[256];
    ak_attn_file f;
    cr_assert_eq(ak_attn_file_path(path, sizeof path, run_dir(), 10, &err), 0);
    cr_assert_eq(ak_attn_file_read(&f, path, &err), 0, "%s", err.msg);
    ak_attn_head_stats *st;
    size_t ns;
    cr_assert_eq(ak_attn_stats(&f, NULL, NULL, &st, &ns, &err), 0, "%s", err.msg);
    double mean[AK_NSTATS], sum_e = 0;
    int cnt = 0;
    for (size_t i = 0; i < ns; i++) {
        const ak_stat_row *r = ak_stats_find(rows, n, 10, st[i].role, st[i].layer, st[i].head);
        cr_assert_not_null(r);
        cr_expect(fabs(r->v[AK_STAT_ENTROPY] - st[i].entropy) < 1e-6);
        cr_expect(fabs(r->v[AK_STAT_DIAGONALITY] - st[i].diagonality) < 1e-6);
        cr_expect(isnan(r->v[AK_STAT_AER]), "no gold: aer is nan");
        if (st[i].role == AK_ROLE_CROSS) {
            sum_e += st[i].entropy;
            cnt++;
        }
    }
    cr_expect_eq(ak_stats_mean(rows, n, 10, AK_ROLE_CROSS, -1, -1, mean), 4);
    cr_expect(fabs(mean[AK_STAT_ENTROPY] - sum_e / cnt) < 1e-6);
    cr_expect(isnan(mean[AK_STAT_AER]), "all nan: nan");
    cr_expect_eq(ak_stats_mean(rows, n, 10, AK_ROLE_CROSS, 1, 0, mean), 1);
    cr_expect_eq(ak_stats_mean(rows, n, 3, AK_ROLE_CROSS, -1, -1, mean), 0);
    free(st);
    free(rows);
    ak_attn_file_free(&f);
    /* a damaged row is named by line */
    FILE *fp = fopen(tsv, "a");
    fputs("11\tcross\t0\t0\t0.1\t0.2\tx\t0.3\tnan\n", fp);
    fclose(fp);
    cr_expect_eq(ak_stats_tsv_read(tsv, &rows, &n, &err), -1);
    cr_expect(strstr(err.msg, "attn_stats.tsv:26: diagonality: expected a number or nan, got 'x'") != NULL, "%s",
              err.msg);
    fp = fopen(tsv, "w");
    fputs("epoch\trole\n", fp);
    fclose(fp);
    cr_expect_eq(ak_stats_tsv_read(tsv, &rows, &n, &err), -1);
    cr_expect(strstr(err.msg, ":1: expected the header") != NULL, "%s", err.msg);
}

Test(decode_attn_view, sparklines_and_side_by_side_blocks)
{
    char s[16];
    const double v[] = {0.0, 0.5, 1.0, NAN, 0.95, 0.05};
    cr_assert_eq(ak_sparkline(v, 6, 0.0, 1.0, s, sizeof s), 6);
    cr_expect_str_eq(s, "_+@?@_");
    const double w[] = {2, 4, 3};
    cr_assert_eq(ak_sparkline(w, 3, NAN, NAN, s, sizeof s), 3); /* data range 2..4 */
    cr_expect_str_eq(s, "_@+");
    const double flat[] = {1, 1};
    ak_sparkline(flat, 2, 0, 0, s, sizeof s);
    cr_expect_str_eq(s, "==");
    cr_expect_eq(ak_sparkline(v, 6, 0, 1, s, 6), -1, "no room for the NUL");

    cr_expect_eq(ak_text_columns("ab\xC3\xA9", 4), 3, "UTF-8: e-acute is one column");
    const char *ansi = "\x1b[48;5;33m  \x1b[0m|";
    cr_expect_eq(ak_text_columns(ansi, strlen(ansi)), 3, "ANSI escapes take no column");
    cr_expect_eq(ak_text_columns("\xE6\x97\xA5", 3), 2, "wide character");
    cr_expect_eq(ak_block_columns("a\nabcd\nab"), 4);
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    ak_err err = {{0}};
    cr_assert_eq(ak_side_by_side(f, "x\n\xC3\xA9t\xC3\xA9\n", "1\n2\n3\n", " | ", &err), 0);
    fclose(f);
    cr_expect_str_eq(buf, "x   | 1\n\xC3\xA9t\xC3\xA9 | 2\n    | 3\n");
    free(buf);
}

/* ---------------------------------------------------------- the program */

static int run(const char *cmd, char **out, char **errtxt)
{
    char full[2048], o[200], e[200];
    snprintf(o, sizeof o, "%s/stdout", run_dir());
    snprintf(e, sizeof e, "%s/stderr", run_dir());
    snprintf(full, sizeof full, "%s >%s 2>%s </dev/null", cmd, o, e);
    int st = system(full);
    const char *files[2] = {o, e};
    char **dst[2] = {out, errtxt};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "rb");
        cr_assert_not_null(f);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        *dst[i] = calloc((size_t)n + 1, 1);
        cr_assert_eq(fread(*dst[i], 1, (size_t)n, f), (size_t)n);
        fclose(f);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(decode_attn_view, attnview_end_to_end, .fini = cleanup)
{
    if (access("bin/attnview", X_OK) != 0)
        cr_skip_test("bin/attnview not built (run make first)");
    make_run();
    const char *R = run_dir();
    char cmd[1024], *out, *err;
    snprintf(cmd, sizeof cmd, "bin/attnview %s --list", R);
    cr_assert_eq(run(cmd, &out, &err), 0, "%s", err);
    cr_expect(strstr(out, "3 attention files, epochs 0 1 10") != NULL, "%s", out);
    cr_expect(strstr(out, "src: la</w> ma</w> x") != NULL, "%s", out);
    free(out);
    free(err);

    snprintf(cmd, sizeof cmd, "bin/attnview %s --epoch 1-10 --head 1 --width 60", R);
    cr_assert_eq(run(cmd, &out, &err), 0, "%s", err);
    const char *a = strstr(out, "epoch 1  cross L1 H1"), *b = strstr(out, "epoch 10  cross L1 H1");
    cr_expect(a && b && a < b, "%s", out);
    cr_expect(strstr(out, "\nla") == NULL && strstr(out, "</s> |") != NULL, "%s", out);
    free(out);
    free(err);

    char png[256];
    snprintf(png, sizeof png, "%s/strip.png", R);
    snprintf(cmd, sizeof cmd, "bin/attnview %s --epoch all --head all --png %s", R, png);
    cr_assert_eq(run(cmd, &out, &err), 0, "%s", err);
    FILE *f = fopen(png, "rb");
    cr_assert_not_null(f);
    unsigned char h[24];
    cr_assert_eq(fread(h, 1, 24, f), 24);
    fclose(f);
    cr_expect(!memcmp(h, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
    free(out);
    free(err);

    snprintf(cmd, sizeof cmd, "bin/attnview %s --stats --stat entropy", R);
    cr_assert_eq(run(cmd, &out, &err), 0, "%s", err);
    cr_expect(strstr(out, "entropy, epochs 0..10") != NULL && strstr(out, "cross    L1  H1 ") != NULL, "%s", out);
    free(out);
    free(err);

    snprintf(cmd, sizeof cmd, "bin/attnview %s --compare %s --stats", R, R);
    cr_assert_eq(run(cmd, &out, &err), 0, "%s", err);
    cr_expect(strstr(out, "entropy ") != NULL && strstr(out, "0.000000\n") != NULL, "a run minus itself: %s", out);
    free(out);
    free(err);

    /* bad choices and damaged files: exit 2 and one line */
    snprintf(cmd, sizeof cmd, "bin/attnview %s --layer 2", R);
    cr_expect_eq(run(cmd, &out, &err), 2);
    cr_expect_str_eq(err, "attnview: --layer 2 out of range: the model has 2 cross attention layers (0..1)\n");
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "bin/attnview %s --epoch 4", R);
    cr_expect_eq(run(cmd, &out, &err), 2);
    cr_expect_str_eq(err, "attnview: --epoch 4: no such epoch; the run has epochs 0..10 (3 files)\n");
    free(out);
    free(err);
    char path[256];
    snprintf(path, sizeof path, "%s/attn/epoch-010.attn", R);
    f = fopen(path, "r+b");
    fseek(f, 50, SEEK_SET);
    fputc(0x42, f);
    fputc(0x24, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "bin/attnview %s", R);
    cr_expect_eq(run(cmd, &out, &err), 2);
    cr_expect(strstr(err, "epoch-010.attn: corrupted") != NULL, "%s", err);
    free(out);
    free(err);
    cr_expect_eq(run("bin/attnview /nonexistent-run", &out, &err), 2);
    cr_expect(strstr(err, "cannot read") != NULL, "%s", err);
    free(out);
    free(err);
}
