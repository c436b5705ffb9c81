/* Batching: equal to the PyTorch twin's make_batches/collate, and the
 * invariants the trainer relies on (budget, coverage, padding, BOS/EOS,
 * determinism per (seed, epoch)). The expected values come from
 * make_batches copied verbatim out of shared/peer/torch_train.py and run by
 * /usr/bin/python3 3.11 on the same synthetic lengths:
 *   ns = 70 if i % 97 == 5 else 1 + (i * 37) % 11;  nt = (i * 53) % 9
 *   rng = random.Random(seed + 1000); make_batches(ex, 64, rng, True) per epoch
 * ck(x) = sum((k + 1) * x[k]) % (2**61 - 1) over the flattened batch order
 * and over the batch sizes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "data/batch.h"
#include "data/corpus.h"
#include "data/corpus_split.h"

#define N 500
#define BUDGET 64

static uint64_t ck_push(uint64_t s, size_t k, uint64_t v)
{
    const uint64_t m = (UINT64_C(1) << 61) - 1;
    return (s + (uint64_t)(k + 1) * v) % m;
}

/* Pair i: source ids 4 + (i + j) % 50, target ids 4 + (3i + j) % 50. */
static void make_pairs(ak_idcorpus *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < N; i++) {
        int32_t ns = i % 97 == 5 ? 70 : 1 + (i * 37) % 11, nt = (i * 53) % 9;
        int32_t src[70], tgt[9];
        for (int j = 0; j < ns; j++)
            src[j] = 4 + (i + j) % 50;
        for (int j = 0; j < nt; j++)
            tgt[j] = 4 + (3 * i + j) % 50;
        cr_assert_eq(ak_idcorpus_add(c, src, ns, tgt, nt, NULL), 0);
    }
}

typedef struct {
    size_t n_batches;
    size_t first[10], n_first; /* pairs of the first batch */
    size_t second[10], n_second;
    uint64_t ck_order, ck_sizes;
} expect;

static const expect seed1[3] = {
    {69, {216, 414, 18, 260, 161, 62, 458, 359, 106}, 9, {138, 39, 237, 336, 435, 182, 479, 83}, 8, 31391748, 17454},
    {69, {82, 478, 379, 280, 181}, 5, {257, 499, 202, 4, 301, 103, 400, 48, 345}, 9, 31050816, 17286},
    {69, {332, 431, 475, 277, 79, 376, 178}, 7, {326, 227, 29, 271, 73, 469, 370}, 7, 31198436, 17729},
};
static const expect seed7[3] = {
    {69, {220, 22, 418, 319, 121, 363, 66, 264, 165}, 9, {365, 464, 266, 310, 112, 211, 13}, 7, 31573510, 17661},
    {69, {361, 262, 64, 243, 45, 144, 441}, 7, {319, 121, 418, 220, 22, 462, 165, 66, 264}, 9, 31141562, 17185},
    {69, {298, 397, 100, 279, 180, 477, 81}, 7, {244, 46, 343, 27, 324, 423}, 6, 31409918, 17261},
};
static const expect unshuffled = {
    69, {0, 99, 198, 297, 396, 495, 44, 143, 242, 341}, 10, {33, 132, 231, 330, 429, 77, 176, 275, 374, 473}, 10,
    31371600, 14174,
};

static void check_plan(const ak_batch_plan *p, const expect *e, const char *what)
{
    cr_assert_eq(p->n_batches, e->n_batches, "%s: batches", what);
    cr_expect_geq(p->batches[0].rows, (int32_t)e->n_first, "%s", what);
    for (size_t r = 0; r < e->n_first; r++)
        cr_expect_eq(p->batches[0].pair[r], e->first[r], "%s: batch 0 row %zu", what, r);
    cr_expect_geq(p->batches[1].rows, (int32_t)e->n_second, "%s", what);
    for (size_t r = 0; r < e->n_second; r++)
        cr_expect_eq(p->batches[1].pair[r], e->second[r], "%s: batch 1 row %zu", what, r);
    uint64_t ck_order = 0, ck_sizes = 0;
    size_t k = 0;
    for (size_t b = 0; b < p->n_batches; b++) {
        ck_sizes = ck_push(ck_sizes, b, (uint64_t)p->batches[b].rows);
        for (int32_t r = 0; r < p->batches[b].rows; r++, k++)
            ck_order = ck_push(ck_order, k, p->batches[b].pair[r]);
    }
    cr_expect_eq(k, (size_t)N, "%s", what);
    cr_expect_eq(ck_order, e->ck_order, "%s: order checksum", what);
    cr_expect_eq(ck_sizes, e->ck_sizes, "%s: size checksum", what);
}

