/* Encoded corpora: the id-line reader (values, errors with FILE:LINE), the
 * caller-supplied encoder path, and the twin's length filter. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "data/corpus_ids.h"

static void temp_text(char *path, const char *text)
{
    strcpy(path, "/tmp/ak_ids_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

Test(data_corpus_ids, id_lines_read_into_pairs)
{
    char path[64];
    temp_text(path, "3 17 42\t5 9\n4\t0 1 2 7\n");
    ak_idcorpus c = AK_IDCORPUS_INIT;
    ak_err err = {{0}};
    cr_assert_eq(ak_idcorpus_read(&c, path, 43, 10, &err), 0, "%s", err.msg);
    cr_assert_eq(c.n, 2);
    cr_assert_eq(c.pairs[0].ns, 3);
    cr_assert_eq(c.pairs[0].nt, 2);
    cr_expect_eq(ak_idcorpus_src(&c, 0)[2], 42);
    cr_expect_eq(ak_idcorpus_tgt(&c, 0)[1], 9);
    cr_assert_eq(c.pairs[1].nt, 4);
    cr_expect_eq(ak_idcorpus_tgt(&c, 1)[3], 7);
    ak_idcorpus_free(&c);
    unlink(path);
}

static void expect_error(const char *text, const char *msg)
{
    char path[64], want[512];
    temp_text(path, text);
    snprintf(want, sizeof want, "%s:%s", path, msg);
    ak_idcorpus c = AK_IDCORPUS_INIT;
    ak_err err;
    cr_expect_eq(ak_idcorpus_read(&c, path, 100, 50, &err), -1, "%s", text);
    cr_expect_str_eq(err.msg, want);
    ak_idcorpus_free(&c);
    unlink(path);
}

Test(data_corpus_ids, bad_id_lines_name_file_line_and_what_was_expected)
{
    expect_error("1 2\t3\n4 5\t50\n", "2: target field: expected a token id in [0, 50), got '50'");
    expect_error("1 2\t3\n-4\t5\n", "2: source field: expected a token id in [0, 100), got '-4'");
    expect_error("1 2x\t3\n", "1: source field: expected a token id in [0, 100), got '2x'");
    expect_error("1 99999999999999999999\t3\n", "1: source field: expected a token id in [0, 100), got '99999999999999999999'");
    expect_error("1 2\n", "1: expected two non-empty TAB-separated fields of space-separated token ids, got 1 field");
    expect_error("1\t2\t3\n", "1: expected two non-empty TAB-separated fields of space-separated token ids, got 3 fields");
    expect_error("1\t \n", "1: expected two non-empty TAB-separated fields of space-separated token ids, got an empty target field");
    expect_error("\t1\n", "1: expected two non-empty TAB-separated fields of space-separated token ids, got an empty source field");
    expect_error("1\t2\r\n", "1: expected two non-empty TAB-separated fields of space-separated token ids, got a CR byte at byte 4 (CRLF line ends?)");
}

/* A toy encoder: three ids per byte (the byte value), so that a long text
 * overflows the first buffer (2 * bytes + 16) and exercises the
 * snprintf-like retry. */
static int64_t bytes_encoder(void *ctx, int side, const char *text, int32_t *out, size_t cap, ak_err *err)
{
    int *calls = ctx;
    calls[side]++;
    size_t n = strlen(text);
    if (strchr(text, '!'))
        return ak_errorf(err, "cannot encode '!'");
    for (size_t i = 0; i < 3 * n && i < cap; i++)
        out[i] = (unsigned char)text[i / 3];
    return (int64_t)(3 * n);
}

Test(data_corpus_ids, encoder_fills_pairs_for_a_subset)
{
    char text[101];
    memset(text, 'x', 100);
    text[100] = '\0';
    ak_text_pair pairs[3] = {{"ab", "c", 1}, {"d", text, 2}, {"e", "f", 3}};
    ak_corpus corpus = {.path = "mem.tsv", .pairs = pairs, .n = 3};
    ak_idcorpus c = AK_IDCORPUS_INIT;
    int calls[2] = {0, 0};
    const size_t idx[2] = {2, 0};
    ak_err err = {{0}};
    cr_assert_eq(ak_idcorpus_encode(&c, &corpus, idx, 2, bytes_encoder, calls, &err), 0, "%s", err.msg);
    cr_assert_eq(c.n, 2);
    cr_expect_eq(c.pairs[0].ns, 3);
    cr_expect_eq(ak_idcorpus_src(&c, 0)[0], 'e');
    cr_expect_eq(ak_idcorpus_tgt(&c, 1)[2], 'c');
    cr_assert_eq(ak_idcorpus_encode(&c, &corpus, NULL, 0, bytes_encoder, calls, &err), 0, "%s", err.msg);
    cr_assert_eq(c.n, 5);
    cr_assert_eq(c.pairs[3].nt, 300, "a long text is re-encoded into a larger buffer");
    cr_expect_eq(ak_idcorpus_tgt(&c, 3)[299], 'x');
    cr_expect_eq(ak_idcorpus_src(&c, 3)[2], 'd');
    cr_expect_eq(calls[1], 5 + 1, "one retry for the 100-byte target");
    corpus.pairs[1].src = "!";
    cr_expect_eq(ak_idcorpus_encode(&c, &corpus, NULL, 0, bytes_encoder, calls, &err), -1);
    cr_expect_str_eq(err.msg, "mem.tsv:2: source: cannot encode '!'");
    ak_idcorpus_free(&c);
}

Test(data_corpus_ids, filter_keeps_the_twin_rule)
{
    ak_idcorpus c = AK_IDCORPUS_INIT;
    const int32_t ids[6] = {4, 5, 6, 7, 8, 9};
    const int32_t lens[6][2] = {{3, 3}, {0, 2}, {4, 1}, {2, 0}, {3, 4}, {1, 3}};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(ak_idcorpus_add(&c, ids, lens[i][0], ids, lens[i][1], NULL), 0);
    /* kept: 0 < ns <= 3 and nt <= 3: pairs 0, 3 (empty target kept), 5 */
    cr_expect_eq(ak_idcorpus_filter(&c, 3, 3), 3);
    cr_assert_eq(c.n, 3);
    cr_expect_eq(c.pairs[0].ns, 3);
    cr_expect_eq(c.pairs[1].nt, 0);
    cr_expect_eq(c.pairs[2].nt, 3);
    cr_expect_eq(ak_idcorpus_tgt(&c, 2)[2], 6);
    ak_idcorpus_free(&c);
}
