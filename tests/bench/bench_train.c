/* Full training steps of the reference models (shared/reference-models.md),
 * timed the way the PyTorch twin (shared/peer/torch_ref.py) times them.
 *
 *   build/bench_train --model t-small --threads 2          one TSV row
 *   build/bench_train --header ...                          header line first
 *   build/bench_train --profile ...                         + time per phase and
 *                                                           per backward op
 *   build/bench_train --mem ...                             + where the peak RSS
 *                                                           goes (see below)
 *   options: --steps K (timed, default 20), --warmup W (default 3),
 *            --nice N (run at niceness N, negative needs root: see below)
 *
 * Row: model threads tokens_per_s step_ms_median peak_rss_mib, with
 * tokens/s = batch * L_tgt / median step time and the peak RSS of the whole
 * process (getrusage ru_maxrss), so run one (model, threads) per process:
 * `make bench` loops over them. A line of context (parameters, loss, arena
 * high water, min/max step) goes to stderr.
 *
 * One step, as the twin's: forward, token-mean cross-entropy over non-pad
 * targets (no label smoothing), backward, Adam(lr 1e-4, betas 0.9/0.98,
 * eps 1e-9) step, zero grad, ak_ctx_end_step; dropout 0.1 in training mode.
 * The batch is the twin's pattern (not its exact ids): ids uniform in
 * [4, V), row i ends with i % 3 PAD tokens in the source and in the target,
 * tgt_in = BOS + target[:-1].
 *
 * --profile times each tape node's backward call by op name (a trampoline
 * swapped into the nodes before ak_backward runs as usual) and adds up the
 * forward outputs on the tape by op; time per function, forward included,
 * comes from perf (tests/bench/profile.sh, which keys on the phase_*
 * frames below). Without --profile no timer is read inside a step and the
 * tape is left alone: the hooks cost nothing when off (the phase_* frames
 * are five plain calls a step).
 *
 * --mem accounts for the peak RSS: the resident set (VmRSS) before the
 * model, after it (parameters and gradients), after the optimizer (Adam
 * moments) and after the first step's end (GEMM packing buffers and other
 * buffers that outlive a step; the arena's memory is untouched again until
 * the next step), then the arena: tape outputs held after the forward pass
 * (views and outputs given back by ak_discard counted 0), what ops saved
 * besides, memory given back and not yet reused (free spans below the bump
 * pointer), and what the backward pass added on top (high water minus after
 * forward). The parts add up to the peak within a few pages.
 *
 * --nice: on a box shared with other jobs, lets the measurement take the
 * CPUs first. With the kernel's autogroup scheduling on, niceness counts
 * only within a session, so the process starts a session of its own and
 * gives its autogroup (/proc/self/autogroup) the niceness as well. */
#define _XOPEN_SOURCE 700 /* setpriority */
#include "autograd/tape.h"
#include "core/rng.h"
#include "core/threads.h"
#include "nn/model.h"
#include "optim/optim.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct shape {
    const char *name;
    ak_model_kind kind;
    int64_t V, d, heads, d_ff, layers, B, L;
} shape;

/* As SHAPES in torch_ref.py. */
static const shape k_shapes[] = {
    {"t-tiny", AK_MODEL_TRANSFORMER, 4000, 128, 4, 512, 2, 32, 12},
    {"t-small", AK_MODEL_TRANSFORMER, 8000, 256, 4, 1024, 3, 64, 16},
    {"r-small", AK_MODEL_RNN, 8000, 256, 0, 0, 1, 64, 16},
};
enum { NSHAPES = sizeof k_shapes / sizeof k_shapes[0] };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return v[0];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

/* ---- profile: time per phase, and per backward op ------------------------ */

enum { PH_FORWARD, PH_BACKWARD, PH_ADAM, PH_ZERO, PH_END, NPHASES };
static const char *const k_phase[NPHASES] = {"forward+loss", "backward", "adam", "zero_grad", "end_step"};

enum { MAX_OPS = 64 };
typedef struct profile {
    double phase[NPHASES];
    struct {
        const char *op;
        double s;         /* backward seconds */
        long calls;       /* backward calls */
        double out_bytes; /* forward outputs recorded on the tape */
        long nodes;       /* tape nodes */
    } ops[MAX_OPS];
    double arena_fwd, arena_bwd; /* arena bytes in use after forward, after backward */
    double tape_out;             /* forward outputs on the tape still held (bytes, views 0) */
    double pool_fwd;             /* arena bytes given back and not reused, after forward */
    int nops;
    int steps;
} profile;

