/* Elementwise unary ops: relu, gelu, tanh, sigmoid, exp, log. Each backward
 * reads whichever of x or y makes the derivative cheapest: tanh, sigmoid and
 * exp express theirs through the saved output y (the op's output tensor). */
#include "ops/ops.h"
#include "ops/vexp.h"

#include "core/threads.h"

#include <math.h>

enum { U_RELU, U_GELU, U_TANH, U_SIGMOID, U_EXP, U_LOG };
static const char *const NAMES[] = {"relu", "gelu", "tanh", "sigmoid", "exp", "log"};

#define INV_SQRT2 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794

static inline float f_apply(int op, float x)
{
    switch (op) {
    case U_RELU: return x > 0.0f ? x : 0.0f;
    case U_GELU: return (float)(0.5 * x * (1.0 + erf(x * INV_SQRT2)));
    case U_TANH: return ak_vtanhf(x);
    case U_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case U_EXP: return expf(x);
    default: return logf(x);
    }
}

/* dy/dx at input x with output y:
 *   relu:    y = max(x, 0)                      dy/dx = [x > 0]
 *   gelu:    y = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2
 *                                               dy/dx = Phi(x) + x phi(x), phi = N(0,1) density
 *   tanh:    y = tanh x                         dy/dx = 1 - y^2
 *   sigmoid: y = 1 / (1 + e^-x)                 dy/dx = y (1 - y)
 *   exp:     y = e^x                            dy/dx = y
 *   log:     y = ln x                           dy/dx = 1 / x */
static inline float f_deriv(int op, float x, float y)
{
    switch (op) {
    case U_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case U_GELU: {
        double xd = x;
        return (float)(0.5 * (1.0 + erf(xd * INV_SQRT2)) + xd * INV_SQRT_2PI * exp(-0.5 * xd * xd));
    }
    case U_TANH: return 1.0f - y * y;
    case U_SIGMOID: return y * (1.0f - y);
    case U_EXP: return y;
    default: return 1.0f / x;
    }
}

/* The loops below are instantiated once per op (OP a compile-time constant
 * in each case), so the switch in f_apply / f_deriv folds away and the
 * simple ones (relu) vectorize. */
#define EACH_OP(MACRO)                                                                                              \
    switch (op) {                                                                                                   \
    case U_RELU: MACRO(U_RELU); break;                                                                             \
    case U_GELU: MACRO(U_GELU); break;                                                                             \
    case U_TANH: MACRO(U_TANH); break;                                                                             \
    case U_SIGMOID: MACRO(U_SIGMOID); break;                                                                       \
    case U_EXP: MACRO(U_EXP); break;                                                                               \
    default: MACRO(U_LOG); break;                                                                                  \
    }

/* 1 when f' is a function of y alone (the backward reads y, not x). */
static int reads_y(int op) { return op == U_TANH || op == U_SIGMOID || op == U_EXP; }

/* dx += dy * f'(x); f_deriv takes both x and y, and reads only what the
 * op's formula uses (x stands in for the other where it is not needed, so
 * that the backward touches only the data the node says it reads). */
static void unary_backward(ak_ctx *ctx, ak_node *n)
{
    int op = (int)n->iarg[0];
    float *gx = ak_grad(ctx, n->in[0]);
    const float *y = n->out->data, *gy = n->out->grad;
    const float *x = reads_y(op) ? y : n->in[0]->data;
    if (!reads_y(op))
        y = x;
    int64_t m = n->out->size;
    if (op == U_RELU) { /* the hot one (FFN): vectorized */
#pragma omp parallel for simd schedule(static) if (m >= AK_PAR_MIN)
        for (int64_t i = 0; i < m; i++)
            gx[i] += x[i] > 0.0f ? gy[i] : 0.0f;
        return;
    }
#define BW(OP)                                                                                                      \
    _Pragma("omp parallel for schedule(static) if (m >= AK_PAR_MIN)") for (int64_t i = 0; i < m; i++) gx[i] +=     \
        gy[i] * f_deriv(OP, x[i], y[i])
    EACH_OP(BW)
#undef BW
}

static ak_tensor *unary(ak_ctx *ctx, int op, ak_tensor *x)
{
    if (!x)
        return NULL;
    ak_tensor *y = ak_tensor_new(ctx, x->ndim, x->shape);
    if (!y)
        return NULL;
    const float *px = x->data;
    float *py = y->data;
    int64_t m = x->size;
    if (op == U_RELU) {
#pragma omp parallel for simd schedule(static) if (m >= AK_PAR_MIN)
        for (int64_t i = 0; i < m; i++)
            py[i] = px[i] > 0.0f ? px[i] : 0.0f;
    } else if (op == U_TANH) { /* GRU cells, additive attention: vectorized */
#pragma omp parallel for simd schedule(static) if (m >= AK_PAR_MIN)
        for (int64_t i = 0; i < m; i++)
            py[i] = ak_vtanhf(px[i]);
    } else {
#define FW(OP)                                                                                                      \
    _Pragma("omp parallel for schedule(static) if (m >= AK_PAR_MIN)") for (int64_t i = 0; i < m; i++) py[i] =      \
        f_apply(OP, px[i])
        EACH_OP(FW)
#undef FW
    }
    ak_node *node = ak_tape_record(ctx, y, NAMES[op], unary_backward, 1, &x);
    if (node) {
        node->iarg[0] = op;
        node->reads = reads_y(op) ? AK_READS_OUT : AK_READS_IN(0);
    }
    return y;
}

ak_tensor *ak_relu(ak_ctx *ctx, ak_tensor *x) { return unary(ctx, U_RELU, x); }
ak_tensor *ak_gelu(ak_ctx *ctx, ak_tensor *x) { return unary(ctx, U_GELU, x); }
ak_tensor *ak_tanh(ak_ctx *ctx, ak_tensor *x) { return unary(ctx, U_TANH, x); }
ak_tensor *ak_sigmoid(ak_ctx *ctx, ak_tensor *x) { return unary(ctx, U_SIGMOID, x); }
ak_tensor *ak_exp(ak_ctx *ctx, ak_tensor *x) { return unary(ctx, U_EXP, x); }
ak_tensor *ak_log(ak_ctx *ctx, ak_tensor *x) { return unary(ctx, U_LOG, x); }
