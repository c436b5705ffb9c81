/* Thread count and the rules that keep results independent of it.
 *
 * Determinism contract (every kernel and op follows it): work is split into
 * pieces whose boundaries depend only on the problem size, never on the
 * number of threads; each output element is produced by exactly one piece,
 * with a fixed order of floating-point operations; reductions across pieces
 * (sums over rows, gradient accumulation into shared buffers) combine partial
 * results in piece order on one thread. So any OMP_NUM_THREADS gives the
 * same bits. */
#ifndef AK_CORE_THREADS_H
#define AK_CORE_THREADS_H

#include <stdint.h>

/* Sets the number of OpenMP threads kernels use (n >= 1). */
void ak_set_threads(int n);
/* Current number of OpenMP threads kernels use. */
int ak_threads(void);

/* Below this many floats of work a loop stays serial: forking costs more. */
#define AK_PAR_MIN 32768

/* Fixed chunk for deterministic reductions (see ak_sum_fixed). */
#define AK_REDUCE_CHUNK 4096

/* Sum of x[0..n) in double, chunked by AK_REDUCE_CHUNK and combined in chunk
 * order: the same bits for any thread count. */
double ak_sum_fixed(const float *x, int64_t n);
/* Sum of squares, same contract. */
double ak_sumsq_fixed(const float *x, int64_t n);

#endif
