#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ak_arena_block {
    ak_arena_block *next;
    size_t size, used;
    unsigned char *mem;
};

#define DEFAULT_BLOCK ((size_t)1 << 20)

void ak_arena_init(ak_arena *a, size_t initial)
{
    memset(a, 0, sizeof *a);
    a->min_block = initial ? initial : DEFAULT_BLOCK;
}

static ak_arena_block *new_block(ak_arena *a, size_t size)
{
    ak_arena_block *b = malloc(sizeof *b);
    if (!b)
        return NULL;
    b->mem = aligned_alloc(AK_ARENA_ALIGN, size);
    if (!b->mem) {
        free(b);
        return NULL;
    }
    b->size = size;
    b->used = 0;
    b->next = a->blocks;
    a->blocks = b;
    a->mallocs++;
    return b;
}

static size_t round_up(size_t n) { return (n + AK_ARENA_ALIGN - 1) & ~(size_t)(AK_ARENA_ALIGN - 1); }

void *ak_arena_alloc(ak_arena *a, size_t bytes)
{
    bytes = round_up(bytes ? bytes : 1);
    ak_arena_block *b = a->blocks;
    if (!b || b->size - b->used < bytes) {
        /* Grow geometrically so a step that outgrows the arena chains few blocks. */
        size_t size = a->min_block;
        if (b && b->size * 2 > size)
            size = b->size * 2;
        if (size < bytes)
            size = round_up(bytes);
        b = new_block(a, size);
        if (!b)
            return NULL;
    }
    void *p = b->mem + b->used;
    b->used += bytes;
    a->used += bytes;
    if (a->used > a->high_water)
        a->high_water = a->used;
    return p;
}

void *ak_arena_calloc(ak_arena *a, size_t bytes)
{
    void *p = ak_arena_alloc(a, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

/* The size class holding chunks of `bytes`; with `make`, claims a free one
 * (no size yet, or an empty stack) when none matches. -1 when none. */
static int size_class(ak_arena *a, size_t bytes, int make)
{
    int spare = -1;
    for (int i = 0; i < AK_ARENA_CLASSES; i++) {
        if (a->free_size[i] == bytes)
            return i;
        if (spare < 0 && !a->free_head[i])
            spare = i;
    }
    if (!make || spare < 0)
        return -1;
    a->free_size[spare] = bytes;
    return spare;
}

void ak_arena_release(ak_arena *a, void *p, size_t bytes)
{
    bytes = round_up(bytes ? bytes : 1);
    if (!p || bytes < sizeof(void *))
        return;
    int k = size_class(a, bytes, 1);
    if (k < 0)
        return;
    *(void **)p = a->free_head[k];
    a->free_head[k] = p;
}

void *ak_arena_alloc_recycled(ak_arena *a, size_t bytes)
{
    size_t r = round_up(bytes ? bytes : 1);
    int k = size_class(a, r, 0);
    if (k < 0 || !a->free_head[k])
        return ak_arena_alloc(a, bytes);
    void *p = a->free_head[k];
    a->free_head[k] = *(void **)p;
    return p;
}

void *ak_arena_calloc_recycled(ak_arena *a, size_t bytes)
{
    void *p = ak_arena_alloc_recycled(a, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

size_t ak_arena_capacity(const ak_arena *a)
{
    size_t c = 0;
    for (const ak_arena_block *b = a->blocks; b; b = b->next)
        c += b->size;
    return c;
}

void ak_arena_reset(ak_arena *a)
{
    if (a->blocks && a->blocks->next) {
        /* Merge into one block sized for the whole step, so the next step of
         * the same shape fits without chaining. */
        size_t total = ak_arena_capacity(a);
        ak_arena_free(a);
        if (total > a->min_block)
            a->min_block = total;
        new_block(a, a->min_block);
    }
    if (a->blocks)
        a->blocks->used = 0;
    a->used = 0;
    memset(a->free_size, 0, sizeof a->free_size);
    memset(a->free_head, 0, sizeof a->free_head);
}

void ak_arena_free(ak_arena *a)
{
    ak_arena_block *b = a->blocks;
    while (b) {
        ak_arena_block *n = b->next;
        free(b->mem);
        free(b);
        b = n;
    }
    a->blocks = NULL;
    a->used = 0;
    memset(a->free_size, 0, sizeof a->free_size);
    memset(a->free_head, 0, sizeof a->free_head);
}