/* The entry for op, created on first use; NULL when the table is full. */
static int prof_op(profile *p, const char *op)
{
    for (int i = 0; i < p->nops; i++)
        if (p->ops[i].op == op || strcmp(p->ops[i].op, op) == 0)
            return i;
    if (p->nops == MAX_OPS)
        return -1;
    memset(&p->ops[p->nops], 0, sizeof p->ops[0]);
    p->ops[p->nops].op = op;
    return p->nops++;
}

static void prof_add(profile *p, const char *op, double s)
{
    int i = prof_op(p, op);
    if (i >= 0) {
        p->ops[i].s += s;
        p->ops[i].calls++;
    }
}

/* Bytes of every forward output on the tape, by op; views (an output whose
 * data is its first input's, as reshape's) count 0, and what an op saves
 * besides its output (masks, statistics) is not counted. tape_out: the total
 * of those still held (not given back by ak_discard). */
static void prof_tape_bytes(profile *p, const ak_ctx *ctx)
{
    for (const ak_node *n = ctx->tape; n; n = n->prev) {
        int i = prof_op(p, n->op ? n->op : "?");
        if (i >= 0) {
            int view = n->n_in > 0 && ak_node_in(n, 0)->data == n->out->data;
            p->ops[i].out_bytes += view ? 0.0 : (double)n->out->size * sizeof(float);
            p->ops[i].nodes++;
            int gone = n->discarded && n->pending == 0; /* ak_discard gave it back */
            p->tape_out += view || gone ? 0.0 : (double)n->out->size * sizeof(float);
        }
    }
}

/* Backward time per node without copying ak_backward: before the pass, each
 * node's backward function is swapped for a trampoline that looks up the
 * original (an open-addressing table keyed by the node) and times the call;
 * then ak_backward runs as usual, buffer recycling and all. The nodes live in
 * the step's arena, so nothing needs restoring. */
typedef struct hook_entry {
    ak_node *node;
    ak_backward_fn fn;
} hook_entry;

static struct {
    hook_entry *tab;
    size_t cap; /* power of two */
    profile *prof;
} g_hook;

static size_t hook_slot(const ak_node *n)
{
    return (size_t)(((uintptr_t)n >> 4) * UINT64_C(0x9E3779B97F4A7C15) >> 20) & (g_hook.cap - 1);
}

static void timed_trampoline(ak_ctx *ctx, ak_node *n)
{
    size_t i = hook_slot(n);
    while (g_hook.tab[i].node != n)
        i = (i + 1) & (g_hook.cap - 1);
    double t0 = now();
    g_hook.tab[i].fn(ctx, n);
    prof_add(g_hook.prof, n->op ? n->op : "?", now() - t0);
}

static int timed_backward(ak_ctx *ctx, ak_tensor *loss, profile *p, ak_err *err)
{
    size_t count = 0;
    for (const ak_node *n = ctx->tape; n; n = n->prev)
        count++;
    if (g_hook.cap < 2 * count + 2) {
        size_t cap = 64;
        while (cap < 2 * count + 2)
            cap *= 2;
        free(g_hook.tab);
        g_hook.tab = malloc(cap * sizeof *g_hook.tab);
        g_hook.cap = g_hook.tab ? cap : 0;
        if (!g_hook.tab)
            return ak_errorf(err, "backward profile: out of memory");
    }
    memset(g_hook.tab, 0, g_hook.cap * sizeof *g_hook.tab);
    g_hook.prof = p;
    for (ak_node *n = ctx->tape; n; n = n->prev) {
        size_t i = hook_slot(n);
        while (g_hook.tab[i].node)
            i = (i + 1) & (g_hook.cap - 1);
        g_hook.tab[i].node = n;
        g_hook.tab[i].fn = n->backward;
        n->backward = timed_trampoline;
    }
    return ak_backward(ctx, loss, err);
}

static int cmp_op_time(const void *a, const void *b)
{
    double x = ((const double *)a)[0], y = ((const double *)b)[0];
    return (x < y) - (x > y);
}

