/* Attention statistics (lib/eval/attn_stats.h): row measures against hand
 * values, per-head statistics of hand-made maps with known answers (uniform,
 * identity, reversal, identical heads), AER against gold (identity, reversal,
 * possible links, the Och & Ney formula on a mixed case, direction swap),
 * subword attention summed back to words, the alignment shift, padding in a
 * capture changing nothing, error messages, and the TSV log. */
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/attn_stats.h"

#define EPS 1e-12

/* ---------------------------------------------------------- row measures */

Test(eval_attn_stats, row_measures_match_hand_values)
{
    float u[5] = {0.2f, 0.2f, 0.2f, 0.2f, 0.2f}, one[5] = {0, 0, 1, 0, 0};
    double e = -5 * (double)0.2f * log((double)0.2f); /* ln 5 up to float rounding of 0.2 */
    cr_expect(fabs(ak_attn_entropy(u, 5) - e) < EPS);
    cr_expect(fabs(ak_attn_entropy(u, 5) - log(5.0)) < 1e-7);
    cr_expect_eq(ak_attn_entropy(one, 5), 0.0);
    cr_expect_eq(ak_attn_max_weight(u, 5), (double)0.2f);
    cr_expect_eq(ak_attn_max_weight(one, 5), 1.0);

    /* n_q == 1: the centre (n_k-1)/2 = 2; keys 1..3 are within one. */
    cr_expect_eq(ak_attn_diagonality(one, 0, 1, 5), 1.0);
    float left[5] = {1, 0, 0, 0, 0}, right[4] = {0, 0, 0, 1};
    cr_expect_eq(ak_attn_diagonality(left, 0, 1, 5), 0.0);
    /* n_k = 4: centre 1.5, keys 1..2 count (|3 - 1.5| > 1). */
    cr_expect_eq(ak_attn_diagonality(right, 0, 1, 4), 0.0);
    float two[4] = {0, 0.5f, 0.5f, 0};
    cr_expect_eq(ak_attn_diagonality(two, 0, 1, 4), 1.0);
    float single[1] = {1};
    cr_expect_eq(ak_attn_diagonality(single, 0, 1, 1), 1.0);
    /* n_q = 3, n_k = 5: row 1 centres on key 2 (band 1..3), row 2 on key 4 (band 3..4). */
    cr_expect(fabs(ak_attn_diagonality(u, 1, 3, 5) - 3 * (double)0.2f) < EPS);
    cr_expect(fabs(ak_attn_diagonality(u, 2, 3, 5) - 2 * (double)0.2f) < EPS);
    /* n_q = 5, n_k = 3: row 1 centres on 0.5 (keys 0, 1; key 2 is 1.5 away). */
    float r3[3] = {0.25f, 0.25f, 0.5f};
    cr_expect_eq(ak_attn_diagonality(r3, 1, 5, 3), 0.5);

    float p[2] = {1, 0}, q[2] = {0.5f, 0.5f}, z[2] = {0, 1};
    double js = 0.5 * (log2(1 / 0.75) + 0.5 * log2(0.5 / 0.75) + 0.5 * log2(0.5 / 0.25));
    cr_expect(fabs(ak_attn_js(p, q, 2) - js) < EPS, "%.12f vs %.12f", ak_attn_js(p, q, 2), js);
    cr_expect(fabs(ak_attn_js(q, p, 2) - js) < EPS);
    cr_expect_eq(ak_attn_js(p, z, 2), 1.0);
    cr_expect_eq(ak_attn_js(u, u, 5), 0.0);
}

/* ------------------------------------------------------------ fixtures */

/* One probe of 4 source and 4 reference tokens (tf decoder: 5 rows). */
static const char *const TOK4[] = {"a", "b", "c", "d"};

