/* BPE learning, segmentation and merges files (lib/text/bpe_learn.c, bpe.c).  The expected vocabulary,
 * merges, ids and detokenised strings were produced by the twin's BPEVocab, detok and detok_glue on the
 * same sentences.  (Beyond these tests, learning 8,000 symbols on each side of data/eng-deu.tsv,
 * eng-fra.tsv and arxiv-title gave the twin's exact vocabulary, merges and encodings of every line.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "text/bpe.h"
#include "text/tokenizer.h"
#include "fr40.h"

struct enc_case {
    const char *text;
    int32_t ids[32];
    size_t n;
    const char *detok, *glue;
};

/* twin: BPEVocab(word_tokenize(fr40), 120) */
static const char *const bpe_itos[] = {
    "<pad>",    "<unk>",    "<s>",        "</s>",     "e",        "e</w>",   "u",        "n",      "o",
    "i",        "s</w>",    "a",          "t",        "s",        ".</w>",   "r",        "l",      "m",
    "p",        "t</w>",    "v",          "d",        "'</w>",    "c",       "n</w>",    "b",      "i</w>",
    "l</w>",    "J",        "r</w>",      "a</w>",    "I",        "ê",       "f",        "é",      "é</w>",
    "-</w>",    "d</w>",    "?</w>",      "h",        "x</w>",    "!</w>",   ",</w>",    "C</w>",  "E",
    "N",        "T",        "V",          "j",        "q",        "à</w>",   "J</w>",    "g",      "u</w>",
    "z</w>",    "ç",        "ou",         "en",       "es",       "ai",      "ous</w>",  "Je</w>", "es</w>",
    "est</w>",  "ne</w>",   "eu",         "an",       "le</w>",   "tes</w>", "de</w>",   "on",     "ti",
    "tr",       "Il</w>",   "men",        "ment</w>", "oi",       "pa",      "vous</w>", "de",     "en</w>",
    "er</w>",   "ens",      "is</w>",     "lu",       "or",       "te</w>",  "tre</w>",  "voi",    "Vous</w>",
    "ai</w>",   "am",       "aiment</w>", "ais</w>",  "ans</w>",  "ci</w>",  "co",       "enf",    "eux</w>",
    "in",       "lle</w>",  "me</w>",     "on</w>",   "onne</w>", "our",     "pe",       "pens",   "pr",
    "pas</w>",  "qu",       "que</w>",    "su",       "suis</w>", "té</w>",  "une</w>",  "vr",     "être</w>",
    "Elle</w>", "Nous</w>", "ati",
};
static const char *const bpe_merges[][2] = {
    {"o", "u"},         {"e", "n"},       {"e", "s"},       {"a", "i"},       {"ou", "s</w>"},  {"J", "e</w>"},
    {"e", "s</w>"},     {"es", "t</w>"},  {"n", "e</w>"},   {"e", "u"},       {"a", "n"},       {"l", "e</w>"},
    {"t", "es</w>"},    {"d", "e</w>"},   {"o", "n"},       {"t", "i"},       {"t", "r"},       {"I", "l</w>"},
    {"m", "en"},        {"men", "t</w>"}, {"o", "i"},       {"p", "a"},       {"v", "ous</w>"}, {"d", "e"},
    {"e", "n</w>"},     {"e", "r</w>"},   {"en", "s"},      {"i", "s</w>"},   {"l", "u"},       {"o", "r"},
    {"t", "e</w>"},     {"tr", "e</w>"},  {"v", "oi"},      {"V", "ous</w>"}, {"a", "i</w>"},   {"a", "m"},
    {"ai", "ment</w>"}, {"ai", "s</w>"},  {"an", "s</w>"},  {"c", "i</w>"},   {"c", "o"},       {"en", "f"},
    {"eu", "x</w>"},    {"i", "n"},       {"l", "le</w>"},  {"m", "e</w>"},   {"o", "n</w>"},   {"on", "ne</w>"},
    {"ou", "r"},        {"p", "e"},       {"p", "ens"},     {"p", "r"},       {"pa", "s</w>"},  {"q", "u"},
    {"qu", "e</w>"},    {"s", "u"},       {"su", "is</w>"}, {"t", "é</w>"},   {"u", "ne</w>"},  {"v", "r"},
    {"ê", "tre</w>"},   {"E", "lle</w>"}, {"N", "ous</w>"}, {"a", "ti"},
};
static const struct enc_case bpe_cases[] = {
    {"Vous êtes-vous blessée ?",
     {89, 32, 68, 36, 78, 25, 16, 58, 13, 34, 5, 38},
     12,
     "Vous êtes- vous blessée?",
     "Vous êtes-vous blessée?"},
    {"J'ai vu Tom aujourd'hui, 3 fois !",
     {51, 22, 90, 20, 53, 46, 8, 1, 11, 6, 48, 104, 37, 22, 39, 6, 26, 42, 1, 33, 76, 10, 41},
     23,
     "J' ai vu To<unk> aujourd' hui, <unk> fois!",
     "J'ai vu To<unk> aujourd'hui, <unk> fois!"},
    {"Sors-nous de là.", {1, 85, 10, 36, 7, 60, 69, 16, 50, 14}, 10, "<unk> ors- nous de là.", "<unk> ors-nous de là."},
    {"Zébulon ŒUVRE",
     {1, 34, 25, 6, 16, 102, 1, 1, 47, 1, 1},
     11,
     "<unk> ébulon <unk> <unk> V<unk> <unk>",
     "<unk> ébulon <unk> <unk> V<unk> <unk>"},
};

