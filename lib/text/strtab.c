#include "text/strtab.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN ((size_t)1 << 16)

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk;

struct ak_strtab {
    char **str;     /* id -> string (inside a chunk) */
    size_t *len;    /* id -> byte length */
    uint64_t *hash; /* id -> hash */
    size_t n, cap;  /* ids */
    int64_t *slot;  /* open addressing, -1 = empty */
    size_t nslot;   /* power of two */
    chunk *chunks;
};

uint64_t ak_hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

ak_strtab *ak_strtab_new(void)
{
    ak_strtab *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->nslot = 64;
    t->slot = malloc(t->nslot * sizeof *t->slot);
    if (!t->slot) {
        free(t);
        return NULL;
    }
    memset(t->slot, 0xFF, t->nslot * sizeof *t->slot);
    return t;
}

void ak_strtab_free(ak_strtab *t)
{
    if (!t)
        return;
    for (chunk *c = t->chunks; c;) {
        chunk *next = c->next;
        free(c);
        c = next;
    }
    free(t->str);
    free(t->len);
    free(t->hash);
    free(t->slot);
    free(t);
}

static size_t probe(const ak_strtab *t, const char *s, size_t len, uint64_t h)
{
    size_t mask = t->nslot - 1, i = (size_t)h & mask;
    for (;;) {
        int64_t id = t->slot[i];
        if (id < 0 || (t->hash[id] == h && t->len[id] == len && memcmp(t->str[id], s, len) == 0))
            return i;
        i = (i + 1) & mask;
    }
}

int64_t ak_strtab_find(const ak_strtab *t, const char *s, size_t len)
{
    return t->slot[probe(t, s, len, ak_hash_bytes(s, len))];
}

static int grow_slots(ak_strtab *t)
{
    size_t ns = t->nslot * 2;
    int64_t *slot = malloc(ns * sizeof *slot);
    if (!slot)
        return -1;
    memset(slot, 0xFF, ns * sizeof *slot);
    for (size_t id = 0; id < t->n; id++) {
        size_t i = (size_t)t->hash[id] & (ns - 1);
        while (slot[i] >= 0)
            i = (i + 1) & (ns - 1);
        slot[i] = (int64_t)id;
    }
    free(t->slot);
    t->slot = slot;
    t->nslot = ns;
    return 0;
}

static char *store(ak_strtab *t, const char *s, size_t len)
{
    chunk *c = t->chunks;
    if (!c || c->cap - c->used < len + 1) {
        size_t cap = len + 1 > CHUNK_MIN ? len + 1 : CHUNK_MIN;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = t->chunks, c->used = 0, c->cap = cap;
        t->chunks = c;
    }
    char *p = c->data + c->used;
    memcpy(p, s, len);
    p[len] = '\0';
    c->used += len + 1;
    return p;
}

int64_t ak_strtab_intern(ak_strtab *t, const char *s, size_t len, int *added, ak_err *err)
{
    uint64_t h = ak_hash_bytes(s, len);
    size_t i = probe(t, s, len, h);
    if (added)
        *added = 0;
    if (t->slot[i] >= 0)
        return t->slot[i];
    if (2 * (t->n + 1) > t->nslot) { /* keep the load factor <= 1/2 */
        if (grow_slots(t) < 0)
            return ak_errorf(err, "string table: out of memory growing to %zu slots", 2 * t->nslot);
        i = probe(t, s, len, h);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **str = realloc(t->str, cap * sizeof *str);
        if (str)
            t->str = str;
        size_t *ln = realloc(t->len, cap * sizeof *ln);
        if (ln)
            t->len = ln;
        uint64_t *hs = realloc(t->hash, cap * sizeof *hs);
        if (hs)
            t->hash = hs;
        if (!str || !ln || !hs)
            return ak_errorf(err, "string table: out of memory at %zu strings", t->n);
        t->cap = cap;
    }
    char *p = store(t, s, len);
    if (!p)
        return ak_errorf(err, "string table: out of memory storing a %zu-byte string", len);
    int64_t id = (int64_t)t->n++;
    t->str[id] = p, t->len[id] = len, t->hash[id] = h;
    t->slot[i] = id;
    if (added)
        *added = 1;
    return id;
}

size_t ak_strtab_size(const ak_strtab *t)
{
    return t->n;
}

const char *ak_strtab_str(const ak_strtab *t, int64_t id)
{
    return t->str[id];
}

size_t ak_strtab_len(const ak_strtab *t, int64_t id)
{
    return t->len[id];
}
