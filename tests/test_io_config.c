/* Config parser: values land in the typed struct, every error kind gives
 * its one-line message, --set overrides are validated alike, and the dump
 * parses back to the same values. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/config.h"

typedef struct {
    char train[AK_CFG_STR_MAX];
    int tok;
    int64_t epochs, batch_tokens;
    double lr, dropout;
    bool shuffle;
    char name[AK_CFG_STR_MAX];
} cfg_t;

static const char *const toks[] = {"word", "bpe", NULL};

static const ak_cfg_key keys[] = {
    {.section = "data", .key = "train", .type = AK_CFG_PATH, .offset = offsetof(cfg_t, train),
     .def = "data/eng-deu.tsv", .doc = "Training pairs (TSV, plain or gzip)."},
    {.section = "data", .key = "tok", .type = AK_CFG_ENUM, .offset = offsetof(cfg_t, tok), .choices = toks,
     .def = "word", .doc = "Tokenizer: words | BPE."},
    {.section = "train", .key = "epochs", .type = AK_CFG_INT, .offset = offsetof(cfg_t, epochs), .imin = 1,
     .imax = 1000000, .def = "20", .doc = "Passes over the training data."},
    {.section = "train", .key = "batch_tokens", .type = AK_CFG_INT, .offset = offsetof(cfg_t, batch_tokens),
     .imin = 1, .imax = 1 << 20, .def = "4096", .doc = "Token budget per batch."},
    {.section = "train", .key = "lr", .type = AK_CFG_FLOAT, .offset = offsetof(cfg_t, lr), .fmin = 0, .fmax = 1,
     .def = "1e-3", .doc = "Peak learning rate."},
    {.section = "train", .key = "shuffle", .type = AK_CFG_BOOL, .offset = offsetof(cfg_t, shuffle),
     .def = "true", .doc = "Shuffle batches every epoch."},
    {.section = "model", .key = "dropout", .type = AK_CFG_FLOAT, .offset = offsetof(cfg_t, dropout), .fmin = 0,
     .fmax = 1, .def = "0.1", .doc = "Dropout probability."},
    {.section = "run", .key = "name", .type = AK_CFG_STRING, .offset = offsetof(cfg_t, name), .def = "",
     .doc = "Run name (empty: derived from the data)."},
};
static const ak_cfg_schema schema = {keys, sizeof keys / sizeof keys[0]};

static cfg_t defaults(void)
{
    cfg_t c;
    memset(&c, 0xAB, sizeof c);
    ak_err err = {{0}};
    cr_assert_eq(ak_cfg_defaults(&schema, &c, &err), 0, "%s", err.msg);
    return c;
}

Test(io_config, defaults_fill_every_field)
{
    cfg_t c = defaults();
    cr_expect_str_eq(c.train, "data/eng-deu.tsv");
    cr_expect_eq(c.tok, 0);
    cr_expect_eq(c.epochs, 20);
    cr_expect_eq(c.batch_tokens, 4096);
    cr_expect_eq(c.lr, 1e-3);
    cr_expect(c.shuffle);
    cr_expect_eq(c.dropout, 0.1);
    cr_expect_str_eq(c.name, "");
}

Test(io_config, file_syntax_sections_comments_whitespace_crlf)
{
    static const char text[] = "# a full-line comment\n"
                               "\n"
                               "  [ train ]   # trailing comment on a header\r\n"
                               "epochs=7\n"
                               "  lr   =   0.5   # peak\n"
                               "shuffle = OFF\n"
                               "[data]\n"
                               "tok = bpe\r\n"
                               "train = runs/a#b.tsv\n"
                               "   # indented comment\n"
                               "[run]\n"
                               "name =   # a comment, so the value is empty\n";
    cfg_t c = defaults();
    strcpy(c.name, "x");
    ak_err err = {{0}};
    cr_assert_eq(ak_cfg_parse_text(&schema, "t.ini", text, &c, &err), 0, "%s", err.msg);
    cr_expect_eq(c.epochs, 7);
    cr_expect_eq(c.lr, 0.5);
    cr_expect(!c.shuffle);
    cr_expect_eq(c.tok, 1);
    cr_expect_str_eq(c.train, "runs/a#b.tsv", "a '#' inside a word is part of the value");
    cr_expect_str_eq(c.name, "");
    cr_expect_eq(c.batch_tokens, 4096, "untouched keys keep their defaults");
}

/* `text` fails with exactly `msg` (after "t.ini:"). */
static void expect_error(const char *text, const char *msg)
{
    cfg_t c = defaults();
    ak_err err = {{0}};
    char want[AK_ERR_MSG_MAX];
    snprintf(want, sizeof want, "t.ini:%s", msg);
    cr_expect_eq(ak_cfg_parse_text(&schema, "t.ini", text, &c, &err), -1, "%s", text);
    cr_expect_str_eq(err.msg, want);
}

