/* Internal to the text module: hash map from a pair of 32-bit ids to a dense index 0, 1, 2, ...
 * (insertion order).  Only allocation can fail.  Free with ak_pairmap_free. */
#ifndef AK_TEXT_PAIRMAP_H
#define AK_TEXT_PAIRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct ak_pairmap {
    uint64_t *key; /* per slot; AK_PAIRMAP_EMPTY when free */
    int32_t *val;  /* per slot: the dense index */
    size_t nslot, n;
} ak_pairmap;

/* Index of (a, b), or -1. */
int32_t ak_pairmap_find(const ak_pairmap *m, uint32_t a, uint32_t b);

/* Index of (a, b), inserting it with index m->n when absent (*added says which); -1 when out of memory
 * or past INT32_MAX entries. */
int32_t ak_pairmap_intern(ak_pairmap *m, uint32_t a, uint32_t b, int *added);

void ak_pairmap_free(ak_pairmap *m);

#endif
