/* Attention statistics: per (role, layer, head), over the probes of an
 * attention file (io/attnfile.h), the numbers training logs each epoch to
 * RUN_DIR/attn_stats.tsv. Only real positions count: every probe's maps are
 * already cut to its own lengths, so padding never enters. Each statistic is
 * a mean over all query rows of all probes (every row weighs the same; a
 * longer probe weighs more), accumulated in double in a fixed order (probe,
 * row, key), so results do not depend on the thread count.
 *
 * Per query row w[0..n_k) (a probability vector):
 *   entropy      H = -sum_j w_j ln w_j, in nats (0 ln 0 = 0): 0 for one-hot,
 *                ln n_k for uniform.
 *   max_weight   max_j w_j: 1 for one-hot, 1/n_k for uniform.
 *   diagonality  mass within one position of the length-scaled diagonal:
 *                sum of w_j over |j - c_i| <= 1, where c_i = i (n_k-1)/(n_q-1)
 *                for n_q >= 2 (row 0 at key 0, the last row at the last key)
 *                and c_0 = (n_k-1)/2 for n_q == 1 (the centre of the key range,
 *                which is where the cell-centre diagonal (i+1/2) n_k/n_q - 1/2
 *                puts a single query). 1 for an identity map; small for a
 *                reversal.
 *   js_div       Jensen-Shannon divergence, base 2 (in [0, 1]; 0 = identical
 *                rows): JS(p, q) = (KL(p||m) + KL(q||m)) / 2, m = (p + q) / 2,
 *                between this head's row and the same row of each other head
 *                of the same (probe, mode, role, layer), averaged over the
 *                other heads and the rows. A divergence, not a similarity:
 *                low = heads redundant. NaN for a layer with one head.
 *   aer          alignment error rate of cross attention against gold word
 *                alignments (Och & Ney 2003), below. NaN for self-attention,
 *                for the greedy mode (its output is not the reference the gold
 *                links refer to) and when no probe has gold.
 *
 * Alignment from attention (one cross map, one head): subword attention is
 * summed back to words with the caller's token->word maps (-1 marks a token
 * that belongs to no word, e.g. a special; its attention is dropped):
 *   W[t][s] = sum of w[row(k)][j] over reference tokens k of target word t and
 *             source tokens j of source word s,
 * where row(k) = k + shift: shift 0 takes the step that predicts token k
 * (the usual choice), shift 1 the step whose decoder input is token k
 * ("Shift-Att", Chen et al. 2020). The EOS-predicting row (shift 0) or the
 * BOS-input row (shift 1) thus belongs to no word. Each target word t with at
 * least one token is linked to argmax_s W[t][s] (ties: the lowest s); A is
 * that set of links (one per target word, argmax only; no intersection with
 * the other direction). With sure links S and possible links P (P is taken
 * as P u S, so S within P whatever the caller passes):
 *   AER = 1 - (|A n S| + |A n P|) / (|A| + |S|),
 * summed over probes first (|A n S| etc. are corpus totals), as is usual.
 *
 * TSV (ak_attn_stats_append_tsv): header
 *   epoch role layer head entropy max_weight diagonality js_div aer
 * tab-separated, one row per (role, layer, head) in that order, layers and
 * heads from 0, numbers "%.6f", undefined values "nan" (what Python's float()
 * and pandas read as NaN).
 *
 * Ownership: the stats array is malloc'd, caller frees. Failure modes: a
 * probe's word maps or gold links inconsistent with its tokens, out of
 * memory, TSV I/O: -1 with one line in err. */
#ifndef AK_EVAL_ATTN_STATS_H
#define AK_EVAL_ATTN_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/corpus_gold.h"
#include "io/attnfile.h"

/* ---------------------------------------------------------- row measures */

/* Entropy in nats of w[0..n) (terms with w_j <= 0 count 0). */
double ak_attn_entropy(const float *w, int64_t n);
/* Largest entry of w[0..n) (n >= 1). */
double ak_attn_max_weight(const float *w, int64_t n);
/* Diagonal mass of row i of an n_q x n_k map (row w[0..n_k)). */
double ak_attn_diagonality(const float *w, int64_t i, int64_t nq, int64_t nk);
/* Jensen-Shannon divergence in bits between p[0..n) and q[0..n). */
double ak_attn_js(const float *p, const float *q, int64_t n);

/* ------------------------------------------------------------- alignment */

