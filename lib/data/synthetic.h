/* Synthetic seq2seq tasks whose true word alignment is known, so that
 * attention can be scored against it (AER, docs/synthetic.md).
 *
 * Tasks (token lists are exactly what the word tokenizer \w+|[^\w\s] of
 * text/pretok.h finds in the sentence text):
 *   reverse  source: n tokens from a 24-token alphabet (16 three-letter
 *            words, 8 punctuation marks); target: the tokens reversed.
 *            Links i-(n-1-i).
 *   copy     source: n alphabet tokens, each preceded with probability
 *            p_filler by the filler "um"; target: the alphabet tokens in
 *            order, each replaced with probability p_replace by "unk" and
 *            preceded with probability p_insert by an inserted "uh".
 *            A copied or replaced token is linked to its source position;
 *            source "um" (deleted) and target "uh" (inserted) are unaligned.
 *   sort     source: n numbers 0..99 as digit tokens; target: the same
 *            numbers ascending. Sure: each target token to the source
 *            position it came from, ties in source order (stable sort);
 *            possible adds the links to the other source copies of a
 *            repeated number (they are indistinguishable tokens).
 *   date     source: a date 1900-01-01 .. 2099-12-31 in one of five forms,
 *            "the 3rd of March 1999", "March 3, 1999", "3 March 1999",
 *            "03/03/1999" (DD/MM/YYYY), "3.3.1999" (D.M.YYYY), month names
 *            full or three-letter ("Mar") in the two forms without "the";
 *            target "1999-03-03", tokens 1999 - 03 - 03. Links: year token
 *            to target 0, month word/number to target 2, day token (an
 *            ordinal like "3rd" is one token) to target 4; "the", "of",
 *            ",", "/", "." and the target "-" are unaligned.
 * For every task possible includes sure; only sort adds possible links.
 *
 * Determinism: example i of split s (0 training, 1 probes) is a pure
 * function of (seed, task, s, i), drawn from its own Philox stream
 * (core/rng.h). Probes are then drawn in order and a draw whose source
 * sentence equals a training source or an earlier probe is skipped, so the
 * probe set is unseen in training (as shared/data/eng-deu.gold.tsv is).
 *
 * Files: training TSV "source<TAB>target\n" lines (data/corpus.h); gold
 * file in the eng-deu.gold.tsv format (data/corpus_gold.h): header
 * "english german english_tokens german_tokens sure possible", then the two
 * sentences, their tokens joined by single spaces, and the sure and possible
 * links "i-j" (source i, target j, 0-based) sorted by (i, j).
 *
 * Ownership: everything here is caller-owned values; nothing is allocated
 * except inside ak_synth_write (freed before it returns).
 * Failure modes: bad options (-1, message naming the command-line argument
 * and what was expected), probes that cannot be drawn unseen in training
 * (the task's space is too small for the lengths and n), output files that
 * cannot be written (atomic replacement: an existing file stays intact). */
#ifndef AK_DATA_SYNTHETIC_H
#define AK_DATA_SYNTHETIC_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/corpus_gold.h"

typedef enum ak_synth_task {
    AK_SYNTH_REVERSE = 0,
    AK_SYNTH_COPY = 1,
    AK_SYNTH_SORT = 2,
    AK_SYNTH_DATE = 3,
    AK_SYNTH_N_TASKS = 4,
} ak_synth_task;

#define AK_SYNTH_MAX_LEN 40                     /* largest --max-len */
#define AK_SYNTH_MAX_TOK (2 * AK_SYNTH_MAX_LEN) /* tokens per side, fillers included */
#define AK_SYNTH_TOK_BYTES 12                   /* longest token ("September") + NUL, rounded */
#define AK_SYNTH_TEXT_BYTES (AK_SYNTH_MAX_TOK * AK_SYNTH_TOK_BYTES)
#define AK_SYNTH_MAX_N 100000000    /* largest --n */
#define AK_SYNTH_MAX_PROBES 1000000 /* largest --probes */

typedef struct ak_synth_opts {
    ak_synth_task task;
    int64_t n;      /* training pairs, 1..AK_SYNTH_MAX_N */
    int64_t probes; /* gold probe pairs, 1..AK_SYNTH_MAX_PROBES */
    uint64_t seed;
    int32_t min_len, max_len;            /* source length range (alphabet tokens / numbers);
                                            0 and 0 for date, which has none */
    float p_replace, p_insert, p_filler; /* copy only, each in [0, 1] */
} ak_synth_opts;

/* One example: tokens, the sentences they come from, and the links. */
typedef struct ak_synth_example {
    int32_t n_src, n_tgt;
    char src[AK_SYNTH_MAX_TOK][AK_SYNTH_TOK_BYTES];
    char tgt[AK_SYNTH_MAX_TOK][AK_SYNTH_TOK_BYTES];
    char src_text[AK_SYNTH_TEXT_BYTES], tgt_text[AK_SYNTH_TEXT_BYTES];
    int32_t n_sure, n_possible;
    ak_gold_link sure[AK_SYNTH_MAX_TOK];
    ak_gold_link possible[AK_SYNTH_MAX_LEN * AK_SYNTH_MAX_LEN]; /* sort ties: k copies give k*k */
} ak_synth_example;

/* "reverse", "copy", "sort", "date". */
const char *ak_synth_task_name(ak_synth_task t);
/* Name -> task; -1 with "TASK: expected one of reverse, copy, sort, date, got 'x'". */
int ak_synth_task_parse(const char *name, ak_synth_task *t, ak_err *err);

/* Defaults for a task: n 20000, probes 48, seed 1, lengths 3..10 (sort
 * 3..10, date none), copy rates p_replace 0.1, p_insert 0.1, p_filler 0.1. */
ak_synth_opts ak_synth_defaults(ak_synth_task task);

/* Validates the options; the message names the command-line argument. */
int ak_synth_check(const ak_synth_opts *o, ak_err *err);

/* Example `index` of split 0 (training) or 1 (probe draws). o must pass
 * ak_synth_check. */
void ak_synth_draw(const ak_synth_opts *o, int split, uint64_t index, ak_synth_example *ex);

/* Writes o->n training pairs to tsv_path and o->probes gold pairs to
 * gold_path (either may be NULL to skip it; probes are still checked
 * against the training sources). Each file is replaced atomically. */
int ak_synth_write(const ak_synth_opts *o, const char *tsv_path, const char *gold_path, ak_err *err);

/* Command line of bin/synth:
 *   TASK --out PREFIX [--n N] [--probes K] [--seed S] [--min-len a --max-len b]
 *   [--p-replace P --p-insert P --p-filler P] | --help
 * Fills *o (defaults of TASK, then the flags, then ak_synth_check) and
 * *prefix (borrowed from argv); sets *help and returns 0 when --help is
 * anywhere. Errors: -1 with one line naming the argument and what was
 * expected, e.g. "--n: expected an integer in [1, 100000000], got 'x'". */
int ak_synth_parse_args(int argc, char **argv, ak_synth_opts *o, const char **prefix, int *help, ak_err *err);

/* The --help text. */
extern const char ak_synth_usage[];

#endif
