/* bin/infer and bin/attnview: the option parsers (lib/decode/infer_opts.c, attnview_opts.c), the
 * translation session on a tiny checkpoint saved with its tokenizers, and
 * the programs end to end (run through system() when bin/ has them: `make`
 * builds them before `make test` in CI). */
#include "helpers_nn.h"

#include "decode/attnview_opts.h"
#include "decode/infer_opts.h"
#include "decode/score.h"
#include "decode/translate.h"
#include "io/checkpoint.h"
#include "io/ckpt_tokenizer.h"
#include "train/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------ option parsing */

static int parse(ak_infer_opts *o, ak_err *err, int argc, const char **argv)
{
    return ak_infer_parse(argc, (char **)argv, o, err);
}

#define PARSE(o, err, ...)                                                                                             \
    parse(o, err, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)), (const char *[]){__VA_ARGS__})

Test(infer_cli, parses_a_full_command_line)
{
    ak_infer_opts o;
    ak_err err = {{0}};
    cr_assert_eq(PARSE(&o, &err, "infer", "--ckpt", "m.ckpt", "--beam=5", "--nbest", "3", "--alpha", "0.7", "--max-len",
                       "30", "--show-attn", "ansi", "--layer", "1", "--head", "0", "--png", "a.png", "--detok", "glue",
                       "hello world", "--", "--not-an-option"),
                 0, "%s", err.msg);
    cr_expect_str_eq(o.ckpt, "m.ckpt");
    cr_expect_eq(o.mode, AK_INFER_TRANSLATE);
    cr_expect(o.beam == 5 && o.nbest == 3 && o.max_len == 30 && o.layer == 1 && o.head == 0 && o.detok == 1);
    cr_expect_float_eq(o.alpha, 0.7, 1e-12);
    cr_expect_eq(o.show_attn, AK_SHOW_ANSI);
    cr_expect_str_eq(o.png, "a.png");
    cr_assert_eq(o.n_texts, 2);
    cr_expect_str_eq(o.texts[0], "hello world");
    cr_expect_str_eq(o.texts[1], "--not-an-option");
    ak_infer_opts_free(&o);

    cr_assert_eq(PARSE(&o, &err, "infer", "--ckpt", "m", "--score-ids", "ids.txt", "--verbose"), 0, "%s", err.msg);
    cr_expect(o.mode == AK_INFER_SCORE_IDS && o.verbose && !strcmp(o.data, "ids.txt"));
    cr_expect(o.beam == 0 && o.nbest == 1 && o.head == -1 && o.layer == -1 && o.detok == -1, "defaults");
    ak_infer_opts_free(&o);
    cr_expect_eq(PARSE(&o, &err, "infer", "--help"), 1);
    ak_infer_opts_free(&o);
}

