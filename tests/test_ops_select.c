#include "helpers.h"
#include "core/threads.h"
#include "ops/ops.h"

#include <math.h>
#include <string.h>

static ak_tensor view(int ndim, const int64_t *shape, float *data)
{
    ak_tensor t = {0};
    ak_tensor_set_shape(&t, ndim, shape);
    t.data = data;
    return t;
}

Test(ops_select, argmax_per_row_first_on_ties)
{
    float d[] = {1, 3, 3, 2, /**/ -5, -7, -5, -9, /**/ 0, 0, 0, 0, /**/ 2, 1, 0, 4};
    ak_tensor x = view(3, ak_shape(2, 2, 4), d);
    int32_t out[4] = {-1, -1, -1, -1};
    ak_argmax(&x, out);
    cr_expect(out[0] == 1 && out[1] == 0 && out[2] == 0 && out[3] == 3, "%d %d %d %d", out[0], out[1], out[2],
              out[3]);
}

Test(ops_select, argmax_nan_loses_to_numbers)
{
    float d[] = {NAN, -1, 2, NAN};
    ak_tensor x = view(1, ak_shape(4), d);
    int32_t out = -1;
    ak_argmax(&x, &out);
    cr_expect(out == 2);
}

Test(ops_select, topk_descending_with_ties_lower_index_first)
{
    float d[] = {0.5f, 2, -1, 2, 0.5f, 3, /**/ 1, 1, 1, 1, 1, 1};
    ak_tensor x = view(2, ak_shape(2, 6), d);
    int32_t idx[8];
    float val[8];
    ak_err err = {{0}};
    cr_assert(ak_topk(&x, 4, idx, val, &err) == 0, "%s", err.msg);
    const int32_t wi[] = {5, 1, 3, 0, 0, 1, 2, 3};
    const float wv[] = {3, 2, 2, 0.5f, 1, 1, 1, 1};
    for (int i = 0; i < 8; i++)
        cr_expect(idx[i] == wi[i] && val[i] == wv[i], "%d: idx %d val %g, want %d %g", i, idx[i], val[i], wi[i],
                  wv[i]);
}

Test(ops_select, topk_matches_brute_force_on_random_rows_with_ties)
{
    enum { R = 20, L = 37 };
    float d[R * L];
    const float *u = th_rand(0, R * L, 0, 8, 5);
    for (int i = 0; i < R * L; i++)
        d[i] = floorf(u[i]); /* 8 distinct values: many ties */
    ak_tensor x = view(2, ak_shape(R, L), d);
    static int32_t idx[R * L];
    static float val[R * L];
    for (int k = 1; k <= L; k += 6) {
        ak_err err = {{0}};
        cr_assert(ak_topk(&x, k, idx, val, &err) == 0, "%s", err.msg);
        for (int r = 0; r < R; r++) {
            /* Brute force: repeatedly take the best unused entry. */
            unsigned char used[L] = {0};
            for (int i = 0; i < k; i++) {
                int best = -1;
                for (int j = 0; j < L; j++)
                    if (!used[j] && (best < 0 || d[r * L + j] > d[r * L + best]))
                        best = j;
                used[best] = 1;
                cr_assert(idx[r * k + i] == best && val[r * k + i] == d[r * L + best],
                          "k %d row %d rank %d: got %d, want %d", k, r, i, idx[r * k + i], best);
            }
        }
    }
}

Test(ops_select, topk_k_larger_than_last_dim_fails_with_message)
{
    float d[6] = {0};
    ak_tensor x = view(2, ak_shape(2, 3), d);
    int32_t idx[12];
    float val[12];
    ak_err err = {{0}};
    cr_expect(ak_topk(&x, 4, idx, val, &err) == -1);
    cr_expect_str_eq(err.msg, "topk: expected 1 <= k <= 3 (the last dimension of [2, 3]), got k = 4");
    cr_expect(ak_topk(&x, 0, idx, val, &err) == -1);
    cr_expect_str_eq(err.msg, "topk: expected 1 <= k <= 3 (the last dimension of [2, 3]), got k = 0");
}

Test(ops_select, results_equal_for_1_and_4_threads)
{
    enum { R = 512, L = 128, K = 5 };
    static float d[R * L];
    ak_rng r = ak_rng_make(1, 1);
    for (int i = 0; i < R * L; i++)
        d[i] = (float)ak_rng_below(&r, 50);
    ak_tensor x = view(2, ak_shape(R, L), d);
    static int32_t a[R], b[R], ia[R * K], ib[R * K];
    static float va[R * K], vb[R * K];
    ak_set_threads(1);
    ak_argmax(&x, a);
    cr_assert(ak_topk(&x, K, ia, va, NULL) == 0);
    ak_set_threads(4);
    ak_argmax(&x, b);
    cr_assert(ak_topk(&x, K, ib, vb, NULL) == 0);
    cr_expect(memcmp(a, b, sizeof a) == 0 && memcmp(ia, ib, sizeof ia) == 0 && memcmp(va, vb, sizeof va) == 0);
    for (int i = 0; i < R; i++)
        cr_expect(ia[i * K] == a[i], "row %d: topk[0] %d argmax %d", i, ia[i * K], a[i]);
}
