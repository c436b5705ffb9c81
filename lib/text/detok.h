/* Detokenisation of word tokens, the twin's detok() and detok_glue() (shared/peer/torch_train.py).
 *
 *   plain: tokens joined by one space, except that no space goes before a punctuation token, i.e. a token
 *          that is exactly one code point that is neither \w nor \s ("Vous êtes - vous blessée ?" ->
 *          "Vous êtes- vous blessée?").
 *   glue : plain, and also no space after one of ' (U+0027), ’ (U+2019), - when that token stands
 *          between two non-punctuation tokens ("êtes - vous" -> "êtes-vous", "J ' ai" -> "J'ai").
 * Specials ("<unk>", ...) are ordinary non-punctuation tokens here. */
#ifndef AK_TEXT_DETOK_H
#define AK_TEXT_DETOK_H

#include <stddef.h>

#include "core/error.h"

/* 1 when w[0..len) is one code point that is neither a word character nor whitespace. */
int ak_is_punct_token(const char *w, size_t len);

/* Joins words[0..n) (NUL-terminated tokens) by the rule above; returns a malloc'd NUL-terminated string
 * the caller frees, or NULL with a message when out of memory. */
char *ak_detok(const char *const *words, size_t n, int glue, ak_err *err);

#endif
