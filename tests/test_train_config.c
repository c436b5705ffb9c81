/* The training configuration: every kind of bad input stops the trainer with
 * exit status 2 and one line naming FILE:LINE (or the --set argument), the
 * key and what is allowed; the schema documents every key; the effective
 * configuration round-trips; a resume with a different architecture is
 * refused; bin/train's own usage errors (when the program is built). */
#include <glob.h>
#include <sys/wait.h>

#include "helpers_train.h"
#include "train/train_config.h"

/* Runs the trainer on a config whose [data] points at a real tiny corpus,
 * with `extra` appended; returns the status and the message. */
static int run_with(const char *extra, const char *const *sets, size_t n_sets, char *dir, size_t dn, char *cfg,
                    size_t cn, ak_err *err)
{
    th_tmpdir(dir, dn);
    th_make_corpus(dir, 60);
    th_make_config(dir, extra, cfg, cn);
    char run[256];
    snprintf(run, sizeof run, "%s/run", dir);
    return th_train(cfg, run, NULL, 1, sets, n_sets, err);
}

/* Line number of the first line of file text containing s. */
static int line_of(const char *path, const char *s)
{
    char *t = th_read(path);
    cr_assert(t);
    const char *hit = strstr(t, s);
    cr_assert(hit, "'%s' not in %s", s, path);
    int line = 1;
    for (const char *p = t; p < hit; p++)
        line += *p == '\n';
    free(t);
    return line;
}

static void expect_prefix(const char *msg, const char *cfg, int line, const char *rest)
{
    char want[512];
    snprintf(want, sizeof want, "%s:%d: %s", cfg, line, rest);
    cr_expect(!strncmp(msg, want, strlen(want)), "expected '%s...', got '%s'", want, msg);
}

Test(train_config, unknown_key_names_file_line_and_suggests)
{
    char dir[64], cfg[256];
    ak_err err = {{0}};
    cr_assert_eq(run_with("[train]\nepoch = 3\n", NULL, 0, dir, sizeof dir, cfg, sizeof cfg, &err), AK_EXIT_USAGE);
    expect_prefix(err.msg, cfg, line_of(cfg, "epoch = 3"), "unknown key 'epoch' in [train]");
    cr_expect(strstr(err.msg, "did you mean 'epochs'"), "%s", err.msg);
}

Test(train_config, bad_value_names_file_line_and_range)
{
    char dir[64], cfg[256];
    ak_err err = {{0}};
    cr_assert_eq(run_with("[model]\ndropout = 1.5\n", NULL, 0, dir, sizeof dir, cfg, sizeof cfg, &err), AK_EXIT_USAGE);
    cr_expect(strstr(err.msg, ":"), "%s", err.msg);
    cr_expect(strstr(err.msg, "key 'dropout' in [model]") && strstr(err.msg, "[0, 0.99]") && strstr(err.msg, "1.5"),
              "%s", err.msg);
    cr_assert_eq(run_with("[train]\nclip = lots\n", NULL, 0, dir, sizeof dir, cfg, sizeof cfg, &err), AK_EXIT_USAGE);
    expect_prefix(err.msg, cfg, line_of(cfg, "clip = lots"), "key 'clip' in [train]: expected a number");
    cr_assert_eq(run_with(NULL, (const char *[]){"model.kind=lstm"}, 1, dir, sizeof dir, cfg, sizeof cfg, &err),
                 AK_EXIT_USAGE);
    cr_expect(!strncmp(err.msg, "--set model.kind=lstm: key 'kind' in [model]: expected one of {transformer, rnn}",
                       70),
              "%s", err.msg);
}

Test(train_config, missing_data_file_names_the_line_that_set_it)
{
    char dir[64], cfg[256], text[512];
    th_tmpdir(dir, sizeof dir);
    snprintf(cfg, sizeof cfg, "%s/c.ini", dir);
    snprintf(text, sizeof text, "# comment\n[train]\nepochs = 1\n\n[data]\n  train = %s/nope.tsv  # missing\n", dir);
    th_write(cfg, text);
    ak_err err = {{0}};
    cr_assert_eq(th_train(cfg, NULL, NULL, 1, NULL, 0, &err), AK_EXIT_USAGE);
    char want[512];
    snprintf(want, sizeof want, "%s:6: key 'train' in [data]: cannot open '%s/nope.tsv': No such file", cfg, dir);
    cr_expect(!strncmp(err.msg, want, strlen(want)), "expected '%s', got '%s'", want, err.msg);
    /* The same from --set names the override. */
    char set[300];
    snprintf(set, sizeof set, "attention.probes=%s/gone.tsv", dir);
    const char *sets[] = {set};
    cr_assert_eq(run_with(NULL, sets, 1, dir, sizeof dir, cfg, sizeof cfg, &err), AK_EXIT_USAGE);
    snprintf(want, sizeof want, "--set %s: key 'probes' in [attention]: cannot open", set);
    cr_expect(!strncmp(err.msg, want, strlen(want)), "expected '%s', got '%s'", want, err.msg);
    /* A missing config file. */
    snprintf(set, sizeof set, "%s/none.ini", dir);
    cr_assert_eq(th_train(set, NULL, NULL, 1, NULL, 0, &err), AK_EXIT_USAGE);
    cr_expect(strstr(err.msg, "none.ini: cannot open"), "%s", err.msg);
}

