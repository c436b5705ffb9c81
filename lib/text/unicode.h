/* Unicode classification and lower-casing that match CPython 3.11 (Unicode 14.0.0) exactly, so that
 * attnkit tokenizes and scores like the PyTorch twin (shared/peer/torch_train.py).
 *
 * Coverage: all of Unicode, from tables generated out of CPython itself (text/unicode_tables.c), not just
 * Latin-1 / Latin Extended-A/B / Greek / Cyrillic.  Code points assigned after Unicode 14.0.0 are treated
 * as CPython 3.11 treats them: not word characters, not spaces, no case mapping.
 *
 * What "word" means: Python's `re` with a str pattern, where \w is str.isalnum() or "_": letters (L*),
 * and characters with a numeric value (Nd, Nl, No: "²", "½", "Ⅻ").  Combining marks (Mn, Mc, Me) are NOT
 * word characters in Python's re (re.findall(r"\w+", "e\u0301") == ["e"]); we follow Python, so a
 * decomposed "é" splits into "e" and a one-character punctuation token U+0301.
 *
 * Normalisation: none.  The twin does not normalise either, and every file in shared/data is NFC already
 * (checked with unicodedata.is_normalized("NFC", ...) on 2026-11-24); NFD input would tokenise
 * differently from its NFC form, exactly as in the twin. */
#ifndef AK_TEXT_UNICODE_H
#define AK_TEXT_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Python re's \w: str.isalnum() or "_". */
int ak_uc_isword(uint32_t c);

/* Python's str.isspace() (== re's \s == what str.split() and str.rstrip() remove): \t \n \v \f \r,
 * U+001C..U+001F, space, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
 * Zero-width space U+200B is not a space (it is a punctuation token). */
int ak_uc_isspace(uint32_t c);

/* One code point that is neither \w nor \s: a punctuation token of the regex \w+|[^\w\s]. */
int ak_uc_ispunct(uint32_t c);

/* Simple (one code point) lower-case mapping; U+0130 maps to "i" here (str.lower() gives "i\u0307"). */
uint32_t ak_uc_tolower(uint32_t c);

/* Python's str.lower() of the UTF-8 string s[0..n): full mapping (U+0130 -> "i\u0307") and the
 * Final_Sigma rule (U+03A3 -> U+03C2 at the end of a word).  Returns a malloc'd NUL-terminated string the
 * caller frees, its byte length in *out_n (may be NULL); NULL with a message on invalid UTF-8 (byte
 * offset given) or when out of memory. */
char *ak_utf8_lower(const char *s, size_t n, size_t *out_n, ak_err *err);

#endif
