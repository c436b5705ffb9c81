#include "text/counter.h"

#include <stdlib.h>

#include "text/strtab.h"

struct ak_counter {
    ak_strtab *tab;
    int64_t *count;
    size_t cap;
};

ak_counter *ak_counter_new(void)
{
    ak_counter *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->tab = ak_strtab_new();
    if (!c->tab) {
        free(c);
        return NULL;
    }
    return c;
}

void ak_counter_free(ak_counter *c)
{
    if (!c)
        return;
    ak_strtab_free(c->tab);
    free(c->count);
    free(c);
}

int ak_counter_add(ak_counter *c, const char *s, size_t len, int64_t k, ak_err *err)
{
    if (ak_strtab_size(c->tab) == c->cap) { /* room for a new string before interning it */
        size_t cap = c->cap ? 2 * c->cap : 1024;
        int64_t *p = realloc(c->count, cap * sizeof *p);
        if (!p)
            return ak_errorf(err, "counter: out of memory at %zu strings", c->cap);
        c->count = p;
        c->cap = cap;
    }
    int added;
    int64_t id = ak_strtab_intern(c->tab, s, len, &added, err);
    if (id < 0)
        return -1;
    if (added)
        c->count[id] = 0;
    c->count[id] += k;
    return 0;
}

size_t ak_counter_size(const ak_counter *c)
{
    return ak_strtab_size(c->tab);
}

const char *ak_counter_str(const ak_counter *c, size_t i)
{
    return ak_strtab_str(c->tab, (int64_t)i);
}

size_t ak_counter_len(const ak_counter *c, size_t i)
{
    return ak_strtab_len(c->tab, (int64_t)i);
}

int64_t ak_counter_count(const ak_counter *c, size_t i)
{
    return c->count[i];
}

int64_t ak_counter_get(const ak_counter *c, const char *s, size_t len)
{
    int64_t id = ak_strtab_find(c->tab, s, len);
    return id < 0 ? 0 : c->count[id];
}
