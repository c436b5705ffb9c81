/* SGEMM driver: path selection, cache blocking, packing and threading.
 *
 * Loop nest (Goto / BLIS style), for each
 *   jc: ncc columns of C  (shared packed B panel, ks x ncc, L3)
 *   k0: ks values of k, in increasing order (ks = 2048 threaded, 256 serial)
 *   ic: mcc rows of C     (shared packed A chunk, mcc x ks)
 * the threads first pack the A chunk (and the B panel on the first ic) as
 * panels of kc = 256 values of k, then share out tasks of mc rows x tcols
 * columns. A task walks its K blocks in order; in each, one B micro-panel
 * (kc x nr, L1) is reused across the task's A block (mc x kc, L2).
 *
 * Why results do not depend on the thread count: the K blocks, the panel
 * boundaries and hence the micro-tile of every element are functions of
 * (M, N, K) and the path's constants only (so is the task grid); each element
 * is accumulated by one kernel call per K block, in k order. Threads pick
 * tasks dynamically, but a task's result does not depend on who computes it.
 */
#include "kernels/gemm.h"
#include "kernels/gemm_internal.h"

#include <assert.h>
#include <omp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

const char *ak_sgemm_isa(void)
{
    return path()->name;
}

int ak_sgemm_force_isa(const char *name)
{
    const ak_gemm_isa_desc *p = (!name || strcmp(name, "auto") == 0) ? default_path() : find_path(name);
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

/* Packing caps (floats): a packed A chunk (mcc rows x up to KS values of k)
 * and a packed B panel (KS x ncc) stay within these, so the buffers are at
 * most 1 + 1 MiB per calling thread whatever the shape. They were 8 + 8 MiB:
 * the smaller chunks measured no slower at 1 and 2 threads (t-small steps,
 * bench_gemm), and the 14 MiB of packing buffers a training process held
 * were 4% of its peak. Threaded runs pack up to KS_MAX = 2048 values of k
 * at once (fewer packing phases, i.e. fewer waits); serial runs pack one K
 * block (kc) at a time, so that what they pack is still in cache when used
 * (measured 3-5% faster at K = 1024). Either way the K blocks themselves
 * are the same kc-sized blocks in the same order, so the bits are too. */
enum { KS_MAX = 2048, A_CAP = 1 << 18, B_CAP = 1 << 18 };

/* Tasks wanted per block: enough that 2-8 threads balance within about a
 * task. A shape-only constant (no thread count), like the whole task grid. */
enum { TASKS_WANTED = 16 };

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}
static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}
static int64_t cdiv(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* Packing sizes of one product: functions of (M, N, K), the path and
 * whether it runs threaded; they group the fixed K blocks and tiles, they do
 * not change them. */
typedef struct gemm_plan {
    int64_t ks;  /* values of k packed at once: a multiple of kc, or K */
    int64_t mcc; /* rows of a packed A chunk, a multiple of mc */
    int64_t ncc; /* columns of a packed B panel, a multiple of nr */
} gemm_plan;

static gemm_plan make_plan(const gemm_prob *g, const ak_gemm_isa_desc *d, int threaded)
{
    gemm_plan p;
    p.ks = min64(g->K, threaded ? KS_MAX / d->kc * d->kc : d->kc);
    p.mcc = min64(d->mcc, max64(1, A_CAP / p.ks / d->mc) * d->mc);
    p.ncc = min64(d->nc, max64(1, B_CAP / p.ks / d->nr) * d->nr);
    return p;
}

/* Buffer sizes (floats) for a plan. */
static size_t a_floats(const gemm_prob *g, const ak_gemm_isa_desc *d, const gemm_plan *p)
{
    return (size_t)(cdiv(min64(p->mcc, g->M), d->mr) * d->mr * p->ks);
}

static size_t b_floats(const gemm_prob *g, const ak_gemm_isa_desc *d, const gemm_plan *p)
{
    return (size_t)(cdiv(min64(p->ncc, g->N), d->nr) * d->nr * p->ks);
}

/* One (jc, ks, ic) step of the loop nest: columns [jc, jc+nc), values of k
 * [k0, k0+kn) in nq K blocks of kc (the last may be shorter), rows
 * [ic, ic+mcc). The packed A chunk holds, for K block q, the panels of
 * mr x kc_q at offset q*kc*mpad; the B panel likewise at q*kc*npad. */
typedef struct gemm_block {
    int64_t jc, nc, k0, kn, ic, mcc;
    int64_t kc, nq, mpad, npad;
    int64_t npa, npb; /* panels per K block (npb = 0: B panel is reused) */
    int64_t tm, tn;   /* task grid: tm x tn tasks */
    int64_t tcols;    /* columns of one task, a multiple of nr */
} gemm_block;

static gemm_block make_block(const gemm_prob *g, const ak_gemm_isa_desc *d, const gemm_plan *p, int64_t jc, int64_t k0,
                             int64_t ic)
{
    gemm_block bk;
    bk.jc = jc;
    bk.nc = min64(p->ncc, g->N - jc);
    bk.k0 = k0;
    bk.kn = min64(p->ks, g->K - k0);
    bk.ic = ic;
    bk.mcc = min64(p->mcc, g->M - ic);
    bk.kc = d->kc;
    bk.nq = cdiv(bk.kn, bk.kc);
    bk.npa = cdiv(bk.mcc, d->mr);
    bk.npb = ic == 0 ? cdiv(bk.nc, d->nr) : 0;
    bk.mpad = bk.npa * d->mr;
    bk.npad = cdiv(bk.nc, d->nr) * d->nr;
    bk.tm = cdiv(bk.mcc, d->mc);
    /* Split N into at least ceil(nc / tn) parts, more when the M split
     * alone gives few tasks: with the panels shared, narrower tasks cost
     * only a re-read of the task's A block from L2/L3. */
    int64_t pn = cdiv(bk.nc, d->nr);
    int64_t parts = max64(cdiv(bk.nc, d->tn), min64(pn, cdiv(TASKS_WANTED, bk.tm)));
    bk.tcols = cdiv(pn, parts) * d->nr;
    bk.tn = cdiv(bk.nc, bk.tcols);
    return bk;
}

static int64_t kc_of(const gemm_block *bk, int64_t q)
{
    return min64(bk->kc, bk->kn - q * bk->kc);
}

/* Packs item p of the block: the A panels of every K block, then (on the
 * first row chunk) the B panels. */
static void pack_item(const gemm_prob *g, const ak_gemm_isa_desc *d, const gemm_block *bk, float *ap, float *bp,
                      int64_t p)
{
    if (p < bk->nq * bk->npa) {
        int64_t q = p / bk->npa, i = (p % bk->npa) * d->mr, kq = kc_of(bk, q);
        d->pack_a(g->ta, g->A, g->lda, bk->ic + i, (int)min64(d->mr, bk->mcc - i), bk->k0 + q * bk->kc, kq,
                  ap + q * bk->kc * bk->mpad + i * kq);
    } else {
        p -= bk->nq * bk->npa;
        int64_t q = p / bk->npb, j = (p % bk->npb) * d->nr, kq = kc_of(bk, q);
        d->pack_b(g->tb, g->B, g->ldb, bk->k0 + q * bk->kc, kq, bk->jc + j, (int)min64(d->nr, bk->nc - j),
                  bp + q * bk->kc * bk->npad + j * kq);
    }
}

/* Task t: rows [ti*mc, ..) x columns [tj*tcols, ..) of the block, all its
 * K blocks in order. */
static void run_task(const gemm_prob *g, const ak_gemm_isa_desc *d, const gemm_block *bk, const float *ap,
                     const float *bp, int64_t t)
{
    int64_t i0 = (t / bk->tn) * d->mc, i1 = min64(i0 + d->mc, bk->mcc);
    int64_t j0 = (t % bk->tn) * bk->tcols, j1 = min64(j0 + bk->tcols, bk->nc);
    float *c = g->C + bk->ic * g->ldc + bk->jc;
    for (int64_t q = 0; q < bk->nq; q++) {
        int64_t kq = kc_of(bk, q);
        const float *aq = ap + q * bk->kc * bk->mpad;
        const float *bq = bp + q * bk->kc * bk->npad;
        /* The first K block applies beta, later ones accumulate. */
        float beta = bk->k0 == 0 && q == 0 ? g->beta : 1.0f;
        for (int64_t j = j0; j < j1; j += d->nr) {
            int n = (int)min64(d->nr, j1 - j);
            for (int64_t i = i0; i < i1; i += d->mr)
                d->kernel(kq, aq + i * kq, bq + j * kq, c + i * g->ldc + j, g->ldc, g->alpha, beta,
                          (int)min64(d->mr, i1 - i), n);
        }
    }
}

static void gemm_serial(const gemm_prob *g, const ak_gemm_isa_desc *d, const gemm_plan *pl, float *ap, float *bp)
{
    for (int64_t jc = 0; jc < g->N; jc += pl->ncc)
        for (int64_t k0 = 0; k0 < g->K; k0 += pl->ks)
            for (int64_t ic = 0; ic < g->M; ic += pl->mcc) {
                gemm_block bk = make_block(g, d, pl, jc, k0, ic);
                for (int64_t p = 0; p < bk.nq * (bk.npa + bk.npb); p++)
                    pack_item(g, d, &bk, ap, bp, p);
                for (int64_t t = 0; t < bk.tm * bk.tn; t++)
                    run_task(g, d, &bk, ap, bp, t);
            }
}

/* Work sharing for the threaded run. Items (pack panels, tasks) are numbered
 * consecutively across the blocks of the loop nest and claimed from shared
 * counters; a thread waits only for items that are already claimed and in
 * progress (packing before any task reads the panels, all tasks before the
 * next block re-packs them), and waits by yielding the CPU.
 *
 * Why not omp for + barriers: on a machine shared with other busy processes,
 * a team thread is often descheduled, and an OpenMP barrier then waits for
 * it, spinning for milliseconds (libgomp's default), possibly on the very
 * core the missing thread needs. Measured here on the 2-core box under load,
 * 2-thread products ran 20-80x slower than 1-thread ones that way. Here a
 * late thread finds its items taken and the threads that are running do all
 * the work; only the join at the end of the region remains. */
typedef struct gemm_sync {
    _Alignas(64) atomic_llong next_pack;
    _Alignas(64) atomic_llong done_pack;
    _Alignas(64) atomic_llong next_task;
    _Alignas(64) atomic_llong done_task;
    _Alignas(64) atomic_llong left;
} gemm_sync;

/* Claims the next item below `end`; -1 when there is none. A CAS rather than
 * a fetch-add, so that a late thread never takes a number of the next
 * block. */
static long long claim(atomic_llong *next, long long end)
{
    long long v = atomic_load_explicit(next, memory_order_relaxed);
    while (v < end)
        if (atomic_compare_exchange_weak(next, &v, v + 1))
            return v;
    return -1;
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Waits (yielding) until *done >= target; returns the nanoseconds waited
 * (0 without a clock read when no wait was needed). */
static int64_t wait_until(atomic_llong *done, long long target)
{
    if (atomic_load_explicit(done, memory_order_acquire) >= target)
        return 0;
    int64_t t0 = now_ns();
    while (atomic_load_explicit(done, memory_order_acquire) < target)
        sched_yield();
    return now_ns() - t0;
}

/* Back-off after stalled threaded runs. When the master waited in one call
 * (fork and join included) more than STALL_NS plus twice its longest task (a wait for a working thread
 * lasts at most about one task), a team thread was descheduled. One such call
 * happens on a quiet machine too (a daemon, another library's spinning
 * threads), so only the second in a row counts: the machine is then
 * oversubscribed, and waking a thread there costs a scheduler time slice
 * (milliseconds) per call. Calls then run serially for a back-off window that
 * doubles with each further stall (5 ms to 500 ms) and resets after a
 * threaded run without one. Only speed depends on this state: serial and
 * threaded runs give the same bits. */
enum { STALL_NS = 1000000, STALLS_TO_BACK_OFF = 2 };
static atomic_llong g_serial_until; /* now_ns() before which to run serially */
static atomic_llong g_backoff_ns;
static atomic_int g_stalls; /* consecutive stalled threaded runs */

static void note_threaded_run(int64_t waited_ns, int64_t longest_task_ns)
{
    if (waited_ns <= STALL_NS + 2 * longest_task_ns) {
        atomic_store_explicit(&g_stalls, 0, memory_order_relaxed);
        atomic_store_explicit(&g_backoff_ns, 0, memory_order_relaxed);
        return;
    }
    if (atomic_fetch_add_explicit(&g_stalls, 1, memory_order_relaxed) + 1 < STALLS_TO_BACK_OFF)
        return;
    long long b = atomic_load_explicit(&g_backoff_ns, memory_order_relaxed);
    b = b < 5000000 ? 5000000 : b >= 250000000 ? 500000000 : 2 * b;
    atomic_store_explicit(&g_backoff_ns, b, memory_order_relaxed);
    atomic_store_explicit(&g_serial_until, now_ns() + b, memory_order_relaxed);
}

static atomic_int g_backoff_off; /* tests: always thread when asked */

void ak_gemm_backoff_enable(int on)
{
    atomic_store(&g_backoff_off, !on);
}

static int backing_off(void)
{
    long long until = atomic_load_explicit(&g_serial_until, memory_order_relaxed);
    return until != 0 && !atomic_load_explicit(&g_backoff_off, memory_order_relaxed) && now_ns() < until;
}

/* The end of a threaded run: every thread meets here, yielding, since the
 * join's own wait spins. */
static void meet(gemm_sync *sy)
{
    atomic_fetch_add(&sy->left, 1);
    wait_until(&sy->left, omp_get_num_threads());
}

static void init_sync(gemm_sync *sy)
{
    atomic_init(&sy->next_pack, 0);
    atomic_init(&sy->done_pack, 0);
    atomic_init(&sy->next_task, 0);
    atomic_init(&sy->done_task, 0);
    atomic_init(&sy->left, 0);
}

static void gemm_parallel(const gemm_prob *g, const ak_gemm_isa_desc *d, const gemm_plan *pl, float *ap, float *bp,
                          int nt)
{
    gemm_sync sy;
    init_sync(&sy);
    /* The master's time in the call minus its time packing and computing is
     * its waiting, including what the fork and the join cost (a worker that
     * the OS has not yet put back in the pool stalls the next fork). */
    int64_t start = now_ns(), work = 0, longest = 0;
#pragma omp parallel num_threads(nt) shared(sy, work, longest)
    {
        long long pack_end = 0, task_end = 0;
        int64_t wk = 0, lt = 0;
        int master = omp_get_thread_num() == 0;
        for (int64_t jc = 0; jc < g->N; jc += pl->ncc)
            for (int64_t k0 = 0; k0 < g->K; k0 += pl->ks)
                for (int64_t ic = 0; ic < g->M; ic += pl->mcc) {
                    gemm_block bk = make_block(g, d, pl, jc, k0, ic);
                    /* The previous block's tasks still read the buffers. */
                    wait_until(&sy.done_task, task_end);
                    long long p0 = pack_end, t0 = task_end, i;
                    pack_end += bk.nq * (bk.npa + bk.npb);
                    task_end += bk.tm * bk.tn;
                    int64_t ts = master ? now_ns() : 0;
                    while ((i = claim(&sy.next_pack, pack_end)) >= 0) {
                        pack_item(g, d, &bk, ap, bp, i - p0);
                        atomic_fetch_add_explicit(&sy.done_pack, 1, memory_order_release);
                    }
                    if (master)
                        wk += now_ns() - ts;
                    wait_until(&sy.done_pack, pack_end);
                    while ((i = claim(&sy.next_task, task_end)) >= 0) {
                        ts = master ? now_ns() : 0;
                        run_task(g, d, &bk, ap, bp, i - t0);
                        if (master) {
                            int64_t dt = now_ns() - ts;
                            wk += dt;
                            lt = max64(lt, dt);
                        }
                        atomic_fetch_add_explicit(&sy.done_task, 1, memory_order_release);
                    }
                }
        meet(&sy);
        if (master) {
            work = wk;
            longest = lt;
        }
    }
    note_threaded_run(now_ns() - start - work, longest);
}

/* Threads worth using: none extra below 2 MFLOP (under 10 microseconds on
 * one core), where the fork, the waits and a second core's cold caches cost
 * about what they save, nor while backing off (above); never more threads
 * than tasks in the first block. */
static int threads_for(const gemm_prob *g, const ak_gemm_isa_desc *d)
{
    if (omp_in_parallel())
        return 1;
    int nt = omp_get_max_threads();
    if (nt <= 1 || 2.0 * (double)g->M * (double)g->N * (double)g->K < 2e6 || backing_off())
        return 1;
    gemm_plan pl = make_plan(g, d, 1);
    gemm_block bk = make_block(g, d, &pl, 0, 0, 0);
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
    gemm_plan pl = make_plan(g, d, nt > 1);
    ak_gemm_bufs *bufs = ak_gemm_bufs_get(a_floats(g, d, &pl), b_floats(g, d, &pl));
    if (!bufs && nt > 1) { /* the serial plan needs smaller buffers */
        nt = 1;
        pl = make_plan(g, d, 0);
        bufs = ak_gemm_bufs_get(a_floats(g, d, &pl), b_floats(g, d, &pl));
    }
    if (!bufs)
        gemm_naive(g);
    else if (nt > 1)
        gemm_parallel(g, d, &pl, bufs->a, bufs->b, nt);
    else
        gemm_serial(g, d, &pl, bufs->a, bufs->b);
}

static gemm_prob make_prob(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                           const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    assert(M >= 0 && N >= 0 && K >= 0);
    assert(ta ? lda >= (M > 1 ? M : 1) : lda >= (K > 1 ? K : 1));
    assert(tb ? ldb >= (K > 1 ? K : 1) : ldb >= (N > 1 ? N : 1));
    assert(ldc >= (N > 1 ? N : 1));
    gemm_prob g = {ta != 0, tb != 0, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc};
    return g;
}

void ak_sgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda, const float *B,
              int64_t ldb, float beta, float *C, int64_t ldc)
{
    gemm_prob g = make_prob(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    const ak_gemm_isa_desc *d = path();
    gemm_one(&g, d, threads_for(&g, d));
}

void ak_sgemm_batched(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                      int64_t sa, const float *B, int64_t ldb, int64_t sb, float beta, float *C, int64_t ldc,
                      int64_t sc, int64_t batch)
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
    if (nt > 1 && batch > 1 && (per < nt || batch >= 2 * (int64_t)nt) && !backing_off()) {
        /* Products claimed one at a time, as tasks are in gemm_parallel. */
        gemm_sync sy;
        init_sync(&sy);
        int64_t start = now_ns(), work = 0, longest = 0;
#pragma omp parallel num_threads((int)min64(nt, batch)) shared(sy, work, longest)
        {
            int master = omp_get_thread_num() == 0;
            int64_t wk = 0, lt = 0;
            long long i;
            while ((i = claim(&sy.next_task, batch)) >= 0) {
                gemm_prob gi = g;
                gi.A = nth(g.A, i, sa);
                gi.B = nth(g.B, i, sb);
                gi.C = g.C + i * sc;
                int64_t ts = master ? now_ns() : 0;
                gemm_one(&gi, d, 1);
                if (master) {
                    int64_t dt = now_ns() - ts;
                    wk += dt;
                    lt = max64(lt, dt);
                }
            }
            meet(&sy);
            if (master) {
                work = wk;
                longest = lt;
            }
        }
        note_threaded_run(now_ns() - start - work, longest);
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