/* How the caller's tokens group into words. */
typedef enum ak_attn_words {
    AK_WORDS_TOKENS, /* every token a word (word tokenizer) */
    AK_WORDS_BPE,    /* a word ends at a token ending in "</w>"; a special ("<unk>", ...) ends one too,
                        glued to an unfinished prefix, as ak_tokenizer_words does */
    AK_WORDS_CHARS,  /* char tokenizer: words are runs between "▁" (U+2581) tokens, which map to -1 */
} ak_attn_words;

/* Fills word[0..n) with each token's word index (from 0, in order; -1 for
 * none) and returns the number of words. */
int32_t ak_attn_word_map(ak_attn_words kind, const char *const *tok, int32_t n, int32_t *word);

/* Gold for one probe, in the model's direction. */
typedef struct ak_attn_gold {
    const ak_gold_link *sure, *possible; /* word links; .src = source word, .tgt = target word */
    int32_t n_sure, n_possible;
    int swapped;             /* 1: links are (target, source), e.g. data/eng-deu.gold.tsv (English first)
                                for a model translating German to English */
    const int32_t *src_word; /* [n_src] word of each source token, or -1 */
    const int32_t *tgt_word; /* [n_ref] word of each reference token, or -1 */
} ak_attn_gold;

/* Word links of one [nq, nk] cross map (as described above): out[t] = the
 * source word of target word t, or -1 (no token of t has a row, or no source
 * word). out has room for 1 + max(tgt_word) entries; returns that count.
 * A target word whose rows put no weight on any source word gets -1 too.
 * Fails on a word index below -1 or a row k + shift outside [0, nq). */
int ak_attn_align(const float *w, int64_t nq, int64_t nk, const int32_t *src_word, const int32_t *tgt_word,
                  int64_t n_tgt, int shift, int32_t *out, int32_t *n_out, ak_err *err);

typedef struct ak_aer_counts {
    int64_t a, s, a_s, a_p; /* |A|, |S|, |A n S|, |A n (P u S)| */
} ak_aer_counts;

/* Adds the counts of links align[0..n_tgt_words) (from ak_attn_align) against
 * gold to *c. Fails when a gold link lies outside n_src_words x n_tgt_words. */
int ak_aer_add(ak_aer_counts *c, const int32_t *align, int32_t n_tgt_words, int32_t n_src_words,
               const ak_attn_gold *gold, ak_err *err);

/* 1 - (a_s + a_p) / (a + s); NaN when a + s == 0. */
double ak_aer(const ak_aer_counts *c);

/* --------------------------------------------------------- per-head stats */

typedef struct ak_attn_stats_opts {
    ak_attn_mode mode; /* which maps: AK_ATTN_TF for the logged statistics */
    int align_shift;   /* 0 or 1, see above */
} ak_attn_stats_opts;

#define AK_ATTN_STATS_DEFAULTS ((ak_attn_stats_opts){.mode = AK_ATTN_TF, .align_shift = 0})

typedef struct ak_attn_head_stats {
    ak_attn_role role;
    int layer, head;
    int64_t rows; /* query rows averaged over */
    double entropy, max_weight, diagonality, js_div, aer;
    ak_aer_counts counts; /* zero unless aer is defined */
} ak_attn_head_stats;

/* Statistics of every (role, layer, head) of f's summary, in that order.
 * gold: NULL, or n_probes pointers (NULL where a probe has no gold); each
 * gold's src_word has the probe's n_src entries and tgt_word its n_ref.
 * opts NULL = AK_ATTN_STATS_DEFAULTS. *out (malloc'd) gets *n_out entries. */
int ak_attn_stats(const ak_attn_file *f, const ak_attn_gold *const *gold, const ak_attn_stats_opts *opts,
                  ak_attn_head_stats **out, size_t *n_out, ak_err *err);

/* Appends the rows of one epoch to the TSV at path, creating it with the
 * header when missing or empty. Rows of the same epoch already in the file
 * are dropped first (a resumed run re-logs its epoch); the file is rewritten
 * atomically. Fails when the existing first line is not the header. */
int ak_attn_stats_append_tsv(const char *path, uint64_t epoch, const ak_attn_head_stats *s, size_t n, ak_err *err);

#define AK_ATTN_STATS_HEADER "epoch\trole\tlayer\thead\tentropy\tmax_weight\tdiagonality\tjs_div\taer"

#endif
