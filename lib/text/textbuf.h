/* Growable buffers shared by the text module.  All start zeroed ({0}) and are released with their _free
 * function, which also resets them to zero; push functions return 0, or -1 with a message when out of
 * memory (the buffer is left as it was). */
#ifndef AK_TEXT_TEXTBUF_H
#define AK_TEXT_TEXTBUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Token ids. */
typedef struct ak_ids {
    int32_t *v;
    size_t n, cap;
} ak_ids;

int ak_ids_push(ak_ids *b, int32_t id, ak_err *err);
void ak_ids_free(ak_ids *b);

/* Byte ranges [off, off + len) of some string the caller keeps. */
typedef struct ak_span {
    size_t off, len;
} ak_span;

typedef struct ak_spans {
    ak_span *v;
    size_t n, cap;
} ak_spans;

int ak_spans_push(ak_spans *b, size_t off, size_t len, ak_err *err);
void ak_spans_free(ak_spans *b);

/* A list of strings it owns: each v[i] is a malloc'd NUL-terminated copy, freed by ak_strlist_free. */
typedef struct ak_strlist {
    char **v;
    size_t n, cap;
} ak_strlist;

int ak_strlist_push(ak_strlist *l, const char *s, size_t len, ak_err *err);
void ak_strlist_free(ak_strlist *l);

/* A byte string under construction; v is NUL-terminated whenever n > 0 or after any append. */
typedef struct ak_sbuf {
    char *v;
    size_t n, cap;
} ak_sbuf;

int ak_sbuf_put(ak_sbuf *b, const char *s, size_t len, ak_err *err);
void ak_sbuf_free(ak_sbuf *b);

#endif
