/* Tokenizers: one interface over three kinds, each with its own vocabulary (text/vocab.h).
 *
 *   AK_TOK_WORD: tokens of the regex \w+|[^\w\s] (text/pretok.h), looked up in a vocabulary built from
 *                their counts (the twin's --tok word).
 *   AK_TOK_BPE : the same regex words split into BPE symbols (text/bpe.h, the twin's --tok bpe).
 *   AK_TOK_CHAR: one token per code point (not in the twin).  Every whitespace code point becomes the
 *                visible token "▁" (U+2581, as in SentencePiece) so that vocabulary files stay one token
 *                per line; decoding turns "▁" back into one space.  So tabs/newlines come back as spaces,
 *                and a literal "▁" in the input also comes back as a space.
 *
 * Training (ak_tokenizer_train) takes raw sentences of one side; vocab_size counts the 4 specials;
 * min_count is the twin's 2 by default (pass 2).  Encoding never adds BOS/EOS: callers add them.
 * Unknown tokens map to AK_UNK.
 *
 * Decoding: ak_tokenizer_words() gives the twin's vocab.words(ids): the token strings for word/char,
 * and for BPE the words rebuilt from "</w>" (a special stands as a word of its own, glued to any
 * unfinished prefix before it; an unfinished word at the end is kept).  ak_tokenizer_detok() joins those
 * with text/detok.h (glue as documented there); for char it concatenates, "▁" -> " ".  Callers strip
 * EOS/PAD first, as the twin does.
 *
 * Files: a tokenizer is saved as a vocabulary file (text/vocab.h) plus, for BPE, a merges file
 * (text/bpe.h); the kind itself is not stored, the caller keeps it (e.g. in the run's config).
 *
 * Ownership: a tokenizer owns its vocabulary and merges; ak_tokenizer_free releases everything.
 * Encoding and decoding take a const tokenizer and keep no cache, so threads may share one.
 * Failure modes: invalid UTF-8 in a text (byte offset given), ids out of range, files (path:line),
 * out of memory. */
#ifndef AK_TEXT_TOKENIZER_H
#define AK_TEXT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "text/bpe.h"
#include "text/textbuf.h"
#include "text/vocab.h"

typedef enum ak_tok_kind { AK_TOK_CHAR, AK_TOK_WORD, AK_TOK_BPE } ak_tok_kind;

#define AK_CHAR_SPACE "\xE2\x96\x81" /* U+2581, the char tokenizer's token for whitespace */

typedef struct ak_tokenizer ak_tokenizer;

/* "char", "word", "bpe" <-> kind. */
int ak_tok_kind_parse(const char *name, ak_tok_kind *out, ak_err *err);
const char *ak_tok_kind_name(ak_tok_kind kind);

int ak_tokenizer_train(ak_tok_kind kind, const char *const *texts, size_t n, size_t vocab_size, int64_t min_count,
                       ak_tokenizer **out, ak_err *err);

/* Takes ownership of vocab (and of bpe, which must be non-NULL exactly for AK_TOK_BPE), also on
 * failure. */
int ak_tokenizer_from_parts(ak_tok_kind kind, ak_vocab *vocab, ak_bpe *bpe, ak_tokenizer **out, ak_err *err);

void ak_tokenizer_free(ak_tokenizer *t);

ak_tok_kind ak_tokenizer_kind(const ak_tokenizer *t);
const ak_vocab *ak_tokenizer_vocab(const ak_tokenizer *t);
const ak_bpe *ak_tokenizer_bpe(const ak_tokenizer *t); /* NULL unless BPE */

/* Appends the ids of text (NUL-terminated UTF-8) to out.  On failure out keeps its previous length. */
int ak_tokenizer_encode(const ak_tokenizer *t, const char *text, ak_ids *out, ak_err *err);

/* Appends the decoded words of ids[0..n) to out (see above). */
int ak_tokenizer_words(const ak_tokenizer *t, const int32_t *ids, size_t n, ak_strlist *out, ak_err *err);

/* The detokenised string of ids[0..n): malloc'd, caller frees; NULL with a message on failure. */
char *ak_tokenizer_detok(const ak_tokenizer *t, const int32_t *ids, size_t n, int glue, ak_err *err);

/* merges_path is used (and required) only for BPE. */
int ak_tokenizer_save(const ak_tokenizer *t, const char *vocab_path, const char *merges_path, ak_err *err);
int ak_tokenizer_load(ak_tok_kind kind, const char *vocab_path, const char *merges_path, ak_tokenizer **out,
                      ak_err *err);

#endif