Test(data_batch, sequential_epochs_equal_twin_for_two_seeds)
{
    ak_idcorpus c;
    make_pairs(&c);
    const expect *tables[2] = {seed1, seed7};
    const int64_t seeds[2] = {1, 7};
    for (int s = 0; s < 2; s++) {
        ak_batcher b;
        ak_batch_plan plan = {0}; /* one plan struct reused across epochs */
        cr_assert_eq(ak_batcher_init(&b, &c, BUDGET, seeds[s], 1, NULL), 0);
        for (int ep = 1; ep <= 3; ep++) {
            char what[32];
            snprintf(what, sizeof what, "seed %d epoch %d", (int)seeds[s], ep);
            cr_assert_eq(ak_batcher_plan(&b, ep, &plan, NULL), 0);
            check_plan(&plan, &tables[s][ep - 1], what);
        }
        ak_batch_plan_free(&plan);
    }
    ak_idcorpus_free(&c);
}

Test(data_batch, epochs_asked_out_of_order_replay_the_twin_stream)
{
    ak_idcorpus c;
    make_pairs(&c);
    ak_batcher b;
    cr_assert_eq(ak_batcher_init(&b, &c, BUDGET, 1, 1, NULL), 0);
    const int order[5] = {3, 1, 2, 2, 3};
    for (int k = 0; k < 5; k++) {
        ak_batch_plan plan = {0};
        cr_assert_eq(ak_batcher_plan(&b, order[k], &plan, NULL), 0);
        char what[32];
        snprintf(what, sizeof what, "call %d epoch %d", k, order[k]);
        check_plan(&plan, &seed1[order[k] - 1], what);
        ak_batch_plan_free(&plan);
    }
    ak_idcorpus_free(&c);
}

Test(data_batch, unshuffled_plan_equals_twin_validation_batches)
{
    ak_idcorpus c;
    make_pairs(&c);
    ak_batcher b;
    ak_batch_plan plan = {0};
    cr_assert_eq(ak_batcher_init(&b, &c, BUDGET, 1, 0, NULL), 0);
    cr_assert_eq(ak_batcher_plan(&b, 5, &plan, NULL), 0);
    check_plan(&plan, &unshuffled, "validation");
    ak_batch_plan_free(&plan);
    ak_idcorpus_free(&c);
}

Test(data_batch, budget_coverage_padding_and_bos_eos_hold)
{
    ak_idcorpus c;
    make_pairs(&c);
    ak_batcher b;
    ak_batch_plan plan = {0};
    cr_assert_eq(ak_batcher_init(&b, &c, BUDGET, 3, 1, NULL), 0);
    cr_assert_eq(ak_batcher_plan(&b, 1, &plan, NULL), 0);
    int seen[N] = {0}, oversize = 0;
    for (size_t k = 0; k < plan.n_batches; k++) {
        const ak_batch *bt = &plan.batches[k];
        int32_t width = bt->src_cols > bt->tgt_cols ? bt->src_cols : bt->tgt_cols;
        if (bt->rows > 1)
            cr_expect_leq((int64_t)bt->rows * width, BUDGET, "batch %zu over budget", k);
        else if (width > BUDGET)
            oversize++;
        int32_t max_s = 0, max_d = 0;
        int64_t tokens = 0;
        for (int32_t r = 0; r < bt->rows; r++) {
            size_t i = bt->pair[r];
            cr_assert_lt(i, (size_t)N);
            seen[i]++;
            int32_t ns = c.pairs[i].ns, nt = c.pairs[i].nt;
            cr_expect_eq(bt->src_len[r], ns);
            cr_expect_eq(bt->dec_len[r], nt + 1);
            max_s = ns > max_s ? ns : max_s;
            max_d = nt + 1 > max_d ? nt + 1 : max_d;
            tokens += nt + 1;
            const int32_t *src = bt->src + (size_t)r * bt->src_cols;
            const int32_t *din = bt->dec_in + (size_t)r * bt->tgt_cols;
            const int32_t *dout = bt->dec_out + (size_t)r * bt->tgt_cols;
            for (int32_t j = 0; j < bt->src_cols; j++)
                cr_expect_eq(src[j], j < ns ? ak_idcorpus_src(&c, i)[j] : AK_BATCH_PAD, "src %zu/%d", k, r);
            cr_expect_eq(din[0], AK_BATCH_BOS);
            for (int32_t j = 0; j < nt; j++) {
                cr_expect_eq(din[j + 1], ak_idcorpus_tgt(&c, i)[j]);
                cr_expect_eq(dout[j], ak_idcorpus_tgt(&c, i)[j]);
            }
            cr_expect_eq(dout[nt], AK_BATCH_EOS);
            for (int32_t j = nt + 1; j < bt->tgt_cols; j++) {
                cr_expect_eq(din[j], AK_BATCH_PAD);
                cr_expect_eq(dout[j], AK_BATCH_PAD);
            }
        }
        cr_expect_eq(bt->src_cols, max_s, "batch %zu: src_cols is the longest source", k);
        cr_expect_eq(bt->tgt_cols, max_d, "batch %zu: tgt_cols is the longest target + 1", k);
        cr_expect_eq(bt->n_dec_tokens, tokens);
    }
    for (int i = 0; i < N; i++)
        cr_expect_eq(seen[i], 1, "pair %d appears %d times", i, seen[i]);
    cr_expect_eq(oversize, 6, "the 6 pairs with 70-id sources each stand alone");
    ak_batch_plan_free(&plan);
    ak_idcorpus_free(&c);
}

