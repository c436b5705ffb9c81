/* TSV corpora: plain and gzip files read alike (detected by content),
 * malformed lines reported with FILE:LINE and skipped or fatal on request,
 * the shipped data files read whole, and the train/validation split equal
 * to the twin's (expected indices from /usr/bin/python3 3.11 running
 * torch_train.py's read_tsv + random.Random(seed).shuffle on data/eng-deu.tsv;
 * ck(x) = sum((k + 1) * x[k]) % (2**61 - 1)). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data/corpus.h"
#include "data/corpus_split.h"

/* Writes bytes to a fresh temporary file, gzip-compressed when gz is set. */
static void temp_file(char *path, const char *bytes, size_t len, int gz)
{
    strcpy(path, "/tmp/ak_corpus_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    if (gz) {
        gzFile f = gzdopen(fd, "wb9");
        cr_assert_not_null(f);
        cr_assert_eq(gzwrite(f, bytes, (unsigned)len), (int)len);
        cr_assert_eq(gzclose(f), Z_OK);
    } else {
        cr_assert_eq(write(fd, bytes, len), (ssize_t)len);
        close(fd);
    }
}

static const char GOOD[] = "Go.\tGeh.\n"
                           "Hi.\tHallo!\n"
                           "\n"
                           "\xc3\x9c" "ber.\t\xc3\x9c" "ber alles.\n"
                           "last\tno newline";

static void check_good(const ak_corpus *c)
{
    cr_assert_eq(c->n, 4);
    cr_expect_str_eq(c->pairs[0].src, "Go.");
    cr_expect_str_eq(c->pairs[0].tgt, "Geh.");
    cr_expect_str_eq(c->pairs[2].src, "\xc3\x9c" "ber.");
    cr_expect_eq(c->pairs[2].line, 4, "line numbers count the blank line");
    cr_expect_str_eq(c->pairs[3].tgt, "no newline");
    cr_expect_eq(c->n_blank, 1);
    cr_expect_eq(c->n_skipped, 0);
}

Test(data_corpus, plain_file_reads_pairs_and_line_numbers)
{
    char path[64];
    temp_file(path, GOOD, sizeof GOOD - 1, 0);
    ak_corpus c;
    ak_err err = {{0}};
    cr_assert_eq(ak_corpus_read(&c, path, AK_MALFORMED_FAIL, &err), 0, "%s", err.msg);
    check_good(&c);
    ak_corpus_free(&c);
    unlink(path);
}

Test(data_corpus, gzip_round_trip_is_detected_by_content_not_name)
{
    char path[64];
    temp_file(path, GOOD, sizeof GOOD - 1, 1); /* no .gz in the name */
    ak_corpus c;
    ak_err err = {{0}};
    cr_assert_eq(ak_corpus_read(&c, path, AK_MALFORMED_FAIL, &err), 0, "%s", err.msg);
    check_good(&c);
    ak_corpus_free(&c);
    unlink(path);
}

Test(data_corpus, truncated_gzip_is_an_error)
{
    char path[64];
    temp_file(path, GOOD, sizeof GOOD - 1, 1);
    FILE *f = fopen(path, "rb");
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    unlink(path);
    temp_file(path, buf, n - 12, 0); /* drop the trailer and some data */
    ak_corpus c;
    ak_err err;
    cr_expect_eq(ak_corpus_read(&c, path, AK_MALFORMED_FAIL, &err), -1);
    cr_expect(strstr(err.msg, "cannot read (gzip data): unexpected end of file") != NULL, "%s", err.msg);
    unlink(path);
}

