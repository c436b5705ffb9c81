/* End-to-end training runs on a tiny corpus: the run directory gets its
 * metrics, checkpoints, attention files and statistics; keep-last pruning,
 * the best link, early stopping, a refused re-use of a run directory, the
 * RNN path, and greedy decoding that does not depend on the batch size. */
#include <math.h>
#include <sys/stat.h>

#include "helpers_train.h"
#include "core/threads.h"
#include "io/attnfile.h"
#include "io/ckpt_tokenizer.h"
#include "train/decode.h"
#include "train/train_data.h"

/* Field k (0-based) of TSV row r (0 = header) of text, as a double. */
static double tsv_num(const char *text, int r, int k)
{
    const char *p = text;
    for (int i = 0; i < r; i++) {
        p = strchr(p, '\n');
        cr_assert(p, "row %d missing", r);
        p++;
    }
    for (int i = 0; i < k; i++) {
        p = strchr(p, '\t');
        cr_assert(p, "field %d missing in row %d", k, r);
        p++;
    }
    return strtod(p, NULL);
}

static int count_lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

Test(train_run, tiny_run_writes_metrics_checkpoints_and_attention_files)
{
    char dir[64], cfg[256], run[256], p[512];
    th_tmpdir(dir, sizeof dir);
    th_make_corpus(dir, 200);
    th_make_config(dir, NULL, cfg, sizeof cfg);
    snprintf(run, sizeof run, "%s/run", dir);
    ak_err err = {{0}};
    const char *sets[] = {"train.select=valid_loss"};
    cr_assert_eq(th_train(cfg, run, NULL, 2, sets, 1, &err), AK_EXIT_OK, "%s", err.msg);

    snprintf(p, sizeof p, "%s/metrics.tsv", run);
    char *m = th_read(p);
    cr_assert(m, "no metrics.tsv");
    cr_assert(!strncmp(m, "epoch\tstep\tlr\ttrain_loss\tvalid_loss\tvalid_nll\tvalid_ppl\tbleu\t", 60), "%s", m);
    cr_assert_eq(count_lines(m), 3, "%s", m);
    cr_expect_eq(tsv_num(m, 1, 0), 1);
    cr_expect_eq(tsv_num(m, 2, 0), 2);
    double l1 = tsv_num(m, 1, 4), l2 = tsv_num(m, 2, 4);
    cr_expect(isfinite(l1) && l1 > 0 && l2 < l1, "valid loss should fall: %g then %g", l1, l2);
    cr_expect(fabs(tsv_num(m, 2, 6) - exp(tsv_num(m, 2, 5))) < 0.01 * tsv_num(m, 2, 6), "ppl = exp(nll)");
    cr_expect(tsv_num(m, 2, 1) > tsv_num(m, 1, 1), "step count grows");
    free(m);

    struct stat a, b;
    snprintf(p, sizeof p, "%s/ckpt/epoch-001.ckpt", run);
    cr_assert(th_exists(p));
    snprintf(p, sizeof p, "%s/ckpt/epoch-002.ckpt", run);
    cr_assert_eq(stat(p, &a), 0);
    snprintf(p, sizeof p, "%s/ckpt/best.ckpt", run);
    cr_assert_eq(stat(p, &b), 0);
    cr_expect_eq(a.st_ino, b.st_ino, "best.ckpt is a hard link to the better epoch (epoch 2 here)");

    /* The checkpoint alone rebuilds model and tokenizers. */
    ak_container *c;
    ak_model *model = th_load(p, &c);
    ak_tokenizer *tok = NULL;
    cr_assert_eq(ak_ckpt_get_tokenizer(c, "tgt", &tok, &err), 0, "%s", err.msg);
    cr_expect_eq((int64_t)ak_vocab_size(ak_tokenizer_vocab(tok)), ak_model_get_desc(model)->tgt_vocab);
    const char *conf;
    cr_assert_eq(ak_container_get_str(c, "run/config", &conf, NULL, &err), 0, "%s", err.msg);
    cr_expect(strstr(conf, "d_model = 16"), "%s", conf);
    ak_tokenizer_free(tok);
    ak_model_free(model);
    ak_container_close(c);

    /* Attention files for epochs 0, 1, 2 with the 4 probes, every map set. */
    for (int e = 0; e <= 2; e++) {
        ak_attn_file f = {0};
        cr_assert_eq(ak_attn_file_path(p, sizeof p, run, (uint64_t)e, &err), 0);
        cr_assert_eq(ak_attn_file_read(&f, p, &err), 0, "%s", err.msg);
        cr_expect_eq(f.epoch, (uint64_t)e);
        cr_expect_eq(f.n_probes, 4);
        cr_expect_eq(f.model.layers[AK_ROLE_CROSS], 1);
        cr_expect_eq(f.model.heads[AK_ROLE_CROSS], 2);
        int idx[8];
        th_pair(2, 0, idx);
        cr_expect_str_eq(f.probes[0]->src.tok[0], th_src_words[idx[0]], "probe 0 starts with its first source word");
        ak_attn_file_free(&f);
    }
    snprintf(p, sizeof p, "%s/attn_stats.tsv", run);
    char *s = th_read(p);
    cr_assert(s);
    cr_expect_eq(count_lines(s), 1 + 3 * 6, "header + 3 epochs x (enc, dec, cross) x 2 heads:\n%s", s);
    cr_expect(strstr(s, "\n2\tcross\t0\t1\t"), "%s", s);
    const char *cross = strstr(s, "\n0\tcross\t0\t0\t");
    cr_assert(cross);
    const char *last = strchr(cross + 1, '\n');
    cr_assert(last);
    while (last[-1] != '\t')
        last--;
    cr_expect(strncmp(last, "nan", 3) != 0, "gold probes give an AER for cross attention");
    free(s);
    snprintf(p, sizeof p, "%s/config.ini", run);
    cr_expect(th_exists(p));
    snprintf(p, sizeof p, "%s/valid.hyp", run);
    char *h = th_read(p);
    cr_assert(h);
    cr_expect_eq(count_lines(h), 20, "one hypothesis per validation pair");
    free(h);
}

