/* SGEMM driver: path selection, cache blocking, packing and threading.
 *
 * Loop nest (Goto / BLIS style), for each
 *   jc: NC columns of C   (shared packed B panel, kc x nc, lives in L3)
 *   pc: KC values of k    (in increasing order: fixes the accumulation order)
 *   ic: MCC rows of C     (shared packed A chunk, mcc x kc)
 * the threads first pack the A chunk (and the B panel on the first ic) panel
 * by panel, then share out tasks of mc rows x tn columns; in a task each B
 * micro-panel (kc x nr, L1) is reused across the A block (mc x kc, L2).
 *
 * Why results do not depend on the thread count: the block boundaries, the
 * panel boundaries and hence the micro-tile of every element are functions of
 * (M, N, K) and the path's constants only; each element is accumulated by one
 * kernel call per K block, in pc order. Threads pick tasks dynamically, but a
 * task's result does not depend on who computes it. */
#include "kernels/gemm.h"
#include "kernels/gemm_internal.h"

#include <assert.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- path selection ---------------------------------------------------- */

/* Best first. */
static const ak_gemm_isa_desc *const k_paths[] = {
#if defined(AK_GEMM_X86)
    &ak_gemm_isa_avx512,
    &ak_gemm_isa_avx2,
#endif
    &ak_gemm_isa_generic,
};
enum { N_PATHS = sizeof k_paths / sizeof k_paths[0] };

static _Atomic(const ak_gemm_isa_desc *) g_isa; /* NULL until first use */

static const ak_gemm_isa_desc *find_path(const char *name)
{
    for (int i = 0; i < N_PATHS; i++)
        if (strcmp(name, k_paths[i]->name) == 0)
            return k_paths[i]->supported() ? k_paths[i] : NULL;
    return NULL;
}

static const ak_gemm_isa_desc *default_path(void)
{
    const char *env = getenv("AK_GEMM_ISA");
    const ak_gemm_isa_desc *p = env ? find_path(env) : NULL;
    for (int i = 0; !p && i < N_PATHS; i++)
        if (k_paths[i]->supported())
            p = k_paths[i];
    return p; /* generic is always supported */
}

static const ak_gemm_isa_desc *path(void)
{
    const ak_gemm_isa_desc *p = atomic_load(&g_isa);
    if (!p) { /* racing first calls compute the same answer */
        p = default_path();
        atomic_store(&g_isa, p);
    }
    return p;
}

const char *ak_sgemm_isa(void) { return path()->name; }

int ak_sgemm_force_isa(const char *name)
{
    const ak_gemm_isa_desc *p =
        (!name || strcmp(name, "auto") == 0) ? default_path() : find_path(name);
    if (!p)
        return -1;
    atomic_store(&g_isa, p);
    return 0;
}

/* ---- one product ------------------------------------------------------- */

typedef struct gemm_prob {
    int ta, tb;
    int64_t M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int64_t lda, ldb, ldc;
} gemm_prob;

/* One (jc, pc, ic) step of the loop nest. */
typedef struct gemm_block {
    int64_t jc, nc, pc, kc, ic, mcc;
    int64_t npa, npb; /* panels to pack (npb = 0 when the B panel is reused) */
    int64_t tm, tn;   /* task grid: tm x tn tasks */
} gemm_block;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

static gemm_block make_block(const gemm_prob *g, const ak_gemm_isa_desc *d,
                             int64_t jc, int64_t pc, int64_t ic)
{
    gemm_block bk;
    bk.jc = jc;
    bk.nc = min64(d->nc, g->N - jc);
    bk.pc = pc;
    bk.kc = min64(d->kc, g->K - pc);
    bk.ic = ic;
    bk.mcc = min64(d->mcc, g->M - ic);
    bk.npa = cdiv(bk.mcc, d->mr);
    bk.npb = ic == 0 ? cdiv(bk.nc, d->nr) : 0;
    bk.tm = cdiv(bk.mcc, d->mc);
    bk.tn = cdiv(bk.nc, d->tn);
    return bk;
}