Test(io_config, bad_values_name_what_is_allowed)
{
    expect_error("[train]\nepochs = abc\n",
                 "2: key 'epochs' in [train]: expected an integer in [1, 1000000], got 'abc'");
    expect_error("[train]\n\nepochs = 0\n", "3: key 'epochs' in [train]: expected an integer in [1, 1000000], got '0'");
    expect_error("[train]\nepochs = 99999999999999999999\n",
                 "2: key 'epochs' in [train]: expected an integer in [1, 1000000], got '99999999999999999999'");
    expect_error("[train]\nepochs = 3.5\n", "2: key 'epochs' in [train]: expected an integer in [1, 1000000], got '3.5'");
    expect_error("[train]\nlr = 2\n", "2: key 'lr' in [train]: expected a number in [0, 1], got '2'");
    expect_error("[train]\nlr = nan\n", "2: key 'lr' in [train]: expected a number in [0, 1], got 'nan'");
    expect_error("[train]\nlr =\n", "2: key 'lr' in [train]: expected a number in [0, 1], got ''");
    expect_error("[train]\nshuffle = maybe\n",
                 "2: key 'shuffle' in [train]: expected a boolean (true/false, yes/no, on/off, 1/0), got 'maybe'");
    expect_error("[data]\ntok = BPE\n", "2: key 'tok' in [data]: expected one of {word, bpe}, got 'BPE'");
    expect_error("[run]\nname = a\tb\n",
                 "2: key 'name' in [run]: expected text of at most 511 bytes without control characters or "
                 "comments, got a control character (0x09) at byte 2");
}

Test(io_config, unknown_names_suggest_the_closest)
{
    expect_error("[train]\nepoch = 3\n",
                 "2: unknown key 'epoch' in [train]: expected one of epochs, batch_tokens, lr, shuffle; did you mean 'epochs'?");
    expect_error("[train]\nbach_tokens = 3\n",
                 "2: unknown key 'bach_tokens' in [train]: expected one of epochs, batch_tokens, lr, shuffle; did you mean 'batch_tokens'?");
    expect_error("[train]\ndropout = 0.2\n",
                 "2: unknown key 'dropout' in [train]: expected one of epochs, batch_tokens, lr, shuffle; 'dropout' belongs in [model]");
    expect_error("[train]\nwarmup = 3\n",
                 "2: unknown key 'warmup' in [train]: expected one of epochs, batch_tokens, lr, shuffle");
    expect_error("[trian]\n", "1: unknown section [trian]: expected one of [data], [train], [model], [run]; did you mean [train]?");
    expect_error("[optimizer]\n", "1: unknown section [optimizer]: expected one of [data], [train], [model], [run]");
}