static int same_plan(const ak_batch_plan *a, const ak_batch_plan *b)
{
    if (a->n_batches != b->n_batches)
        return 0;
    for (size_t k = 0; k < a->n_batches; k++) {
        const ak_batch *x = &a->batches[k], *y = &b->batches[k];
        if (x->rows != y->rows || x->src_cols != y->src_cols || x->tgt_cols != y->tgt_cols ||
            memcmp(x->pair, y->pair, (size_t)x->rows * sizeof *x->pair) ||
            memcmp(x->src, y->src, (size_t)x->rows * (size_t)x->src_cols * sizeof(int32_t)) ||
            memcmp(x->dec_in, y->dec_in, (size_t)x->rows * (size_t)x->tgt_cols * sizeof(int32_t)) ||
            memcmp(x->dec_out, y->dec_out, (size_t)x->rows * (size_t)x->tgt_cols * sizeof(int32_t)))
            return 0;
    }
    return 1;
}

Test(data_batch, plan_depends_on_seed_and_epoch_only)
{
    ak_idcorpus c;
    make_pairs(&c);
    ak_batcher b1, b2, b3;
    ak_batch_plan p1 = {0}, p2 = {0}, p3 = {0};
    cr_assert_eq(ak_batcher_init(&b1, &c, BUDGET, 11, 1, NULL), 0);
    cr_assert_eq(ak_batcher_init(&b2, &c, BUDGET, 11, 1, NULL), 0);
    cr_assert_eq(ak_batcher_init(&b3, &c, BUDGET, 12, 1, NULL), 0);
    cr_assert_eq(ak_batcher_plan(&b1, 1, &p1, NULL), 0);
    cr_assert_eq(ak_batcher_plan(&b1, 2, &p1, NULL), 0); /* b1 now sits after epoch 2 */
    cr_assert_eq(ak_batcher_plan(&b2, 2, &p2, NULL), 0); /* b2 jumps straight there */
    cr_expect(same_plan(&p1, &p2), "epoch 2 equal whichever way it was reached");
    cr_assert_eq(ak_batcher_plan(&b2, 3, &p2, NULL), 0);
    cr_expect(!same_plan(&p1, &p2), "epochs 2 and 3 differ");
    cr_assert_eq(ak_batcher_plan(&b3, 2, &p3, NULL), 0);
    cr_expect(!same_plan(&p1, &p3), "seeds 11 and 12 differ");
    ak_batch_plan_free(&p1);
    ak_batch_plan_free(&p2);
    ak_batch_plan_free(&p3);
    ak_idcorpus_free(&c);
}

Test(data_batch, bad_arguments_are_reported)
{
    ak_idcorpus c = AK_IDCORPUS_INIT;
    int32_t one = 7;
    cr_assert_eq(ak_idcorpus_add(&c, &one, 1, &one, 1, NULL), 0);
    ak_batcher b;
    ak_err err;
    cr_expect_eq(ak_batcher_init(&b, &c, 0, 1, 1, &err), -1);
    cr_expect_str_eq(err.msg, "batcher: expected batch_tokens in [1, 2147483647], got 0");
    cr_assert_eq(ak_batcher_init(&b, &c, 10, 1, 1, &err), 0);
    ak_batch_plan plan = {0};
    cr_expect_eq(ak_batcher_plan(&b, 0, &plan, &err), -1);
    cr_expect_str_eq(err.msg, "batcher: expected an epoch >= 1, got 0");
    cr_assert_eq(ak_idcorpus_add(&c, &one, 0, &one, 1, NULL), 0);
    cr_expect_eq(ak_batcher_init(&b, &c, 10, 1, 1, &err), -1);
    cr_expect_str_eq(err.msg, "batcher: pair 1: expected a non-empty source and a target shorter than "
                              "2147483647 ids, got lengths 0 and 1 (filter with ak_idcorpus_filter first)");
    ak_idcorpus_free(&c);
}

