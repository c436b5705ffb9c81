/* Two blocks of terminal text next to each other (two rendered maps, two
 * runs): line i of the left block, padded to the left block's widest line,
 * a separator, then line i of the right block. Widths count terminal
 * columns (UTF-8 aware, wide characters two, combining marks none) and skip
 * ANSI escape sequences (ESC '[' ... final byte), so coloured renders line
 * up too. The shorter block is padded with blank lines. */
#ifndef AK_VIZ_SIDE_BY_SIDE_H
#define AK_VIZ_SIDE_BY_SIDE_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

/* Terminal columns of s[0..len) (no newline inside). */
int ak_text_columns(const char *s, size_t len);

/* Widest line of a block (lines separated by '\n'). */
int ak_block_columns(const char *block);

/* Writes the two blocks side by side to f; -1 with a message on a write
 * error. */
int ak_side_by_side(FILE *f, const char *left, const char *right, const char *sep, ak_err *err);

#endif
