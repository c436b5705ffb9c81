/* The built-in bitmap font: fixed width, 6 x 13 pixels a character cell
 * (5-pixel glyphs and a 1-pixel gap), covering printable ASCII
 * (U+0020..U+007E), Latin-1 (U+00A0..U+00FF: the accented letters of French,
 * German, Spanish, the Nordic languages) and U+2026 (the ellipsis used to
 * mark truncated labels). Every other code point draws as a hollow box, so
 * an unsupported token is visibly not blank. Text given in decomposed form
 * (a base letter followed by a combining accent) is composed to the Latin-1
 * letter where one exists. No state, no allocation. */
#ifndef AK_VIZ_FONT_H
#define AK_VIZ_FONT_H

#include <stddef.h>
#include <stdint.h>

#define AK_FONT_W 6       /* advance per character, pixels */
#define AK_FONT_H 13      /* line height, pixels */
#define AK_FONT_GLYPH_W 5 /* inked columns; bit 4 of a row is the leftmost */

/* Whether cp has a real glyph (otherwise the placeholder box is drawn). */
int ak_font_has_glyph(uint32_t cp);

/* Fills rows[r] (r = 0 top .. AK_FONT_H-1) with the glyph's pixel masks,
 * bit (AK_FONT_GLYPH_W-1-c) set when column c is inked. Returns 1 for a real
 * glyph, 0 when the placeholder was drawn. */
int ak_font_glyph(uint32_t cp, uint8_t rows[AK_FONT_H]);

/* Decodes the next displayed character of UTF-8 text s[*pos..len) (with
 * *pos < len), composing base letter + combining mark into Latin-1 where
 * possible, and advances *pos. */
uint32_t ak_font_next(const char *s, size_t len, size_t *pos);

/* Number of characters ak_font_next yields for the NUL-terminated s. */
int ak_font_glyph_count(const char *s);

/* Self-check of the glyph sheets' shape (row lengths, characters used);
 * 0 when well-formed. For the tests. */
int ak_font_check_sheets(void);

#endif
