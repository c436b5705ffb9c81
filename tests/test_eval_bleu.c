/* Corpus BLEU and 13a tokenisation (lib/eval/bleu.c, bleu_tok13a.c).  Expected strings and scores come
 * from the twin's tok13a() and bleu13a() (shared/peer/torch_train.py) on the same input; on the
 * development machine the C scores were bit-identical to them, here they are held to 1e-12 relative. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/bleu.h"

/* twin: tok13a(s) */
static const char *const tok13a_cases[][2] = {
    {"Hello, world!", "Hello , world !"},
    {"It costs $3.50, ok?", "It costs $ 3.50 , ok ?"},
    {"&quot;quoted&quot; &amp; co &amp;quot;", "\" quoted \" & co & quot ;"},
    {"a<skipped>b <skipped>", "ab"},
    {"end-\x0Aline\x0Anext", "endline next"},
    {"3-4 x-y 5 -6", "3 - 4 x-y 5 -6"},
    {"trailing  \xC2\xA0\xE3\x80\x80 ", "trailing"},
    {"l'eau (test) [x] {y} a/b_c ~z|w", "l'eau ( test ) [ x ] { y } a / b _ c ~ z | w"},
    {"1,000.5 and U.S.A. etc.,", "1,000.5 and U . S . A . etc . ,"},
    {"über-größe „Zitat“ …", "über-größe „Zitat“ …"},
    {"", ""},
    {" \x09 ", ""},
    {"x.. ,y ..5 5.. 6,7,a", "x . . , y . .5 5 . . 6,7 , a"},
};

static const char *const fra_hyp[] = {
    "Vos rêves deviendront réalité.",
    "Ne soyez pas si impatiente !",
    "Combien voulez-vous d'argent ?",
    "Il n'a compris pas la vanne.",
    "Dites-moi ce qui a eu vraiment lieu !",
    "venez de en compte",
    "Il le fait rapidement plus que moi.",
    "",
    "en Suis-je avance ?",
    "Savez-vous parler anglais ?",
    "Je sais que vous êtes partie en retraite il y a peu. Je sais que",
    "Vous refaire.",
    "me Je le rappelle.",
    "Tom était très fatigué.",
    "Que cuisinez-vous ?",
    "n'allons parvenir.",
    "Avez-vous embrassé que qui ce soit ?",
    "C'est une personne très sympa. C'est une",
    "Je pense que Tom va mourir. Je pense que Tom",
    "",
    "il faut que je porte des bottes.",
    "n'y a là-haut.",
    "Tom n'est pas un gars. bon",
    "il est sorti par la porte de derrière.",
};
static const char *const fra_ref[] = {
    "Vos rêves deviendront réalité.",
    "Ne soyez pas si impatiente !",
    "Combien d'argent voulez-vous ?",
    "Il n'a pas compris la vanne.",
    "Dites-moi ce qui a vraiment eu lieu !",
    "Vous venez de vous en rendre compte ?",
    "Il le fait plus rapidement que moi.",
    "Ils m'y ont fait aller.",
    "Suis-je en avance ?",
    "Savez-vous parler anglais ?",
    "Je sais que vous êtes partie en retraite il y a peu.",
    "Vous devez le refaire.",
    "Je me le rappelle.",
    "Tom était très fatigué.",
    "Que cuisinez-vous ?",
    "Nous n'allons pas y parvenir.",
    "Avez-vous embrassé qui que ce soit ?",
    "C'est une personne très sympa.",
    "Je pense que Tom va mourir.",
    "Vous ont-ils blessé ?",
    "Il faut que je porte des bottes.",
    "Il n'y a rien par là-haut.",
    "Tom n'est pas un bon gars.",
    "Il est sorti par la porte de derrière.",
};
/* twin: bleu13a(fra_hyp, fra_ref) */
static const double fra_bleu = 58.754391173689136;

static void assert_close(double got, double want, const char *what)
{
    cr_assert(fabs(got - want) <= 1e-12 * fmax(1.0, fabs(want)), "%s: got %.17g, want %.17g", what, got, want);
}

