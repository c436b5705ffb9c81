/* Synthetic tasks with known alignments: each generator is a pure function
 * of (seed, split, index) and changes with the seed; every gold link is
 * checked against what the task means (reversal mirrors, copies keep the
 * token or say "unk", sorting moves equal tokens, dates link the field that
 * holds the value); the files parse with the project's readers and their
 * token lists are exactly what the word tokenizer finds in the sentences;
 * probes are unseen in training; the shipped data/synthetic files are what
 * the documented command writes; bad command lines name the argument. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/corpus.h"
#include "data/corpus_gold.h"
#include "data/synthetic.h"
#include "text/pretok.h"

static const ak_synth_task all_tasks[] = {AK_SYNTH_REVERSE, AK_SYNTH_COPY, AK_SYNTH_SORT, AK_SYNTH_DATE};

static ak_synth_example *new_example(void)
{
    ak_synth_example *ex = malloc(sizeof *ex);
    cr_assert_not_null(ex);
    return ex;
}

/* Same content (tokens, texts, links); the arrays past the counts are not
 * compared. */
static int same_example(const ak_synth_example *a, const ak_synth_example *b)
{
    if (a->n_src != b->n_src || a->n_tgt != b->n_tgt || a->n_sure != b->n_sure || a->n_possible != b->n_possible ||
        strcmp(a->src_text, b->src_text) || strcmp(a->tgt_text, b->tgt_text))
        return 0;
    for (int32_t i = 0; i < a->n_src; i++)
        if (strcmp(a->src[i], b->src[i]))
            return 0;
    for (int32_t j = 0; j < a->n_tgt; j++)
        if (strcmp(a->tgt[j], b->tgt[j]))
            return 0;
    return memcmp(a->sure, b->sure, sizeof a->sure[0] * (size_t)a->n_sure) == 0 &&
           memcmp(a->possible, b->possible, sizeof a->possible[0] * (size_t)a->n_possible) == 0;
}

/* The word tokenizer's tokens of `text` equal toks[0..n). */
static void expect_tokenizes_to(const char *text, const char *const *toks, int32_t n)
{
    ak_spans sp = {0};
    ak_err err = {{0}};
    cr_assert_eq(ak_pretok_words(text, strlen(text), &sp, &err), 0, "%s", err.msg);
    cr_assert_eq((int32_t)sp.n, n, "'%s': %zu regex tokens, %d listed", text, sp.n, (int)n);
    for (int32_t k = 0; k < n; k++) {
        cr_assert_eq(sp.v[k].len, strlen(toks[k]), "'%s' token %d", text, (int)k);
        cr_assert(memcmp(text + sp.v[k].off, toks[k], sp.v[k].len) == 0, "'%s' token %d is '%s'", text, (int)k,
                  toks[k]);
    }
    ak_spans_free(&sp);
}

static void expect_example_tokenizes(const ak_synth_example *ex)
{
    const char *s[AK_SYNTH_MAX_TOK], *t[AK_SYNTH_MAX_TOK];
    for (int32_t i = 0; i < ex->n_src; i++)
        s[i] = ex->src[i];
    for (int32_t j = 0; j < ex->n_tgt; j++)
        t[j] = ex->tgt[j];
    expect_tokenizes_to(ex->src_text, s, ex->n_src);
    expect_tokenizes_to(ex->tgt_text, t, ex->n_tgt);
}

/* Links inside the token counts, sorted by (src, tgt), each once; every
 * sure link possible. */
static void expect_links_well_formed(const ak_synth_example *ex)
{
    for (int pass = 0; pass < 2; pass++) {
        const ak_gold_link *l = pass ? ex->possible : ex->sure;
        int32_t n = pass ? ex->n_possible : ex->n_sure;
        for (int32_t k = 0; k < n; k++) {
            cr_assert(l[k].src >= 0 && l[k].src < ex->n_src && l[k].tgt >= 0 && l[k].tgt < ex->n_tgt);
            if (k > 0)
                cr_assert(l[k - 1].src < l[k].src || (l[k - 1].src == l[k].src && l[k - 1].tgt < l[k].tgt));
        }
    }
    for (int32_t k = 0; k < ex->n_sure; k++) {
        int found = 0;
        for (int32_t q = 0; q < ex->n_possible; q++)
            found |= ex->possible[q].src == ex->sure[k].src && ex->possible[q].tgt == ex->sure[k].tgt;
        cr_assert(found, "sure %d-%d not possible", ex->sure[k].src, ex->sure[k].tgt);
    }
}

