/* argmax and top-k along the last axis (no gradient).
 *
 * Order used by both: a larger value comes first; equal values come in index
 * order (lower index first); NaN comes after every number (NaNs among
 * themselves in index order). Rows are independent, so the results do not
 * depend on the thread count. */
#include "ops/ops.h"

#include "core/threads.h"

#include <math.h>

/* 1 when (va, ia) comes strictly before (vb, ib) in the order above. */
static inline int before(float va, int32_t ia, float vb, int32_t ib)
{
    if (isnan(va) || isnan(vb))
        return isnan(va) ? isnan(vb) && ia < ib : 1;
    return va > vb || (va == vb && ia < ib);
}

static int64_t last_dim(const ak_tensor *x) { return x->ndim ? x->shape[x->ndim - 1] : 1; }

void ak_argmax(const ak_tensor *x, int32_t *out)
{
    int64_t L = last_dim(x), rows = ak_rows(x);
#pragma omp parallel for schedule(static) if (x->size >= AK_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const float *v = x->data + r * L;
        int32_t best = 0;
        for (int32_t j = 1; j < L; j++)
            if (before(v[j], j, v[best], best))
                best = j;
        out[r] = best;
    }
}

/* Min-heap of the k best seen so far, kept in (idx, val) with the worst at
 * the root. */
static void sift_down(int32_t *idx, float *val, int k, int i)
{
    for (;;) {
        int c = 2 * i + 1;
        if (c >= k)
            return;
        if (c + 1 < k && before(val[c], idx[c], val[c + 1], idx[c + 1]))
            c++; /* the worse child */
        if (!before(val[i], idx[i], val[c], idx[c]))
            return;
        float tv = val[i];
        int32_t ti = idx[i];
        val[i] = val[c];
        idx[i] = idx[c];
        val[c] = tv;
        idx[c] = ti;
        i = c;
    }
}

static void sift_up(int32_t *idx, float *val, int i)
{
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!before(val[p], idx[p], val[i], idx[i]))
            return;
        float tv = val[i];
        int32_t ti = idx[i];
        val[i] = val[p];
        idx[i] = idx[p];
        val[p] = tv;
        idx[p] = ti;
        i = p;
    }
}

/* The k best of one row, best first: a bounded heap over the row (L log k),
 * then heap sort in place, which leaves the worst at the end. */
static void topk_row(const float *v, int64_t L, int k, int32_t *idx, float *val)
{
    int n = 0;
    for (int32_t j = 0; j < L; j++) {
        if (n < k) {
            idx[n] = j;
            val[n] = v[j];
            sift_up(idx, val, n++);
        } else if (before(v[j], j, val[0], idx[0])) {
            idx[0] = j;
            val[0] = v[j];
            sift_down(idx, val, k, 0);
        }
    }
    for (int end = k - 1; end > 0; end--) {
        float tv = val[0];
        int32_t ti = idx[0];
        val[0] = val[end];
        idx[0] = idx[end];
        val[end] = tv;
        idx[end] = ti;
        sift_down(idx, val, end, 0);
    }
}

int ak_topk(const ak_tensor *x, int k, int32_t *idx, float *val, ak_err *err)
{
    if (!x)
        return ak_errorf(err, "topk: no input tensor");
    int64_t L = last_dim(x), rows = ak_rows(x);
    if (k < 1 || k > L) {
        char s[64];
        return ak_errorf(err, "topk: expected 1 <= k <= %lld (the last dimension of %s), got k = %d", (long long)L,
                         ak_shape_str(x, s, sizeof s), k);
    }
    if (L > INT32_MAX)
        return ak_errorf(err, "topk: last dimension %lld does not fit int32 indices", (long long)L);
#pragma omp parallel for schedule(static) if (x->size >= AK_PAR_MIN)
    for (int64_t r = 0; r < rows; r++)
        topk_row(x->data + r * L, L, k, idx + r * k, val + r * k);
    return 0;
}
