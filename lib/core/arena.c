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

/* A free span of the give-back pool; the header lives in the span itself
 * (every span is at least AK_ARENA_ALIGN bytes). */
typedef struct span {
    size_t size;
    struct span *next; /* next span at a higher address */
} span;

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

static unsigned char *end_of(span *s) { return (unsigned char *)s + s->size; }

/* The front `bytes` of the smallest pool span that holds them (the first
 * exact fit ends the search); the rest of the span stays in the pool. NULL
 * when no span is large enough. */
static void *pool_take(ak_arena *a, size_t bytes)
{
    span *best = NULL, *best_prev = NULL, *prev = NULL;
    for (span *s = a->pool; s; prev = s, s = s->next)
        if (s->size >= bytes && (!best || s->size < best->size)) {
            best = s;
            best_prev = prev;
            if (s->size == bytes)
                break;
        }
    if (!best)
        return NULL;
    span *after = best->next;
    if (best->size > bytes) {
        span *rest = (span *)((unsigned char *)best + bytes);
        rest->size = best->size - bytes;
        rest->next = after;
        after = rest;
    }
    if (best_prev)
        best_prev->next = after;
    else
        a->pool = after;
    a->pool_bytes -= bytes;
    return best;
}

void *ak_arena_alloc(ak_arena *a, size_t bytes)
{
    bytes = round_up(bytes ? bytes : 1);
    if (a->pool && bytes >= AK_ARENA_POOL_MIN) {
        void *p = pool_take(a, bytes);
        if (p)
            return p;
    }
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

void ak_arena_give_back(ak_arena *a, void *p, size_t bytes)
{
    if (!p)
        return;
    bytes = round_up(bytes ? bytes : 1);
    unsigned char *c = p;
    /* Find the neighbours in address order: pp -> prev -> [c] -> next. */
    span *pp = NULL, *prev = NULL, *next = a->pool;
    while (next && (unsigned char *)next < c) {
        pp = prev;
        prev = next;
        next = next->next;
    }
    span *s, *before; /* the span now holding c, and the one before it */
    if (prev && end_of(prev) == c) {
        prev->size += bytes;
        s = prev;
        before = pp;
    } else {
        s = (span *)c;
        s->size = bytes;
        s->next = next;
        if (prev)
            prev->next = s;
        else
            a->pool = s;
        before = prev;
    }
    a->pool_bytes += bytes;
    if (next && end_of(s) == (unsigned char *)next) {
        s->size += next->size;
        s->next = next->next;
    }
    /* A span that reaches the bump pointer of the current block lowers it:
     * the next allocations then extend into it as if it had never been
     * handed out. */
    ak_arena_block *b = a->blocks;
    if (b && (unsigned char *)s >= b->mem && end_of(s) == b->mem + b->used) {
        if (before)
            before->next = s->next;
        else
            a->pool = s->next;
        a->pool_bytes -= s->size;
        b->used -= s->size;
        a->used -= s->size;
    }
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
    a->pool = NULL;
    a->pool_bytes = 0;
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
    a->pool = NULL;
    a->pool_bytes = 0;
}