static void prof_print(const profile *p, double step_s_total)
{
    printf("\nphase\tms_per_step\tpct_of_step\n");
    for (int i = 0; i < NPHASES; i++)
        printf("%s\t%.3f\t%.1f\n", k_phase[i], 1e3 * p->phase[i] / p->steps, 100.0 * p->phase[i] / step_s_total);
    /* Sort indices by time, largest first. */
    double key[MAX_OPS][2];
    for (int i = 0; i < p->nops; i++) {
        key[i][0] = p->ops[i].s;
        key[i][1] = i;
    }
    qsort(key, (size_t)p->nops, sizeof key[0], cmp_op_time);
    printf("\nbackward_op\tcalls_per_step\tms_per_step\tpct_of_backward\tpct_of_step"
           "\ttape_nodes\tfwd_out_mib\n");
    const double mib = 1024.0 * 1024.0;
    for (int k = 0; k < p->nops; k++) {
        int i = (int)key[k][1];
        printf("%s\t%ld\t%.3f\t%.1f\t%.1f\t%ld\t%.1f\n", p->ops[i].op, p->ops[i].calls / p->steps,
               1e3 * p->ops[i].s / p->steps, 100.0 * p->ops[i].s / p->phase[PH_BACKWARD],
               100.0 * p->ops[i].s / step_s_total, p->ops[i].nodes / p->steps, p->ops[i].out_bytes / p->steps / mib);
    }
    printf("\narena_mib_after_forward\tarena_mib_after_backward\n%.1f\t%.1f\n", p->arena_fwd / p->steps / mib,
           p->arena_bwd / p->steps / mib);
}

/* ---- memory accounting (--mem) ------------------------------------------- */

/* The resident set now (VmRSS), in bytes; 0 when /proc is not there. */
static double rss_now(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atof(line + 6);
    if (f)
        fclose(f);
    return kib * 1024.0;
}

enum { RSS_START, RSS_MODEL, RSS_OPTIM, RSS_STEP1, NRSS };

static void mem_print(const double *rss, const profile *p, const ak_arena *a, double peak)
{
    const double mib = 1024.0 * 1024.0;
    double fwd = p->arena_fwd / p->steps, out = p->tape_out / p->steps, hw = (double)a->high_water;
    double pool = p->pool_fwd / p->steps;
    printf("\nmemory_part\tmib\n");
    printf("process_at_start\t%.1f\n", rss[RSS_START] / mib);
    printf("params_and_grads\t%.1f\n", (rss[RSS_MODEL] - rss[RSS_START]) / mib);
    printf("optimizer_state\t%.1f\n", (rss[RSS_OPTIM] - rss[RSS_MODEL]) / mib);
    printf("gemm_buffers_and_other\t%.1f\n", (rss[RSS_STEP1] - rss[RSS_OPTIM]) / mib);
    printf("arena_tape_outputs\t%.1f\n", out / mib);
    printf("arena_saved_and_other\t%.1f\n", (fwd - out - pool) / mib);
    printf("arena_free_spans_after_forward\t%.1f\n", pool / mib);
    printf("arena_backward_growth\t%.1f\n", (hw - fwd) / mib);
    printf("sum\t%.1f\n", (rss[RSS_STEP1] + hw) / mib);
    printf("peak_rss\t%.1f\n", peak / mib);
    printf("arena_high_water\t%.1f\n", hw / mib);
    printf("arena_capacity\t%.1f\n", (double)ak_arena_capacity(a) / mib);
}

/* ---- the batch and the step ---------------------------------------------- */

typedef struct batch {
    int32_t *src, *tgt_in, *tgt_out;
    int64_t B, L;
} batch;

/* torch_ref.py make_batch: y = [BOS, L random ids]; row i ends with i % 3
 * PADs in src and y; tgt_in = y[:, :-1], tgt_out = y[:, 1:]. */
static int make_batch(batch *b, int64_t V, int64_t B, int64_t L)
{
    b->B = B;
    b->L = L;
    b->src = malloc((size_t)(B * L) * sizeof(int32_t));
    b->tgt_in = malloc((size_t)(B * L) * sizeof(int32_t));
    b->tgt_out = malloc((size_t)(B * L) * sizeof(int32_t));
    int32_t *y = malloc((size_t)(B * (L + 1)) * sizeof(int32_t));
    if (!b->src || !b->tgt_in || !b->tgt_out || !y) {
        free(y);
        return -1;
    }
    ak_rng r = ak_rng_make(1234, 0);
    for (int64_t i = 0; i < B * L; i++)
        b->src[i] = 4 + (int32_t)ak_rng_below(&r, (uint32_t)(V - 4));
    for (int64_t i = 0; i < B * (L + 1); i++)
        y[i] = 4 + (int32_t)ak_rng_below(&r, (uint32_t)(V - 4));
    for (int64_t i = 0; i < B; i++) {
        int64_t k = i % 3;
        y[i * (L + 1)] = AK_BOS;
        for (int64_t j = 0; j < k; j++) {
            b->src[i * L + L - 1 - j] = AK_PAD;
            y[i * (L + 1) + L - j] = AK_PAD;
        }
        memcpy(b->tgt_in + i * L, y + i * (L + 1), (size_t)L * sizeof(int32_t));
        memcpy(b->tgt_out + i * L, y + i * (L + 1) + 1, (size_t)L * sizeof(int32_t));
    }
    free(y);
    return 0;
}

