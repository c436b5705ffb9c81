/* Command line of bin/infer, parsed into a struct so that the rules (ranges,
 * which options go together) are testable without running the program.
 *
 * Options take their value as the next argument or after '=' ("--beam 4",
 * "--beam=4"); "--" ends the options; every other argument is a text to
 * translate. Messages name the option and what it accepts, e.g.
 *   --beam: expected an integer in [1, 4096], got 'x'
 *   --show-attn: expected ascii, ansi or none, got 'svg'
 *   --score and --eval cannot be used together
 * The usage text is ak_infer_usage(). */
#ifndef AK_DECODE_INFER_OPTS_H
#define AK_DECODE_INFER_OPTS_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "nn/capture.h"

typedef enum ak_infer_mode {
    AK_INFER_TRANSLATE = 0, /* texts from arguments, --input, or stdin */
    AK_INFER_SCORE,         /* --score FILE.tsv */
    AK_INFER_SCORE_IDS,     /* --score-ids FILE */
    AK_INFER_EVAL,          /* --eval FILE.tsv */
} ak_infer_mode;

typedef enum ak_show_attn { AK_SHOW_NONE = 0, AK_SHOW_ASCII, AK_SHOW_ANSI } ak_show_attn;

typedef struct ak_infer_opts {
    const char *ckpt;
    ak_infer_mode mode;
    const char *input;  /* --input FILE, or NULL */
    const char *data;   /* the file of --score, --score-ids or --eval */
    const char **texts; /* positional texts (point into argv; malloc'd array) */
    int n_texts;
    int beam;        /* 0: greedy */
    int nbest;       /* 1 */
    int64_t max_len; /* 0: the model's */
    double alpha;    /* 0.6 */
    int batch;       /* greedy batch; 32 */
    int detok;       /* -1: the run's [data] detok; 0 plain; 1 glue */
    int scores;      /* print "score<TAB>" before each output */
    ak_show_attn show_attn;
    ak_attn_role role;     /* --attn-kind; cross */
    int layer;             /* -1: last */
    int head;              /* -1: average of the heads */
    const char *ppm, *png; /* image outputs or NULL */
    int cell;              /* image cell size, 0: renderer default */
    int width;             /* ASCII line width, 0: COLUMNS or 100 */
    int verbose;
    const char *metric;  /* "bleu", "rouge" or NULL (checkpoint's) */
    const char *hyp_out; /* --eval: write the hypotheses here */
    int threads;         /* 0: leave OpenMP's default */
} ak_infer_opts;

/* Parses argv[1..argc). Returns 0 (options valid), 1 (--help given: print
 * the usage, exit 0) or -1 with a one-line message. Free with
 * ak_infer_opts_free. */
int ak_infer_parse(int argc, char **argv, ak_infer_opts *o, ak_err *err);
void ak_infer_opts_free(ak_infer_opts *o);

/* The --help text. */
void ak_infer_usage(FILE *f);

/* "out.png", 3 -> "out-3.png"; no extension: "out-3". Writes into buf (n
 * bytes); -1 when it does not fit. */
int ak_indexed_path(const char *path, int index, char *buf, size_t n);

/* Strict decimal parse of a whole string into [lo, hi]; -1 otherwise. */
int ak_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out);

#endif