/* Index of the link with target j in sure, or -1 (each target at most once). */
static int32_t sure_for_tgt(const ak_synth_example *ex, int32_t j)
{
    int32_t hit = -1;
    for (int32_t k = 0; k < ex->n_sure; k++)
        if (ex->sure[k].tgt == j) {
            cr_assert_eq(hit, -1, "target %d linked twice", (int)j);
            hit = ex->sure[k].src;
        }
    return hit;
}

static int src_linked(const ak_synth_example *ex, int32_t i)
{
    for (int32_t k = 0; k < ex->n_sure; k++)
        if (ex->sure[k].src == i)
            return 1;
    return 0;
}

Test(data_synthetic, draws_are_pure_functions_of_seed_split_index)
{
    ak_synth_example *a = new_example(), *b = new_example();
    for (size_t t = 0; t < 4; t++) {
        ak_synth_opts o = ak_synth_defaults(all_tasks[t]);
        o.seed = 12345;
        for (uint64_t i = 0; i < 50; i++) {
            memset(a, 0xAB, sizeof *a); /* stale bytes must not matter */
            memset(b, 0x00, sizeof *b);
            ak_synth_draw(&o, (int)(i & 1), i, a);
            ak_synth_draw(&o, (int)(i & 1), i, b);
            cr_assert(same_example(a, b), "%s example %llu differs between draws", ak_synth_task_name(o.task),
                      (unsigned long long)i);
        }
    }
    free(a);
    free(b);
}

Test(data_synthetic, seeds_splits_and_tasks_give_different_examples)
{
    ak_synth_example *a = new_example(), *b = new_example();
    for (size_t t = 0; t < 4; t++) {
        ak_synth_opts o1 = ak_synth_defaults(all_tasks[t]), o2 = o1;
        o2.seed = 2;
        int diff_seed = 0, diff_split = 0;
        for (uint64_t i = 0; i < 20; i++) {
            ak_synth_draw(&o1, 0, i, a);
            ak_synth_draw(&o2, 0, i, b);
            diff_seed += !same_example(a, b);
            ak_synth_draw(&o1, 1, i, b);
            diff_split += !same_example(a, b);
        }
        /* 20 draws from spaces of > 10^4 sources: a couple of chance
         * coincidences at most. */
        cr_expect_geq(diff_seed, 18, "%s: seed 1 vs 2 differ in %d of 20", ak_synth_task_name(o1.task), diff_seed);
        cr_expect_geq(diff_split, 18, "%s: train vs probe split differ in %d of 20", ak_synth_task_name(o1.task),
                      diff_split);
    }
    free(a);
    free(b);
}

Test(data_synthetic, reversal_links_mirror_positions_and_tokens)
{
    ak_synth_opts o = ak_synth_defaults(AK_SYNTH_REVERSE);
    o.min_len = 1;
    o.max_len = 12;
    ak_synth_example *ex = new_example();
    int seen_len[13] = {0};
    for (uint64_t i = 0; i < 600; i++) {
        ak_synth_draw(&o, 0, i, ex);
        int32_t n = ex->n_src;
        cr_assert(n >= 1 && n <= 12);
        seen_len[n] = 1;
        cr_assert_eq(ex->n_tgt, n);
        cr_assert_eq(ex->n_sure, n);
        cr_assert_eq(ex->n_possible, n);
        expect_links_well_formed(ex);
        for (int32_t k = 0; k < n; k++) {
            const ak_gold_link l = ex->sure[k];
            cr_assert_eq(l.src, n - 1 - l.tgt);
            cr_assert_str_eq(ex->tgt[l.tgt], ex->src[l.src]);
        }
        expect_example_tokenizes(ex);
    }
    for (int n = 1; n <= 12; n++)
        cr_expect(seen_len[n], "length %d never drawn", n);
    free(ex);
}