Test(data_batch, empty_corpus_gives_an_empty_plan)
{
    ak_idcorpus c = AK_IDCORPUS_INIT;
    ak_batcher b;
    ak_batch_plan plan = {0};
    cr_assert_eq(ak_batcher_init(&b, &c, 10, 1, 1, NULL), 0);
    cr_assert_eq(ak_batcher_plan(&b, 1, &plan, NULL), 0);
    cr_expect_eq(plan.n_batches, 0);
    ak_batch_plan_free(&plan);
}

/* Encoder for the pipeline test: one id per space-separated word. */
static int64_t word_count_encoder(void *ctx, int side, const char *text, int32_t *out, size_t cap, ak_err *err)
{
    (void)ctx;
    (void)err;
    int64_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ' ';
    for (int64_t i = 0; i < n && (size_t)i < cap; i++)
        out[i] = 4 + side;
    return n;
}

static void check_sums(const ak_batch_plan *p, size_t n_batches, const size_t head[4], uint64_t ck_order,
                       uint64_t ck_sizes, const char *what)
{
    cr_assert_eq(p->n_batches, n_batches, "%s", what);
    for (int r = 0; r < 4; r++)
        cr_expect_eq(p->batches[0].pair[r], head[r], "%s: row %d", what, r);
    uint64_t co = 0, cs = 0;
    size_t k = 0;
    for (size_t b = 0; b < p->n_batches; b++) {
        cs = ck_push(cs, b, (uint64_t)p->batches[b].rows);
        for (int32_t r = 0; r < p->batches[b].rows; r++, k++)
            co = ck_push(co, k, p->batches[b].pair[r]);
    }
    cr_expect_eq(co, ck_order, "%s: order checksum", what);
    cr_expect_eq(cs, ck_sizes, "%s: size checksum", what);
}

/* The whole path on the shipped eng-deu file, against the twin's main():
 * split (seed 1, 1,000 validation pairs), encode (here: space-separated
 * words, len(s.split(" ")) in Python), keep 0 < len(src) <= 5 and
 * len(tgt) <= 5, make_batches(train, 512, Random(1 + 1000), True) for
 * epochs 1 and 2, make_batches(valid, 512, None, False). */
Test(data_batch, eng_deu_split_encode_filter_batch_equals_twin)
{
    ak_corpus corpus;
    ak_err err = {{0}};
    cr_assert_eq(ak_corpus_read(&corpus, "data/eng-deu.tsv", AK_MALFORMED_FAIL, &err), 0, "%s", err.msg);
    ak_split split;
    cr_assert_eq(ak_split_make(&split, corpus.n, 1000, 1, &err), 0, "%s", err.msg);
    ak_idcorpus train = AK_IDCORPUS_INIT, valid = AK_IDCORPUS_INIT;
    cr_assert_eq(ak_idcorpus_encode(&train, &corpus, split.train, split.n_train, word_count_encoder, NULL, &err), 0);
    cr_assert_eq(ak_idcorpus_encode(&valid, &corpus, split.valid, split.n_valid, word_count_encoder, NULL, &err), 0);
    cr_expect_eq(ak_idcorpus_filter(&train, 5, 5), 4456);
    ak_idcorpus_filter(&valid, 5, 5);
    cr_assert_eq(train.n, 42469);
    cr_assert_eq(valid.n, 907);

    ak_batcher b;
    ak_batch_plan plan = {0};
    cr_assert_eq(ak_batcher_init(&b, &train, 512, 1, 1, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_batcher_plan(&b, 1, &plan, &err), 0, "%s", err.msg);
    check_sums(&plan, 410, (const size_t[4]){6034, 6575, 40781, 29810}, UINT64_C(19137312109165), 8657664,
               "epoch 1");
    cr_assert_eq(ak_batcher_plan(&b, 2, &plan, &err), 0, "%s", err.msg);
    check_sums(&plan, 410, (const size_t[4]){2073, 6022, 18801, 36816}, UINT64_C(19168872146986), 8739130,
               "epoch 2");
    cr_assert_eq(ak_batcher_init(&b, &valid, 512, 1, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_batcher_plan(&b, 1, &plan, &err), 0, "%s", err.msg);
    check_sums(&plan, 10, (const size_t[4]){97, 795, 621, 85}, UINT64_C(197617380), 4629, "validation");

    ak_batch_plan_free(&plan);
    ak_idcorpus_free(&train);
    ak_idcorpus_free(&valid);
    ak_split_free(&split);
    ak_corpus_free(&corpus);
}