Test(data_corpus, corrupt_gzip_data_is_an_error)
{
    char path[64];
    temp_file(path, GOOD, sizeof GOOD - 1, 1);
    FILE *f = fopen(path, "rb");
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    unlink(path);
    for (size_t i = 12; i < n - 8; i++) /* keep the 10-byte header, garble the deflate data */
        buf[i] = (char)0xFF;
    temp_file(path, buf, n, 0);
    ak_corpus c;
    ak_err err;
    char want[128];
    snprintf(want, sizeof want, "%s: cannot read (gzip data): ", path);
    cr_expect_eq(ak_corpus_read(&c, path, AK_MALFORMED_FAIL, &err), -1);
    cr_expect(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
    unlink(path);
}

Test(data_corpus, missing_file_names_the_path)
{
    ak_corpus c;
    ak_err err;
    cr_expect_eq(ak_corpus_read(&c, "/nonexistent/x.tsv", AK_MALFORMED_FAIL, &err), -1);
    cr_expect_str_eq(err.msg, "/nonexistent/x.tsv: cannot open: No such file or directory");
}

/* One malformed line after a good one: the message it gives. */
static void expect_malformed(const char *bad, const char *got)
{
    char text[256], path[64], want[512];
    snprintf(text, sizeof text, "a\tb\n%s\nc\td\n", bad);
    temp_file(path, text, strlen(text), 0);
    snprintf(want, sizeof want, "%s:2: expected two non-empty TAB-separated fields, got %s", path, got);
    ak_corpus c;
    ak_err err;
    cr_expect_eq(ak_corpus_read(&c, path, AK_MALFORMED_FAIL, &err), -1, "%s", bad);
    cr_expect_str_eq(err.msg, want);
    unlink(path);
}

Test(data_corpus, each_kind_of_malformed_line_has_its_message)
{
    expect_malformed("no tab", "1 field");
    expect_malformed("a\tb\tc", "3 fields");
    expect_malformed("\tb", "an empty source field");
    expect_malformed("a\t", "an empty target field");
    expect_malformed("a\tb\r", "a CR byte at byte 4 (CRLF line ends?)");
    expect_malformed("a\t\xff", "invalid UTF-8 at byte 3 (0xFF)");
    expect_malformed("ab\t\xc0\xaf", "invalid UTF-8 at byte 4 (0xC0)");    /* overlong '/' */
    expect_malformed("a\t\xed\xa0\x80", "invalid UTF-8 at byte 3 (0xED)"); /* surrogate */
    expect_malformed("a\t\xe2\x82", "invalid UTF-8 at byte 3 (0xE2)");     /* cut short */
}

Test(data_corpus, nul_byte_is_malformed)
{
    static const char text[] = "a\tb\nx\ty\0z\n";
    char path[64], want[256];
    temp_file(path, text, sizeof text - 1, 0);
    snprintf(want, sizeof want, "%s:2: expected two non-empty TAB-separated fields, got a NUL byte at byte 4", path);
    ak_corpus c;
    ak_err err;
    cr_expect_eq(ak_corpus_read(&c, path, AK_MALFORMED_FAIL, &err), -1);
    cr_expect_str_eq(err.msg, want);
    unlink(path);
}

Test(data_corpus, skip_mode_counts_and_keeps_the_first_message)
{
    static const char text[] = "a\tb\nbad\nc\td\ne\tf\tg\n\xf0\x9f\x98\x80\t\xe2\x82\xac\n";
    char path[64], want[256];
    temp_file(path, text, sizeof text - 1, 0);
    ak_corpus c;
    ak_err err = {{0}};
    cr_assert_eq(ak_corpus_read(&c, path, AK_MALFORMED_SKIP, &err), 0, "%s", err.msg);
    cr_expect_eq(c.n, 3);
    cr_expect_eq(c.n_skipped, 2);
    snprintf(want, sizeof want, "%s:2: expected two non-empty TAB-separated fields, got 1 field", path);
    cr_expect_str_eq(c.first_skipped, want);
    cr_expect_str_eq(c.pairs[1].src, "c");
    cr_expect_eq(c.pairs[2].line, 5);
    cr_expect_str_eq(c.pairs[2].tgt, "\xe2\x82\xac");
    ak_corpus_free(&c);
    unlink(path);
}

Test(data_corpus, shipped_translation_files_read_whole)
{
    ak_corpus c;
    ak_err err = {{0}};
    cr_assert_eq(ak_corpus_read(&c, "data/eng-deu.tsv", AK_MALFORMED_FAIL, &err), 0, "%s", err.msg);
    cr_expect_eq(c.n, 47925);
    cr_expect_str_eq(c.pairs[0].src, "Give me another one.");
    cr_expect_str_eq(c.pairs[0].tgt, "Gib mir noch einen.");
    ak_corpus_free(&c);
    cr_assert_eq(ak_corpus_read(&c, "data/eng-fra.tsv", AK_MALFORMED_FAIL, &err), 0, "%s", err.msg);
    cr_expect_eq(c.n, 74913);
    ak_corpus_free(&c);
}

Test(data_corpus, shipped_gzip_arxiv_file_reads_whole)
{
    ak_corpus c;
    ak_err err = {{0}};
    cr_assert_eq(ak_corpus_read(&c, "data/arxiv-title.tsv.gz", AK_MALFORMED_FAIL, &err), 0, "%s", err.msg);
    cr_expect_eq(c.n, 82385);
    cr_expect_str_eq(c.pairs[0].tgt,
                     "SUM-AgriVLN: Spatial Understanding Memory for Agricultural Vision-and-Language Navigation");
    ak_corpus_free(&c);
}

static uint64_t ck(const size_t *x, size_t n)
{
    const uint64_t m = (UINT64_C(1) << 61) - 1;
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (s + (uint64_t)(i + 1) * x[i]) % m;
    return s;
}

Test(data_corpus, validation_split_equals_twin_on_eng_deu)
{
    static const struct {
        int64_t seed;
        size_t valid_head[5];
        uint64_t ck_valid, ck_train;
    } cases[] = {
        {1, {10928, 41293, 14613, 18202, 17081}, UINT64_C(11913371860), UINT64_C(35176981066998)},
        {3, {26933, 14645, 47055, 25249, 16065}, UINT64_C(11900963946), UINT64_C(35189149575613)},
    };
    ak_corpus c;
    ak_err err = {{0}};
    cr_assert_eq(ak_corpus_read(&c, "data/eng-deu.tsv", AK_MALFORMED_FAIL, &err), 0, "%s", err.msg);
    for (size_t k = 0; k < 2; k++) {
        ak_split s;
        cr_assert_eq(ak_split_make(&s, c.n, 1000, cases[k].seed, &err), 0, "%s", err.msg);
        cr_assert_eq(s.n_valid, 1000);
        cr_assert_eq(s.n_train, c.n - 1000);
        for (int i = 0; i < 5; i++)
            cr_expect_eq(s.valid[i], cases[k].valid_head[i]);
        cr_expect_eq(ck(s.valid, s.n_valid), cases[k].ck_valid);
        cr_expect_eq(ck(s.train, s.n_train), cases[k].ck_train);
        if (k == 0) {
            cr_expect_str_eq(c.pairs[s.valid[0]].src, "Tom brought this.");
            cr_expect_str_eq(c.pairs[s.valid[0]].tgt, "Tom hat das gebracht.");
        }
        ak_split_free(&s);
    }
    ak_corpus_free(&c);
}

Test(data_corpus, split_larger_than_corpus_is_an_error)
{
    ak_split s;
    ak_err err;
    cr_expect_eq(ak_split_make(&s, 10, 11, 1, &err), -1);
    cr_expect_str_eq(err.msg, "validation split: expected at most 10 pairs (the corpus size), got 11");
    cr_assert_eq(ak_split_make(&s, 0, 0, 1, &err), 0);
    cr_expect_eq(s.n_train + s.n_valid, 0);
    ak_split_free(&s);
}