Test(data_synthetic, copy_links_keep_tokens_and_leave_fillers_unaligned)
{
    ak_synth_opts o = ak_synth_defaults(AK_SYNTH_COPY);
    o.p_replace = 0.2f;
    o.p_insert = 0.15f;
    o.p_filler = 0.25f;
    ak_synth_example *ex = new_example();
    long content = 0, replaced = 0, inserted = 0, fillers = 0;
    for (uint64_t i = 0; i < 2000; i++) {
        ak_synth_draw(&o, 0, i, ex);
        expect_links_well_formed(ex);
        cr_assert_eq(ex->n_possible, ex->n_sure);
        int32_t prev_src = -1;
        for (int32_t j = 0; j < ex->n_tgt; j++) {
            int32_t i_src = sure_for_tgt(ex, j);
            if (i_src < 0) {
                cr_assert_str_eq(ex->tgt[j], "uh", "unaligned target token %d", (int)j);
                inserted++;
                continue;
            }
            cr_assert_gt(i_src, prev_src, "copy links must be monotone");
            prev_src = i_src;
            cr_assert_str_neq(ex->src[i_src], "um");
            if (strcmp(ex->tgt[j], "unk") == 0)
                replaced++;
            else
                cr_assert_str_eq(ex->tgt[j], ex->src[i_src]);
            content++;
        }
        for (int32_t s = 0; s < ex->n_src; s++) {
            if (!src_linked(ex, s)) {
                cr_assert_str_eq(ex->src[s], "um", "unaligned source token %d", (int)s);
                fillers++;
            }
        }
        int32_t n_content = ex->n_src;
        for (int32_t s = 0; s < ex->n_src; s++)
            n_content -= strcmp(ex->src[s], "um") == 0;
        cr_assert(n_content >= o.min_len && n_content <= o.max_len);
        expect_example_tokenizes(ex);
    }
    /* Rates: binomial, 2000 examples x ~6.5 tokens; 5 standard errors. */
    double fr = (double)replaced / content, fi = (double)inserted / content, ff = (double)fillers / content;
    cr_expect(fr > 0.18 && fr < 0.22, "replaced rate %g", fr);
    cr_expect(fi > 0.13 && fi < 0.17, "inserted rate %g", fi);
    cr_expect(ff > 0.23 && ff < 0.27, "filler rate %g", ff);
    free(ex);
}

Test(data_synthetic, copy_without_noise_is_the_identity_alignment)
{
    ak_synth_opts o = ak_synth_defaults(AK_SYNTH_COPY);
    o.p_replace = o.p_insert = o.p_filler = 0.0f;
    ak_synth_example *ex = new_example();
    for (uint64_t i = 0; i < 200; i++) {
        ak_synth_draw(&o, 1, i, ex);
        cr_assert_str_eq(ex->src_text, ex->tgt_text);
        cr_assert_eq(ex->n_sure, ex->n_src);
        for (int32_t k = 0; k < ex->n_sure; k++)
            cr_assert(ex->sure[k].src == k && ex->sure[k].tgt == k);
    }
    free(ex);
}

Test(data_synthetic, sort_links_are_a_stable_permutation_of_equal_tokens)
{
    ak_synth_opts o = ak_synth_defaults(AK_SYNTH_SORT);
    o.max_len = 30; /* long lists: ties are frequent */
    ak_synth_example *ex = new_example();
    long ties = 0;
    for (uint64_t i = 0; i < 500; i++) {
        ak_synth_draw(&o, 0, i, ex);
        int32_t n = ex->n_src;
        cr_assert_eq(ex->n_tgt, n);
        cr_assert_eq(ex->n_sure, n);
        expect_links_well_formed(ex);
        int used[AK_SYNTH_MAX_TOK] = {0};
        int32_t from[AK_SYNTH_MAX_TOK];
        for (int32_t j = 0; j < n; j++) {
            from[j] = sure_for_tgt(ex, j);
            cr_assert_geq(from[j], 0);
            cr_assert(!used[from[j]], "source %d used twice", (int)from[j]);
            used[from[j]] = 1;
            cr_assert_str_eq(ex->tgt[j], ex->src[from[j]]);
            int v = atoi(ex->tgt[j]);
            cr_assert(v >= 0 && v <= 99);
            if (j > 0) {
                int u = atoi(ex->tgt[j - 1]);
                cr_assert_leq(u, v, "target not ascending");
                if (u == v) {
                    cr_assert_lt(from[j - 1], from[j], "tie not in source order");
                    ties++;
                }
            }
        }
        /* possible = every (i, j) with equal tokens */
        int32_t want = 0;
        for (int32_t s = 0; s < n; s++)
            for (int32_t j = 0; j < n; j++)
                want += strcmp(ex->src[s], ex->tgt[j]) == 0;
        cr_assert_eq(ex->n_possible, want);
        for (int32_t k = 0; k < ex->n_possible; k++)
            cr_assert_str_eq(ex->src[ex->possible[k].src], ex->tgt[ex->possible[k].tgt]);
        expect_example_tokenizes(ex);
    }
    cr_expect_gt(ties, 100, "only %ld ties: the stable-order check saw too few", ties);
    free(ex);
}

