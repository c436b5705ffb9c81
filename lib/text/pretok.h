/* Pre-tokenisation: where the tokens of a UTF-8 string are, as byte spans into it (nothing is copied).
 *
 * ak_pretok_words() is the twin's word_tokenize(): re.findall(r"\w+|[^\w\s]", s) with Python's Unicode
 * \w and \s (text/unicode.h): maximal runs of word characters, and every other non-space code point as a
 * token of its own ("êtes-vous" -> "êtes" "-" "vous", "l'eau" -> "l" "'" "eau", "3.5" -> "3" "." "5").
 * ak_pretok_chars() gives one span per code point, whitespace included.
 * Both append to out; on invalid UTF-8 they return -1 with the byte offset in err (out may then hold
 * the spans found before the bad byte). */
#ifndef AK_TEXT_PRETOK_H
#define AK_TEXT_PRETOK_H

#include <stddef.h>

#include "core/error.h"
#include "text/textbuf.h"

int ak_pretok_words(const char *s, size_t n, ak_spans *out, ak_err *err);
int ak_pretok_chars(const char *s, size_t n, ak_spans *out, ak_err *err);

#endif
