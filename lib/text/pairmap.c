#include "text/pairmap.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY UINT64_MAX

static size_t slot_of(uint64_t k, size_t nslot)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & (nslot - 1);
}

int32_t ak_pairmap_find(const ak_pairmap *m, uint32_t a, uint32_t b)
{
    if (!m->nslot)
        return -1;
    uint64_t k = (uint64_t)a << 32 | b;
    for (size_t i = slot_of(k, m->nslot);; i = (i + 1) & (m->nslot - 1)) {
        if (m->key[i] == k)
            return m->val[i];
        if (m->key[i] == EMPTY)
            return -1;
    }
}

static int grow(ak_pairmap *m)
{
    size_t ns = m->nslot ? 2 * m->nslot : 1024;
    uint64_t *key = malloc(ns * sizeof *key);
    int32_t *val = malloc(ns * sizeof *val);
    if (!key || !val) {
        free(key);
        free(val);
        return -1;
    }
    memset(key, 0xFF, ns * sizeof *key);
    for (size_t i = 0; i < m->nslot; i++) {
        if (m->key[i] == EMPTY)
            continue;
        size_t j = slot_of(m->key[i], ns);
        while (key[j] != EMPTY)
            j = (j + 1) & (ns - 1);
        key[j] = m->key[i];
        val[j] = m->val[i];
    }
    free(m->key);
    free(m->val);
    m->key = key, m->val = val, m->nslot = ns;
    return 0;
}

int32_t ak_pairmap_intern(ak_pairmap *m, uint32_t a, uint32_t b, int *added)
{
    if (added)
        *added = 0;
    if (2 * (m->n + 1) > m->nslot && grow(m) < 0)
        return -1;
    uint64_t k = (uint64_t)a << 32 | b;
    size_t i = slot_of(k, m->nslot);
    while (m->key[i] != EMPTY) {
        if (m->key[i] == k)
            return m->val[i];
        i = (i + 1) & (m->nslot - 1);
    }
    if (m->n >= INT32_MAX)
        return -1;
    m->key[i] = k;
    m->val[i] = (int32_t)m->n++;
    if (added)
        *added = 1;
    return m->val[i];
}

void ak_pairmap_free(ak_pairmap *m)
{
    free(m->key);
    free(m->val);
    memset(m, 0, sizeof *m);
}