/* Value of a date source token: month name (full or 3 letters), or the
 * number it starts with ("3rd" -> 3, "03" -> 3); -1 otherwise. */
static int date_value(const char *tok)
{
    static const char *const months[12] = {"January", "February", "March",     "April",   "May",      "June",
                                           "July",    "August",   "September", "October", "November", "December"};
    for (int m = 0; m < 12; m++)
        if (strcmp(tok, months[m]) == 0 || (strlen(tok) == 3 && strncmp(tok, months[m], 3) == 0))
            return m + 1;
    if (tok[0] < '0' || tok[0] > '9')
        return -1;
    char *end;
    long v = strtol(tok, &end, 10);
    if (*end && strcmp(end, "st") && strcmp(end, "nd") && strcmp(end, "rd") && strcmp(end, "th"))
        return -1;
    return (int)v;
}

Test(data_synthetic, date_links_join_each_field_to_the_token_holding_its_value)
{
    ak_synth_opts o = ak_synth_defaults(AK_SYNTH_DATE);
    ak_synth_example *ex = new_example();
    int forms[5] = {0}; /* by first source token: the / month / day + form */
    for (uint64_t i = 0; i < 2000; i++) {
        ak_synth_draw(&o, 0, i, ex);
        expect_links_well_formed(ex);
        cr_assert_eq(ex->n_tgt, 5);
        cr_assert_str_eq(ex->tgt[1], "-");
        cr_assert_str_eq(ex->tgt[3], "-");
        cr_assert_eq(strlen(ex->tgt[0]), 4);
        cr_assert_eq(strlen(ex->tgt[2]), 2);
        cr_assert_eq(strlen(ex->tgt[4]), 2);
        int y = atoi(ex->tgt[0]), m = atoi(ex->tgt[2]), d = atoi(ex->tgt[4]);
        cr_assert(y >= 1900 && y <= 2099 && m >= 1 && m <= 12 && d >= 1);
        static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        cr_assert(d <= mdays[m - 1] && (m != 2 || d <= 28 + leap), "%s", ex->tgt_text);
        cr_assert_eq(ex->n_sure, 3);
        const int want[3] = {y, m, d};
        for (int f = 0; f < 3; f++) {
            int32_t s = sure_for_tgt(ex, 2 * f);
            cr_assert_geq(s, 0, "%s: field %d unaligned", ex->src_text, f);
            cr_assert_eq(date_value(ex->src[s]), want[f], "%s: token '%s' for field %d", ex->src_text, ex->src[s], f);
        }
        for (int32_t j = 1; j < 5; j += 2)
            cr_assert_eq(sure_for_tgt(ex, j), -1, "'-' must be unaligned");
        for (int32_t s = 0; s < ex->n_src; s++)
            if (!src_linked(ex, s)) {
                const char *t = ex->src[s];
                cr_assert(!strcmp(t, "the") || !strcmp(t, "of") || !strcmp(t, ",") || !strcmp(t, "/") ||
                              !strcmp(t, "."),
                          "unaligned source token '%s'", t);
            }
        /* which form */
        if (!strcmp(ex->src[0], "the"))
            forms[0]++;
        else if (date_value(ex->src[0]) >= 1 && ex->src[0][0] > '9')
            forms[1]++; /* month first */
        else if (ex->n_src == 3)
            forms[2]++;
        else if (!strcmp(ex->src[1], "/"))
            forms[3]++;
        else if (!strcmp(ex->src[1], "."))
            forms[4]++;
        expect_example_tokenizes(ex);
    }
    for (int f = 0; f < 5; f++)
        cr_expect_gt(forms[f], 300, "form %d drawn %d times of 2000", f, forms[f]);
    free(ex);
}

