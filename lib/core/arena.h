/* Per-step bump allocator.
 *
 * Everything one training step creates (activations, saved values, tape
 * nodes, intermediate gradients) comes from an arena that is reset after the
 * step. Allocation is a pointer bump; when a block runs out a new one is
 * chained. Reset keeps memory: if the step needed more than one block, the
 * blocks are merged into a single block as large as their sum, so from the
 * second step on a model of fixed shape allocates nothing (tested by the
 * high-water and block-count accessors below).
 *
 * Two ways to hand memory back before the reset:
 *   - ak_arena_release: exact-size stacks for the short-lived gradient
 *     buffers of a backward pass (ak_arena_*_recycled take them back);
 *   - ak_arena_give_back: a pool of free spans of any size, kept in address
 *     order and merged with free neighbours, from which every later
 *     allocation (best fit) is served before the bump pointer moves. A span
 *     that ends at the bump pointer lowers it instead. Used for memory an op
 *     knows to be dead before the step ends (its own scratch, saved values it
 *     has consumed), so that what a step touches, its peak, shrinks. */
#ifndef AK_CORE_ARENA_H
#define AK_CORE_ARENA_H

#include <stddef.h>

#define AK_ARENA_ALIGN 64 /* one cache line; also what AVX-512 loads like */
#define AK_ARENA_CLASSES 48 /* distinct sizes the recycling lists track */
/* Allocations below this size do not take from the give-back pool: tensor
 * headers and tape nodes carved out of a freed activation would leave it too
 * short for the next activation of the same size. */
#define AK_ARENA_POOL_MIN 4096

typedef struct ak_arena_block ak_arena_block;

typedef struct ak_arena {
    ak_arena_block *blocks; /* newest first */
    size_t used;            /* bytes below the bump pointers (what the step has touched) */
    size_t high_water;      /* most bytes ever in use that way in one step */
    size_t mallocs;         /* block allocations so far (for steady-state tests) */
    size_t min_block;
    /* Recycling (ak_arena_release / ak_arena_alloc_recycled): one stack of
     * released chunks per exact (rounded) size; emptied by reset. */
    size_t free_size[AK_ARENA_CLASSES];
    void *free_head[AK_ARENA_CLASSES];
    /* ak_arena_give_back's pool: free spans in address order; emptied by
     * reset. pool_bytes: their total. */
    void *pool;
    size_t pool_bytes;
} ak_arena;

/* Prepares an empty arena whose first block will hold at least `initial`
 * bytes (0 picks a default). Allocates lazily. */
void ak_arena_init(ak_arena *a, size_t initial);

/* Returns `bytes` of AK_ARENA_ALIGN-aligned, uninitialised memory owned by
 * the arena and valid until the next reset/free (or until given back).
 * Taken from the best-fitting span of the give-back pool when one is large
 * enough (for AK_ARENA_POOL_MIN bytes or more), else from the bump region. Returns NULL only when the system is out
 * of memory. */
void *ak_arena_alloc(ak_arena *a, size_t bytes);

/* Like ak_arena_alloc but zero-filled. */
void *ak_arena_calloc(ak_arena *a, size_t bytes);

/* Hands back a chunk of `bytes` (as passed to the allocating call) before
 * the next reset, so that ak_arena_alloc_recycled can give it out again
 * within the same step. The chunk must not be used afterwards. When all
 * AK_ARENA_CLASSES size classes are taken by other sizes the chunk simply
 * stays unused until the reset. Used for gradient buffers of intermediate
 * tensors, whose lifetimes during a backward pass are short. */
void ak_arena_release(ak_arena *a, void *p, size_t bytes);

/* Like ak_arena_calloc (zero-filled), but first reuses a released chunk of
 * exactly the same rounded size when there is one. */
void *ak_arena_calloc_recycled(ak_arena *a, size_t bytes);
/* The same without zeroing (uninitialised memory, like ak_arena_alloc): for
 * scratch buffers an op fills, uses and releases again within one call. */
void *ak_arena_alloc_recycled(ak_arena *a, size_t bytes);

/* Returns `bytes` at p (as passed to the allocating call; any allocation of
 * this arena since the last reset, or a part of one at an AK_ARENA_ALIGN
 * boundary) to the arena for any later allocation of the step. The memory
 * must not be used afterwards. NULL is ignored. */
void ak_arena_give_back(ak_arena *a, void *p, size_t bytes);

/* Invalidates everything allocated since the last reset. */
void ak_arena_reset(ak_arena *a);

/* Releases all memory; the arena may be re-initialised. */
void ak_arena_free(ak_arena *a);

/* Capacity currently held (sum of block sizes). */
size_t ak_arena_capacity(const ak_arena *a);

#endif