Test(infer_cli, parse_errors_name_the_option_and_what_it_accepts)
{
    static const struct {
        const char *argv[8];
        const char *msg;
    } cases[] = {
        {{"infer", "a"}, "--ckpt PATH is required (see --help)"},
        {{"infer", "--ckpt", "m", "--beam", "0"}, "--beam: expected an integer in [1, 4096], got '0'"},
        {{"infer", "--ckpt", "m", "--beam", "4x"}, "--beam: expected an integer in [1, 4096], got '4x'"},
        {{"infer", "--ckpt", "m", "--show-attn", "svg"}, "--show-attn: expected ascii, ansi or none, got 'svg'"},
        {{"infer", "--ckpt", "m", "--head", "-1"}, "--head: expected a head number >= 0 (0-based) or avg, got '-1'"},
        {{"infer", "--ckpt", "m", "--alpha", "nan"}, "--alpha: expected a number in [0, 10], got 'nan'"},
        {{"infer", "--ckpt", "m", "--score", "a", "--eval", "b"}, "--score and --eval cannot be used together"},
        {{"infer", "--ckpt", "m", "--nbest", "2"}, "--nbest 2 needs --beam K with K >= 2"},
        {{"infer", "--ckpt", "m", "--score", "f", "x"},
         "texts and --input cannot be combined with --score, --score-ids or --eval"},
        {{"infer", "--ckpt", "m", "--eval", "f", "--png", "x.png"},
         "--show-attn, --ppm and --png apply to translation only"},
        {{"infer", "--ckpt", "m", "--metric", "rouge"}, "--metric and --hyp-out apply to --eval only"},
        {{"infer", "--ckpt", "m", "--bogus"}, "unknown option '--bogus' (see --help)"},
        {{"infer", "--ckpt"}, "--ckpt needs a value (see --help)"},
        {{"infer", "--ckpt", "m", "--verbose=1"}, "--verbose takes no value"},
        {{"infer", "--ckpt", "m", "--input", "f", "text"}, "give texts as arguments or --input FILE, not both"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int argc = 0;
        while (argc < 8 && cases[i].argv[argc])
            argc++;
        ak_infer_opts o;
        ak_err err = {{0}};
        cr_expect_eq(ak_infer_parse(argc, (char **)cases[i].argv, &o, &err), -1, "case %zu", i);
        cr_expect_str_eq(err.msg, cases[i].msg, "case %zu", i);
        ak_infer_opts_free(&o);
    }
}

Test(infer_cli, attnview_options_and_their_errors)
{
    ak_attnview_opts o;
    ak_err err = {{0}};
    const char *ok[] = {"attnview", "runs/a", "--probe", "2",       "--kind", "dec-self", "--mode",
                        "greedy",   "--head", "all",     "--epoch", "3-7",    "--png",    "s.png"};
    cr_assert_eq(ak_attnview_parse(14, (char **)ok, &o, &err), 0, "%s", err.msg);
    cr_expect(o.probe == 2 && o.role == AK_ROLE_DEC_SELF && o.mode == AK_ATTN_GREEDY && o.head == AK_HEAD_ALL);
    cr_expect_str_eq(o.epoch, "3-7");
    cr_expect_str_eq(o.run, "runs/a");
    static const struct {
        const char *argv[6];
        const char *msg;
    } cases[] = {
        {{"attnview"}, "RUN_DIR is required (see --help)"},
        {{"attnview", "a", "b"}, "one RUN_DIR expected, got 'a' and 'b' (use --compare RUN2)"},
        {{"attnview", "a", "--kind", "self"}, "--kind: expected cross, enc-self or dec-self, got 'self'"},
        {{"attnview", "a", "--head", "x"}, "--head: expected a head number (0-based), avg or all, got 'x'"},
        {{"attnview", "a", "--stats", "--png", "x.png"}, "--png and --ppm draw maps, not --stats"},
        {{"attnview", "a", "--stat", "aer"}, "--stat applies to --stats only"},
        {{"attnview", "a", "--compare", "b", "--head", "all"},
         "--compare shows one map per run: give --head H or avg, not all"},
        {{"attnview", "a", "--stats", "--stat", "bleu"},
         "--stat: expected entropy, max_weight, diagonality, js_div or aer, got 'bleu'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int argc = 0;
        while (argc < 6 && cases[i].argv[argc])
            argc++;
        cr_expect_eq(ak_attnview_parse(argc, (char **)cases[i].argv, &o, &err), -1, "case %zu", i);
        cr_expect_str_eq(err.msg, cases[i].msg, "case %zu", i);
    }
}

Test(infer_cli, indexed_image_paths)
{
    char buf[64];
    cr_assert_eq(ak_indexed_path("out.png", 3, buf, sizeof buf), 0);
    cr_expect_str_eq(buf, "out-3.png");
    cr_assert_eq(ak_indexed_path("dir.v2/map", 12, buf, sizeof buf), 0);
    cr_expect_str_eq(buf, "dir.v2/map-12");
    cr_assert_eq(ak_indexed_path("a/.hidden", 1, buf, sizeof buf), 0);
    cr_expect_str_eq(buf, "a/.hidden-1");
    cr_assert_eq(ak_indexed_path("x.tar.ppm", 2, buf, sizeof buf), 0);
    cr_expect_str_eq(buf, "x.tar-2.ppm");
    cr_expect_eq(ak_indexed_path("a-very-long-name.png", 1, buf, 8), -1);
}

/* --------------------------------------------------------- a tiny checkpoint */

static const char *tmpdir(void)
{
    static char dir[128];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/ak_infer_test_%d", (int)getpid());
        mkdir(dir, 0755);
    }
    return dir;
}

/* Removes the test's directory (each test runs in its own process). */
static void cleanup(void)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir());
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir());
}