static ak_tokenizer *train_bpe(size_t vocab)
{
    ak_tokenizer *t = NULL;
    ak_err err = {{0}};
    cr_assert_eq(ak_tokenizer_train(AK_TOK_BPE, fr40, sizeof fr40 / sizeof *fr40, vocab, 2, &t, &err), 0, "%s",
                 err.msg);
    return t;
}

Test(text_bpe, learns_the_twins_vocabulary_and_merges)
{
    ak_tokenizer *t = train_bpe(120);
    const ak_vocab *v = ak_tokenizer_vocab(t);
    size_t nv = sizeof bpe_itos / sizeof *bpe_itos;
    cr_assert_eq(ak_vocab_size(v), nv);
    for (size_t i = 0; i < nv; i++)
        cr_assert_str_eq(ak_vocab_token(v, (int32_t)i), bpe_itos[i], "id %zu", i);
    const ak_bpe *b = ak_tokenizer_bpe(t);
    size_t nm = sizeof bpe_merges / sizeof *bpe_merges;
    cr_assert_eq(ak_bpe_n_merges(b), nm);
    for (size_t i = 0; i < nm; i++) {
        cr_assert_str_eq(ak_bpe_merge_left(b, i), bpe_merges[i][0], "merge %zu", i);
        cr_assert_str_eq(ak_bpe_merge_right(b, i), bpe_merges[i][1], "merge %zu", i);
    }
    ak_tokenizer_free(t);
}

Test(text_bpe, encodes_and_detokenises_like_the_twin)
{
    ak_tokenizer *t = train_bpe(120);
    for (size_t i = 0; i < sizeof bpe_cases / sizeof *bpe_cases; i++) {
        const struct enc_case *c = &bpe_cases[i];
        ak_ids ids = {0};
        ak_err err = {{0}};
        cr_assert_eq(ak_tokenizer_encode(t, c->text, &ids, &err), 0, "%s", err.msg);
        cr_assert_eq(ids.n, c->n, "case %zu: %zu ids, want %zu", i, ids.n, c->n);
        cr_assert_arr_eq(ids.v, c->ids, c->n * sizeof *ids.v, "case %zu", i);
        char *plain = ak_tokenizer_detok(t, ids.v, ids.n, 0, &err);
        char *glue = ak_tokenizer_detok(t, ids.v, ids.n, 1, &err);
        cr_assert_str_eq(plain, c->detok, "case %zu", i);
        cr_assert_str_eq(glue, c->glue, "case %zu", i);
        free(plain);
        free(glue);
        ak_ids_free(&ids);
    }
    ak_tokenizer_free(t);
}

