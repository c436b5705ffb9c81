/* Vocabulary: token string <-> id, with the twin's layout (torch_train.py WordVocab):
 *   ids 0..3 are the specials PAD "<pad>", UNK "<unk>", BOS "<s>", EOS "</s>";
 *   then, for a vocabulary built from counts, every token with count >= min_count sorted by
 *   (count descending, string ascending), cut so that the whole vocabulary has at most max_size entries.
 * "String ascending" is Python's str order, i.e. by code point; for valid UTF-8 that is plain bytewise
 * order (memcmp, a proper prefix first), which is what we use.
 *
 * Invariant of every vocabulary: the specials at 0..3, no duplicates, every token non-empty valid UTF-8
 * without whitespace (text/unicode.h ak_uc_isspace) — so a token always fits on one line of a file.
 *
 * File format (ak_vocab_save / ak_vocab_load), meant to be stored in a run directory:
 *   UTF-8 text, one token per line, LF line ends; line k (1-based) holds the token of id k - 1, so the
 *   first four lines are "<pad>", "<unk>", "<s>", "</s>".  No header, no counts.  A missing LF after the
 *   last line is accepted.  Loading reports "path:LINE: what" for a missing or misplaced special, an
 *   empty line, whitespace in a token (a CR is reported as a CRLF line end), invalid UTF-8 (with the byte
 *   offset within the line) and a duplicate (with the line of its first occurrence).
 *
 * Ownership: a vocabulary owns copies of its strings; free it with ak_vocab_free().  Pointers returned by
 * ak_vocab_token() live as long as the vocabulary. */
#ifndef AK_TEXT_VOCAB_H
#define AK_TEXT_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "text/counter.h"

#include "core/special_ids.h" /* AK_PAD, AK_UNK, AK_BOS, AK_EOS, AK_NSPECIAL */

extern const char *const ak_vocab_specials[AK_NSPECIAL]; /* "<pad>", "<unk>", "<s>", "</s>" */

typedef struct ak_vocab ak_vocab;

/* Builds the vocabulary from token counts as described above.  max_size < 4 still keeps the four
 * specials (as the twin does).  Fails when out of memory or when a counted token equals a special or
 * breaks the invariant (empty, whitespace, invalid UTF-8). */
int ak_vocab_build(const ak_counter *counts, int64_t min_count, size_t max_size, ak_vocab **out, ak_err *err);

/* Vocabulary whose id i is toks[i] (toks[0..3] must be the specials); errors name the token index. */
int ak_vocab_from_list(const char *const *toks, size_t n, ak_vocab **out, ak_err *err);

void ak_vocab_free(ak_vocab *v);

size_t ak_vocab_size(const ak_vocab *v);

/* The token of id, or NULL when id is out of range. */
const char *ak_vocab_token(const ak_vocab *v, int32_t id);
size_t ak_vocab_token_len(const ak_vocab *v, int32_t id); /* 0 when out of range */

/* Id of s[0..len): ak_vocab_find gives -1 when absent, ak_vocab_id gives AK_UNK. */
int32_t ak_vocab_find(const ak_vocab *v, const char *s, size_t len);
int32_t ak_vocab_id(const ak_vocab *v, const char *s, size_t len);

int ak_vocab_save(const ak_vocab *v, const char *path, ak_err *err);
int ak_vocab_load(const char *path, ak_vocab **out, ak_err *err);

#endif