/* Packs panel p of the block: A panels first, then B panels. */
static void pack_panel(const gemm_prob *g, const ak_gemm_isa_desc *d,
                       const gemm_block *bk, float *ap, float *bp, int64_t p)
{
    if (p < bk->npa) {
        int64_t i = p * d->mr;
        d->pack_a(g->ta, g->A, g->lda, bk->ic + i, (int)min64(d->mr, bk->mcc - i),
                  bk->pc, bk->kc, ap + i * bk->kc);
    } else {
        int64_t j = (p - bk->npa) * d->nr;
        d->pack_b(g->tb, g->B, g->ldb, bk->pc, bk->kc, bk->jc + j,
                  (int)min64(d->nr, bk->nc - j), bp + j * bk->kc);
    }
}

/* Task t: rows [ti*mc, ..) x columns [tj*tn, ..) of the block. */
static void run_task(const gemm_prob *g, const ak_gemm_isa_desc *d,
                     const gemm_block *bk, const float *ap, const float *bp,
                     int64_t t)
{
    int64_t i0 = (t / bk->tn) * d->mc, i1 = min64(i0 + d->mc, bk->mcc);
    int64_t j0 = (t % bk->tn) * d->tn, j1 = min64(j0 + d->tn, bk->nc);
    float beta = bk->pc == 0 ? g->beta : 1.0f; /* later K blocks accumulate */
    float *c = g->C + bk->ic * g->ldc + bk->jc;
    for (int64_t j = j0; j < j1; j += d->nr) {
        int n = (int)min64(d->nr, j1 - j);
        for (int64_t i = i0; i < i1; i += d->mr)
            d->kernel(bk->kc, ap + i * bk->kc, bp + j * bk->kc,
                      c + i * g->ldc + j, g->ldc, g->alpha, beta,
                      (int)min64(d->mr, i1 - i), n);
    }
}

static void gemm_serial(const gemm_prob *g, const ak_gemm_isa_desc *d,
                        float *ap, float *bp)
{
    for (int64_t jc = 0; jc < g->N; jc += d->nc)
        for (int64_t pc = 0; pc < g->K; pc += d->kc)
            for (int64_t ic = 0; ic < g->M; ic += d->mcc) {
                gemm_block bk = make_block(g, d, jc, pc, ic);
                for (int64_t p = 0; p < bk.npa + bk.npb; p++)
                    pack_panel(g, d, &bk, ap, bp, p);
                for (int64_t t = 0; t < bk.tm * bk.tn; t++)
                    run_task(g, d, &bk, ap, bp, t);
            }
}

/* Same loop nest; every thread walks it, the omp for's split the work and
 * their implicit barriers order packing before use and use before re-pack. */
static void gemm_parallel(const gemm_prob *g, const ak_gemm_isa_desc *d,
                          float *ap, float *bp, int nt)
{
#pragma omp parallel num_threads(nt)
    for (int64_t jc = 0; jc < g->N; jc += d->nc)
        for (int64_t pc = 0; pc < g->K; pc += d->kc)
            for (int64_t ic = 0; ic < g->M; ic += d->mcc) {
                gemm_block bk = make_block(g, d, jc, pc, ic);
#pragma omp for schedule(static)
                for (int64_t p = 0; p < bk.npa + bk.npb; p++)
                    pack_panel(g, d, &bk, ap, bp, p);
#pragma omp for schedule(dynamic, 1)
                for (int64_t t = 0; t < bk.tm * bk.tn; t++)
                    run_task(g, d, &bk, ap, bp, t);
            }
}

/* Threads worth using: below ~2 MFLOP (tens of microseconds on one core)
 * the fork, the barriers and the cold caches of a second core cost more than
 * they save; never more threads than tasks in the first block. */
static int threads_for(const gemm_prob *g, const ak_gemm_isa_desc *d)
{
    if (omp_in_parallel())
        return 1;
    int nt = omp_get_max_threads();
    if (nt <= 1 || 2.0 * (double)g->M * (double)g->N * (double)g->K < 2e6)
        return 1;
    gemm_block bk = make_block(g, d, 0, 0, 0);
    return (int)min64(nt, bk.tm * bk.tn);
}

/* Operand i of a batch; NULL stays NULL (K == 0 callers may pass NULL). */
static const float *nth(const float *p, int64_t i, int64_t s)
{
    return p ? p + i * s : p;
}