/* The phases of a step, each its own frame (noinline, and the empty asm
 * keeps the library call out of tail position) so that a perf call graph
 * can tell them apart: tests/bench/perf_families.py keys on these names. */
#define PHASE_FN static __attribute__((noinline))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

PHASE_FN ak_tensor *phase_forward(ak_ctx *ctx, ak_model *m, const batch *b)
{
    ak_tensor *loss = ak_model_loss(ctx, m, b->src, b->B, b->L, b->tgt_in, b->tgt_out, b->L, 0.0f, NULL, NULL);
    KEEP_FRAME();
    return loss;
}

PHASE_FN int phase_backward(ak_ctx *ctx, ak_tensor *loss, profile *prof, ak_err *err)
{
    int rc = prof ? timed_backward(ctx, loss, prof, err) : ak_backward(ctx, loss, err);
    KEEP_FRAME();
    return rc;
}

PHASE_FN void phase_adam(ak_optim *o)
{
    ak_optim_step(o);
    KEEP_FRAME();
}

PHASE_FN void phase_zero_grad(ak_model *m)
{
    ak_params_zero_grad(ak_model_params(m));
    KEEP_FRAME();
}

PHASE_FN void phase_end_step(ak_ctx *ctx)
{
    ak_ctx_end_step(ctx);
    KEEP_FRAME();
}

/* One training step; adds phase times to prof when it is not NULL. */
static int train_step(ak_ctx *ctx, ak_model *m, ak_optim *o, const batch *b, float *loss_out, profile *prof,
                      ak_err *err)
{
    double t0 = prof ? now() : 0;
    ak_tensor *loss = phase_forward(ctx, m, b);
    if (ak_ctx_failed(ctx))
        return ak_errorf(err, "forward: %s", ctx->err.msg);
    double t1 = prof ? now() : 0;
    if (prof) { /* bookkeeping, outside the phase times (microseconds) */
        prof->phase[PH_FORWARD] += t1 - t0;
        prof_tape_bytes(prof, ctx);
        prof->arena_fwd += (double)ctx->arena.used;
        prof->pool_fwd += (double)ctx->arena.pool_bytes;
        t1 = now();
    }
    int rc = phase_backward(ctx, loss, prof, err);
    if (rc != 0)
        return rc;
    *loss_out = loss->data[0];
    double t2 = prof ? now() : 0;
    if (prof) {
        prof->phase[PH_BACKWARD] += t2 - t1;
        prof->arena_bwd += (double)ctx->arena.used;
        t2 = now();
    }
    phase_adam(o);
    double t3 = prof ? now() : 0;
    phase_zero_grad(m);
    double t4 = prof ? now() : 0;
    phase_end_step(ctx);
    if (prof) {
        double t5 = now();
        prof->phase[PH_ADAM] += t3 - t2;
        prof->phase[PH_ZERO] += t4 - t3;
        prof->phase[PH_END] += t5 - t4;
        prof->steps++;
    }
    return 0;
}