Test(data_synthetic, date_forms_have_the_documented_shape)
{
    /* Every form of one draw: scan until each form seen and check text. */
    ak_synth_opts o = ak_synth_defaults(AK_SYNTH_DATE);
    ak_synth_example *ex = new_example();
    int ok_the = 0, ok_slash = 0, ok_dot = 0, ok_comma = 0;
    for (uint64_t i = 0; i < 500; i++) {
        ak_synth_draw(&o, 0, i, ex);
        char want[64];
        int y = atoi(ex->tgt[0]), m = atoi(ex->tgt[2]), d = atoi(ex->tgt[4]);
        snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
        cr_assert_str_eq(ex->tgt_text, want);
        if (!strcmp(ex->src[1], "/")) {
            snprintf(want, sizeof want, "%02d/%02d/%04d", d, m, y);
            cr_assert_str_eq(ex->src_text, want);
            ok_slash = 1;
        } else if (!strcmp(ex->src[1], ".")) {
            snprintf(want, sizeof want, "%d.%d.%04d", d, m, y);
            cr_assert_str_eq(ex->src_text, want);
            ok_dot = 1;
        } else if (!strcmp(ex->src[0], "the")) {
            cr_assert_str_eq(ex->src[2], "of");
            ok_the = 1;
        } else if (ex->n_src == 4) {
            cr_assert_str_eq(ex->src[2], ",");
            cr_assert(strstr(ex->src_text, ", ") != NULL && strstr(ex->src_text, " ,") == NULL);
            ok_comma = 1;
        }
    }
    cr_expect(ok_the && ok_slash && ok_dot && ok_comma);
    free(ex);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    *n = (size_t)len;
    return buf;
}