Test(train_run, keep_last_prunes_old_epochs_but_best_survives)
{
    char dir[64], cfg[256], run[256], p[512];
    th_tmpdir(dir, sizeof dir);
    th_make_corpus(dir, 120);
    th_make_config(dir, "enabled = false\n[train]\nkeep_last = 1\nselect = valid_loss\n", cfg, sizeof cfg);
    snprintf(run, sizeof run, "%s/run", dir);
    ak_err err = {{0}};
    cr_assert_eq(th_train(cfg, run, NULL, 3, NULL, 0, &err), AK_EXIT_OK, "%s", err.msg);
    for (int e = 1; e <= 3; e++) {
        snprintf(p, sizeof p, "%s/ckpt/epoch-%03d.ckpt", run, e);
        cr_expect_eq(th_exists(p), e == 3, "epoch %d", e);
    }
    snprintf(p, sizeof p, "%s/ckpt/best.ckpt", run);
    cr_expect(th_exists(p));
    snprintf(p, sizeof p, "%s/attn", run);
    cr_expect(!th_exists(p), "attention disabled: no attention files");
}

Test(train_run, early_stopping_with_patience)
{
    /* lr 0: the weights never change, so the validation loss never improves
     * after epoch 1 and patience 1 stops the run after epoch 2 of 5. */
    char dir[64], cfg[256], run[256], p[512];
    th_tmpdir(dir, sizeof dir);
    th_make_corpus(dir, 120);
    th_make_config(dir, "enabled = false\n[train]\npatience = 1\nselect = valid_loss\n", cfg, sizeof cfg);
    snprintf(run, sizeof run, "%s/run", dir);
    const char *sets[] = {"train.lr=0"};
    ak_err err = {{0}};
    cr_assert_eq(th_train(cfg, run, NULL, 5, sets, 1, &err), AK_EXIT_OK, "%s", err.msg);
    snprintf(p, sizeof p, "%s/metrics.tsv", run);
    char *m = th_read(p);
    cr_assert(m);
    cr_expect_eq(count_lines(m), 3, "stopped after 2 epochs:\n%s", m);
    free(m);
    /* Resuming a stopped run does nothing (and says so). */
    cr_assert_eq(th_train(cfg, run, run, 5, sets, 1, &err), AK_EXIT_OK, "%s", err.msg);
    snprintf(p, sizeof p, "%s/ckpt/epoch-003.ckpt", run);
    cr_expect(!th_exists(p));
}

