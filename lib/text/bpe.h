/* Byte-pair encoding (Sennrich et al. 2016) exactly as the twin's BPEVocab (shared/peer/torch_train.py).
 *
 * Symbols are strings of code points; a word (a token of ak_pretok_words) starts as one symbol per code
 * point and its last symbol carries the end-of-word marker "</w>" ("vous" -> v o u s</w>).
 *
 * Learning (ak_bpe_learn), per side, from the counts of the regex words:
 *   vocabulary = specials + initial symbols with count >= min_count sorted by (count desc, string asc);
 *   then repeatedly take the most frequent adjacent symbol pair, ties broken by the smaller pair in
 *   Python tuple order (left string, then right string, code point order), merge it in every word and
 *   append the merged symbol to the vocabulary unless already there; stop when the vocabulary holds
 *   vocab_size symbols, when no pair is left, or when the best pair occurs fewer than min_count times.
 *   The vocabulary is never cut: if the initial symbols alone exceed vocab_size no merge is learned and
 *   the vocabulary is larger than vocab_size (as in the twin).  Pair counts are kept incrementally (a lazy
 *   max-heap plus, per pair, the words that contain it), so a merge costs time in proportion to the
 *   words it touches.
 *
 * A merge can be learned twice: a symbol can be rebuilt along another path ("ab"+"c" and later "a"+"bc"),
 * which recreates a pair already merged.  The twin then overwrites that pair's rank with len(ranks), a
 * rank shared with the next new merge; ak_bpe keeps the full merge sequence (repeats included) and
 * replays that rule, so segmentation matches the twin even then.
 *
 * Segmentation (ak_bpe_segment) is the twin's _segment(): repeatedly pick the adjacent pair with the
 * lowest rank (leftmost on ties), merge all its occurrences left to right, until no pair has a rank.
 *
 * Merges file (ak_bpe_save / ak_bpe_load): UTF-8, LF line ends; first line "#version: 0.2"
 * (subword-nmt's header; optional when loading), then one merge per line in learning order:
 * "LEFT RIGHT" separated by one space, "</w>" only at the end of RIGHT ("e s</w>").  Load errors are
 * "path:LINE: what".
 *
 * Ownership: an ak_bpe owns its strings; ak_bpe_free releases it.  Functions taking a const ak_bpe are
 * safe to call from several threads at once. */
#ifndef AK_TEXT_BPE_H
#define AK_TEXT_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "text/counter.h"
#include "text/textbuf.h"
#include "text/vocab.h"

#define AK_BPE_EOW "</w>"
#define AK_BPE_EOW_LEN 4

typedef struct ak_bpe ak_bpe;

/* Learns merges and the matching vocabulary from word counts (strings must be non-empty valid UTF-8).
 * On success *bpe_out and *vocab_out are new objects the caller frees. */
int ak_bpe_learn(const ak_counter *words, size_t vocab_size, int64_t min_count, ak_bpe **bpe_out, ak_vocab **vocab_out,
                 ak_err *err);

/* Merge table from the learning sequence (left[i], right[i]), i = 0..n-1; the strings are copied. */
int ak_bpe_from_merges(const char *const *left, const char *const *right, size_t n, ak_bpe **out, ak_err *err);

void ak_bpe_free(ak_bpe *b);

size_t ak_bpe_n_merges(const ak_bpe *b);
const char *ak_bpe_merge_left(const ak_bpe *b, size_t i);
const char *ak_bpe_merge_right(const ak_bpe *b, size_t i);

/* Appends the symbols of word[0..len) (non-empty, valid UTF-8) to out as spans into word; the last
 * symbol stands for its bytes followed by "</w>".  Fails on invalid UTF-8 or out of memory. */
int ak_bpe_segment(const ak_bpe *b, const char *word, size_t len, ak_spans *out, ak_err *err);

/* Appends the vocabulary ids of the word's symbols to out (AK_UNK for a symbol not in v). */
int ak_bpe_encode_word(const ak_bpe *b, const ak_vocab *v, const char *word, size_t len, ak_ids *out, ak_err *err);

int ak_bpe_save(const ak_bpe *b, const char *path, ak_err *err);
int ak_bpe_load(const char *path, ak_bpe **out, ak_err *err);

#endif