/* Unblocked fallback, only for when the packing buffers cannot be had. */
static void gemm_naive(const gemm_prob *g)
{
    for (int64_t i = 0; i < g->M; i++)
        for (int64_t j = 0; j < g->N; j++) {
            float s = 0.0f;
            for (int64_t k = 0; k < g->K; k++) {
                float a = g->ta ? g->A[k * g->lda + i] : g->A[i * g->lda + k];
                float b = g->tb ? g->B[j * g->ldb + k] : g->B[k * g->ldb + j];
                s += a * b;
            }
            float *c = g->C + i * g->ldc + j;
            *c = g->beta == 0.0f ? g->alpha * s : g->alpha * s + g->beta * *c;
        }
}

/* C = beta * C, for K == 0 or alpha == 0 (A and B are not read). */
static void scale_c(const gemm_prob *g)
{
    if (g->beta == 1.0f)
        return;
    for (int64_t i = 0; i < g->M; i++) {
        float *c = g->C + i * g->ldc;
        for (int64_t j = 0; j < g->N; j++)
            c[j] = g->beta == 0.0f ? 0.0f : g->beta * c[j];
    }
}

static void gemm_one(const gemm_prob *g, const ak_gemm_isa_desc *d, int nt)
{
    if (g->M <= 0 || g->N <= 0)
        return;
    if (g->K <= 0 || g->alpha == 0.0f) {
        scale_c(g);
        return;
    }
    int64_t kc = min64(d->kc, g->K);
    size_t a_need = (size_t)(cdiv(min64(d->mcc, g->M), d->mr) * d->mr * kc);
    size_t b_need = (size_t)(cdiv(min64(d->nc, g->N), d->nr) * d->nr * kc);
    ak_gemm_bufs *bufs = ak_gemm_bufs_get(a_need, b_need);
    if (!bufs)
        gemm_naive(g);
    else if (nt > 1)
        gemm_parallel(g, d, bufs->a, bufs->b, nt);
    else
        gemm_serial(g, d, bufs->a, bufs->b);
}

static gemm_prob make_prob(int ta, int tb, int64_t M, int64_t N, int64_t K,
                           float alpha, const float *A, int64_t lda,
                           const float *B, int64_t ldb, float beta, float *C,
                           int64_t ldc)
{
    assert(M >= 0 && N >= 0 && K >= 0);
    assert(ta ? lda >= (M > 1 ? M : 1) : lda >= (K > 1 ? K : 1));
    assert(tb ? ldb >= (K > 1 ? K : 1) : ldb >= (N > 1 ? N : 1));
    assert(ldc >= (N > 1 ? N : 1));
    gemm_prob g = {ta != 0, tb != 0, M, N, K, alpha, beta, A, B, C,
                   lda, ldb, ldc};
    return g;
}

void ak_sgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb,
              float beta, float *C, int64_t ldc)
{
    gemm_prob g = make_prob(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    const ak_gemm_isa_desc *d = path();
    gemm_one(&g, d, threads_for(&g, d));
}

void ak_sgemm_batched(int ta, int tb, int64_t M, int64_t N, int64_t K,
                      float alpha, const float *A, int64_t lda, int64_t sa,
                      const float *B, int64_t ldb, int64_t sb, float beta,
                      float *C, int64_t ldc, int64_t sc, int64_t batch)
{
    if (batch <= 0)
        return;
    gemm_prob g = make_prob(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    const ak_gemm_isa_desc *d = path();
    int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    int per = threads_for(&g, d);
    /* One product per thread when a single product cannot keep all threads
     * busy, or when there are plenty of products; either way each product is
     * computed exactly as the serial call would (same bits). */
    if (nt > 1 && batch > 1 && (per < nt || batch >= 2 * (int64_t)nt)) {
        int team = (int)min64(nt, batch);
#pragma omp parallel for schedule(dynamic, 1) num_threads(team)
        for (int64_t i = 0; i < batch; i++) {
            gemm_prob gi = g;
            gi.A = nth(g.A, i, sa);
            gi.B = nth(g.B, i, sb);
            gi.C = g.C + i * sc;
            gemm_one(&gi, d, 1);
        }
    } else {
        for (int64_t i = 0; i < batch; i++) {
            gemm_prob gi = g;
            gi.A = nth(g.A, i, sa);
            gi.B = nth(g.B, i, sb);
            gi.C = g.C + i * sc;
            gemm_one(&gi, d, per);
        }
    }
}
