/* Optimizers, global-norm gradient clipping and learning-rate schedules.
 *
 * Optimizers work on the flat buffers of an ak_params store (core/params.h):
 * one loop over params->data / params->grad, whose padding between tensors is
 * zero in both buffers and stays zero (a zero gradient never moves a zero
 * parameter, with or without weight decay). Their state (momentum buffer,
 * Adam's first and second moments) is allocated once at creation, flat, in the
 * same layout as params->data, and is exposed as plain fields so that a
 * checkpoint can write it and read it back: `nbuf` buffers of `n` floats in
 * `buf[0..nbuf)`, named by `buf_name`, plus the completed `step` count.
 * Restoring those fields into a fresh optimizer over the same store continues
 * the run bit for bit.
 *
 * The update is elementwise, so it is split over OpenMP threads by index and
 * gives the same bits for any thread count. Scalars that depend only on the
 * step (bias corrections, step size) are computed in double and rounded to
 * float once, as PyTorch does with its Python-float hyperparameters.
 *
 * Semantics follow torch.optim (single-tensor path, amsgrad/maximize off):
 *
 *   SGD   g = grad + wd * p
 *         b = mu * b + g                  (b starts at 0, so the first b = g)
 *         d = nesterov ? g + mu * b : b   (d = g when mu = 0)
 *         p = p - lr * d
 *   Adam  t = t + 1;  g = grad + wd * p   (L2 decay folded into the gradient)
 *         m = beta1 * m + (1 - beta1) * g
 *         v = beta2 * v + (1 - beta2) * g * g
 *         p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *           (= p - lr * m_hat / (sqrt(v_hat) + eps): eps is added after the
 *            square root of the bias-corrected second moment)
 *   AdamW p = p * (1 - lr * wd), then Adam with wd = 0 (decoupled decay).
 *
 * (PyTorch >= 2.1 writes the first-moment update as m.lerp_(g, 1 - beta1),
 * equal to the line above in exact arithmetic; the two may differ in the
 * last bit.) SGD dampening is not supported (PyTorch's default 0).
 *
 * Gradients are read, never cleared: call ak_params_zero_grad before the next
 * backward pass. */
#ifndef AK_OPTIM_OPTIM_H
#define AK_OPTIM_OPTIM_H

#include "core/error.h"
#include "core/params.h"

#include <stdint.h>

typedef enum ak_optim_kind { AK_OPTIM_SGD, AK_OPTIM_ADAM, AK_OPTIM_ADAMW } ak_optim_kind;

typedef struct ak_optim_cfg {
    ak_optim_kind kind;
    double lr;           /* >= 0 */
    double weight_decay; /* >= 0: L2 (SGD, Adam) or decoupled (AdamW) */
    double momentum;     /* SGD: [0, 1) */
    int nesterov;        /* SGD: needs momentum > 0 */
    double beta1, beta2; /* Adam(W): [0, 1) each */
    double eps;          /* Adam(W): > 0 */
} ak_optim_cfg;

/* Defaults as torch.optim: SGD(lr), Adam(lr, betas (0.9, 0.999), eps 1e-8),
 * AdamW(lr, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01). */
ak_optim_cfg ak_sgd_cfg(double lr, double momentum);
ak_optim_cfg ak_adam_cfg(double lr);
ak_optim_cfg ak_adamw_cfg(double lr, double weight_decay);

#define AK_OPTIM_MAX_BUF 2

typedef struct ak_optim {
    ak_optim_cfg cfg;                        /* cfg.lr is the current rate */
    ak_params *params;                       /* borrowed; outlives the optimizer */
    int64_t n;                               /* floats per state buffer (params->total) */
    int nbuf;                                /* SGD: 0 (mu = 0) or 1; Adam(W): 2 */
    float *buf[AK_OPTIM_MAX_BUF];            /* SGD: momentum; Adam(W): exp_avg, exp_avg_sq */
    const char *buf_name[AK_OPTIM_MAX_BUF];  /* "momentum", "exp_avg", "exp_avg_sq" */
    int64_t step;                            /* completed steps */
} ak_optim;

/* Checks cfg and allocates zeroed state for the finalized store p. Returns 0,
 * or -1 with a message naming the bad hyperparameter and its allowed range
 * ("adam: beta2 must be in [0, 1), got 1"), or naming an unfinalized store or
 * failed allocation; on failure *o owns nothing. */
int ak_optim_init(ak_optim *o, ak_params *p, const ak_optim_cfg *cfg, ak_err *err);
void ak_optim_free(ak_optim *o);

/* Sets the rate for the next steps (e.g. from ak_sched_lr). Returns 0, or
 * -1 when lr is negative or NaN (the rate is then unchanged). */
int ak_optim_set_lr(ak_optim *o, double lr, ak_err *err);

/* One update of every parameter from params->grad; advances o->step. */
void ak_optim_step(ak_optim *o);

/* ---- clip.c ------------------------------------------------------------- */
/* Global-norm clipping like torch.nn.utils.clip_grad_norm_: the L2 norm of
 * the whole flat gradient (ak_sumsq_fixed, deterministic; padding is zero) is
 * returned, and when coef = max_norm / (norm + 1e-6) is below 1 every
 * gradient is multiplied by coef. max_norm <= 0 or infinite only measures. A
 * non-finite norm is returned with the gradients left unchanged (PyTorch
 * would scale them by 0 or NaN): the caller should skip that step. */
double ak_clip_grad_norm(ak_params *p, double max_norm);

/* ---- schedule.c --------------------------------------------------------- */
typedef enum ak_sched_kind {
    AK_SCHED_CONSTANT, /* lr * min(1, step / warmup) (warmup 0: lr) */
    AK_SCHED_INVSQRT,  /* lr * min(step / warmup, sqrt(warmup / step)), warmup >= 1 */
    AK_SCHED_COSINE,   /* warm-up as CONSTANT, then cosine from lr down to min_lr at step `total`, then min_lr */
} ak_sched_kind;

typedef struct ak_sched {
    ak_sched_kind kind;
    double lr;       /* peak rate, reached at the end of warm-up; >= 0 */
    int64_t warmup;  /* steps of linear warm-up; >= 0 (INVSQRT: >= 1) */
    int64_t total;   /* COSINE: last step of the decay; > warmup */
    double min_lr;   /* COSINE: final rate, in [0, lr] */
} ak_sched;

/* Returns 0, or -1 with a message naming the field and its allowed range. */
int ak_sched_check(const ak_sched *s, ak_err *err);

/* The rate for 1-based step `step` (values below 1 are taken as 1), for a
 * schedule that passed ak_sched_check. A pure function: resuming a run needs
 * only the step count. Written out, with w = warmup, T = total:
 *   CONSTANT  lr * min(1, step / w)
 *   INVSQRT   lr * min(step / w, sqrt(w / step))
 *   COSINE    step <= w: lr * step / w; else with q = min(step - w, T - w) / (T - w):
 *             min_lr + (lr - min_lr) * (1 + cos(pi * q)) / 2 */
double ak_sched_lr(const ak_sched *s, int64_t step);

#endif
