/* Per-thread packing buffers for ak_sgemm.
 *
 * Each thread that calls ak_sgemm (or runs one product of a batched call)
 * owns one set, reached through a thread-local pointer, so concurrent calls
 * never share scratch memory and steady-state calls never allocate. Every set
 * is also on a global list so that ak_sgemm_release can free the sets of all
 * threads, including OpenMP workers that will never call us again. A
 * generation counter tells a thread that its cached pointer was freed by a
 * release, so it must not touch it. */
#include "kernels/gemm.h"
#include "kernels/gemm_internal.h"

#include <stdatomic.h>
#include <stdlib.h>

static ak_gemm_bufs *g_all;           /* guarded by critical(ak_gemm_bufs) */
static atomic_ulong g_generation = 1; /* bumped by every release */

static _Thread_local ak_gemm_bufs *t_bufs;
static _Thread_local unsigned long t_generation;

/* 64-byte aligned (one cache line, one zmm) block of n floats; sizes are
 * rounded up to whole lines as aligned_alloc requires. */
static float *alloc_floats(size_t n)
{
    if (n > (SIZE_MAX - 64) / sizeof(float))
        return NULL;
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes);
}

/* Grows *p to hold n floats; contents are not kept (buffers are scratch). */
static int grow(float **p, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    /* Round up by an eighth so a slowly growing sequence of shapes does not
     * reallocate every call. */
    size_t want = n + n / 8;
    float *q = alloc_floats(want);
    if (!q)
        return -1;
    free(*p);
    *p = q;
    *cap = want;
    return 0;
}

ak_gemm_bufs *ak_gemm_bufs_get(size_t a_floats, size_t b_floats)
{
    if (t_generation != atomic_load(&g_generation))
        t_bufs = NULL; /* freed by ak_sgemm_release */
    if (!t_bufs) {
        ak_gemm_bufs *s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
#pragma omp critical(ak_gemm_bufs)
        {
            s->next = g_all;
            g_all = s;
        }
        t_bufs = s;
        t_generation = atomic_load(&g_generation);
    }
    if (grow(&t_bufs->a, &t_bufs->a_cap, a_floats) || grow(&t_bufs->b, &t_bufs->b_cap, b_floats))
        return NULL;
    return t_bufs;
}

void ak_sgemm_release(void)
{
#pragma omp critical(ak_gemm_bufs)
    {
        ak_gemm_bufs *s = g_all;
        while (s) {
            ak_gemm_bufs *next = s->next;
            free(s->a);
            free(s->b);
            free(s);
            s = next;
        }
        g_all = NULL;
        atomic_fetch_add(&g_generation, 1);
    }
    t_bufs = NULL;
}
