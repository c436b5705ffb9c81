/* bin/infer's command line (decode/infer_opts.h). */
#include "decode/cli_opt.h"
#include "decode/infer_opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ak_infer_usage(FILE *f)
{
    fputs("usage: infer --ckpt PATH [options] [TEXT ...]\n"
          "\n"
          "Translates (or summarizes) with a checkpoint; the checkpoint holds the model and its tokenizers\n"
          "(and the run's settings: lowercasing, max_len, detok, metric, used as defaults).\n"
          "Inputs: the TEXT arguments, else --input FILE, else standard input one per line (an interactive\n"
          "prompt when it is a terminal). Outputs: detokenized text, one line per input (--nbest N: N lines).\n"
          "A text that cannot be translated (empty, longer than the model's max_len, invalid UTF-8) is an\n"
          "error when given as an argument (exit 2); in batch mode (--input, piped stdin) it gets a warning\n"
          "on stderr and an empty output line, so outputs stay aligned with inputs; at the prompt a message.\n"
          "\n"
          "decoding:\n"
          "  --beam K          beam search with K hypotheses (default: greedy)\n"
          "  --alpha A         length penalty exponent, beam only (default 0.6): hypotheses are ranked by\n"
          "                    logprob / ((5 + len) / 6)^A (GNMT), len = produced tokens incl. EOS\n"
          "  --max-len N       at most N produced tokens, EOS included (default: the run's [data] max_len,\n"
          "                    else the model's max_len); --eval also cuts sources to N tokens, as the twin\n"
          "  --nbest N         print the N best hypotheses of the beam (N <= K)\n"
          "  --scores          print \"SCORE<TAB>\" before each output (beam: normalized, greedy: logprob)\n"
          "  --detok plain|glue   detokenization (default: the run's): plain puts no space before\n"
          "                    punctuation; glue also joins ' ’ - between words (\"don't\", \"êtes-vous\")\n"
          "  --batch N         sources decoded together by greedy search (default 32)\n"
          "\n"
          "attention (rows: output tokens, columns: source tokens):\n"
          "  --show-attn ascii|ansi|none   print the map under each output (default none)\n"
          "  --attn-kind cross|enc-self|dec-self   which attention (default cross)\n"
          "  --layer L         layer, 0-based (default: the last)\n"
          "  --head H|avg      head, 0-based, or the average of the heads (default avg)\n"
          "  --ppm FILE, --png FILE   write the map (of the best hypothesis) as an image; unless there is\n"
          "                    exactly one TEXT argument, FILE gets the input's number before the extension\n"
          "                    (out.png -> out-1.png, out-2.png, ...)\n"
          "  --cell N          image cell size in pixels (default 16)\n"
          "  --width N         ASCII line width (default: $COLUMNS, else 100)\n"
          "\n"
          "scoring and evaluation (instead of translating):\n"
          "  --score FILE.tsv  mean teacher-forced cross-entropy per target token (eval mode, no label\n"
          "                    smoothing; decoder input BOS + target, targets target + EOS)\n"
          "  --score-ids FILE  the same for token ids, lines \"3 17 42<TAB>5 9\" (no tokenizer involved)\n"
          "                    output: mean_nll_per_token=X pairs=N tokens=T ppl=P skipped=S\n"
          "  --verbose         first one line per pair: line= (pair=) tokens= nll= nll_per_token=\n"
          "  --eval FILE.tsv   decode every source, print BLEU (translation) or ROUGE (summarization), as\n"
          "                    the run scored validation: its metric, detok and lowercasing\n"
          "  --metric bleu|rouge   override the metric the checkpoint's run used\n"
          "  --hyp-out FILE    --eval: write the hypotheses, one per line\n"
          "\n"
          "  --threads N       OpenMP threads\n"
          "  --help            this text\n"
          "\n"
          "Exit status: 0 done (batch mode: also when lines were skipped); 2 bad arguments, a missing or\n"
          "corrupt checkpoint or data file, a choice out of range, a TEXT argument that cannot be translated.\n",
          f);
}

int ak_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

