/* Corpus BLEU exactly as the twin's bleu13a() (shared/peer/torch_train.py), which equals
 * sacrebleu.corpus_bleu(hyps, [refs]).score with sacreBLEU's defaults: one reference per hypothesis,
 * 13a tokenisation (no lower-casing), n-grams up to 4, "exp" smoothing, brevity penalty.
 *
 *   p_n   = 100 * correct_n / total_n; when correct_n == 0 the k-th such order instead uses
 *           100 / (2^k * total_n) ("exp" smoothing); an order with total_n == 0 ends the list and it
 *           and all higher orders count as precision 0 (log taken as -9999999999, so the score is 0);
 *   bp    = 1 when sys_len >= ref_len, else exp(1 - ref_len / sys_len) (0 when sys_len == 0);
 *   score = bp * exp(mean of log p_n), or 0 when no n-gram of any order matches.
 * The arithmetic follows the twin's operation order, so results agree with it to the last bit (glibc
 * exp/log, as CPython's math module uses).
 *
 * Strings are NUL-terminated UTF-8; invalid UTF-8 is an error naming the segment and byte offset. */
#ifndef AK_EVAL_BLEU_H
#define AK_EVAL_BLEU_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ak_bleu {
    double score;             /* 0..100 */
    double precisions[4];     /* p_1..p_4 in percent, smoothed as used in the score (0 past a total of 0) */
    int64_t correct[4];       /* clipped n-gram matches per order */
    int64_t total[4];         /* hypothesis n-grams per order */
    double bp;                /* brevity penalty */
    double ratio;             /* sys_len / ref_len (0 when ref_len == 0) */
    int64_t sys_len, ref_len; /* 13a tokens */
} ak_bleu;

/* Scores hyps[i] against refs[i], i < n. */
int ak_bleu13a(const char *const *hyps, const char *const *refs, size_t n, ak_bleu *out, ak_err *err);

/* sacreBLEU's 13a tokenisation of one segment as the twin's tok13a(): rstrip, drop "<skipped>" and
 * "-\n", newlines -> spaces, unescape &quot; &amp; &lt; &gt;, space out ASCII punctuation and symbols
 * except ' - . , (and . , unless between digits, - after a digit), collapse whitespace (Unicode, as
 * str.split()).  Returns a malloc'd NUL-terminated string (tokens separated by one space), caller frees;
 * NULL with a message on invalid UTF-8 or out of memory. */
char *ak_tok13a(const char *line, ak_err *err);

#endif