static const char *tmpfile_path(const char *name)
{
    static char buf[64][256]; /* callers keep a few paths at a time */
    static int k;
    k = (k + 1) % 64;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir(), name);
    return buf[k];
}

/* A transformer (d 8, 2 heads, 2 + 2 layers, max_len 12) or an RNN, with
 * word tokenizers trained on a few sentences, saved with run/config. */
static const char *make_ckpt(char *path, const char *name, ak_model_kind kind, const char *run_config)
{
    static const char *src[] = {"the cat sat on the mat", "a dog ran", "the dog sat", "a cat ran on the mat"};
    static const char *tgt[] = {"die Katze saß auf der Matte", "ein Hund lief", "der Hund saß",
                                "eine Katze lief auf der Matte"};
    ak_err err = {{0}};
    ak_tokenizer *ts, *tt;
    cr_assert_eq(ak_tokenizer_train(AK_TOK_WORD, src, 4, 100, 1, &ts, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_tokenizer_train(AK_TOK_WORD, tgt, 4, 100, 1, &tt, &err), 0, "%s", err.msg);
    int64_t vs = (int64_t)ak_vocab_size(ak_tokenizer_vocab(ts)), vt = (int64_t)ak_vocab_size(ak_tokenizer_vocab(tt));
    ak_model_desc d =
        kind == AK_MODEL_TRANSFORMER ? th_tiny_transformer() : th_tiny_rnn(AK_CELL_GRU, AK_ATTN_ADDITIVE, 0, 1);
    d.src_vocab = vs;
    d.tgt_vocab = vt;
    d.max_len = 12;
    ak_model *m = th_model(d, 3);
    snprintf(path, 256, "%s", tmpfile_path(name));
    ak_container_writer *w = ak_ckpt_begin(path, m, NULL, &err);
    cr_assert_not_null(w, "%s", err.msg);
    cr_assert_eq(ak_ckpt_put_tokenizer(w, "src", ts, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_ckpt_put_tokenizer(w, "tgt", tt, &err), 0, "%s", err.msg);
    if (run_config)
        cr_assert_eq(ak_container_put_str(w, "run/config", run_config, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_ckpt_commit(w, &err), 0, "%s", err.msg);
    ak_tokenizer_free(ts);
    ak_tokenizer_free(tt);
    ak_model_free(m);
    return path;
}

Test(infer_cli, translator_encodes_decodes_and_refuses_bad_inputs, .fini = cleanup)
{
    char path_buf[256];
    const char *path = make_ckpt(path_buf, "t.ckpt", AK_MODEL_TRANSFORMER, "[data]\nlowercase = true\nmax_len = 7\n");
    ak_translator t;
    ak_err err = {{0}};
    cr_assert_eq(ak_translator_open(&t, path, &err), 0, "%s", err.msg);
    cr_expect(t.has_run_cfg, "%s", t.cfg_note);
    cr_expect_eq(ak_translator_default_max_len(&t), 7, "the run's max_len caps decoding");
    cr_expect_str_eq(ak_translator_metric_hint(&t), "bleu");
    ak_ids a = {0}, b = {0};
    cr_assert_eq(ak_translator_encode(&t, "THE Cat sat", &a, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_translator_encode(&t, "the cat sat", &b, &err), 0, "%s", err.msg);
    cr_expect(a.n == 3 && !memcmp(a.v, b.v, 3 * sizeof(int32_t)), "inputs are lower-cased as the run was");
    cr_expect_eq(ak_translator_encode(&t, "  ", &a, &err), -1);
    cr_expect_str_eq(err.msg, "empty input");
    cr_expect_eq(ak_translator_encode(&t, "the cat sat on the mat the cat sat on the mat x", &a, &err), -1);
    cr_expect_str_eq(err.msg, "input of 13 tokens, the model takes at most 12");
    cr_expect_eq(ak_translator_encode(&t, "bad \xff utf8", &a, &err), -1);

    ak_ids srcs[2] = {b, {0}};
    cr_assert_eq(ak_translator_encode(&t, "a dog ran on the mat", &srcs[1], &err), 0, "%s", err.msg);
    ak_hyps g[2], k[2];
    ak_search_cfg greedy = {0}, beam = {.beam = 3, .nbest = 2, .alpha = 0.6};
    cr_assert_eq(ak_translator_decode(&t, srcs, 2, &greedy, g, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_translator_decode(&t, srcs, 2, &beam, k, &err), 0, "%s", err.msg);
    for (int i = 0; i < 2; i++) {
        cr_assert(g[i].n == 1 && k[i].n == 2);
        cr_expect_leq(g[i].v[0].n, 7);
        char *s = ak_translator_detok(&t, &g[i].v[0], 0, &err);
        cr_assert_not_null(s, "%s", err.msg);
        cr_expect_null(strchr(s, '\n'));
        free(s);
        cr_expect_geq(k[i].v[0].score, k[i].v[1].score);
        /* rescoring a beam hypothesis by teacher forcing gives its search log-probability */
        ak_hyp copy = k[i].v[0];
        cr_assert_eq(ak_translator_logprob(&t, &srcs[i], &copy, &err), 0, "%s", err.msg);
        cr_expect(fabs(copy.logprob - k[i].v[0].logprob) < 1e-4, "%.7f vs %.7f", copy.logprob, k[i].v[0].logprob);
        ak_hyps_free(&g[i]);
        ak_hyps_free(&k[i]);
    }
    ak_search_cfg bad = {.beam = 2, .nbest = 3};
    cr_expect_eq(ak_translator_decode(&t, srcs, 2, &bad, g, &err), -1);
    cr_expect_str_eq(err.msg, "--nbest 3: must be in [1, beam size 2]");
    bad = (ak_search_cfg){.max_len = 13};
    cr_expect_eq(ak_translator_decode(&t, srcs, 2, &bad, g, &err), -1);
    cr_expect_str_eq(err.msg, "--max-len 13: must be in [1, 12] (the model's max_len)");
    ak_ids_free(&a);
    ak_ids_free(&srcs[0]);
    ak_ids_free(&srcs[1]);
    ak_translator_close(&t);
}

/* The teacher-forced forward that infer uses to show attention gives the
 * rows step-by-step decoding computed (the decoder is causal). */
Test(infer_cli, output_attention_equals_what_decoding_saw, .fini = cleanup)
{
    for (int kind = 0; kind < 2; kind++) {
        char path_buf[256];
        const char *path =
            make_ckpt(path_buf, kind ? "r.ckpt" : "t2.ckpt", kind ? AK_MODEL_RNN : AK_MODEL_TRANSFORMER, NULL);
        ak_translator t;
        ak_err err = {{0}};
        cr_assert_eq(ak_translator_open(&t, path, &err), 0, "%s", err.msg);
        ak_ids src = {0};
        cr_assert_eq(ak_translator_encode(&t, "the dog sat on the mat", &src, &err), 0, "%s", err.msg);
        ak_attn_capture cap;
        ak_capture_init(&cap);
        int32_t out[12], len;
        int64_t max_len = 9;
        cr_assert_eq(ak_greedy_batch(&t.ctx, t.model, src.v, 1, (int64_t)src.n, max_len, out, &len, &cap, &err), 0,
                     "%s", err.msg);
        ak_hyp h = {.ids = out, .n = len, .finished = len < max_len};
        int layers, heads;
        ak_model_attn_layout(ak_model_get_desc(t.model), AK_ROLE_CROSS, &layers, &heads);
        const ak_attn_map *m = ak_capture_find(&cap, AK_ROLE_CROSS, layers - 1);
        cr_assert_not_null(m);
        ak_attn_view v;
        cr_assert_eq(ak_translator_attention(&t, &src, &h, AK_ROLE_CROSS, -1, 0, &v, &err), 0, "%s", err.msg);
        cr_assert_eq(v.rows, len + h.finished);
        cr_assert_eq(v.cols, (int)src.n);
        cr_assert_geq(m->lq, v.rows);
        for (int q = 0; q < v.rows; q++)
            for (int j = 0; j < v.cols; j++)
                cr_expect(fabsf(v.w[q * v.cols + j] - ak_attn_map_row(m, 0, 0, q)[j]) < 1e-5, "row %d col %d", q, j);
        cr_expect_str_eq(v.col_labels.v[0], "the");
        cr_expect_str_eq(v.row_labels.v[v.rows - 1], h.finished ? "</s>" : v.row_labels.v[v.rows - 1]);
        ak_attn_view_free(&v);
        /* layer and head checks name the allowed range */
        cr_expect_eq(ak_translator_attention(&t, &src, &h, AK_ROLE_CROSS, layers, -1, &v, &err), -1);
        char want[128];
        snprintf(want, sizeof want, "--layer %d out of range: the model has %d cross attention layer%s (0..%d)", layers,
                 layers, layers == 1 ? "" : "s", layers - 1);
        cr_expect_str_eq(err.msg, want);
        cr_expect_eq(ak_translator_attention(&t, &src, &h, AK_ROLE_CROSS, 0, heads, &v, &err), -1);
        cr_expect(strstr(err.msg, "--head") != NULL, "%s", err.msg);
        if (kind) {
            cr_expect_eq(ak_translator_attention(&t, &src, &h, AK_ROLE_ENC_SELF, 0, -1, &v, &err), -1);
            cr_expect_str_eq(err.msg, "this RNN model has no enc-self attention (only cross)");
        }
        ak_capture_free(&cap);
        ak_ids_free(&src);
        ak_translator_close(&t);
    }
}

Test(infer_cli, corrupt_and_missing_checkpoints_fail_with_a_message, .fini = cleanup)
{
    char path_buf[256];
    const char *path = make_ckpt(path_buf, "c.ckpt", AK_MODEL_TRANSFORMER, NULL);
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    fseek(f, 100, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 100, SEEK_SET);
    fputc(ch ^ 0x10, f);
    fclose(f);
    ak_translator t;
    ak_err err = {{0}};
    cr_expect_eq(ak_translator_open(&t, path, &err), -1);
    cr_expect(strstr(err.msg, "corrupted") != NULL, "%s", err.msg);
    cr_expect_eq(ak_translator_open(&t, tmpfile_path("none.ckpt"), &err), -1);
    cr_expect(strstr(err.msg, "none.ckpt") != NULL, "%s", err.msg);
}

/* ---------------------------------------------------------- the programs */

/* Runs a shell command; stdout and stderr go to files read back into
 * out/err_text (malloc'd). Returns the exit status. */
static int run(const char *cmd, char **out, char **errtxt)
{
    char full[4096];
    const char *o = tmpfile_path("stdout"), *e = tmpfile_path("stderr");
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

static void need_program(const char *p)
{
    if (access(p, X_OK) != 0)
        cr_skip_test("%s not built (run make first)", p);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* Independent PNG check with zlib: signature, every chunk's CRC, IHDR,
 * the IDAT stream inflating to exactly h * (1 + 3w) bytes with valid
 * filter types, IEND last. */
static void check_png(const char *path, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s missing", path);
    static unsigned char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert(n > 8 && !memcmp(buf, "\x89PNG\r\n\x1a\n", 8), "%s: no PNG signature", path);
    unsigned char *idat = malloc(n);
    size_t ni = 0, pos = 8;
    int seen_end = 0;
    while (pos + 12 <= n && !seen_end) {
        uint32_t len = be32(buf + pos);
        cr_assert(pos + 12 + len <= n);
        const unsigned char *type = buf + pos + 4, *data = type + 4;
        uint32_t crc = (uint32_t)crc32(0L, type, len + 4);
        cr_expect_eq(crc, be32(data + len), "%s: CRC of chunk %.4s", path, type);
        if (!memcmp(type, "IHDR", 4)) {
            *w = (int)be32(data);
            *h = (int)be32(data + 4);
            cr_expect(data[8] == 8 && data[9] == 2, "8-bit RGB");
        } else if (!memcmp(type, "IDAT", 4)) {
            memcpy(idat + ni, data, len);
            ni += len;
        } else if (!memcmp(type, "IEND", 4)) {
            seen_end = 1;
        }
        pos += 12 + len;
    }
    cr_expect(seen_end && pos == n, "%s: IEND last", path);
    uLongf raw_n = (uLongf)(*h) * (1 + 3 * (uLongf)(*w));
    unsigned char *raw = malloc(raw_n + 1);
    uLongf got = raw_n + 1;
    cr_expect_eq(uncompress(raw, &got, idat, ni), Z_OK, "%s: IDAT inflates", path);
    cr_expect_eq(got, raw_n);
    for (int y = 0; y < *h && got == raw_n; y++)
        cr_expect_leq(raw[(size_t)y * (1 + 3 * (size_t)*w)], 4, "filter type of row %d", y);
    free(raw);
    free(idat);
}

Test(infer_cli, infer_end_to_end_texts_images_scores, .fini = cleanup)
{
    need_program("bin/infer");
    char ck_buf[256];
    const char *ck = make_ckpt(ck_buf, "e.ckpt", AK_MODEL_TRANSFORMER, "[data]\nmax_len = 8\nmetric = bleu\n");
    char cmd[2048], *out, *err;
    /* two texts: two lines, an ASCII map under each, indexed images */
    snprintf(cmd, sizeof cmd,
             "bin/infer --ckpt %s --show-attn ascii --width 80 --png %s --ppm %s 'the cat sat' 'a dog ran on the mat'",
             ck, tmpfile_path("m.png"), tmpfile_path("m.ppm"));
    cr_assert_eq(run(cmd, &out, &err), 0, "stderr: %s", err);
    cr_expect(strstr(out, "cross L1 avg of 2 heads") != NULL, "%s", out);
    cr_expect(strstr(out, "legend: ' ' [0.00,0.10)") != NULL, "%s", out);
    cr_expect_eq(count_lines(out) > 2 * 6, 1, "%s", out);
    for (int i = 1; i <= 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "m-%d.png", i);
        int w = 0, h = 0;
        check_png(tmpfile_path(name), &w, &h);
        cr_expect(w > 16 && h > 16 && w < 2000 && h < 2000, "%d x %d", w, h);
        snprintf(name, sizeof name, "m-%d.ppm", i);
        FILE *f = fopen(tmpfile_path(name), "rb");
        cr_assert_not_null(f, "%s", name);
        int pw, ph, mx;
        cr_expect_eq(fscanf(f, "P6 %d %d %d", &pw, &ph, &mx), 3);
        cr_expect(pw == w && ph == h && mx == 255, "PPM %d x %d, PNG %d x %d", pw, ph, w, h);
        fclose(f);
    }
    free(out);
    free(err);

    /* batch mode from a file: one line per input, bad lines skipped with a warning, exit 0 */
    const char *in = tmpfile_path("in.txt");
    FILE *f = fopen(in, "w");
    fputs("the cat sat\n\nthe cat sat on the mat the cat sat on the mat x\nbad \xff\na dog\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "bin/infer --ckpt %s --input %s --beam 3 --nbest 2 --scores", ck, in);
    cr_assert_eq(run(cmd, &out, &err), 0, "stderr: %s", err);
    cr_expect_eq(count_lines(out), 5 * 2, "%s", out);
    cr_expect(strstr(err, "warning: input 2 skipped: empty input") != NULL, "%s", err);
    cr_expect(strstr(err, "warning: input 3 skipped: input of 13 tokens, the model takes at most 12") != NULL, "%s",
              err);
    cr_expect(strstr(err, "warning: input 4 skipped:") != NULL, "%s", err);
    double s1, s2;
    cr_expect_eq(sscanf(out, "%lf\t", &s1), 1, "%s", out);
    cr_expect_eq(sscanf(strchr(out, '\n') + 1, "%lf\t", &s2), 1);
    cr_expect_geq(s1, s2, "n-best in score order");
    free(out);
    free(err);

    /* arguments: a bad one is an error (exit 2, one line) */
    snprintf(cmd, sizeof cmd, "bin/infer --ckpt %s 'the cat' ''", ck);
    cr_expect_eq(run(cmd, &out, &err), 2);
    cr_expect_str_eq(err, "infer: input 2: empty input\n");
    cr_expect_str_eq(out, "");
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "bin/infer --ckpt %s --show-attn ascii --layer 2 'the cat'", ck);
    cr_expect_eq(run(cmd, &out, &err), 2);
    cr_expect_str_eq(err, "infer: --layer 2 out of range: the model has 2 cross attention layers (0..1)\n");
    free(out);
    free(err);
    /* without a map asked for, an impossible --layer or --head is still refused */
    snprintf(cmd, sizeof cmd, "bin/infer --ckpt %s --layer 2 'the cat'", ck);
    cr_expect_eq(run(cmd, &out, &err), 2);
    cr_expect_str_eq(err, "infer: --layer 2 out of range: the model has 2 cross attention layers (0..1)\n");
    cr_expect_str_eq(out, "");
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "bin/infer --ckpt %s --head 2 'the cat'", ck);
    cr_expect_eq(run(cmd, &out, &err), 2);
    cr_expect(strstr(err, "--head 2 out of range") != NULL, "%s", err);
    free(out);
    free(err);
    cr_expect_eq(run("bin/infer --help", &out, &err), 0);
    cr_expect(strstr(out, "usage: infer --ckpt PATH") != NULL);
    free(out);
    free(err);
}

Test(infer_cli, infer_scores_ids_and_evaluates, .fini = cleanup)
{
    need_program("bin/infer");
    char ck_buf[256];
    const char *ck = make_ckpt(ck_buf, "s.ckpt", AK_MODEL_RNN, NULL);
    const char *ids = tmpfile_path("ids.txt");
    FILE *f = fopen(ids, "w");
    fputs("4 5 6\t4 5\n7\t6 6 6\n", f);
    fclose(f);
    char cmd[2048], *out, *err;
    snprintf(cmd, sizeof cmd, "bin/infer --ckpt %s --score-ids %s --verbose", ck, ids);
    cr_assert_eq(run(cmd, &out, &err), 0, "stderr: %s", err);
    double mean;
    long long toks;
    const char *last = strstr(out, "mean_nll_per_token=");
    cr_assert_not_null(last, "%s", out);
    cr_assert_eq(sscanf(last, "mean_nll_per_token=%lf pairs=2 tokens=%lld", &mean, &toks), 2, "%s", out);
    cr_expect_eq(toks, 3 + 4);
    cr_expect(strstr(out, "pair=1 tokens=3 nll=") != NULL, "%s", out);
    /* the same number in process */
    ak_translator t;
    ak_err e = {{0}};
    cr_assert_eq(ak_translator_open(&t, ck, &e), 0, "%s", e.msg);
    ak_idcorpus c = AK_IDCORPUS_INIT;
    const ak_model_desc *d = ak_model_get_desc(t.model);
    cr_assert_eq(ak_idcorpus_read(&c, ids, (int32_t)d->src_vocab, (int32_t)d->tgt_vocab, &e), 0, "%s", e.msg);
    double total;
    int64_t n;
    cr_assert_eq(ak_score_pairs(&t.ctx, t.model, &c, NULL, 0, 0, NULL, NULL, &total, &n, &e), 0, "%s", e.msg);
    cr_expect(fabs(total / (double)n - mean) < 2e-6, "%.7f vs %.7f", total / (double)n, mean);
    ak_idcorpus_free(&c);
    ak_translator_close(&t);
    free(out);
    free(err);

    /* --eval prints a BLEU line (no run config: a note, BLEU) */
    const char *tsv = tmpfile_path("test.tsv");
    f = fopen(tsv, "w");
    fputs("the cat sat\tdie Katze saß\na dog ran\tein Hund lief\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "bin/infer --ckpt %s --eval %s --hyp-out %s", ck, tsv, tmpfile_path("hyp.txt"));
    cr_assert_eq(run(cmd, &out, &err), 0, "stderr: %s", err);
    cr_expect(!strncmp(out, "BLEU = ", 7), "%s", out);
    cr_expect(strstr(err, "does not say which metric") != NULL, "%s", err);
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "bin/infer --ckpt %s --eval %s --metric rouge", ck, tsv);
    cr_assert_eq(run(cmd, &out, &err), 0, "stderr: %s", err);
    cr_expect(!strncmp(out, "ROUGE-1 = ", 10), "%s", out);
    free(out);
    free(err);

    /* a corrupt id file and a corrupt checkpoint: exit 2, one line */
    f = fopen(ids, "w");
    fputs("4 x\t4\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "bin/infer --ckpt %s --score-ids %s", ck, ids);
    cr_expect_eq(run(cmd, &out, &err), 2);
    cr_expect(!strncmp(err, "infer: ", 7) && count_lines(err) == 1, "%s", err);
    free(out);
    free(err);
    f = fopen(ck, "r+b");
    fseek(f, 60, SEEK_SET);
    fputc(0x55, f);
    fputc(0xAA, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "bin/infer --ckpt %s 'the cat'", ck);
    cr_expect_eq(run(cmd, &out, &err), 2);
    cr_expect(strstr(err, "corrupted") != NULL && count_lines(err) == 1, "%s", err);
    free(out);
    free(err);
}