int ak_indexed_path(const char *path, int index, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (dot && (dot == path || (slash && dot < slash) || dot[-1] == '/'))
        dot = NULL; /* a dot in a directory name, or a hidden file without extension */
    int w = dot ? snprintf(buf, n, "%.*s-%d%s", (int)(dot - path), path, index, dot)
                : snprintf(buf, n, "%s-%d", path, index);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

/* Options that take a value. */
static const char *const VALUED[] = {"--ckpt",   "--input",     "--beam",      "--alpha", "--max-len",   "--nbest",
                                     "--batch",  "--show-attn", "--attn-kind", "--layer", "--head",      "--ppm",
                                     "--png",    "--cell",      "--width",     "--score", "--score-ids", "--eval",
                                     "--metric", "--hyp-out",   "--threads",   "--detok", NULL};
static const char *const FLAGS[] = {"--scores", "--verbose", "--help", "-h", NULL};

static int set_mode(ak_infer_opts *o, ak_infer_mode m, const char *name, const char *val, ak_err *err)
{
    static const char *const NAMES[] = {"", "--score", "--score-ids", "--eval"};
    if (o->mode != AK_INFER_TRANSLATE && o->mode != m)
        return ak_errorf(err, "%s and %s cannot be used together", NAMES[o->mode], name);
    o->mode = m;
    o->data = val;
    return 0;
}

int ak_infer_parse(int argc, char **argv, ak_infer_opts *o, ak_err *err)
{
    memset(o, 0, sizeof *o);
    o->nbest = 1;
    o->alpha = 0.6;
    o->layer = -1;
    o->head = -1;
    o->detok = -1;
    o->role = AK_ROLE_CROSS;
    o->texts = malloc(sizeof(char *) * (size_t)(argc > 0 ? argc : 1));
    if (!o->texts)
        return ak_errorf(err, "out of memory");
    int nbest_set = 0, only_texts = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_texts || a[0] != '-' || a[1] == '\0') {
            o->texts[o->n_texts++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_texts = 1;
            continue;
        }
        char name[AK_OPT_NAME_MAX];
        const char *v;
        if (ak_cli_option(argc, argv, &i, VALUED, FLAGS, name, &v, err) != 0)
            return -1;
        int64_t iv;
        if (!strcmp(name, "--help") || !strcmp(name, "-h"))
            return 1;
        else if (!strcmp(name, "--detok")) {
            if (strcmp(v, "plain") && strcmp(v, "glue"))
                return ak_errorf(err, "--detok: expected plain or glue, got '%.64s'", v);
            o->detok = !strcmp(v, "glue");
        } else if (!strcmp(name, "--scores"))
            o->scores = 1;
        else if (!strcmp(name, "--verbose"))
            o->verbose = 1;
        else if (!strcmp(name, "--ckpt"))
            o->ckpt = v;
        else if (!strcmp(name, "--input"))
            o->input = v;
        else if (!strcmp(name, "--ppm"))
            o->ppm = v;
        else if (!strcmp(name, "--png"))
            o->png = v;
        else if (!strcmp(name, "--hyp-out"))
            o->hyp_out = v;
        else if (!strcmp(name, "--score")) {
            if (set_mode(o, AK_INFER_SCORE, name, v, err))
                return -1;
        } else if (!strcmp(name, "--score-ids")) {
            if (set_mode(o, AK_INFER_SCORE_IDS, name, v, err))
                return -1;
        } else if (!strcmp(name, "--eval")) {
            if (set_mode(o, AK_INFER_EVAL, name, v, err))
                return -1;
        } else if (!strcmp(name, "--beam")) {
            if (ak_parse_int(v, 1, 4096, &iv))
                return ak_errorf(err, "--beam: expected an integer in [1, 4096], got '%.64s'", v);
            o->beam = (int)iv;
        } else if (!strcmp(name, "--nbest")) {
            if (ak_parse_int(v, 1, 4096, &iv))
                return ak_errorf(err, "--nbest: expected an integer in [1, 4096], got '%.64s'", v);
            o->nbest = (int)iv;
            nbest_set = 1;
        } else if (!strcmp(name, "--max-len")) {
            if (ak_parse_int(v, 1, 100000, &iv))
                return ak_errorf(err, "--max-len: expected an integer in [1, 100000], got '%.64s'", v);
            o->max_len = iv;
        } else if (!strcmp(name, "--batch")) {
            if (ak_parse_int(v, 1, 65536, &iv))
                return ak_errorf(err, "--batch: expected an integer in [1, 65536], got '%.64s'", v);
            o->batch = (int)iv;
        } else if (!strcmp(name, "--alpha")) {
            if (parse_double(v, 0.0, 10.0, &o->alpha))
                return ak_errorf(err, "--alpha: expected a number in [0, 10], got '%.64s'", v);
        } else if (!strcmp(name, "--show-attn")) {
            if (!strcmp(v, "ascii"))
                o->show_attn = AK_SHOW_ASCII;
            else if (!strcmp(v, "ansi"))
                o->show_attn = AK_SHOW_ANSI;
            else if (!strcmp(v, "none"))
                o->show_attn = AK_SHOW_NONE;
            else
                return ak_errorf(err, "--show-attn: expected ascii, ansi or none, got '%.64s'", v);
        } else if (!strcmp(name, "--attn-kind")) {
            int r = ak_attn_role_parse(v);
            if (r < 0)
                return ak_errorf(err, "--attn-kind: expected cross, enc-self or dec-self, got '%.64s'", v);
            o->role = (ak_attn_role)r;
        } else if (!strcmp(name, "--layer")) {
            if (ak_parse_int(v, 0, 1023, &iv))
                return ak_errorf(err, "--layer: expected a layer number >= 0 (0-based), got '%.64s'", v);
            o->layer = (int)iv;
        } else if (!strcmp(name, "--head")) {
            if (!strcmp(v, "avg") || !strcmp(v, "all"))
                o->head = -1;
            else if (ak_parse_int(v, 0, 1023, &iv))
                return ak_errorf(err, "--head: expected a head number >= 0 (0-based) or avg, got '%.64s'", v);
            else
                o->head = (int)iv;
        } else if (!strcmp(name, "--cell")) {
            if (ak_parse_int(v, 1, 256, &iv))
                return ak_errorf(err, "--cell: expected an integer in [1, 256], got '%.64s'", v);
            o->cell = (int)iv;
        } else if (!strcmp(name, "--width")) {
            if (ak_parse_int(v, 20, 100000, &iv))
                return ak_errorf(err, "--width: expected an integer in [20, 100000], got '%.64s'", v);
            o->width = (int)iv;
        } else if (!strcmp(name, "--threads")) {
            if (ak_parse_int(v, 1, 1024, &iv))
                return ak_errorf(err, "--threads: expected an integer in [1, 1024], got '%.64s'", v);
            o->threads = (int)iv;
        } else if (!strcmp(name, "--metric")) {
            if (strcmp(v, "bleu") && strcmp(v, "rouge"))
                return ak_errorf(err, "--metric: expected bleu or rouge, got '%.64s'", v);
            o->metric = v;
        }
    }
    if (!o->ckpt)
        return ak_errorf(err, "--ckpt PATH is required (see --help)");
    if (o->mode != AK_INFER_TRANSLATE && (o->n_texts || o->input))
        return ak_errorf(err, "texts and --input cannot be combined with --score, --score-ids or --eval");
    if (o->n_texts && o->input)
        return ak_errorf(err, "give texts as arguments or --input FILE, not both");
    if (nbest_set && o->nbest > (o->beam ? o->beam : 1))
        return ak_errorf(err, "--nbest %d needs --beam K with K >= %d", o->nbest, o->nbest);
    if (o->mode != AK_INFER_TRANSLATE && (o->show_attn || o->ppm || o->png))
        return ak_errorf(err, "--show-attn, --ppm and --png apply to translation only");
    if (o->mode != AK_INFER_EVAL && (o->metric || o->hyp_out))
        return ak_errorf(err, "--metric and --hyp-out apply to --eval only");
    return 0;
}

void ak_infer_opts_free(ak_infer_opts *o)
{
    free(o->texts);
    o->texts = NULL;
    o->n_texts = 0;
}