Test(train_config, keys_that_do_not_fit_together_name_the_line)
{
    char dir[64], cfg[256];
    ak_err err = {{0}};
    cr_assert_eq(run_with("[train]\nschedule = cosine\ntotal_steps = 5\n", NULL, 0, dir, sizeof dir, cfg, sizeof cfg,
                          &err),
                 AK_EXIT_USAGE);
    expect_prefix(err.msg, cfg, line_of(cfg, "total_steps = 5"),
                  "key 'total_steps' in [train]: expected more than warmup = 10, got 5");
    const char *sets[] = {"model.heads=3"};
    cr_assert_eq(run_with(NULL, sets, 1, dir, sizeof dir, cfg, sizeof cfg, &err), AK_EXIT_USAGE);
    cr_expect_str_eq(err.msg, "--set model.heads=3: key 'heads' in [model]: expected a divisor of d_model = 16, got 3");
    const char *sets2[] = {"data.max_len=20"};
    cr_assert_eq(run_with(NULL, sets2, 1, dir, sizeof dir, cfg, sizeof cfg, &err), AK_EXIT_USAGE);
    expect_prefix(err.msg, cfg, line_of(cfg, "max_positions"),
                  "key 'max_positions' in [model]: expected at least data.max_len + 2 = 22");
    const char *sets3[] = {"train.select=rouge1"};
    cr_assert_eq(run_with(NULL, sets3, 1, dir, sizeof dir, cfg, sizeof cfg, &err), AK_EXIT_USAGE);
    cr_expect(strstr(err.msg, "rouge1 needs data.metric = rouge"), "%s", err.msg);
}

Test(train_config, data_problems_are_bad_input)
{
    char dir[64], cfg[256], p[512];
    ak_err err = {{0}};
    /* More validation pairs than the corpus has. */
    const char *sets[] = {"data.valid_size=500"};
    cr_assert_eq(run_with(NULL, sets, 1, dir, sizeof dir, cfg, sizeof cfg, &err), AK_EXIT_USAGE);
    cr_expect(strstr(err.msg, "valid_size = 500") && strstr(err.msg, "60 pairs"), "%s", err.msg);
    /* A malformed line fails with its line number, or is skipped when asked. */
    th_tmpdir(dir, sizeof dir);
    th_make_corpus(dir, 60);
    snprintf(p, sizeof p, "%s/pairs.tsv", dir);
    FILE *f = fopen(p, "ab");
    fputs("one field only\n", f);
    fclose(f);
    th_make_config(dir, "enabled = false\n", cfg, sizeof cfg);
    snprintf(p, sizeof p, "%s/run", dir);
    cr_assert_eq(th_train(cfg, p, NULL, 1, NULL, 0, &err), AK_EXIT_USAGE);
    cr_expect(strstr(err.msg, "pairs.tsv:61: expected two non-empty TAB-separated fields"), "%s", err.msg);
    const char *skip[] = {"data.on_malformed=skip"};
    cr_assert_eq(th_train(cfg, p, NULL, 1, skip, 1, &err), AK_EXIT_OK, "%s", err.msg);
}

Test(train_config, resume_with_another_architecture_is_refused)
{
    char dir[64], cfg[256], run[256];
    ak_err err = {{0}};
    cr_assert_eq(run_with("enabled = false\n", NULL, 0, dir, sizeof dir, cfg, sizeof cfg, &err), AK_EXIT_OK, "%s",
                 err.msg);
    snprintf(run, sizeof run, "%s/run", dir);
    const char *sets[] = {"model.d_ff=64"};
    cr_assert_eq(th_train(cfg, NULL, run, 2, sets, 1, &err), AK_EXIT_USAGE);
    cr_expect(!strncmp(err.msg, "--set model.d_ff=64: key 'd_ff' in [model] is 64, but the checkpoint", 60), "%s",
              err.msg);
    cr_expect(strstr(err.msg, "was trained with 32"), "%s", err.msg);
    /* Keys that may change (epochs, patience, decoding) are accepted. */
    const char *ok[] = {"train.patience=3", "train.decode_batch=4"};
    cr_assert_eq(th_train(cfg, NULL, run, 2, ok, 2, &err), AK_EXIT_OK, "%s", err.msg);
    /* Neither a directory nor a checkpoint. */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/nothing", dir);
    cr_assert_eq(th_train(cfg, NULL, bad, 2, NULL, 0, &err), AK_EXIT_USAGE);
    cr_expect(strstr(err.msg, "no such checkpoint or run directory"), "%s", err.msg);
}

