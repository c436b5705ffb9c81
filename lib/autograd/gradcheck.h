/* Gradient check: the tape's gradients against central differences.
 *
 * The function under test maps input tensors to an output tensor y of any
 * shape. The check reduces y to L = sum_i r_i y_i with fixed pseudo-random
 * weights r, in double precision, and compares dL/dx from ak_backward with
 * (L(x + h e_j) - L(x - h e_j)) / 2h for every element j of every input that
 * requires grad. The ops themselves run in float32, so the numeric quotient
 * carries a rounding error of about eps_f32 * |L| / h next to the O(h^2)
 * truncation error; tests pick h and tolerances with that in mind. */
#ifndef AK_AUTOGRAD_GRADCHECK_H
#define AK_AUTOGRAD_GRADCHECK_H

#include "autograd/tape.h"

typedef ak_tensor *(*ak_gc_fn)(ak_ctx *ctx, ak_tensor *const *in, void *user);

typedef struct ak_gc_input {
    int ndim;
    int64_t shape[AK_MAX_DIMS];
    const float *data;      /* borrowed */
    int requires_grad;
} ak_gc_input;

typedef struct ak_gc_opts {
    double h;               /* step; 0 means 1e-3 */
    double atol, rtol;      /* pass when |a - n| <= atol + rtol * max(|a|, |n|) */
    int training;           /* run with dropout on (masks repeat across evaluations) */
} ak_gc_opts;

typedef struct ak_gc_result {
    int64_t checked, failed;
    double max_err;         /* largest |a - n| / (atol + rtol * max(|a|, |n|)): <= 1 passes */
    int worst_input;
    int64_t worst_index;
    double analytic, numeric;   /* at the worst element */
} ak_gc_result;

/* Returns 0 when every element passes, 1 when some fail (res says where),
 * -1 when the function failed to run (err says why). */
int ak_gradcheck(ak_gc_fn f, void *user, int n_in, const ak_gc_input *in, ak_gc_opts opts, ak_gc_result *res,
                 ak_err *err);

#endif