Test(train_run, refuses_to_overwrite_an_existing_run)
{
    char dir[64], cfg[256], run[256];
    th_tmpdir(dir, sizeof dir);
    th_make_corpus(dir, 120);
    th_make_config(dir, "enabled = false\n", cfg, sizeof cfg);
    snprintf(run, sizeof run, "%s/run", dir);
    ak_err err = {{0}};
    cr_assert_eq(th_train(cfg, run, NULL, 1, NULL, 0, &err), AK_EXIT_OK, "%s", err.msg);
    cr_assert_eq(th_train(cfg, run, NULL, 1, NULL, 0, &err), AK_EXIT_USAGE);
    cr_expect(strstr(err.msg, "already holds a run") && strstr(err.msg, "--resume"), "%s", err.msg);
}

Test(train_run, rnn_with_additive_attention_trains_and_saves_cross_maps)
{
    char dir[64], cfg[256], run[256], p[512];
    th_tmpdir(dir, sizeof dir);
    th_make_corpus(dir, 120);
    th_make_config(dir, NULL, cfg, sizeof cfg);
    snprintf(run, sizeof run, "%s/run", dir);
    const char *sets[] = {"model.kind=rnn", "model.attention=additive", "data.tokenizer=bpe",
                          "data.vocab_size=80", "data.max_len=14"};
    ak_err err = {{0}};
    cr_assert_eq(th_train(cfg, run, NULL, 1, sets, 5, &err), AK_EXIT_OK, "%s", err.msg);
    ak_attn_file f = {0};
    cr_assert_eq(ak_attn_file_path(p, sizeof p, run, 1, &err), 0);
    cr_assert_eq(ak_attn_file_read(&f, p, &err), 0, "%s", err.msg);
    cr_expect_eq(f.model.layers[AK_ROLE_CROSS], 1);
    cr_expect_eq(f.model.layers[AK_ROLE_ENC_SELF], 0);
    cr_expect_eq(f.model.heads[AK_ROLE_CROSS], 1);
    ak_attn_file_free(&f);
    snprintf(p, sizeof p, "%s/merges.src", run);
    cr_expect(th_exists(p), "BPE merges saved with the run");
}

Test(train_run, greedy_decoding_does_not_depend_on_the_batch_size)
{
    char dir[64], cfg[256];
    th_tmpdir(dir, sizeof dir);
    th_make_corpus(dir, 120);
    th_make_config(dir, NULL, cfg, sizeof cfg);
    ak_train_config tc;
    ak_err err = {{0}};
    cr_assert_eq(ak_train_config_load(&tc, cfg, NULL, 0, &err), 0, "%s", err.msg);
    ak_train_data d;
    cr_assert_eq(ak_train_data_prepare(&d, &tc.v, NULL, NULL, &err), 0, "%s", err.msg);
    ak_model_desc desc = ak_train_cfg_model_desc(&tc.v, (int64_t)ak_vocab_size(ak_tokenizer_vocab(d.src_tok)),
                                                 (int64_t)ak_vocab_size(ak_tokenizer_vocab(d.tgt_tok)));
    ak_model *m = ak_model_create(&desc, 5, &err);
    cr_assert(m, "%s", err.msg);
    size_t n = d.valid.n;
    const int32_t *src[64];
    int32_t len[64];
    cr_assert(n <= 64);
    for (size_t i = 0; i < n; i++) {
        src[i] = ak_idcorpus_src(&d.valid, i);
        len[i] = d.valid.pairs[i].ns;
    }
    len[3] = 0; /* an empty source is decoded as [UNK] */
    ak_ids one[64] = {0}, seven[64] = {0};
    ak_ctx ctx;
    ak_ctx_init(&ctx, 0, 1);
    ak_set_threads(1);
    cr_assert_eq(ak_greedy_decode(&ctx, m, src, len, n, 10, 1, one, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_greedy_decode(&ctx, m, src, len, n, 10, 7, seven, NULL, &err), 0, "%s", err.msg);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(one[i].n, seven[i].n, "sentence %zu", i);
        cr_expect(one[i].n <= 10);
        total += one[i].n;
        for (size_t k = 0; k < one[i].n; k++)
            cr_assert_eq(one[i].v[k], seven[i].v[k], "sentence %zu token %zu", i, k);
        ak_ids_free(&one[i]);
        ak_ids_free(&seven[i]);
    }
    cr_expect(total > 0, "an untrained model still emits tokens");
    ak_ctx_free(&ctx);
    ak_model_free(m);
    ak_train_data_free(&d);
    ak_train_config_free(&tc);
}