Test(train_config, schema_documents_every_key_and_dump_round_trips)
{
    char *md = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&md, &n);
    cr_assert_eq(ak_train_cfg_markdown(f), 0);
    fclose(f);
    for (size_t i = 0; i < ak_train_schema.n; i++) {
        char cell[128];
        snprintf(cell, sizeof cell, "| `%s` |", ak_train_schema.keys[i].key);
        cr_expect(strstr(md, cell), "key %s undocumented", ak_train_schema.keys[i].key);
    }
    cr_expect(strstr(md, "### [data]") && strstr(md, "### [model]") && strstr(md, "### [train]") &&
              strstr(md, "### [attention]"));
    free(md);

    ak_train_cfg a, b;
    ak_err err = {{0}};
    cr_assert_eq(ak_cfg_defaults(&ak_train_schema, &a, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_cfg_set(&ak_train_schema, "train.lr=0.00123", &a, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_cfg_set(&ak_train_schema, "model.kind=rnn", &a, &err), 0, "%s", err.msg);
    char *text = ak_train_cfg_dump_text(&a);
    cr_assert(text);
    cr_assert_eq(ak_train_cfg_parse_text(&b, "dump", text, &err), 0, "%s", err.msg);
    const char *section;
    cr_expect_null(ak_train_cfg_resume_diff(&a, &b, &section));
    cr_expect_eq(b.lr, 0.00123);
    cr_expect_eq(b.kind, AK_TC_KIND_RNN);
    free(text);
    /* The twin's defaults. */
    cr_expect_eq(a.batch_tokens, 4096);
    cr_expect_eq(a.vocab_size, 8000);
    cr_expect_eq(a.max_len, 40);
    cr_expect_eq(a.warmup, 400);
    cr_expect_eq(a.beta2, 0.98);
    cr_expect_eq(a.eps, 1e-9);
    cr_expect_eq(a.label_smoothing, 0.1);
    cr_expect_eq(a.clip, 1.0);
    cr_expect_eq(a.valid_size, 1000);
}

/* bin/train itself, when it has been built (make): usage errors exit 2 with
 * one line naming the argument. */
static int run_bin(const char *args, char *out, size_t n)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "./bin/train %s 2>&1", args);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t got = fread(out, 1, n - 1, p);
    out[got] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(train_config, bin_train_usage_errors_exit_2)
{
    if (access("./bin/train", X_OK) != 0)
        cr_skip_test("bin/train is not built");
    char out[4096];
    cr_expect_eq(run_bin("", out, sizeof out), 2);
    cr_expect(strstr(out, "expected a CONFIG file"), "%s", out);
    cr_expect_eq(run_bin("x.ini --threads zero", out, sizeof out), 2);
    cr_expect(strstr(out, "--threads: expected an integer in [1, 1024], got 'zero'"), "%s", out);
    cr_expect_eq(run_bin("x.ini --bogus", out, sizeof out), 2);
    cr_expect(strstr(out, "unknown option '--bogus'"), "%s", out);
    cr_expect_eq(run_bin("x.ini --set nodot", out, sizeof out), 2);
    cr_expect_eq(run_bin("/nonexistent/x.ini", out, sizeof out), 2);
    cr_expect(strstr(out, "/nonexistent/x.ini: cannot open"), "%s", out);
    cr_expect_eq(run_bin("--help", out, sizeof out), 0);
    cr_expect(strstr(out, "usage: bin/train CONFIG"), "%s", out);
}

/* Every shipped config (the .ini files in configs/, run from the repository root) loads
 * and passes the checks, its data files included. */
Test(train_config, shipped_configs_load)
{
    glob_t g;
    if (glob("configs/*.ini", 0, NULL, &g) != 0)
        cr_skip_test("no configs/ here (run from the repository root)");
    cr_expect(g.gl_pathc >= 10, "expected the 10 shipped configs, found %zu", g.gl_pathc);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        ak_train_config c;
        ak_err err = {{0}};
        cr_expect_eq(ak_train_config_load(&c, g.gl_pathv[i], NULL, 0, &err), 0, "%s", err.msg);
        ak_train_config_free(&c);
    }
    globfree(&g);
}