static ak_bleu score1(const char *hyp, const char *ref)
{
    ak_bleu b;
    ak_err err = {{0}};
    cr_assert_eq(ak_bleu13a(&hyp, &ref, 1, &b, &err), 0, "%s", err.msg);
    return b;
}

Test(eval_bleu, tok13a_matches_the_twin)
{
    for (size_t i = 0; i < sizeof tok13a_cases / sizeof *tok13a_cases; i++) {
        ak_err err = {{0}};
        char *t = ak_tok13a(tok13a_cases[i][0], &err);
        cr_assert_not_null(t, "%s", err.msg);
        cr_assert_str_eq(t, tok13a_cases[i][1], "case %zu", i);
        free(t);
    }
}

Test(eval_bleu, hand_checked_components)
{
    /* hyp 6 tokens, ref 7: n-gram matches 6/6, 4/5, 3/4, 2/3; bp = exp(1 - 7/6) */
    ak_bleu b = score1("the cat sat on the mat", "the cat sat on the red mat");
    const int64_t correct[4] = {6, 4, 3, 2}, total[4] = {6, 5, 4, 3};
    for (int k = 0; k < 4; k++) {
        cr_assert_eq(b.correct[k], correct[k], "order %d", k + 1);
        cr_assert_eq(b.total[k], total[k], "order %d", k + 1);
        assert_close(b.precisions[k], 100.0 * (double)correct[k] / (double)total[k], "precision");
    }
    cr_assert_eq(b.sys_len, 6);
    cr_assert_eq(b.ref_len, 7);
    assert_close(b.bp, exp(1.0 - 7.0 / 6.0), "bp");
    assert_close(b.ratio, 6.0 / 7.0, "ratio");
    assert_close(b.score, 67.31821382417488, "score"); /* twin */
    assert_close(b.score, b.bp * exp((log(100.0) + log(80.0) + log(75.0) + log(200.0 / 3.0)) / 4), "formula");
}

Test(eval_bleu, exp_smoothing_for_orders_without_matches)
{
    /* "a b c d" vs "a b x d": 3/4, 1/3, 0/2, 0/1 -> p3 = 100 / (2 * 2), p4 = 100 / (4 * 1) */
    ak_bleu b = score1("a b c d", "a b x d");
    assert_close(b.precisions[2], 25.0, "p3");
    assert_close(b.precisions[3], 25.0, "p4");
    assert_close(b.score, 35.35533905932737, "score"); /* twin */
}

Test(eval_bleu, edge_cases_follow_the_twin)
{
    ak_bleu b = score1("the cat sat on the mat", "the cat sat on the mat");
    assert_close(b.score, 100.00000000000004, "identical"); /* twin, exp(log(100)) */
    cr_assert_eq(b.bp, 1.0);
    b = score1("", "x y");
    cr_assert_eq(b.score, 0.0);
    cr_assert_eq(b.bp, 0.0);
    cr_assert_eq(b.sys_len, 0);
    b = score1("a b c", "a b c"); /* no 4-gram at all: the twin (and sacreBLEU) give 0 */
    cr_assert_eq(b.score, 0.0);
    cr_assert_eq(b.total[3], 0);
    cr_assert_eq(b.precisions[3], 0.0);
    ak_err err = {{0}};
    cr_assert_eq(ak_bleu13a(NULL, NULL, 0, &b, &err), 0);
    cr_assert_eq(b.score, 0.0);
}

Test(eval_bleu, corpus_score_matches_the_twin)
{
    ak_bleu b;
    ak_err err = {{0}};
    size_t n = sizeof fra_hyp / sizeof *fra_hyp;
    cr_assert_eq(ak_bleu13a(fra_hyp, fra_ref, n, &b, &err), 0, "%s", err.msg);
    assert_close(b.score, fra_bleu, "fra");
}

Test(eval_bleu, invalid_utf8_names_the_segment)
{
    const char *h[] = {"ok", "bad \xE2\x82"}, *r[] = {"ok", "ok"};
    ak_bleu b;
    ak_err err = {{0}};
    cr_assert_eq(ak_bleu13a(h, r, 2, &b, &err), -1);
    cr_assert(strstr(err.msg, "hypothesis 1: invalid UTF-8 at byte 4"), "%s", err.msg);
}
