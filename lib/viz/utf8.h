/* UTF-8 decoding for the renderers (local to viz so that it depends on
 * nothing but libc).
 *
 * Decoding never fails: a malformed, overlong or truncated sequence, a
 * surrogate or a value above U+10FFFF yields U+FFFD and consumes one byte,
 * so every input makes progress and renders as something visible. */
#ifndef AK_VIZ_UTF8_H
#define AK_VIZ_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define AK_UTF8_REPLACEMENT 0xFFFDu

/* Decodes the code point at s[*pos] (with *pos < len) and advances *pos past
 * it. */
uint32_t ak_viz_utf8_next(const char *s, size_t len, size_t *pos);

/* Appends the UTF-8 encoding of cp (invalid ones as U+FFFD) to out, which
 * must have room for 4 bytes; returns the number of bytes written. */
int ak_viz_utf8_put(char *out, uint32_t cp);

/* Terminal columns a code point occupies: 0 for combining marks, 2 for East
 * Asian wide and fullwidth forms and emoji, 1 otherwise. Control characters
 * count 1 because the renderers replace them with '?'. */
int ak_viz_cp_width(uint32_t cp);

#endif
