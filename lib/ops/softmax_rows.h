/* Private to lib/ops: the row kernel and mask broadcasting of softmax.c,
 * shared with the fused attention ops (sdpa.c) so that both compute a row
 * with the same operations (the same bits). */
#ifndef AK_OPS_SOFTMAX_ROWS_H
#define AK_OPS_SOFTMAX_ROWS_H

#include "core/tensor.h"

/* Where each row of x finds its mask: x viewed as [o0, o1, o2, L] (right-
 * aligned), the mask's strides along those axes (0 where broadcast) and along
 * the row (ms[3], 0 when the mask has a single column). m is NULL without a
 * mask. */
typedef struct ak_mask_map {
    const float *m;
    int64_t o[3], ms[4];
} ak_mask_map;

/* Fills mm for x of shape [ndim] and mask (may be NULL); -1 when the mask
 * does not broadcast to x. */
int ak_mask_map_init(ak_mask_map *mm, int ndim, const int64_t *shape, const ak_tensor *mask);

/* The mask row of x's row r (r counts rows of x: every dimension but the
 * last); requires mm->m. */
static inline const float *ak_mask_map_row(const ak_mask_map *mm, int64_t r)
{
    int64_t i0 = r / (mm->o[1] * mm->o[2]), i1 = r / mm->o[2] % mm->o[1], i2 = r % mm->o[2];
    return mm->m + i0 * mm->ms[0] + i1 * mm->ms[1] + i2 * mm->ms[2];
}

/* One row: z = scale * x + m (m[j * mstride], or 0 when m is NULL) into y,
 * then softmax (log_out 0) or log-softmax in place. y may equal x. */
void ak_softmax_row(const float *x, const float *m, int64_t mstride, float scale, int64_t L, int log_out, float *y);

/* dx[j] += scale * y[j] * (dy[j] - sum_k dy[k] y[k]) over one row of
 * length L: the softmax backward of one row (the sum in double). */
void ak_softmax_row_backward(const float *y, const float *dy, float scale, int64_t L, float *dx);

#endif