static void set_nice(int nice)
{
    setsid(); /* fails harmlessly when already a session or group leader */
    if (setpriority(PRIO_PROCESS, 0, nice) != 0)
        perror("bench_train: setpriority");
    FILE *f = fopen("/proc/self/autogroup", "w");
    if (f) {
        fprintf(f, "%d", nice);
        fclose(f);
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_train --model {t-tiny,t-small,r-small} [--threads N] [--steps K] "
                    "[--warmup W] [--nice N] [--header] [--profile] [--mem]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const shape *s = NULL;
    int threads = 1, steps = 20, warmup = 3, header = 0, profiling = 0, nice = 0, set_niceness = 0, mem = 0;
    double rss[NRSS] = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--header") == 0)
            header = 1;
        else if (strcmp(a, "--profile") == 0)
            profiling = 1;
        else if (strcmp(a, "--mem") == 0)
            mem = 1;
        else if (v && strcmp(a, "--model") == 0) {
            for (int k = 0; k < NSHAPES; k++)
                if (strcmp(v, k_shapes[k].name) == 0)
                    s = &k_shapes[k];
            if (!s) {
                fprintf(stderr, "bench_train: unknown model '%s'\n", v);
                return usage();
            }
            i++;
        } else if (v && strcmp(a, "--threads") == 0) {
            threads = atoi(v);
            i++;
        } else if (v && strcmp(a, "--steps") == 0) {
            steps = atoi(v);
            i++;
        } else if (v && strcmp(a, "--warmup") == 0) {
            warmup = atoi(v);
            i++;
        } else if (v && strcmp(a, "--nice") == 0) {
            nice = atoi(v);
            set_niceness = 1;
            i++;
        } else {
            fprintf(stderr, "bench_train: bad argument '%s'\n", a);
            return usage();
        }
    }
    if (!s || threads < 1 || steps < 1 || warmup < 0)
        return usage();
    if (header)
        printf("model\tthreads\ttokens_per_s\tstep_ms_median\tpeak_rss_mib\n");

    if (set_niceness)
        set_nice(nice);
    ak_set_threads(threads);
    rss[RSS_START] = rss_now();
    ak_model_desc d = ak_model_desc_default(s->kind, s->V, s->V);
    d.d_model = s->d;
    d.enc_layers = d.dec_layers = s->layers;
    if (s->kind == AK_MODEL_TRANSFORMER) {
        d.heads = s->heads;
        d.d_ff = s->d_ff;
    }
    d.dropout = 0.1f;
    ak_err err = {{0}};
    ak_model *m = ak_model_create(&d, 0, &err);
    if (!m) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    rss[RSS_MODEL] = rss_now();
    ak_optim o;
    ak_optim_cfg cfg = ak_adam_cfg(1e-4);
    cfg.beta1 = 0.9;
    cfg.beta2 = 0.98;
    cfg.eps = 1e-9;
    if (ak_optim_init(&o, ak_model_params(m), &cfg, &err) != 0) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    rss[RSS_OPTIM] = rss_now();
    batch b;
    if (make_batch(&b, s->V, s->B, s->L) != 0) {
        fprintf(stderr, "bench_train: out of memory for the batch\n");
        return 1;
    }
    ak_ctx ctx;
    ak_ctx_init(&ctx, 0, 1);
    ctx.training = 1;

    /* --mem reads the arena after forward through the profile's bookkeeping
     * (outside the timed phases); its times are then not printed. */
    profile *prof = profiling || mem ? calloc(1, sizeof *prof) : NULL;
    double *t = malloc((size_t)steps * sizeof *t);
    if (!t || ((profiling || mem) && !prof)) {
        fprintf(stderr, "bench_train: out of memory\n");
        return 1;
    }
    float loss = 0;
    for (int i = 0; i < warmup + steps; i++) {
        double t0 = now();
        if (train_step(&ctx, m, &o, &b, &loss, i >= warmup ? prof : NULL, &err) != 0) {
            fprintf(stderr, "bench_train: step %d: %s\n", i, err.msg);
            return 1;
        }
        if (i >= warmup)
            t[i - warmup] = now() - t0;
        if (i == 0)
            rss[RSS_STEP1] = rss_now();
    }
    double med = median(t, steps), lo = t[0], hi = t[0], total = 0;
    for (int i = 0; i < steps; i++) {
        lo = t[i] < lo ? t[i] : lo;
        hi = t[i] > hi ? t[i] : hi;
        total += t[i];
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%s\t%d\t%.1f\t%.2f\t%.1f\n", s->name, threads, (double)(s->B * s->L) / med, 1e3 * med,
           (double)ru.ru_maxrss / 1024.0);
    fflush(stdout);
    fprintf(stderr,
            "# %s threads=%d params=%lld steps=%d warmup=%d loss=%.4f step_ms min/median/max=%.1f/%.1f/%.1f "
            "arena_high_water_mib=%.1f%s\n",
            s->name, threads, (long long)ak_model_params(m)->total, steps, warmup, loss, 1e3 * lo, 1e3 * med, 1e3 * hi,
            (double)ctx.arena.high_water / (1024.0 * 1024.0), prof ? " (profiled)" : "");
    if (profiling)
        prof_print(prof, total);
    if (mem)
        mem_print(rss, prof, &ctx.arena, (double)ru.ru_maxrss * 1024.0);
    fflush(stdout);

    free(prof);
    free(g_hook.tab);
    free(t);
    free(b.src);
    free(b.tgt_in);
    free(b.tgt_out);
    ak_ctx_free(&ctx);
    ak_optim_free(&o);
    ak_model_free(m);
    return 0;
}