Test(text_bpe, words_rebuild_from_end_of_word_markers)
{
    ak_tokenizer *t = train_bpe(120);
    const ak_vocab *v = ak_tokenizer_vocab(t);
    /* "en" "s" then EOS: the unfinished "ens" is glued before the special, as the twin does */
    int32_t ids[] = {ak_vocab_find(v, "Il</w>", 6), ak_vocab_find(v, "en", 2), ak_vocab_find(v, "s", 1), AK_EOS,
                     ak_vocab_find(v, "ou", 2)};
    for (int i = 0; i < 5; i++)
        cr_assert_geq(ids[i], 0);
    ak_strlist w = {0};
    cr_assert_eq(ak_tokenizer_words(t, ids, 5, &w, NULL), 0);
    cr_assert_eq(w.n, 3);
    cr_assert_str_eq(w.v[0], "Il");
    cr_assert_str_eq(w.v[1], "ens</s>");
    cr_assert_str_eq(w.v[2], "ou", "an unfinished word at the end is kept");
    ak_strlist_free(&w);
    ak_tokenizer_free(t);
}

/* Segments word with b and joins the symbols with '|', marking the end of word as "</w>". */
static void expect_segments(const ak_bpe *b, const char *word, const char *want)
{
    ak_spans sp = {0};
    ak_err err = {{0}};
    cr_assert_eq(ak_bpe_segment(b, word, strlen(word), &sp, &err), 0, "%s", err.msg);
    char got[256] = {0};
    size_t at = 0;
    for (size_t k = 0; k < sp.n; k++)
        at += (size_t)snprintf(got + at, sizeof got - at, "%s%.*s%s", k ? "|" : "", (int)sp.v[k].len,
                               word + sp.v[k].off, k + 1 == sp.n ? "</w>" : "");
    cr_assert_str_eq(got, want, "word %s", word);
    ak_spans_free(&sp);
}

Test(text_bpe, a_merge_learned_twice_takes_the_twins_later_rank)
{
    /* ranks[p] = len(ranks) when p comes again: (b,c) ends with rank 3, after (a,b) = 1.
     * twin: _segment("abcd") with these ranks -> ab c d</w> (a bc d</w> with first-seen ranks). */
    const char *l1[] = {"b", "a", "q", "b"}, *r1[] = {"c", "b", "r", "c"};
    ak_bpe *b = NULL;
    cr_assert_eq(ak_bpe_from_merges(l1, r1, 4, &b, NULL), 0);
    expect_segments(b, "abcd", "ab|c|d</w>");
    expect_segments(b, "bcab", "bc|a|b</w>");
    ak_bpe_free(b);
    /* (a,b) again gets rank 2, which the next new merge (b,c) also gets: ties go to the leftmost pair */
    const char *l2[] = {"a", "x", "a", "b"}, *r2[] = {"b", "y", "b", "c"};
    cr_assert_eq(ak_bpe_from_merges(l2, r2, 4, &b, NULL), 0);
    expect_segments(b, "abcd", "ab|c|d</w>");
    expect_segments(b, "bcab", "bc|a|b</w>");
    expect_segments(b, "xyabcq", "xy|ab|c|q</w>");
    ak_bpe_free(b);
}

Test(text_bpe, segmentation_merges_every_occurrence_and_the_end_marker)
{
    const char *l[] = {"a", "a", "aa"}, *r[] = {"a", "a</w>", "aa</w>"};
    ak_bpe *b = NULL;
    cr_assert_eq(ak_bpe_from_merges(l, r, 3, &b, NULL), 0);
    expect_segments(b, "aaaaa", "aa|aa|a</w>"); /* (a,a) left to right first */
    expect_segments(b, "aa", "aa</w>");
    expect_segments(b, "aaaa", "aaaa</w>"); /* aa a a</w> -> aa aa</w> -> aaaa</w> */
    expect_segments(b, "é", "é</w>");
    ak_bpe_free(b);
}

static void temp_path(char *path, size_t n, const char *tag)
{
    snprintf(path, n, "/tmp/ak_test_%s_XXXXXX", tag);
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
}