/* Summary: enc-self 1 layer x 2 heads, cross 1 layer x 2 heads. */
static void make_file(ak_attn_file *f, ak_attn_probe **pp)
{
    ak_err err = {{0}};
    ak_attn_summary s = {{1, 0, 1}, {2, 0, 2}};
    cr_assert_eq(ak_attn_file_init(f, 1, &s, NULL, &err), 0, "%s", err.msg);
    ak_attn_probe *p = ak_attn_file_add_probe(f, 5, TOK4, 4, TOK4, 4, TOK4, 4, 1, &err);
    cr_assert_not_null(p, "%s", err.msg);
    /* enc-self: both heads uniform (identical). */
    float enc[2 * 4 * 4];
    for (int i = 0; i < 32; i++)
        enc[i] = 0.25f;
    /* cross [2, 5, 4]: head 0 identity (EOS row on the last key), head 1 reversal (EOS row on key 0). */
    float cross[2 * 5 * 4] = {0};
    for (int q = 0; q < 5; q++) {
        cross[q * 4 + (q < 4 ? q : 3)] = 1;
        cross[20 + q * 4 + (q < 4 ? 3 - q : 0)] = 1;
    }
    for (int m = 0; m < AK_ATTN_NMODES; m++) {
        cr_assert_eq(ak_attn_probe_set_map(f, p, (ak_attn_mode)m, AK_ROLE_ENC_SELF, 0, enc, &err), 0, "%s", err.msg);
        cr_assert_eq(ak_attn_probe_set_map(f, p, (ak_attn_mode)m, AK_ROLE_CROSS, 0, cross, &err), 0, "%s", err.msg);
    }
    *pp = p;
}

static const int32_t IDW[4] = {0, 1, 2, 3};
static const ak_gold_link IDENT[4] = {{0, 0}, {1, 1}, {2, 2}, {3, 3}};
static const ak_gold_link REV[4] = {{3, 0}, {2, 1}, {1, 2}, {0, 3}};

static ak_attn_head_stats *stats(const ak_attn_file *f, const ak_attn_gold *g, const ak_attn_stats_opts *o, size_t *n)
{
    ak_attn_head_stats *s;
    ak_err err = {{0}};
    const ak_attn_gold *golds[1] = {g};
    cr_assert_eq(ak_attn_stats(f, golds, o, &s, n, &err), 0, "%s", err.msg);
    return s;
}

/* ------------------------------------------------------- known answers */

Test(eval_attn_stats, uniform_identity_and_reversal_maps_give_known_statistics)
{
    ak_attn_file f;
    ak_attn_probe *p;
    make_file(&f, &p);
    ak_attn_gold g = {.sure = IDENT, .n_sure = 4, .possible = IDENT, .n_possible = 4, .src_word = IDW, .tgt_word = IDW};
    size_t n;
    ak_attn_head_stats *s = stats(&f, &g, NULL, &n);
    cr_assert_eq(n, 4);
    /* Order: role, layer, head. */
    cr_expect(s[0].role == AK_ROLE_ENC_SELF && s[0].head == 0 && s[1].head == 1);
    cr_expect(s[2].role == AK_ROLE_CROSS && s[2].layer == 0 && s[2].head == 0 && s[3].head == 1);
    for (int h = 0; h < 2; h++) {
        cr_expect(fabs(s[h].entropy - log(4.0)) < EPS, "uniform entropy %.15f", s[h].entropy);
        cr_expect_eq(s[h].max_weight, 0.25);
        /* rows 0 and 3 have 2 keys within one of the diagonal, rows 1 and 2 have 3: (2+3+3+2)/16. */
        cr_expect_eq(s[h].diagonality, 0.625);
        cr_expect_eq(s[h].js_div, 0.0, "identical heads: JS %g", s[h].js_div);
        cr_expect(isnan(s[h].aer), "no AER for self-attention");
        cr_expect_eq(s[h].rows, 4);
    }
    /* Identity: one-hot rows on the scaled diagonal (row 4, the EOS row, centres on key 3). */
    cr_expect_eq(s[2].entropy, 0.0);
    cr_expect_eq(s[2].max_weight, 1.0);
    cr_expect_eq(s[2].diagonality, 1.0);
    cr_expect_eq(s[2].js_div, 1.0, "disjoint one-hot rows: 1 bit");
    cr_expect_eq(s[2].aer, 0.0);
    cr_expect_eq(s[2].rows, 5);
    cr_expect(s[2].counts.a == 4 && s[2].counts.s == 4 && s[2].counts.a_s == 4 && s[2].counts.a_p == 4);
    /* Reversal: only row 2 (centre 1.5, key 1) touches the band: 1/5. Against identity gold AER 1. */
    cr_expect_eq(s[3].entropy, 0.0);
    cr_expect_eq(s[3].max_weight, 1.0);
    cr_expect(fabs(s[3].diagonality - 0.2) < EPS, "%g", s[3].diagonality);
    cr_expect_eq(s[3].js_div, 1.0);
    cr_expect_eq(s[3].aer, 1.0);
    free(s);

    /* Reversed gold: the reversal head is perfect, the identity head all wrong. */
    g.sure = g.possible = REV;
    s = stats(&f, &g, NULL, &n);
    cr_expect_eq(s[2].aer, 1.0);
    cr_expect_eq(s[3].aer, 0.0);
    free(s);

    /* The same gold given English-first for the other direction (swapped). */
    ak_gold_link rev_swapped[4];
    for (int i = 0; i < 4; i++)
        rev_swapped[i] = (ak_gold_link){REV[i].tgt, REV[i].src};
    g.sure = g.possible = rev_swapped;
    g.swapped = 1;
    s = stats(&f, &g, NULL, &n);
    cr_expect_eq(s[3].aer, 0.0);
    cr_expect_eq(s[2].aer, 1.0);
    free(s);

    /* Greedy mode: same maps, but no AER (the output is not the gold's sentence). */
    g = (ak_attn_gold){
        .sure = IDENT, .n_sure = 4, .possible = IDENT, .n_possible = 4, .src_word = IDW, .tgt_word = IDW};
    ak_attn_stats_opts o = {.mode = AK_ATTN_GREEDY};
    s = stats(&f, &g, &o, &n);
    cr_expect_eq(s[2].diagonality, 1.0);
    cr_expect(isnan(s[2].aer));
    free(s);
    /* No gold at all. */
    ak_err err = {{0}};
    cr_assert_eq(ak_attn_stats(&f, NULL, NULL, &s, &n, &err), 0, "%s", err.msg);
    cr_expect(isnan(s[2].aer) && isnan(s[3].aer));
    free(s);
    ak_attn_file_free(&f);
}

