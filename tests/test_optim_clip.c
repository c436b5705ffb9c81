/* Global-norm clipping against hand-computed norms and scale factors
 * (torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6), applied
 * when below 1). */
#include "helpers.h"
#include "core/threads.h"
#include "optim/optim.h"

#include <math.h>
#include <string.h>

/* w [3] at offset 0 and z [2] at offset 16: the norm is global over both. */
static void make(ak_params *p, const float w[3], const float z[2])
{
    ak_err err = {{0}};
    ak_params_init(p);
    ak_tensor *tw = ak_param(p, "w", 1, ak_shape(3), (ak_init){AK_INIT_ONES, 0}, &err);
    ak_tensor *tz = ak_param(p, "z", 1, ak_shape(2), (ak_init){AK_INIT_ONES, 0}, &err);
    cr_assert(tw && tz, "%s", err.msg);
    cr_assert_eq(ak_params_finalize(p, 1, 0, &err), 0, "%s", err.msg);
    memcpy(tw->grad, w, 3 * sizeof(float));
    memcpy(tz->grad, z, 2 * sizeof(float));
}

Test(optim_clip, norm_below_max_leaves_grads_untouched)
{
    /* |g| = sqrt(1 + 4 + 4 + 0 + 16) = sqrt(25) = 5 over both tensors. */
    ak_params p;
    make(&p, (const float[]){1, 2, -2}, (const float[]){0, 4});
    float before[32];
    memcpy(before, p.grad, sizeof before);
    double norm = ak_clip_grad_norm(&p, 10.0);
    cr_expect_eq(norm, 5.0);
    cr_expect(memcmp(before, p.grad, sizeof before) == 0);
    ak_params_free(&p);
}

Test(optim_clip, norm_above_max_scales_to_max)
{
    /* |g| = 5; max 1: coef = 1 / (5 + 1e-6) = 0.19999996;
     * g = [0.19999996, 0.39999992, -0.39999992, 0, 0.79999984], new norm 0.9999998. */
    ak_params p;
    make(&p, (const float[]){1, 2, -2}, (const float[]){0, 4});
    double norm = ak_clip_grad_norm(&p, 1.0);
    cr_expect_eq(norm, 5.0);
    const double coef = 1.0 / (5.0 + 1e-6);
    const double want[5] = {coef, 2 * coef, -2 * coef, 0, 4 * coef};
    const float got[5] = {p.grad[0], p.grad[1], p.grad[2], p.grad[16], p.grad[17]};
    for (int i = 0; i < 5; i++)
        cr_expect(fabs(got[i] - want[i]) <= 1e-7, "[%d]: got %.9g, want %.9g", i, got[i], want[i]);
    double after = sqrt(ak_sumsq_fixed(p.grad, p.total));
    cr_expect(fabs(after - 0.9999998) <= 1e-6, "norm after clipping %.9g", after);
    for (int64_t i = 0; i < p.total; i++)
        if (i >= 3 && i != 16 && i != 17)
            cr_expect_eq(p.grad[i], 0.0f, "padding [%lld] = %g", (long long)i, p.grad[i]);
    ak_params_free(&p);
}

Test(optim_clip, norm_equal_to_max_is_scaled_like_pytorch)
{
    /* |g| = 5 = max: coef = 5 / 5.000001 = 0.9999998 < 1, so PyTorch scales
     * (slightly); g[4] = 4 * 0.9999998 = 3.9999992. */
    ak_params p;
    make(&p, (const float[]){1, 2, -2}, (const float[]){0, 4});
    cr_expect_eq(ak_clip_grad_norm(&p, 5.0), 5.0);
    cr_expect_eq(p.grad[17], (float)(5.0 / (5.0 + 1e-6)) * 4.0f);
    cr_expect_lt(p.grad[17], 4.0f);
    ak_params_free(&p);
}

Test(optim_clip, nonpositive_max_only_measures)
{
    /* |g| = sqrt(9 + 16) = 5. */
    ak_params p;
    make(&p, (const float[]){3, 0, 0}, (const float[]){4, 0});
    cr_expect_eq(ak_clip_grad_norm(&p, 0.0), 5.0);
    cr_expect_eq(ak_clip_grad_norm(&p, -1.0), 5.0);
    cr_expect_eq(ak_clip_grad_norm(&p, INFINITY), 5.0);
    cr_expect(p.grad[0] == 3.0f && p.grad[16] == 4.0f);
    ak_params_free(&p);
}

Test(optim_clip, nonfinite_norm_is_returned_grads_untouched)
{
    ak_params p;
    make(&p, (const float[]){3, INFINITY, 0}, (const float[]){4, 0});
    double norm = ak_clip_grad_norm(&p, 1.0);
    cr_expect(isinf(norm), "norm %g", norm);
    cr_expect(p.grad[0] == 3.0f && p.grad[16] == 4.0f);
    p.grad[1] = NAN;
    cr_expect(isnan(ak_clip_grad_norm(&p, 1.0)));
    cr_expect(p.grad[0] == 3.0f);
    ak_params_free(&p);
}

static double clip_big(int threads, float *out, int64_t n)
{
    ak_params p;
    ak_err err = {{0}};
    ak_params_init(&p);
    ak_tensor *t = ak_param(&p, "a", 1, ak_shape(n), (ak_init){AK_INIT_ZEROS, 0}, &err);
    cr_assert(t && ak_params_finalize(&p, 1, 0, &err) == 0);
    memcpy(t->grad, th_rand(0, n, -1, 1, 9), (size_t)n * sizeof(float));
    ak_set_threads(threads);
    double norm = ak_clip_grad_norm(&p, 1.0);
    memcpy(out, t->grad, (size_t)n * sizeof(float));
    ak_params_free(&p);
    return norm;
}

Test(optim_clip, large_buffer_matches_double_reference_any_threads)
{
    enum { N = 60000 };
    static float one[N], two[N];
    const float *g = th_rand(0, N, -1, 1, 9);
    double ss = 0;
    for (int i = 0; i < N; i++)
        ss += (double)g[i] * g[i];
    double n1 = clip_big(1, one, N), n2 = clip_big(2, two, N);
    cr_expect(fabs(n1 - sqrt(ss)) <= 1e-9 * sqrt(ss), "norm %.17g vs %.17g", n1, sqrt(ss));
    cr_expect_eq(n1, n2);
    cr_expect(memcmp(one, two, sizeof one) == 0);
}
