/* ak_sgemm against OpenBLAS cblas_sgemm, same shapes, same run.
 *
 *   build/bench_gemm            NN table: m n k threads ours_gflops blas_gflops ratio
 *   build/bench_gemm --layouts  adds the TN and NT cases (backward passes)
 *   options: --seconds S (timed seconds per library and shape, default 0.3)
 *
 * Method (as tests/../shared/peer/gemm_ref.py): warm up both, estimate one
 * call, then time many reps and report the median GFLOP/s. Ours and OpenBLAS
 * alternate in short rounds so that both see the same machine load (the box
 * is shared); within a round the same library runs back to back, so neither
 * pays for the other's thread pool waking up. */
#include "kernels/gemm.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const int k_shapes[][3] = {
    {384, 128, 128},   {384, 512, 128},   {384, 4000, 128},  {1024, 256, 256},
    {1024, 1024, 256}, {1024, 8000, 256}, {1024, 256, 1024},
};

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

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct {
    int ta, tb, m, n, k;
    float *a, *b, *c;
} problem;

static void run(const problem *p, int blas)
{
    int lda = p->ta ? p->m : p->k, ldb = p->tb ? p->k : p->n;
    if (blas)
        cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans, p->tb ? CblasTrans : CblasNoTrans, p->m, p->n,
                    p->k, 1.0f, p->a, lda, p->b, ldb, 0.0f, p->c, p->n);
    else
        ak_sgemm(p->ta, p->tb, p->m, p->n, p->k, 1.0f, p->a, lda, p->b, ldb, 0.0f, p->c, p->n);
}

static float *random_floats(size_t n, unsigned *seed)
{
    float *x = aligned_alloc(64, (n * sizeof(float) + 63) & ~(size_t)63);
    if (!x) {
        fprintf(stderr, "bench_gemm: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        x[i] = (float)(*seed >> 8) / (float)(1u << 24) - 0.5f;
    }
    return x;
}

/* Median GFLOP/s of ours ([0]) and OpenBLAS ([1]). */
static void measure(const problem *p, double seconds, double out[2])
{
    double one = 1e9;
    for (int w = 0; w < 5; w++)
        for (int lib = 0; lib < 2; lib++) {
            double t0 = now();
            run(p, lib);
            double dt = now() - t0;
            one = dt < one ? dt : one;
        }
    int reps = (int)(seconds / (one > 1e-7 ? one : 1e-7));
    reps = reps < 15 ? 15 : reps > 3000 ? 3000 : reps;
    int round = reps / 10 > 1 ? reps / 10 : 1; /* ten rounds each */
    double *t[2] = {malloc(sizeof(double) * (size_t)reps), malloc(sizeof(double) * (size_t)reps)};
    if (!t[0] || !t[1]) {
        fprintf(stderr, "bench_gemm: out of memory\n");
        exit(2);
    }
    int done = 0;
    while (done < reps) {
        int r = reps - done < round ? reps - done : round;
        for (int lib = 0; lib < 2; lib++)
            for (int i = 0; i < r; i++) {
                double t0 = now();
                run(p, lib);
                t[lib][done + i] = now() - t0;
            }
        done += r;
    }
    double flops = 2.0 * p->m * p->n * (double)p->k;
    for (int lib = 0; lib < 2; lib++) {
        out[lib] = flops / median(t[lib], reps) / 1e9;
        free(t[lib]);
    }
}

/* The machine is shared: say how busy it was (stderr, outside the TSV). */
static void print_load(const char *when)
{
    FILE *f = fopen("/proc/loadavg", "r");
    char line[128];
    if (f && fgets(line, sizeof line, f))
        fprintf(stderr, "# load average at %s: %s", when, line);
    if (f)
        fclose(f);
}

int main(int argc, char **argv)
{
    double seconds = 0.3;
    int layouts = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--layouts") == 0)
            layouts = 1;
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--layouts] [--seconds S]\n", argv[0]);
            return 2;
        }
    }
    static const int k_layouts[][2] = {{0, 0}, {1, 0}, {0, 1}};
    static const char *const k_names[] = {"NN", "TN", "NT"};
    int nlayouts = layouts ? 3 : 1;
    fprintf(stderr, "# ak_sgemm path: %s\n", ak_sgemm_isa());
    print_load("start");
    for (int l = 0; l < nlayouts; l++) {
        if (l == 0)
            printf("m\tn\tk\tthreads\tours_gflops\tblas_gflops\tratio\n");
        else if (l == 1)
            printf("\nlayout\tm\tn\tk\tthreads\tours_gflops\tblas_gflops\tratio\n");
        for (int threads = 1; threads <= 2; threads++) {
            omp_set_num_threads(threads);
            openblas_set_num_threads(threads);
            for (size_t s = 0; s < sizeof k_shapes / sizeof k_shapes[0]; s++) {
                unsigned seed = 42;
                problem p = {
                    k_layouts[l][0], k_layouts[l][1], k_shapes[s][0], k_shapes[s][1], k_shapes[s][2], NULL, NULL, NULL};
                p.a = random_floats((size_t)p.m * p.k, &seed);
                p.b = random_floats((size_t)p.k * p.n, &seed);
                p.c = random_floats((size_t)p.m * p.n, &seed);
                double g[2];
                measure(&p, seconds, g);
                if (l > 0)
                    printf("%s\t", k_names[l]);
                printf("%d\t%d\t%d\t%d\t%.1f\t%.1f\t%.3f\n", p.m, p.n, p.k, threads, g[0], g[1], g[0] / g[1]);
                fflush(stdout);
                free(p.a);
                free(p.b);
                free(p.c);
            }
        }
    }
    print_load("end");
    ak_sgemm_release();
    return 0;
}