Test(eval_attn_stats, one_head_has_no_js_and_rows_weigh_equally)
{
    ak_err err = {{0}};
    ak_attn_summary sm = {{0, 0, 1}, {0, 0, 1}};
    ak_attn_file f;
    cr_assert_eq(ak_attn_file_init(&f, 1, &sm, NULL, &err), 0);
    /* Probe A: 2 source, 0 reference tokens -> 1 tf row, uniform: entropy ln 2.
     * Probe B: 2 source, 2 reference tokens -> 3 tf rows, one-hot: entropy 0. Mean over 4 rows: ln2 / 4. */
    ak_attn_probe *a = ak_attn_file_add_probe(&f, 0, TOK4, 2, NULL, 0, TOK4, 1, 0, &err);
    ak_attn_probe *b = ak_attn_file_add_probe(&f, 1, TOK4, 2, TOK4, 2, TOK4, 1, 0, &err);
    float ua[2] = {0.5f, 0.5f}, ob[6] = {1, 0, 0, 1, 0, 1}, g1[2] = {0.5f, 0.5f};
    cr_assert_eq(ak_attn_probe_set_map(&f, a, AK_ATTN_TF, AK_ROLE_CROSS, 0, ua, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_attn_probe_set_map(&f, b, AK_ATTN_TF, AK_ROLE_CROSS, 0, ob, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_attn_probe_set_map(&f, a, AK_ATTN_GREEDY, AK_ROLE_CROSS, 0, g1, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_attn_probe_set_map(&f, b, AK_ATTN_GREEDY, AK_ROLE_CROSS, 0, g1, &err), 0, "%s", err.msg);
    size_t n;
    ak_attn_head_stats *s;
    cr_assert_eq(ak_attn_stats(&f, NULL, NULL, &s, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 1);
    cr_expect_eq(s[0].rows, 4);
    cr_expect(fabs(s[0].entropy - log(2.0) / 4) < EPS, "%g", s[0].entropy);
    cr_expect(fabs(s[0].max_weight - (0.5 + 3) / 4) < EPS);
    /* A's single row: centre 0.5, both keys in band -> 1; B: rows centre 0, 0.5, 1 -> 1 each. */
    cr_expect_eq(s[0].diagonality, 1.0);
    cr_expect(isnan(s[0].js_div), "one head: no other head to compare with");
    free(s);
    ak_attn_file_free(&f);
}

Test(eval_attn_stats, possible_links_follow_och_and_ney)
{
    ak_attn_file f;
    ak_attn_probe *p;
    make_file(&f, &p);
    /* Identity head (A = 4 diagonal links). Sure {0-0, 1-1}, possible {2-2} plus the sure ones:
     * |A n S| = 2, |A n P| = 3, AER = 1 - 5 / (4 + 2) = 1/6. */
    ak_gold_link sure[2] = {{0, 0}, {1, 1}}, poss[3] = {{0, 0}, {1, 1}, {2, 2}};
    ak_attn_gold g = {.sure = sure, .n_sure = 2, .possible = poss, .n_possible = 3, .src_word = IDW, .tgt_word = IDW};
    size_t n;
    ak_attn_head_stats *s = stats(&f, &g, NULL, &n);
    cr_expect(fabs(s[2].aer - 1.0 / 6) < EPS, "%g", s[2].aer);
    cr_expect(s[2].counts.a == 4 && s[2].counts.s == 2 && s[2].counts.a_s == 2 && s[2].counts.a_p == 3);
    free(s);
    /* A sure link missing from the possible list still counts as possible (P := P u S). */
    g.possible = NULL;
    g.n_possible = 0;
    s = stats(&f, &g, NULL, &n);
    cr_expect(fabs(s[2].aer - (1 - 4.0 / 6)) < EPS, "%g", s[2].aer);
    free(s);
    /* Possible-only links never hurt: all four possible, none sure -> 1 - 4/4 = 0. */
    g = (ak_attn_gold){.possible = IDENT, .n_possible = 4, .src_word = IDW, .tgt_word = IDW};
    s = stats(&f, &g, NULL, &n);
    cr_expect_eq(s[2].aer, 0.0);
    free(s);
    ak_attn_file_free(&f);
}

/* ------------------------------------------------------- word maps */

Test(eval_attn_stats, word_maps_for_each_tokenizer)
{
    int32_t w[8];
    const char *bpe[] = {"Ha", "us</w>", "<unk>", "is", "t", "<unk>", "x</w>", "un"};
    cr_expect_eq(ak_attn_word_map(AK_WORDS_BPE, bpe, 8, w), 5);
    int32_t want_bpe[8] = {0, 0, 1, 2, 2, 2, 3, 4}; /* a special closes the word it is glued to */
    cr_expect_eq(memcmp(w, want_bpe, sizeof want_bpe), 0, "%d %d %d %d %d %d %d %d", w[0], w[1], w[2], w[3], w[4], w[5],
                 w[6], w[7]);
    const char *chars[] = {"H", "i", "\xE2\x96\x81", "\xE2\x96\x81", "y", "o", "\xE2\x96\x81"};
    cr_expect_eq(ak_attn_word_map(AK_WORDS_CHARS, chars, 7, w), 2);
    int32_t want_chars[7] = {0, 0, -1, -1, 1, 1, -1};
    cr_expect_eq(memcmp(w, want_chars, sizeof want_chars), 0);
    cr_expect_eq(ak_attn_word_map(AK_WORDS_TOKENS, chars, 3, w), 3);
    cr_expect(w[0] == 0 && w[1] == 1 && w[2] == 2);
    cr_expect_eq(ak_attn_word_map(AK_WORDS_BPE, bpe, 0, w), 0);
}

Test(eval_attn_stats, subword_attention_is_summed_back_to_words)
{
    /* Source "Ha us</w> ist</w>" = words Haus, ist; target "ho use</w> is</w>" = words house, is.
     * Token-level argmax links both "ho" and "use" to "ist" (0.4 and 0.45 beat every single
     * subword), and so would the largest weight per word; summed over subwords, "house" puts
     * 0.3 + 0.3 + 0.3 + 0.25 = 1.15 on Haus against 0.85 on ist. */
    float w[4 * 3] = {
        0.3f, 0.3f,  0.4f,  /* ho  (row 0 predicts token 0) */
        0.3f, 0.25f, 0.45f, /* use */
        0.1f, 0.1f,  0.8f,  /* is  */
        1.0f, 0.0f,  0.0f,  /* EOS row: excluded */
    };
    const char *src[] = {"Ha", "us</w>", "ist</w>"}, *tgt[] = {"ho", "use</w>", "is</w>"};
    int32_t sw[3], tw[3], align[3], n_out;
    cr_assert_eq(ak_attn_word_map(AK_WORDS_BPE, src, 3, sw), 2);
    cr_assert_eq(ak_attn_word_map(AK_WORDS_BPE, tgt, 3, tw), 2);
    ak_err err = {{0}};
    cr_assert_eq(ak_attn_align(w, 4, 3, sw, tw, 3, 0, align, &n_out, &err), 0, "%s", err.msg);
    cr_expect_eq(n_out, 2);
    cr_expect_eq(align[0], 0, "house -> Haus");
    cr_expect_eq(align[1], 1, "is -> ist");
    /* Through the statistics: word-level gold 0-0, 1-1 gives AER 0. */
    ak_attn_summary sm = {{0, 0, 1}, {0, 0, 1}};
    ak_attn_file f;
    cr_assert_eq(ak_attn_file_init(&f, 1, &sm, NULL, &err), 0);
    ak_attn_probe *p = ak_attn_file_add_probe(&f, 0, src, 3, tgt, 3, tgt, 3, 1, &err);
    cr_assert_not_null(p, "%s", err.msg);
    cr_assert_eq(ak_attn_probe_set_map(&f, p, AK_ATTN_TF, AK_ROLE_CROSS, 0, w, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_attn_probe_set_map(&f, p, AK_ATTN_GREEDY, AK_ROLE_CROSS, 0, w, &err), 0, "%s", err.msg);
    ak_gold_link gl[2] = {{0, 0}, {1, 1}};
    ak_attn_gold g = {.sure = gl, .n_sure = 2, .possible = gl, .n_possible = 2, .src_word = sw, .tgt_word = tw};
    size_t n;
    ak_attn_head_stats *s = stats(&f, &g, NULL, &n);
    cr_expect_eq(s[0].aer, 0.0);
    cr_expect_eq(s[0].counts.a, 2, "one link per target word, not per subword");
    free(s);
    /* Token-level maps (every subword its own word) would disagree: "ho" -> "ist". */
    int32_t id3[3] = {0, 1, 2};
    cr_assert_eq(ak_attn_align(w, 4, 3, id3, id3, 3, 0, align, &n_out, &err), 0);
    cr_expect_eq(align[0], 2);
    /* Target side alone: two rows of one word are added, not voted: 0.55 + 0 on word 0 < 0.45 + 1 on word 1. */
    float rows[3 * 2] = {0.55f, 0.45f, 0.0f, 1.0f, 0.5f, 0.5f};
    int32_t one_word[2] = {0, 0};
    cr_assert_eq(ak_attn_align(rows, 3, 2, id3, one_word, 2, 0, align, &n_out, &err), 0, "%s", err.msg);
    cr_expect(n_out == 1 && align[0] == 1, "n %d link %d", n_out, align[0]);
    ak_attn_file_free(&f);
}

Test(eval_attn_stats, excluded_tokens_and_the_shift_choose_rows)
{
    /* 3 target tokens; row k+1 holds token k's alignment (the Shift-Att layout), row 0 is BOS-input. */
    float w[4 * 3] = {
        0, 0, 1, /* row 0 */
        1, 0, 0, /* row 1: token 0 -> src 0 */
        0, 1, 0, /* row 2: token 1 -> src 1 */
        0, 0, 1, /* row 3: token 2 -> src 2 */
    };
    int32_t id[3] = {0, 1, 2}, align[3], n_out;
    ak_err err = {{0}};
    cr_assert_eq(ak_attn_align(w, 4, 3, id, id, 3, 1, align, &n_out, &err), 0, "%s", err.msg);
    cr_expect(align[0] == 0 && align[1] == 1 && align[2] == 2);
    cr_assert_eq(ak_attn_align(w, 4, 3, id, id, 3, 0, align, &n_out, &err), 0, "%s", err.msg);
    cr_expect(align[0] == 2 && align[1] == 0 && align[2] == 1);
    /* A source token marked -1 (say EOS) is never linked: token 2's row has all mass there -> no link. */
    int32_t src_ex[3] = {0, 1, -1};
    cr_assert_eq(ak_attn_align(w, 4, 3, src_ex, id, 3, 1, align, &n_out, &err), 0, "%s", err.msg);
    cr_expect(align[0] == 0 && align[1] == 1 && align[2] == -1);
    /* A target token marked -1 yields no word; the word count comes from the map. */
    int32_t tgt_ex[3] = {0, -1, 1};
    cr_assert_eq(ak_attn_align(w, 4, 3, id, tgt_ex, 3, 1, align, &n_out, &err), 0, "%s", err.msg);
    cr_expect(n_out == 2 && align[0] == 0 && align[1] == 2);
    /* Ties go to the lowest source word. */
    float tie[2 * 2] = {0.5f, 0.5f, 0.5f, 0.5f};
    cr_assert_eq(ak_attn_align(tie, 2, 2, id, id, 1, 0, align, &n_out, &err), 0);
    cr_expect_eq(align[0], 0);
    /* Errors. */
    int32_t bad[3] = {0, -2, 1};
    cr_expect_eq(ak_attn_align(w, 4, 3, bad, id, 3, 0, align, &n_out, &err), -1);
    cr_expect_str_eq(err.msg, "source word map: token 1 has word -2 (expected >= -1)");
    cr_expect_eq(ak_attn_align(w, 3, 3, id, id, 3, 1, align, &n_out, &err), -1);
    cr_expect_str_eq(err.msg, "target token 2 with shift 1 needs row 3, the map has 3 rows");
}

/* ----------------------------------------------------- padding, errors */

/* The statistics of a probe cut from a padded capture equal those of its
 * exact maps: padded rows and keys (filled with weights here, so that they
 * would show) never enter. */
Test(eval_attn_stats, padding_in_the_capture_changes_nothing)
{
    ak_attn_file exact;
    ak_attn_probe *p;
    make_file(&exact, &p);
    /* Capture: batch of 2, padded to 6 source and 7 decoder positions; row 1 is our probe. */
    const int64_t B = 2, H = 2, Ls = 6, Lt = 7;
    float *enc = malloc(sizeof(float) * (size_t)(B * H * Ls * Ls));
    float *cross = malloc(sizeof(float) * (size_t)(B * H * Lt * Ls));
    for (int64_t i = 0; i < B * H * Ls * Ls; i++)
        enc[i] = 1.0f / 6; /* padding keys and rows carry weight */
    for (int64_t i = 0; i < B * H * Lt * Ls; i++)
        cross[i] = 1.0f / 6;
    for (int h = 0; h < 2; h++) {
        for (int q = 0; q < 4; q++)
            for (int k = 0; k < 4; k++)
                enc[((1 * H + h) * Ls + q) * Ls + k] =
                    ak_attn_probe_row(&exact, p, AK_ATTN_TF, AK_ROLE_ENC_SELF, 0, h, q)[k];
        for (int q = 0; q < 5; q++)
            for (int k = 0; k < 4; k++)
                cross[((1 * H + h) * Lt + q) * Ls + k] =
                    ak_attn_probe_row(&exact, p, AK_ATTN_TF, AK_ROLE_CROSS, 0, h, q)[k];
    }
    ak_attn_capture cap;
    ak_capture_init(&cap);
    ak_tensor te = {.data = enc}, tc = {.data = cross};
    cr_assert_eq(ak_tensor_set_shape(&te, 4, (int64_t[]){B, H, Ls, Ls}), 0);
    cr_assert_eq(ak_tensor_set_shape(&tc, 4, (int64_t[]){B, H, Lt, Ls}), 0);
    ak_capture_add(&cap, AK_ROLE_ENC_SELF, 0, &te);
    ak_capture_add(&cap, AK_ROLE_CROSS, 0, &tc);
    ak_attn_file f;
    ak_err err = {{0}};
    cr_assert_eq(ak_attn_file_init(&f, 1, &exact.model, NULL, &err), 0);
    ak_attn_probe *q = ak_attn_file_add_probe(&f, 5, TOK4, 4, TOK4, 4, TOK4, 4, 1, &err);
    for (int m = 0; m < 2; m++)
        cr_assert_eq(ak_attn_probe_from_capture(&f, q, (ak_attn_mode)m, &cap, 1, &err), 0, "%s", err.msg);
    ak_attn_gold g = {.sure = IDENT, .n_sure = 4, .possible = IDENT, .n_possible = 4, .src_word = IDW, .tgt_word = IDW};
    size_t n1, n2;
    ak_attn_head_stats *s1 = stats(&exact, &g, NULL, &n1), *s2 = stats(&f, &g, NULL, &n2);
    cr_assert_eq(n1, n2);
    cr_expect_eq(memcmp(s1, s2, sizeof *s1 * n1), 0, "padded capture changed the statistics");
    cr_expect_eq(s2[2].diagonality, 1.0);
    free(s1);
    free(s2);
    free(enc);
    free(cross);
    ak_capture_free(&cap);
    ak_attn_file_free(&f);
    ak_attn_file_free(&exact);
}

Test(eval_attn_stats, inconsistent_gold_is_refused)
{
    ak_attn_file f;
    ak_attn_probe *p;
    make_file(&f, &p);
    ak_gold_link far[1] = {{4, 0}};
    ak_attn_gold g = {.sure = far, .n_sure = 1, .src_word = IDW, .tgt_word = IDW};
    ak_attn_head_stats *s;
    size_t n;
    ak_err err = {{0}};
    const ak_attn_gold *golds[1] = {&g};
    cr_expect_eq(ak_attn_stats(&f, golds, NULL, &s, &n, &err), -1);
    cr_expect_str_eq(err.msg, "attention stats: probe 0 (id 5) cross layer 0 head 0: sure link 4-0 outside the 4 "
                              "source x 4 target words");
    int32_t bad[4] = {0, 1, -3, 2};
    g = (ak_attn_gold){.src_word = bad, .tgt_word = IDW};
    cr_expect_eq(ak_attn_stats(&f, golds, NULL, &s, &n, &err), -1);
    cr_expect_str_eq(err.msg, "attention stats: probe 0 (id 5): source word map: token 2 has word -3 (expected >= -1)");
    g = (ak_attn_gold){.tgt_word = IDW};
    cr_expect_eq(ak_attn_stats(&f, golds, NULL, &s, &n, &err), -1);
    cr_expect_str_eq(err.msg, "attention stats: probe 0 (id 5): gold without source or target word map");
    ak_attn_stats_opts o = {.mode = AK_ATTN_TF, .align_shift = 2};
    cr_expect_eq(ak_attn_stats(&f, NULL, &o, &s, &n, &err), -1);
    cr_expect_str_eq(err.msg, "attention stats: align_shift 2, expected 0 or 1");
    ak_attn_file_free(&f);
}

/* ------------------------------------------------------------------ TSV */

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

Test(eval_attn_stats, tsv_appends_epochs_and_replaces_a_relogged_one)
{
    char dir[] = "/tmp/ak_attn_stats_XXXXXX", path[64];
    cr_assert(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/attn_stats.tsv", dir);
    ak_attn_head_stats s[2] = {
        {.role = AK_ROLE_ENC_SELF,
         .layer = 0,
         .head = 1,
         .entropy = log(4.0),
         .max_weight = 0.25,
         .diagonality = 0.625,
         .js_div = 0,
         .aer = NAN},
        {.role = AK_ROLE_CROSS,
         .layer = 2,
         .head = 0,
         .entropy = 0,
         .max_weight = 1,
         .diagonality = 0.2,
         .js_div = 1,
         .aer = 1.0 / 6},
    };
    ak_err err = {{0}};
    cr_assert_eq(ak_attn_stats_append_tsv(path, 0, s, 2, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_attn_stats_append_tsv(path, 1, s + 1, 1, &err), 0, "%s", err.msg);
    const char *want = "epoch\trole\tlayer\thead\tentropy\tmax_weight\tdiagonality\tjs_div\taer\n"
                       "0\tenc-self\t0\t1\t1.386294\t0.250000\t0.625000\t0.000000\tnan\n"
                       "0\tcross\t2\t0\t0.000000\t1.000000\t0.200000\t1.000000\t0.166667\n"
                       "1\tcross\t2\t0\t0.000000\t1.000000\t0.200000\t1.000000\t0.166667\n";
    cr_expect_str_eq(slurp(path), want);
    /* Epoch 0 logged again (a resumed run): its old rows go, the new ones are appended. */
    s[0].head = 0;
    cr_assert_eq(ak_attn_stats_append_tsv(path, 0, s, 1, &err), 0, "%s", err.msg);
    want = "epoch\trole\tlayer\thead\tentropy\tmax_weight\tdiagonality\tjs_div\taer\n"
           "1\tcross\t2\t0\t0.000000\t1.000000\t0.200000\t1.000000\t0.166667\n"
           "0\tenc-self\t0\t0\t1.386294\t0.250000\t0.625000\t0.000000\tnan\n";
    cr_expect_str_eq(slurp(path), want);
    /* A file that is something else is left alone. */
    FILE *fp = fopen(path, "w");
    fputs("step\tloss\n1\t2.0\n", fp);
    fclose(fp);
    cr_expect_eq(ak_attn_stats_append_tsv(path, 2, s, 1, &err), -1);
    cr_expect(strstr(err.msg, "not an attention statistics file"), "%s", err.msg);
    cr_expect_str_eq(slurp(path), "step\tloss\n1\t2.0\n");
    unlink(path);
    rmdir(dir);
}
