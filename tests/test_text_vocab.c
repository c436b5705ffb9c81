/* Vocabulary building, lookup and files (lib/text/vocab.c, counter.c).  Expected orders come from the
 * twin's WordVocab on the same tokens. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "text/counter.h"
#include "text/vocab.h"

/* Tokens of two sentences; counts a 4, é 3, b z Z ab c œ Ω 2, once 1. */
static const char *const corpus[] = {"b", "a", "é", "z", "a", "b",  "Z", "é",    "ab", "a", "c",
                                     "œ", "Ω", "z", "é", "c", "ab", "a", "once", "œ",  "Ω", "Z"};

static ak_vocab *build(size_t max_size, int64_t min_count)
{
    ak_counter *c = ak_counter_new();
    cr_assert_not_null(c);
    for (size_t i = 0; i < sizeof corpus / sizeof *corpus; i++)
        cr_assert_eq(ak_counter_add(c, corpus[i], strlen(corpus[i]), 1, NULL), 0);
    ak_vocab *v = NULL;
    ak_err err = {{0}};
    cr_assert_eq(ak_vocab_build(c, min_count, max_size, &v, &err), 0, "%s", err.msg);
    ak_counter_free(c);
    return v;
}

static void expect_tokens(const ak_vocab *v, const char *const *want, size_t n)
{
    cr_assert_eq(ak_vocab_size(v), n, "size %zu, want %zu", ak_vocab_size(v), n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(ak_vocab_token(v, (int32_t)i), want[i], "id %zu", i);
}

Test(text_vocab, orders_by_count_then_code_point_like_the_twin)
{
    /* twin: WordVocab(sents, 100).itos; "Z" < "ab" < "b" < "c" < "z" < "œ" < "Ω" by code point */
    static const char *const want[] = {"<pad>", "<unk>", "<s>", "</s>", "a", "é", "Z", "ab", "b", "c", "z", "œ", "Ω"};
    ak_vocab *v = build(100, 2);
    expect_tokens(v, want, sizeof want / sizeof *want);
    cr_assert_eq(ak_vocab_find(v, "once", 4), -1, "count 1 < min_count 2");
    ak_vocab_free(v);
}

Test(text_vocab, cuts_to_max_size_including_specials)
{
    static const char *const want[] = {"<pad>", "<unk>", "<s>", "</s>", "a", "é", "Z", "ab", "b"};
    ak_vocab *v = build(9, 2); /* twin: WordVocab(sents, 9) */
    expect_tokens(v, want, sizeof want / sizeof *want);
    ak_vocab_free(v);
    v = build(2, 2); /* twin keeps the specials even below 4 */
    expect_tokens(v, want, 4);
    ak_vocab_free(v);
    v = build(100, 1);
    cr_assert_eq(ak_vocab_size(v), 14);
    cr_assert_str_eq(ak_vocab_token(v, 13), "once");
    ak_vocab_free(v);
}

Test(text_vocab, lookup_maps_unknown_to_unk_and_rejects_bad_ids)
{
    ak_vocab *v = build(100, 2);
    cr_assert_eq(ak_vocab_id(v, "é", strlen("é")), 5);
    cr_assert_eq(ak_vocab_id(v, "nope", 4), AK_UNK);
    cr_assert_eq(ak_vocab_id(v, "</s>", 4), AK_EOS);
    cr_assert_null(ak_vocab_token(v, -1));
    cr_assert_null(ak_vocab_token(v, 13));
    ak_vocab_free(v);
}

static void temp_path(char *path, size_t n)
{
    snprintf(path, n, "/tmp/ak_test_vocab_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
}

Test(text_vocab, save_then_load_round_trips)
{
    char path[64];
    temp_path(path, sizeof path);
    ak_vocab *v = build(100, 2), *w = NULL;
    ak_err err = {{0}};
    cr_assert_eq(ak_vocab_save(v, path, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_vocab_load(path, &w, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_vocab_size(w), ak_vocab_size(v));
    for (int32_t i = 0; i < (int32_t)ak_vocab_size(v); i++) {
        cr_assert_str_eq(ak_vocab_token(w, i), ak_vocab_token(v, i));
        cr_assert_eq(ak_vocab_id(w, ak_vocab_token(v, i), strlen(ak_vocab_token(v, i))), i);
    }
    FILE *f = fopen(path, "rb");
    char text[128] = {0};
    size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    cr_assert_eq(got, strlen(text));
    cr_assert_str_eq(text, "<pad>\n<unk>\n<s>\n</s>\na\né\nZ\nab\nb\nc\nz\nœ\nΩ\n");
    ak_vocab_free(v);
    ak_vocab_free(w);
    unlink(path);
}

/* Writes text to a temp file, loads it, expects failure with `want` in the message. */
static void expect_load_error(const char *text, const char *want)
{
    size_t len = strlen(text);
    char path[64];
    temp_path(path, sizeof path);
    FILE *f = fopen(path, "wb");
    fwrite(text, 1, len, f);
    fclose(f);
    ak_vocab *v = (ak_vocab *)1;
    ak_err err = {{0}};
    cr_assert_eq(ak_vocab_load(path, &v, &err), -1, "loaded: %s", text);
    cr_assert_null(v);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "no path in: %s", err.msg);
    cr_assert(strstr(err.msg, want), "want \"%s\" in: %s", want, err.msg);
    unlink(path);
}

#define SPECIALS "<pad>\n<unk>\n<s>\n</s>\n"

Test(text_vocab, load_reports_file_and_line)
{
    expect_load_error(SPECIALS "a\nb\na\n", ":7: duplicate token \"a\" (first as id 4, line 5");
    expect_load_error(SPECIALS "ok\nb\xC3(\n", ":6: invalid UTF-8 at byte 1");
    expect_load_error("<pad>\n<s>\n<unk>\n</s>\n", ":2: expected the special \"<unk>\"");
    expect_load_error("<pad>\n<unk>\n", ":3: file ends before the special \"<s>\"");
    expect_load_error("", ":1: file ends before the special \"<pad>\"");
    expect_load_error(SPECIALS "a\r\nb\r\n", ":5: carriage return");
    expect_load_error(SPECIALS "a\n\nb\n", ":6: empty token");
    expect_load_error(SPECIALS "a b\n", ":5: whitespace U+0020");
    ak_vocab *v;
    ak_err err = {{0}};
    cr_assert_eq(ak_vocab_load("/nonexistent/ak.vocab", &v, &err), -1);
    cr_assert(strstr(err.msg, "/nonexistent/ak.vocab: cannot open"), "%s", err.msg);
}

Test(text_vocab, load_accepts_a_missing_final_newline)
{
    char path[64];
    temp_path(path, sizeof path);
    FILE *f = fopen(path, "wb");
    fputs(SPECIALS "x\ny", f);
    fclose(f);
    ak_vocab *v = NULL;
    cr_assert_eq(ak_vocab_load(path, &v, NULL), 0);
    cr_assert_eq(ak_vocab_size(v), 6);
    cr_assert_str_eq(ak_vocab_token(v, 5), "y");
    ak_vocab_free(v);
    unlink(path);
}

Test(text_vocab, from_list_checks_specials_and_duplicates)
{
    const char *ok[] = {"<pad>", "<unk>", "<s>", "</s>", "x"};
    const char *dup[] = {"<pad>", "<unk>", "<s>", "</s>", "x", "x"};
    const char *nospec[] = {"x", "<unk>", "<s>", "</s>"};
    ak_vocab *v = NULL;
    ak_err err = {{0}};
    cr_assert_eq(ak_vocab_from_list(ok, 5, &v, &err), 0, "%s", err.msg);
    ak_vocab_free(v);
    cr_assert_eq(ak_vocab_from_list(dup, 6, &v, &err), -1);
    cr_assert(strstr(err.msg, "token 5: duplicate"), "%s", err.msg);
    cr_assert_eq(ak_vocab_from_list(nospec, 4, &v, &err), -1);
    cr_assert(strstr(err.msg, "token 0: expected the special \"<pad>\""), "%s", err.msg);
    cr_assert_eq(ak_vocab_from_list(ok, 3, &v, &err), -1);
}

Test(text_vocab, build_rejects_a_counted_special)
{
    ak_counter *c = ak_counter_new();
    ak_counter_add(c, "<s>", 3, 5, NULL);
    ak_vocab *v = NULL;
    ak_err err = {{0}};
    cr_assert_eq(ak_vocab_build(c, 2, 10, &v, &err), -1);
    cr_assert(strstr(err.msg, "duplicate token \"<s>\""), "%s", err.msg);
    ak_counter_free(c);
}

Test(text_vocab, counter_sums_counts_in_first_seen_order)
{
    ak_counter *c = ak_counter_new();
    for (int i = 0; i < 3000; i++) {
        char buf[16];
        int n = snprintf(buf, sizeof buf, "t%d", i % 1000);
        cr_assert_eq(ak_counter_add(c, buf, (size_t)n, i % 1000 == 7 ? 2 : 1, NULL), 0);
    }
    cr_assert_eq(ak_counter_size(c), 1000);
    cr_assert_str_eq(ak_counter_str(c, 7), "t7");
    cr_assert_eq(ak_counter_count(c, 7), 6);
    cr_assert_eq(ak_counter_get(c, "t999", 4), 3);
    cr_assert_eq(ak_counter_get(c, "t1000", 5), 0);
    ak_counter_free(c);
}