static void temp_prefix(char *dir, char *tsv, char *gold)
{
    strcpy(dir, "/tmp/ak_synth_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    sprintf(tsv, "%s/x.tsv", dir);
    sprintf(gold, "%s/x.gold.tsv", dir);
}

static void remove_prefix(const char *dir, const char *tsv, const char *gold)
{
    unlink(tsv);
    unlink(gold);
    rmdir(dir);
}

Test(data_synthetic, written_files_parse_tokenize_and_keep_probes_unseen)
{
    for (size_t t = 0; t < 4; t++) {
        ak_synth_opts o = ak_synth_defaults(all_tasks[t]);
        o.n = 3000;
        o.probes = 40;
        o.seed = 99;
        char dir[64], tsv[96], gold[96];
        temp_prefix(dir, tsv, gold);
        ak_err err = {{0}};
        cr_assert_eq(ak_synth_write(&o, tsv, gold, &err), 0, "%s", err.msg);

        ak_corpus c;
        cr_assert_eq(ak_corpus_read(&c, tsv, AK_MALFORMED_FAIL, &err), 0, "%s", err.msg);
        cr_assert_eq(c.n, 3000);
        ak_synth_example *ex = new_example();
        for (size_t i = 0; i < c.n; i += 97) { /* line i is draw i of split 0 */
            ak_synth_draw(&o, 0, i, ex);
            cr_assert_str_eq(c.pairs[i].src, ex->src_text);
            cr_assert_str_eq(c.pairs[i].tgt, ex->tgt_text);
        }

        ak_gold g;
        cr_assert_eq(ak_gold_read(&g, gold, &err), 0, "%s", err.msg);
        cr_assert_eq(g.n, 40);
        for (size_t p = 0; p < g.n; p++) {
            const ak_gold_pair *q = &g.pairs[p];
            expect_tokenizes_to(q->src, (const char *const *)q->src_tok, q->n_src_tok);
            expect_tokenizes_to(q->tgt, (const char *const *)q->tgt_tok, q->n_tgt_tok);
            cr_assert_geq(q->n_sure, 1);
            for (size_t i = 0; i < c.n; i++)
                cr_assert_str_neq(q->src, c.pairs[i].src, "probe %zu seen in training", p);
            for (size_t r = 0; r < p; r++)
                cr_assert_str_neq(q->src, g.pairs[r].src, "probe %zu repeats %zu", p, r);
        }
        /* The file's links are the draw's links (a probe is some draw k >= p). */
        const ak_gold_pair *q0 = &g.pairs[0];
        int found = 0;
        for (uint64_t k = 0; k < 100 && !found; k++) {
            ak_synth_draw(&o, 1, k, ex);
            if (strcmp(ex->src_text, q0->src) == 0) {
                found = 1;
                cr_assert_eq(q0->n_sure, ex->n_sure);
                cr_assert_eq(q0->n_possible, ex->n_possible);
                for (int32_t l = 0; l < ex->n_possible; l++)
                    cr_assert(q0->possible[l].src == ex->possible[l].src && q0->possible[l].tgt == ex->possible[l].tgt);
            }
        }
        cr_assert(found);
        free(ex);
        ak_gold_free(&g);
        ak_corpus_free(&c);
        remove_prefix(dir, tsv, gold);
    }
}

Test(data_synthetic, files_are_identical_for_a_seed_and_differ_across_seeds)
{
    ak_synth_opts o = ak_synth_defaults(AK_SYNTH_SORT);
    o.n = 500;
    o.probes = 10;
    char d1[64], t1[96], g1[96], d2[64], t2[96], g2[96];
    temp_prefix(d1, t1, g1);
    temp_prefix(d2, t2, g2);
    ak_err err = {{0}};
    cr_assert_eq(ak_synth_write(&o, t1, g1, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_synth_write(&o, t2, g2, &err), 0, "%s", err.msg);
    size_t n1, n2, m1, m2;
    char *a = slurp(t1, &n1), *b = slurp(t2, &n2), *c = slurp(g1, &m1), *d = slurp(g2, &m2);
    cr_assert(n1 == n2 && memcmp(a, b, n1) == 0);
    cr_assert(m1 == m2 && memcmp(c, d, m1) == 0);
    free(b);
    free(d);
    o.seed = 2;
    cr_assert_eq(ak_synth_write(&o, t2, g2, &err), 0, "%s", err.msg);
    b = slurp(t2, &n2);
    d = slurp(g2, &m2);
    cr_assert(n1 != n2 || memcmp(a, b, n1) != 0);
    cr_assert(m1 != m2 || memcmp(c, d, m1) != 0);
    free(a);
    free(b);
    free(c);
    free(d);
    remove_prefix(d1, t1, g1);
    remove_prefix(d2, t2, g2);
}

Test(data_synthetic, too_small_a_task_space_for_unseen_probes_is_an_error)
{
    /* 24 one-token sources, all in 2000 training pairs. */
    ak_synth_opts o = ak_synth_defaults(AK_SYNTH_REVERSE);
    o.min_len = o.max_len = 1;
    o.n = 2000;
    o.probes = 5;
    char dir[64], tsv[96], gold[96];
    temp_prefix(dir, tsv, gold);
    ak_err err = {{0}};
    cr_assert_eq(ak_synth_write(&o, tsv, gold, &err), -1);
    cr_expect_str_eq(err.msg, "--probes: only 0 of 5 probes could be drawn unseen in the 2000 training "
                              "pairs after 1500 draws; the reverse task has too few distinct sources "
                              "(raise --max-len, lower --n or --probes)");
    cr_expect_neq(access(tsv, F_OK), 0, "a failed write must leave no file");
    cr_expect_neq(access(gold, F_OK), 0);
    remove_prefix(dir, tsv, gold);
}

Test(data_synthetic, unwritable_output_names_the_path)
{
    ak_synth_opts o = ak_synth_defaults(AK_SYNTH_REVERSE);
    o.n = 10;
    ak_err err = {{0}};
    cr_assert_eq(ak_synth_write(&o, "/nonexistent_dir_ak/x.tsv", NULL, &err), -1);
    cr_expect(strstr(err.msg, "/nonexistent_dir_ak/x.tsv") != NULL, "%s", err.msg);
}

/* The shipped files are what docs/synthetic.md's command writes:
 *   bin/synth TASK --out data/synthetic/TASK --n 20000 --probes 48 --seed 1 */
Test(data_synthetic, shipped_files_are_reproduced_byte_for_byte)
{
    for (size_t t = 0; t < 4; t++) {
        const char *name = ak_synth_task_name(all_tasks[t]);
        char want_tsv[128], want_gold[128];
        snprintf(want_tsv, sizeof want_tsv, "data/synthetic/%s.tsv", name);
        snprintf(want_gold, sizeof want_gold, "data/synthetic/%s.gold.tsv", name);
        size_t nw, ng, nt, nh;
        char *w = slurp(want_tsv, &nw), *wg = slurp(want_gold, &ng);
        cr_assert_not_null(w, "%s missing (run from the repository root)", want_tsv);
        cr_assert_not_null(wg, "%s missing", want_gold);
        cr_expect_lt(nw, 1000000, "%s is %zu bytes", want_tsv, nw);

        ak_synth_opts o = ak_synth_defaults(all_tasks[t]); /* n 20000, probes 48, seed 1 */
        char dir[64], tsv[96], gold[96];
        temp_prefix(dir, tsv, gold);
        ak_err err = {{0}};
        cr_assert_eq(ak_synth_write(&o, tsv, gold, &err), 0, "%s", err.msg);
        char *h = slurp(tsv, &nt), *hg = slurp(gold, &nh);
        cr_expect(nt == nw && memcmp(h, w, nw) == 0, "%s differs from a fresh run", want_tsv);
        cr_expect(nh == ng && memcmp(hg, wg, ng) == 0, "%s differs from a fresh run", want_gold);
        free(w);
        free(wg);
        free(h);
        free(hg);
        remove_prefix(dir, tsv, gold);
    }
}

/* ---- command line ---- */

static int parse(const char *line, ak_synth_opts *o, const char **prefix, int *help, ak_err *err)
{
    static char buf[512];
    static char *argv[32];
    snprintf(buf, sizeof buf, "%s", line);
    int argc = 0;
    argv[argc++] = "synth";
    for (char *tok = strtok(buf, " "); tok && argc < 31; tok = strtok(NULL, " "))
        argv[argc++] = strcmp(tok, "''") == 0 ? "" : tok;
    argv[argc] = NULL;
    return ak_synth_parse_args(argc, argv, o, prefix, help, err);
}

Test(data_synthetic, command_line_fills_options)
{
    ak_synth_opts o;
    const char *prefix;
    int help;
    ak_err err = {{0}};
    cr_assert_eq(parse("sort --out d/s --n 7 --probes 3 --seed 18446744073709551615 --min-len 2 "
                       "--max-len 5",
                       &o, &prefix, &help, &err),
                 0, "%s", err.msg);
    cr_expect_eq(help, 0);
    cr_expect_eq(o.task, AK_SYNTH_SORT);
    cr_expect_str_eq(prefix, "d/s");
    cr_expect_eq(o.n, 7);
    cr_expect_eq(o.probes, 3);
    cr_expect_eq(o.seed, UINT64_MAX);
    cr_expect_eq(o.min_len, 2);
    cr_expect_eq(o.max_len, 5);

    cr_assert_eq(parse("copy --p-replace 0.5 --p-insert 0 --p-filler 1 --out x", &o, &prefix, &help, &err), 0, "%s",
                 err.msg);
    cr_expect_float_eq(o.p_replace, 0.5f, 0.0f);
    cr_expect_float_eq(o.p_insert, 0.0f, 0.0f);
    cr_expect_float_eq(o.p_filler, 1.0f, 0.0f);
    cr_expect_eq(o.n, 20000);
    cr_expect_eq(o.probes, 48);
    cr_expect_eq(o.seed, 1);

    cr_assert_eq(parse("date --out x", &o, &prefix, &help, &err), 0, "%s", err.msg);
    cr_expect_eq(o.min_len, 0);
    cr_assert_eq(parse("bogus --n x --help", &o, &prefix, &help, &err), 0);
    cr_expect_eq(help, 1);
    cr_expect(strstr(ak_synth_usage, "usage: synth TASK --out PREFIX") == ak_synth_usage);
}

Test(data_synthetic, bad_command_lines_name_the_argument)
{
    static const struct {
        const char *line, *msg;
    } cases[] = {
        {"", "TASK: expected one of reverse, copy, sort, date as the first argument (see --help)"},
        {"--out x", "TASK: expected one of reverse, copy, sort, date as the first argument (see "
                    "--help)"},
        {"shuffle --out x", "TASK: expected one of reverse, copy, sort, date, got 'shuffle'"},
        {"reverse", "--out: expected an output prefix (required)"},
        {"reverse --out ''", "--out: expected a non-empty path prefix"},
        {"reverse --out", "--out: expected a value after it"},
        {"reverse --out x --n", "--n: expected a value after it"},
        {"reverse --out x --nn 3", "--nn: unknown argument, expected an option such as --out, "
                                   "--n, --probes, --seed (see --help)"},
        {"reverse --out x extra", "extra: unknown argument, expected an option such as --out, "
                                  "--n, --probes, --seed (see --help)"},
        {"reverse --out x --n 0", "--n: expected an integer in [1, 100000000], got '0'"},
        {"reverse --out x --n 12abc", "--n: expected an integer in [1, 100000000], got '12abc'"},
        {"reverse --out x --n -5", "--n: expected an integer in [1, 100000000], got '-5'"},
        {"reverse --out x --n 99999999999999999999",
         "--n: expected an integer in [1, 100000000], got '99999999999999999999'"},
        {"reverse --out x --probes 1000001", "--probes: expected an integer in [1, 1000000], got '1000001'"},
        {"reverse --out x --seed -1", "--seed: expected an integer in [0, 18446744073709551615], got '-1'"},
        {"reverse --out x --seed 18446744073709551616",
         "--seed: expected an integer in [0, 18446744073709551615], got '18446744073709551616'"},
        {"reverse --out x --min-len 0", "--min-len: expected an integer in [1, 40], got '0'"},
        {"reverse --out x --max-len 41", "--max-len: expected an integer in [1, 40], got '41'"},
        {"reverse --out x --min-len 8 --max-len 4", "--max-len: expected an integer in [8 (--min-len), 40], got 4"},
        {"sort --out x --min-len 12", "--max-len: expected an integer in [12 (--min-len), 40], got 10"},
        {"date --out x --min-len 3", "--min-len: expected no length for task date (its forms are "
                                     "fixed)"},
        {"date --out x --max-len 3", "--max-len: expected no length for task date (its forms are "
                                     "fixed)"},
        {"reverse --out x --p-replace 0.2", "--p-replace: expected only with task copy, got task reverse"},
        {"copy --out x --p-insert 1.5", "--p-insert: expected a probability in [0, 1], got '1.5'"},
        {"copy --out x --p-filler nan", "--p-filler: expected a probability in [0, 1], got 'nan'"},
        {"copy --out x --p-filler 0.1x", "--p-filler: expected a probability in [0, 1], got '0.1x'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ak_synth_opts o;
        const char *prefix;
        int help;
        ak_err err = {{0}};
        cr_expect_eq(parse(cases[k].line, &o, &prefix, &help, &err), -1, "'%s' accepted", cases[k].line);
        cr_expect_str_eq(err.msg, cases[k].msg, "'%s'", cases[k].line);
    }
}

Test(data_synthetic, check_rejects_what_the_parser_would)
{
    ak_err err = {{0}};
    ak_synth_opts o = ak_synth_defaults(AK_SYNTH_COPY);
    cr_expect_eq(ak_synth_check(&o, &err), 0, "%s", err.msg);
    o.p_replace = -0.1f;
    cr_expect_eq(ak_synth_check(&o, &err), -1);
    cr_expect_str_eq(err.msg, "--p-replace: expected a probability in [0, 1], got -0.1");
    o = ak_synth_defaults(AK_SYNTH_DATE);
    o.max_len = 4;
    cr_expect_eq(ak_synth_check(&o, &err), -1);
    cr_expect_str_eq(err.msg, "--max-len: expected no length for task date (its forms are fixed)");
    o = ak_synth_defaults(AK_SYNTH_SORT);
    o.probes = 0;
    cr_expect_eq(ak_synth_check(&o, &err), -1);
    cr_expect_str_eq(err.msg, "--probes: expected an integer in [1, 1000000], got 0");
    o.task = (ak_synth_task)7;
    cr_expect_eq(ak_synth_check(&o, &err), -1);
    cr_expect_str_eq(err.msg, "TASK: expected one of reverse, copy, sort, date, got 7");
    ak_synth_task t;
    cr_expect_eq(ak_synth_task_parse("Date", &t, &err), -1);
    cr_expect_eq(ak_synth_task_parse("date", &t, &err), 0);
    cr_expect_eq(t, AK_SYNTH_DATE);
}

/* bin/synth, when built: --help exits 0, a bad argument exits 2 with one
 * stderr line. */
Test(data_synthetic, program_exit_codes)
{
    if (access("bin/synth", X_OK) != 0)
        cr_skip_test("bin/synth not built");
    cr_expect_eq(system("bin/synth --help > /dev/null"), 0);
    int rc = system("bin/synth reverse --out /tmp/ak_synth_x --n zero 2> /tmp/ak_synth_err.txt");
    cr_expect(WIFEXITED(rc) && WEXITSTATUS(rc) == 2, "status %d", rc);
    size_t n;
    char *msg = slurp("/tmp/ak_synth_err.txt", &n);
    cr_assert_not_null(msg);
    cr_expect_str_eq(msg, "synth: --n: expected an integer in [1, 100000000], got 'zero'\n");
    free(msg);
    unlink("/tmp/ak_synth_err.txt");
}
