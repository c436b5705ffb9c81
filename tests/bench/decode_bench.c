/* Greedy decoding of a run's validation split, timed: our side of
 * tests/bench/decode_compare.py (make bench-decode).
 *
 *   build/decode_bench --ckpt runs/eng-deu-transformer/ckpt/best.ckpt --threads 1
 *   options: --batch N (sentences per batch; default the run's [train]
 *            decode_batch), --max-len N (default the run's [data] max_len),
 *            --warmup K (untimed batches first, default 1), --src-out FILE
 *            and --hyp-out FILE (ids, one sentence a line, validation order)
 *
 * The validation pairs are the trainer's (train/train_data.h: the run's
 * config from the checkpoint, the checkpoint's tokenizers, the twin's split
 * and length filter), so "the validation split" means exactly what the
 * run's BLEU was computed on. Only ak_greedy_decode is timed: not loading,
 * tokenizing or detokenizing.
 *
 * Row (stdout): sentences threads batch max_len seconds sent_per_s
 * hyp_tokens. Run from the repository root (the run's data paths are
 * relative to it). */
#include "core/threads.h"
#include "decode/translate.h"
#include "io/ckpt_tokenizer.h"
#include "train/decode.h"
#include "train/train_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int write_ids(const char *path, const int32_t *const *v, const size_t *n, size_t count)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "decode_bench: %s: cannot create\n", path);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < n[i]; j++)
            fprintf(f, j ? " %d" : "%d", v[i][j]);
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: decode_bench --ckpt PATH [--threads N] [--batch N] [--max-len N] [--warmup K]\n"
                    "                    [--src-out FILE] [--hyp-out FILE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *ckpt = NULL, *src_out = NULL, *hyp_out = NULL;
    long threads = 1, batch = 0, max_len = 0, warmup = 1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        i++;
        if (!strcmp(o, "--ckpt"))
            ckpt = v;
        else if (!strcmp(o, "--src-out"))
            src_out = v;
        else if (!strcmp(o, "--hyp-out"))
            hyp_out = v;
        else if (!strcmp(o, "--threads"))
            threads = strtol(v, NULL, 10);
        else if (!strcmp(o, "--batch"))
            batch = strtol(v, NULL, 10);
        else if (!strcmp(o, "--max-len"))
            max_len = strtol(v, NULL, 10);
        else if (!strcmp(o, "--warmup"))
            warmup = strtol(v, NULL, 10);
        else
            return usage();
    }
    if (!ckpt || threads < 1 || batch < 0 || max_len < 0 || warmup < 0)
        return usage();
    ak_set_threads((int)threads);

    ak_err err = {{0}};
    ak_translator t;
    if (ak_translator_open(&t, ckpt, &err) != 0) {
        fprintf(stderr, "decode_bench: %s\n", err.msg);
        return 2;
    }
    if (!t.has_run_cfg || !t.src_tok) {
        fprintf(stderr, "decode_bench: %s: no run configuration or tokenizers (a checkpoint of bin/train is needed)\n",
                ckpt);
        ak_translator_close(&t);
        return 2;
    }
    /* The data preparation takes tokenizers over: give it its own copies. */
    ak_tokenizer *ts = NULL, *tt = NULL;
    ak_train_data d;
    memset(&d, 0, sizeof d);
    int rc = ak_ckpt_get_tokenizer(t.ckpt, "src", &ts, &err) || ak_ckpt_get_tokenizer(t.ckpt, "tgt", &tt, &err) ||
             ak_train_data_prepare(&d, &t.run_cfg, ts, tt, &err);
    if (rc) {
        if (!d.src_tok) {
            ak_tokenizer_free(ts);
            ak_tokenizer_free(tt);
        }
        fprintf(stderr, "decode_bench: %s\n", err.msg);
        ak_train_data_free(&d);
        ak_translator_close(&t);
        return 2;
    }
    if (!batch)
        batch = (long)t.run_cfg.decode_batch;
    if (!max_len)
        max_len = (long)t.run_cfg.max_len;

    size_t n = d.valid.n;
    const int32_t **src = malloc(sizeof *src * n);
    int32_t *len = malloc(sizeof *len * n);
    size_t *slen = malloc(sizeof *slen * n), *hlen = malloc(sizeof *hlen * n);
    const int32_t **hv = malloc(sizeof *hv * n);
    ak_ids *hyps = calloc(n, sizeof *hyps);
    if (!src || !len || !slen || !hlen || !hv || !hyps) {
        fprintf(stderr, "decode_bench: out of memory\n");
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        src[i] = ak_idcorpus_src(&d.valid, i);
        len[i] = d.valid.pairs[i].ns;
        slen[i] = (size_t)len[i];
    }
    /* Warm-up: the arena and the GEMM buffers reach their steady size. */
    size_t nw = (size_t)(warmup * batch) < n ? (size_t)(warmup * batch) : n;
    if (nw && ak_greedy_decode(&t.ctx, t.model, src, len, nw, max_len, batch, hyps, NULL, &err) != 0)
        rc = -1;
    double t0 = now();
    if (!rc && ak_greedy_decode(&t.ctx, t.model, src, len, n, max_len, batch, hyps, NULL, &err) != 0)
        rc = -1;
    double sec = now() - t0;
    if (rc) {
        fprintf(stderr, "decode_bench: %s\n", err.msg);
    } else {
        size_t toks = 0;
        for (size_t i = 0; i < n; i++) {
            hv[i] = hyps[i].v;
            hlen[i] = hyps[i].n;
            toks += hyps[i].n;
        }
        printf("%zu\t%ld\t%ld\t%ld\t%.4f\t%.1f\t%zu\n", n, threads, batch, max_len, sec, (double)n / sec, toks);
        if ((src_out && write_ids(src_out, src, slen, n)) || (hyp_out && write_ids(hyp_out, hv, hlen, n)))
            rc = -1;
    }
    for (size_t i = 0; i < n; i++)
        ak_ids_free(&hyps[i]);
    free(hyps);
    free(hv);
    free(hlen);
    free(slen);
    free(len);
    free(src);
    ak_train_data_free(&d);
    ak_translator_close(&t);
    return rc ? 1 : 0;
}
