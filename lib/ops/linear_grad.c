/* ak_linear_grad: ak_linear's backward on raw buffers (see linear_grad.h).
 * ak_linear's own node (ops/matmul.c) calls it too, so the fused ops and the
 * plain linear layer cannot drift apart. */
#include "ops/linear_grad.h"

#include "core/threads.h"
#include "kernels/gemm.h"

static inline int64_t ld(int64_t n)
{
    return n > 0 ? n : 1;
}

/* The column sums of a block of <= CB columns, compiled for AVX-512 and the
 * default: each column its own chain of double adds in row order, one per
 * SIMD lane, so the clones give the same bits. */
enum { CB = 64 };
__attribute__((target_clones("avx512f", "default"))) static void
column_block_sums(const float *restrict g, int64_t rows, int64_t cols, int64_t w, float *restrict out)
{
    double acc[CB] = {0};
    for (int64_t r = 0; r < rows; r++) {
        const float *row = g + r * cols;
#pragma omp simd
        for (int64_t j = 0; j < w; j++)
            acc[j] += row[j];
    }
    for (int64_t j = 0; j < w; j++)
        out[j] += (float)acc[j];
}

/* Threads take fixed blocks of columns: each column is summed by one thread
 * in the same order whatever the thread count. */
static void add_column_sums(const float *g, int64_t rows, int64_t cols, float *out)
{
    int64_t blocks = (cols + CB - 1) / CB;
#pragma omp parallel for schedule(static) if (rows * cols >= AK_PAR_MIN)
    for (int64_t blk = 0; blk < blocks; blk++) {
        int64_t j0 = blk * CB, w = cols - j0 < CB ? cols - j0 : CB;
        column_block_sums(g + j0, rows, cols, w, out + j0);
    }
}

void ak_linear_grad(int64_t rows, int64_t k, int64_t out, const float *dy, const float *x, const float *w, float *gx,
                    float *gw, float *gb)
{
    if (gx)
        ak_sgemm(0, 0, rows, k, out, 1.0f, dy, ld(out), w, ld(k), 1.0f, gx, ld(k));
    if (gw)
        ak_sgemm(1, 0, out, k, rows, 1.0f, dy, ld(out), x, ld(k), 1.0f, gw, ld(k));
    if (gb)
        add_column_sums(dy, rows, out, gb);
}
