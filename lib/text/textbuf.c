#include "text/textbuf.h"

#include <stdlib.h>
#include <string.h>

/* Makes room for `more` elements of `size` bytes; 0 or -1 (nothing changed). */
static int reserve(void **v, size_t *cap, size_t n, size_t more, size_t size)
{
    if (more <= *cap - n)
        return 0;
    size_t want = *cap ? *cap : 16;
    while (want - n < more) {
        if (want > SIZE_MAX / 2 / size)
            return -1;
        want *= 2;
    }
    void *p = realloc(*v, want * size);
    if (!p)
        return -1;
    *v = p;
    *cap = want;
    return 0;
}

int ak_ids_push(ak_ids *b, int32_t id, ak_err *err)
{
    if (reserve((void **)&b->v, &b->cap, b->n, 1, sizeof *b->v) < 0)
        return ak_errorf(err, "ids: out of memory at %zu ids", b->n);
    b->v[b->n++] = id;
    return 0;
}

void ak_ids_free(ak_ids *b)
{
    free(b->v);
    memset(b, 0, sizeof *b);
}

int ak_spans_push(ak_spans *b, size_t off, size_t len, ak_err *err)
{
    if (reserve((void **)&b->v, &b->cap, b->n, 1, sizeof *b->v) < 0)
        return ak_errorf(err, "spans: out of memory at %zu spans", b->n);
    b->v[b->n].off = off;
    b->v[b->n].len = len;
    b->n++;
    return 0;
}

void ak_spans_free(ak_spans *b)
{
    free(b->v);
    memset(b, 0, sizeof *b);
}

int ak_strlist_push(ak_strlist *l, const char *s, size_t len, ak_err *err)
{
    if (reserve((void **)&l->v, &l->cap, l->n, 1, sizeof *l->v) < 0)
        return ak_errorf(err, "string list: out of memory at %zu strings", l->n);
    char *c = malloc(len + 1);
    if (!c)
        return ak_errorf(err, "string list: out of memory for a %zu-byte string", len);
    memcpy(c, s, len);
    c[len] = '\0';
    l->v[l->n++] = c;
    return 0;
}

void ak_strlist_free(ak_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int ak_sbuf_put(ak_sbuf *b, const char *s, size_t len, ak_err *err)
{
    if (len == SIZE_MAX || reserve((void **)&b->v, &b->cap, b->n, len + 1, 1) < 0)
        return ak_errorf(err, "string: out of memory at %zu bytes", b->n);
    if (len)
        memcpy(b->v + b->n, s, len);
    b->n += len;
    b->v[b->n] = '\0';
    return 0;
}

void ak_sbuf_free(ak_sbuf *b)
{
    free(b->v);
    memset(b, 0, sizeof *b);
}