Test(text_bpe, save_and_load_keep_the_encoding)
{
    char vpath[64], mpath[64];
    temp_path(vpath, sizeof vpath, "vocab");
    temp_path(mpath, sizeof mpath, "merges");
    ak_tokenizer *t = train_bpe(120), *u = NULL;
    ak_err err = {{0}};
    cr_assert_eq(ak_tokenizer_save(t, vpath, mpath, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_tokenizer_load(AK_TOK_BPE, vpath, mpath, &u, &err), 0, "%s", err.msg);
    FILE *f = fopen(mpath, "rb");
    char head[64] = {0};
    cr_assert_eq(fread(head, 1, 26, f), 26);
    fclose(f);
    cr_assert_str_eq(head, "#version: 0.2\no u\ne n\ne s\n");
    for (size_t i = 0; i < sizeof fr40 / sizeof *fr40; i++) {
        ak_ids a = {0}, c = {0};
        ak_tokenizer_encode(t, fr40[i], &a, NULL);
        ak_tokenizer_encode(u, fr40[i], &c, NULL);
        cr_assert_eq(a.n, c.n);
        cr_assert_arr_eq(a.v, c.v, a.n * sizeof *a.v);
        ak_ids_free(&a);
        ak_ids_free(&c);
    }
    ak_tokenizer_free(t);
    ak_tokenizer_free(u);
    unlink(vpath);
    unlink(mpath);
}

static void expect_merges_error(const char *text, const char *want)
{
    char path[64];
    temp_path(path, sizeof path, "merges");
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
    ak_bpe *b = (ak_bpe *)1;
    ak_err err = {{0}};
    cr_assert_eq(ak_bpe_load(path, &b, &err), -1, "loaded: %s", text);
    cr_assert_null(b);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "no path in: %s", err.msg);
    cr_assert(strstr(err.msg, want), "want \"%s\" in: %s", want, err.msg);
    unlink(path);
}

Test(text_bpe, merges_file_errors_name_the_line)
{
    expect_merges_error("#version: 0.2\na b\nab\n", ":3: expected \"LEFT RIGHT\" (one space)");
    expect_merges_error("#version: 0.2\na b c\n", ":2: expected \"LEFT RIGHT\"");
    expect_merges_error("a b\n\n", ":2: expected \"LEFT RIGHT\"");
    expect_merges_error("a b\na</w> b\n", ":2: left symbol \"a</w>\" has \"</w>\"");
    expect_merges_error("a </w>\n", ":1: right symbol \"</w>\" has \"</w>\"");
    expect_merges_error("a b\nx \xC3\n", ":2: right symbol: invalid UTF-8 at byte 0");
    expect_merges_error("a\tb c\n", ":1: left symbol has whitespace");
    ak_bpe *b = NULL;
    cr_assert_eq(ak_bpe_load("/nonexistent/m", &b, NULL), -1);
}

Test(text_bpe, vocabulary_is_not_cut_when_the_characters_exceed_it)
{
    ak_tokenizer *t = train_bpe(10); /* the twin keeps every frequent character, learns no merge */
    cr_assert_eq(ak_bpe_n_merges(ak_tokenizer_bpe(t)), 0);
    cr_assert_eq(ak_vocab_size(ak_tokenizer_vocab(t)), 56);
    cr_assert_str_eq(ak_vocab_token(ak_tokenizer_vocab(t), 55), "ç");
    ak_tokenizer_free(t);
}

Test(text_bpe, learns_8000_symbols_on_eng_deu_in_well_under_a_few_seconds)
{
    FILE *f = fopen("data/eng-deu.tsv", "rb");
    if (!f)
        cr_skip_test("data/eng-deu.tsv not found (run from the repository root)");
    static char buf[3 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    const char **tgt = malloc(lines * sizeof *tgt);
    size_t k = 0;
    for (char *p = buf; *p && k < lines;) {
        char *tab = strchr(p, '\t'), *nl = strchr(p, '\n');
        cr_assert(tab && nl && tab < nl);
        *nl = '\0';
        tgt[k++] = tab + 1;
        p = nl + 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ak_tokenizer *t = NULL;
    ak_err err = {{0}};
    cr_assert_eq(ak_tokenizer_train(AK_TOK_BPE, tgt, k, 8000, 2, &t, &err), 0, "%s", err.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    /* twin on the same 47,925 German sides: 8,000 symbols, 7,865 merges (2.2 s in CPython) */
    cr_assert_eq(ak_vocab_size(ak_tokenizer_vocab(t)), 8000);
    cr_assert_eq(ak_bpe_n_merges(ak_tokenizer_bpe(t)), 7865);
    cr_assert_lt(s, 3.0, "learning took %.2f s", s);
    ak_tokenizer_free(t);
    free(tgt);
}
