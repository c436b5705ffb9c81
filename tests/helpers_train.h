/* Helpers for the train_* suites: a temporary directory with a tiny,
 * learnable parallel corpus (word reversal with a fixed word mapping) and
 * gold alignments for its probes, a tiny config, and a way to run the
 * trainer in-process. */
#ifndef AK_TESTS_HELPERS_TRAIN_H
#define AK_TESTS_HELPERS_TRAIN_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "io/checkpoint.h"
#include "train/trainer.h"

static const char *const th_src_words[] = {"cat", "dog", "red", "big", "sun", "sea", "old", "new",
                                           "car", "tree", "house", "bird", "fish", "blue", "small", "hot"};
static const char *const th_tgt_words[] = {"Katze", "Hund", "rot", "gross", "Sonne", "Meer", "alt", "neu",
                                           "Auto", "Baum", "Haus", "Vogel", "Fisch", "blau", "klein", "heiss"};

/* A fresh directory under /tmp (left behind for inspection on failure). */
static inline void th_tmpdir(char *buf, size_t n)
{
    snprintf(buf, n, "/tmp/ak_train_XXXXXX");
    cr_assert(mkdtemp(buf), "mkdtemp failed");
}

static inline void th_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* Whole file into a malloc'd string (NULL when missing). */
static inline char *th_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert(s);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

static inline int th_exists(const char *path) { return access(path, F_OK) == 0; }

/* Sentence i of the corpus: 3..7 words; target = mapped words reversed. */
static inline int th_pair(uint64_t seed, uint64_t i, int *idx)
{
    ak_rng r = ak_rng_make(seed, 1000 + i);
    int n = 3 + (int)ak_rng_below(&r, 5);
    for (int k = 0; k < n; k++)
        idx[k] = (int)ak_rng_below(&r, 16);
    return n;
}

/* DIR/pairs.tsv (n pairs) and DIR/gold.tsv (8 further pairs with links). */
static inline void th_make_corpus(const char *dir, int n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/pairs.tsv", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    for (int i = 0; i < n; i++) {
        int idx[8], m = th_pair(1, (uint64_t)i, idx);
        for (int k = 0; k < m; k++)
            fprintf(f, "%s%s", k ? " " : "", th_src_words[idx[k]]);
        fputc('\t', f);
        for (int k = m - 1; k >= 0; k--)
            fprintf(f, "%s%s", k < m - 1 ? " " : "", th_tgt_words[idx[k]]);
        fputs(".\n", f);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/gold.tsv", dir);
    f = fopen(path, "wb");
    cr_assert(f);
    fputs("english\tgerman\tenglish_tokens\tgerman_tokens\tsure\tpossible\n", f);
    for (int i = 0; i < 8; i++) {
        int idx[8], m = th_pair(2, (uint64_t)i, idx);
        char src[256] = "", tgt[256] = "", links[256] = "";
        for (int k = 0; k < m; k++)
            snprintf(src + strlen(src), sizeof src - strlen(src), "%s%s", k ? " " : "", th_src_words[idx[k]]);
        for (int k = m - 1; k >= 0; k--)
            snprintf(tgt + strlen(tgt), sizeof tgt - strlen(tgt), "%s%s", k < m - 1 ? " " : "",
                     th_tgt_words[idx[k]]);
        for (int k = 0; k < m; k++)
            snprintf(links + strlen(links), sizeof links - strlen(links), "%s%d-%d", k ? " " : "", k, m - 1 - k);
        fprintf(f, "%s\t%s.\t%s\t%s .\t%s\t%s\n", src, tgt, src, tgt, links, links);
    }
    fclose(f);
}

/* DIR/tiny.ini: a tiny Transformer on DIR/pairs.tsv with the gold probes;
 * `extra` is appended (later sections may repeat a section header but not a key). */
static inline void th_make_config(const char *dir, const char *extra, char *path, size_t n)
{
    char text[4096];
    snprintf(text, sizeof text,
             "# tiny test config\n"
             "[data]\n"
             "train = %s/pairs.tsv\n"
             "valid_size = 20\n"
             "vocab_size = 64\n"
             "max_len = 10\n"
             "\n"
             "[model]\n"
             "d_model = 16\n"
             "heads = 2\n"
             "d_ff = 32\n"
             "enc_layers = 1\n"
             "dec_layers = 1\n"
             "max_positions = 16\n"
             "\n"
             "[train]\n"
             "batch_tokens = 200\n"
             "warmup = 10\n"
             "lr = 3e-3\n"
             "decode_batch = 8\n"
             "log_every = 0\n"
             "\n"
             "[attention]\n"
             "probes = %s/gold.tsv\n"
             "probe_count = 4\n"
             "%s",
             dir, dir, extra ? extra : "");
    snprintf(path, n, "%s/tiny.ini", dir);
    th_write(path, text);
}

/* Runs the trainer in-process, quietly, on one thread (the tiny models
 * stay below the parallel thresholds anyway, and OpenMP barriers on a
 * loaded 2-core machine cost seconds). */
static inline int th_train(const char *config, const char *run_dir, const char *resume, int64_t epochs,
                           const char *const *sets, size_t n_sets, ak_err *err)
{
    ak_train_opts o = {.config = config, .run_dir = run_dir, .resume = resume, .epochs = epochs, .sets = sets,
                       .n_sets = n_sets, .threads = 1, .log_mode = AK_LOG_QUIET};
    return ak_train_main(&o, err);
}

/* Loads the model of a checkpoint (asserting success). */
static inline ak_model *th_load(const char *path, ak_container **c)
{
    ak_err err = {{0}};
    *c = ak_ckpt_open(path, &err);
    cr_assert(*c, "%s", err.msg);
    ak_model *m = ak_ckpt_load_model(*c, &err);
    cr_assert(m, "%s", err.msg);
    return m;
}

#endif
