/* UTF-8 decoding, encoding and validation (strict, as Python's "utf-8" codec: no overlong forms, no
 * surrogates U+D800..U+DFFF, nothing above U+10FFFF, no truncated sequences).
 *
 * Byte strings are (pointer, length) pairs; nothing here allocates.  Offsets in messages are 0-based byte
 * offsets into the string that was passed. */
#ifndef AK_TEXT_UTF8_H
#define AK_TEXT_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define AK_UTF8_MAX 4 /* bytes per code point */

/* Decodes the code point that starts at s[*pos] (with *pos < n).  On success returns it (>= 0) and
 * advances *pos past it; on an invalid or truncated sequence returns -1 and leaves *pos unchanged. */
int32_t ak_utf8_next(const char *s, size_t n, size_t *pos);

/* Writes the UTF-8 form of cp into out and returns its length 1..4; returns 0 (writing nothing) for a
 * surrogate or a value above U+10FFFF. */
size_t ak_utf8_encode(uint32_t cp, char out[AK_UTF8_MAX]);

/* 0 when s[0..n) is valid UTF-8.  Otherwise -1 with "invalid UTF-8 at byte K: <why> (0xXX)" in err and,
 * when bad_off is non-NULL, K in *bad_off. */
int ak_utf8_validate(const char *s, size_t n, size_t *bad_off, ak_err *err);

/* Number of code points of a string already known to be valid UTF-8 (counts non-continuation bytes). */
size_t ak_utf8_count(const char *s, size_t n);

#endif
