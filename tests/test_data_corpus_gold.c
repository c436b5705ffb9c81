/* Gold alignments: the shipped file parses into its 48 pairs with links
 * inside the token counts, and each kind of defect is reported with its
 * FILE:LINE. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "data/corpus_gold.h"

#define HEADER "english\tgerman\tenglish_tokens\tgerman_tokens\tsure\tpossible\n"

static void temp_text(char *path, const char *text)
{
    strcpy(path, "/tmp/ak_gold_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

Test(data_corpus_gold, shipped_file_has_48_valid_pairs)
{
    ak_gold g;
    ak_err err = {{0}};
    cr_assert_eq(ak_gold_read(&g, "data/eng-deu.gold.tsv", &err), 0, "%s", err.msg);
    cr_assert_eq(g.n, 48);
    const ak_gold_pair *p = &g.pairs[0];
    cr_expect_str_eq(p->src, "Who brought the beer?");
    cr_expect_str_eq(p->tgt, "Wer hat das Bier mitgebracht?");
    cr_assert_eq(p->n_src_tok, 5);
    cr_assert_eq(p->n_tgt_tok, 6);
    cr_expect_str_eq(p->src_tok[4], "?");
    cr_expect_str_eq(p->tgt_tok[4], "mitgebracht");
    cr_assert_eq(p->n_sure, 5); /* 0-0 1-4 2-2 3-3 4-5 */
    cr_expect_eq(p->sure[1].src, 1);
    cr_expect_eq(p->sure[1].tgt, 4);
    cr_expect_eq(p->n_possible, 6); /* adds 1-1 */
    cr_expect_eq(p->line, 2);
    for (size_t i = 0; i < g.n; i++) {
        const ak_gold_pair *q = &g.pairs[i];
        cr_expect_geq(q->n_possible, q->n_sure);
        for (int32_t k = 0; k < q->n_possible; k++) {
            cr_expect_lt(q->possible[k].src, q->n_src_tok);
            cr_expect_lt(q->possible[k].tgt, q->n_tgt_tok);
        }
    }
    cr_expect_eq(g.pairs[47].line, 49);
    ak_gold_free(&g);
}

/* A file with the header and then `body` fails with "PATH:LINE: msg". */
static void expect_error(const char *body, int line, const char *msg)
{
    char text[512], path[64], want[512];
    snprintf(text, sizeof text, HEADER "%s", body);
    temp_text(path, text);
    snprintf(want, sizeof want, "%s:%d: %s", path, line, msg);
    ak_gold g;
    ak_err err;
    cr_expect_eq(ak_gold_read(&g, path, &err), -1, "%s", body);
    cr_expect_str_eq(err.msg, want);
    unlink(path);
}

Test(data_corpus_gold, each_defect_has_its_message)
{
    const char *ok = "Hi Tom.\tHallo Tom.\tHi Tom .\tHallo Tom .\t0-0 1-1\t0-0 1-1 2-2\n";
    char body[512];
    snprintf(body, sizeof body, "%sa\tb\tc\n", ok);
    expect_error(body, 3,
                 "expected 6 TAB-separated fields (english\tgerman\tenglish_tokens\tgerman_tokens\tsure\tpossible), got 3");
    expect_error("Hi.\tHallo.\tHi .\tHallo .\t0-2\t0-2\n", 2,
                 "sure: expected links i-j with 0 <= i < 2 (English tokens) and 0 <= j < 2 (German tokens), got '0-2'");
    expect_error("Hi.\tHallo.\tHi .\tHallo .\t0-0\t0-0 x\n", 2,
                 "possible: expected links i-j with 0 <= i < 2 (English tokens) and 0 <= j < 2 (German tokens), got 'x'");
    expect_error("Hi.\tHallo.\tHi .\tHallo .\t0-0 0-0\t0-0\n", 2, "sure: expected each link once, got '0-0' twice");
    expect_error("Hi.\tHallo.\tHi .\tHallo .\t1-1\t0-0\n", 2,
                 "expected every sure link to be possible too, got sure '1-1' missing from possible");
    expect_error("Hi.\tHallo.\tHi  .\tHallo .\t\t\n", 2,
                 "english_tokens: expected non-empty tokens separated by single spaces, got an empty token at position 1");
    expect_error("\tHallo.\tHi .\tHallo .\t\t\n", 2,
                 "expected non-empty English and German sentences, got an empty english");
    expect_error("Hi.\tHallo.\tHi .\tHallo .\t\t\r\n", 2, "expected a UTF-8 text line, got a CR byte at byte 26 (CRLF line ends?)");
}

Test(data_corpus_gold, empty_link_lists_are_allowed)
{
    char path[64];
    temp_text(path, HEADER "Hi.\tHallo.\tHi .\tHallo .\t\t1-1\n");
    ak_gold g;
    ak_err err = {{0}};
    cr_assert_eq(ak_gold_read(&g, path, &err), 0, "%s", err.msg);
    cr_expect_eq(g.pairs[0].n_sure, 0);
    cr_expect_eq(g.pairs[0].n_possible, 1);
    ak_gold_free(&g);
    unlink(path);
}

Test(data_corpus_gold, wrong_header_is_reported_on_line_1)
{
    char path[64], want[256];
    temp_text(path, "en\tde\n");
    snprintf(want, sizeof want,
             "%s:1: expected the header 'english<TAB>german<TAB>english_tokens<TAB>german_tokens<TAB>sure<TAB>"
             "possible', got 'en\tde'", path);
    ak_gold g;
    ak_err err;
    cr_expect_eq(ak_gold_read(&g, path, &err), -1);
    cr_expect_str_eq(err.msg, want);
    unlink(path);
}
