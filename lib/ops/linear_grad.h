/* The backward pass of ak_linear on raw buffers, for ops that run a linear
 * layer inside them (ops/recompute.c, ops/ffn.c) and must give bitwise the
 * gradients ak_linear's own node gives: the same GEMM calls and the same
 * bias column sums as ops/matmul.c's linear_backward.
 *
 * y = x w^T + bias, x [rows, k], w [out, k], dy [rows, out]:
 *   gx (rows x k) += dy w            -> gemm(0, 0)
 *   gw (out x k)  += dy^T x          -> gemm(1, 0), one product over all rows
 *   gb[j]         += sum_r dy[r, j]  (one double chain per column, rows in order)
 * Each of gx, gw, gb may be NULL (not wanted). */
#ifndef AK_OPS_LINEAR_GRAD_H
#define AK_OPS_LINEAR_GRAD_H

#include <stdint.h>

void ak_linear_grad(int64_t rows, int64_t k, int64_t out, const float *dy, const float *x, const float *w, float *gx,
                    float *gw, float *gb);

#endif