Test(io_config, structural_errors)
{
    expect_error("[train]\nepochs = 3\nlr = 0.1\nepochs = 4\n", "4: duplicate key 'epochs' in [train]: first set on line 2");
    expect_error("epochs = 3\n", "1: key 'epochs' outside any section: expected a [section] line before it");
    expect_error("[train]\nepochs 3\n", "2: expected '[section]', 'key = value' or a comment, got 'epochs 3'");
    expect_error("[train\n", "1: expected a section header '[name]', got '[train'");
    expect_error("[train]\n = 3\n", "2: expected a key name before '=', got nothing");
}

Test(io_config, missing_file_and_file_round_trip)
{
    cfg_t c = defaults();
    ak_err err = {{0}};
    cr_expect_eq(ak_cfg_parse_file(&schema, "/nonexistent/run.ini", &c, &err), -1);
    cr_expect_str_eq(err.msg, "/nonexistent/run.ini: cannot open: No such file or directory");
    char path[] = "/tmp/ak_cfg_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char text[] = "[model]\ndropout = 0.25\n";
    cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    cr_assert_eq(ak_cfg_parse_file(&schema, path, &c, &err), 0, "%s", err.msg);
    cr_expect_eq(c.dropout, 0.25);
    unlink(path);
}

Test(io_config, overrides_are_validated_like_file_lines)
{
    cfg_t c = defaults();
    ak_err err = {{0}};
    cr_assert_eq(ak_cfg_set(&schema, "train.epochs=5", &c, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_cfg_set(&schema, " data.tok = bpe ", &c, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_cfg_set(&schema, "run.name=a=b", &c, &err), 0, "%s", err.msg);
    cr_expect_eq(c.epochs, 5);
    cr_expect_eq(c.tok, 1);
    cr_expect_str_eq(c.name, "a=b", "only the first '=' splits");
    static const struct {
        const char *set, *msg;
    } bad[] = {
        {"train.epochs=abc", "--set train.epochs=abc: key 'epochs' in [train]: expected an integer in [1, 1000000], got 'abc'"},
        {"train.epoch=3", "--set train.epoch=3: unknown key 'epoch' in [train]: expected one of epochs, batch_tokens, lr, shuffle; did you mean 'epochs'?"},
        {"trian.epochs=3", "--set trian.epochs=3: unknown section [trian]: expected one of [data], [train], [model], [run]; did you mean [train]?"},
        {"epochs=3", "--set epochs=3: expected section.key=value"},
        {"train.epochs", "--set train.epochs: expected section.key=value"},
        {"run.name=a #b", "--set run.name=a #b: key 'name' in [run]: expected text of at most 511 bytes without control "
                          "characters or comments, got a '#' that would start a comment in a config file, at byte 3"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(ak_cfg_set(&schema, bad[i].set, &c, &err), -1, "%s", bad[i].set);
        cr_expect_str_eq(err.msg, bad[i].msg);
    }
    cr_expect_eq(c.epochs, 5, "a failed override changes nothing");
}

Test(io_config, load_applies_defaults_then_file_then_overrides_in_order)
{
    char path[] = "/tmp/ak_cfg_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char text[] = "[train]\nepochs = 3\nlr = 0.5\n";
    cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    const char *sets[] = {"train.epochs=4", "train.epochs=9"};
    cfg_t c;
    ak_err err = {{0}};
    cr_assert_eq(ak_cfg_load(&schema, path, sets, 2, &c, &err), 0, "%s", err.msg);
    cr_expect_eq(c.epochs, 9, "the last --set wins over the file");
    cr_expect_eq(c.lr, 0.5, "the file wins over the default");
    cr_expect_eq(c.batch_tokens, 4096);
    unlink(path);
}

static char *dump(const cfg_t *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    cr_assert_eq(ak_cfg_dump(&schema, c, f), 0);
    fclose(f);
    return text;
}

Test(io_config, dump_lists_every_key_and_parses_back_to_the_same_values)
{
    cfg_t c = defaults();
    const char *sets[] = {"train.lr=0.30000000000000004", "model.dropout=1e-9", "run.name=exp#1 (deu)",
                          "data.train=/tmp/x y.tsv", "train.shuffle=no", "data.tok=bpe"};
    ak_err err = {{0}};
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(ak_cfg_set(&schema, sets[i], &c, &err), 0, "%s", err.msg);
    char *text = dump(&c);
    cr_expect(strstr(text, "\n[train]\n# Passes over the training data. (an integer in [1, 1000000]; default 20)\n"
                           "epochs = 20\n") != NULL, "%s", text);
    cr_expect(strstr(text, "\nlr = 0.30000000000000004\n") != NULL, "%s", text);
    cr_expect(strstr(text, "\ndropout = 1e-09\n") != NULL, "%s", text);
    cfg_t back = defaults();
    cr_assert_eq(ak_cfg_parse_text(&schema, "dump.ini", text, &back, &err), 0, "%s\n%s", err.msg, text);
    cr_expect_str_eq(back.train, c.train);
    cr_expect_str_eq(back.name, c.name);
    cr_expect_eq(back.tok, c.tok);
    cr_expect_eq(back.epochs, c.epochs);
    cr_expect_eq(back.batch_tokens, c.batch_tokens);
    cr_expect_eq(back.lr, c.lr);
    cr_expect_eq(back.dropout, c.dropout);
    cr_expect_eq(back.shuffle, c.shuffle);
    char *again = dump(&back);
    cr_expect_str_eq(again, text, "dumping the re-parsed config gives the same text");
    free(text);
    free(again);
}

Test(io_config, markdown_has_a_table_per_section)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    cr_assert_eq(ak_cfg_markdown(&schema, f), 0);
    fclose(f);
    cr_expect(strncmp(text, "### [data]\n\n| key | allowed values | default | description |\n| --- | --- | --- | --- |\n"
                            "| `train` | a path of at most 511 bytes | `data/eng-deu.tsv` | Training pairs (TSV, plain or gzip). |\n"
                            "| `tok` | one of {word, bpe} | `word` | Tokenizer: words \\| BPE. |\n\n### [train]\n",
                      strlen("### [data]\n\n| key | allowed values | default | description |\n| --- | --- | --- | --- |\n"
                             "| `train` | a path of at most 511 bytes | `data/eng-deu.tsv` | Training pairs (TSV, plain or gzip). |\n"
                             "| `tok` | one of {word, bpe} | `word` | Tokenizer: words \\| BPE. |\n\n### [train]\n")) == 0,
              "%s", text);
    cr_expect(strstr(text, "| `name` | text of at most 511 bytes | (empty) | Run name (empty: derived from the data). |\n") != NULL,
              "%s", text);
    free(text);
}

/* ak_cfg_defaults on a one- or two-key schema built from keys[2] ([train]
 * epochs) with one field changed. */
static void expect_schema_error(ak_cfg_key first, size_t n, const char *msg)
{
    const ak_cfg_key two[2] = {first, keys[2]};
    const ak_cfg_schema s = {two, n};
    cfg_t c;
    ak_err err = {{0}};
    cr_expect_eq(ak_cfg_defaults(&s, &c, &err), -1, "%s", msg);
    cr_expect_str_eq(err.msg, msg);
}

Test(io_config, schema_mistakes_are_reported)
{
    ak_cfg_key k = keys[2];
    k.def = "0";
    expect_schema_error(k, 1, "schema: key 'epochs' in [train]: default expected an integer in [1, 1000000], got '0'");
    expect_schema_error(keys[2], 2, "schema: key 'epochs' in [train] is listed twice");
    k = keys[2];
    k.imin = 5;
    k.imax = 4;
    expect_schema_error(k, 1, "schema: key 'epochs' in [train]: expected imin <= imax");
    k = keys[2];
    k.key = "two words";
    expect_schema_error(k, 1, "schema: key 0: expected section and key names of letters, digits, '_' or '-', got [train] 'two words'");
    k = keys[2];
    k.doc = "two\nlines";
    expect_schema_error(k, 1, "schema: key 'epochs' in [train]: expected a default and a one-line doc string");
}
