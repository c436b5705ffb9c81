/* Optimizer lifetime, validation and dispatch; the update loops are in
 * sgd.c and adam.c. */
#include "optim/optim_internal.h"

#include "core/arena.h"

#include <stdlib.h>
#include <string.h>

static const char *const NAMES[] = {"sgd", "adam", "adamw"};

/* Written as !(x >= lo) etc. so that NaN fails every check. */
static int check_unit(ak_err *err, const char *op, const char *name, double x)
{
    if (!(x >= 0.0 && x < 1.0))
        return ak_errorf(err, "%s: %s must be in [0, 1), got %g", op, name, x);
    return 0;
}

static int check_cfg(const ak_optim_cfg *c, ak_err *err)
{
    if (c->kind != AK_OPTIM_SGD && c->kind != AK_OPTIM_ADAM && c->kind != AK_OPTIM_ADAMW)
        return ak_errorf(err, "optimizer: unknown kind %d (expected sgd, adam or adamw)", (int)c->kind);
    const char *op = NAMES[c->kind];
    if (!(c->lr >= 0.0))
        return ak_errorf(err, "%s: lr must be >= 0, got %g", op, c->lr);
    if (!(c->weight_decay >= 0.0))
        return ak_errorf(err, "%s: weight_decay must be >= 0, got %g", op, c->weight_decay);
    if (c->kind == AK_OPTIM_SGD) {
        if (check_unit(err, op, "momentum", c->momentum))
            return -1;
        if (c->nesterov && c->momentum == 0.0)
            return ak_errorf(err, "%s: nesterov needs momentum in (0, 1), got 0", op);
        return 0;
    }
    if (check_unit(err, op, "beta1", c->beta1) || check_unit(err, op, "beta2", c->beta2))
        return -1;
    if (!(c->eps > 0.0))
        return ak_errorf(err, "%s: eps must be > 0, got %g", op, c->eps);
    return 0;
}

ak_optim_cfg ak_sgd_cfg(double lr, double momentum)
{
    return (ak_optim_cfg){.kind = AK_OPTIM_SGD, .lr = lr, .momentum = momentum};
}

ak_optim_cfg ak_adam_cfg(double lr)
{
    return (ak_optim_cfg){.kind = AK_OPTIM_ADAM, .lr = lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
}

ak_optim_cfg ak_adamw_cfg(double lr, double weight_decay)
{
    ak_optim_cfg c = ak_adam_cfg(lr);
    c.kind = AK_OPTIM_ADAMW;
    c.weight_decay = weight_decay;
    return c;
}

int ak_optim_init(ak_optim *o, ak_params *p, const ak_optim_cfg *cfg, ak_err *err)
{
    memset(o, 0, sizeof *o);
    if (check_cfg(cfg, err))
        return -1;
    if (!p->finalized)
        return ak_errorf(err, "%s: the parameter store is not finalized", NAMES[cfg->kind]);
    o->cfg = *cfg;
    o->params = p;
    o->n = p->total;
    if (cfg->kind == AK_OPTIM_SGD) {
        o->nbuf = cfg->momentum > 0.0;
        o->buf_name[0] = "momentum";
    } else {
        o->nbuf = 2;
        o->buf_name[0] = "exp_avg";
        o->buf_name[1] = "exp_avg_sq";
    }
    /* params->total is a multiple of 16 floats, so bytes is a multiple of the
     * alignment as aligned_alloc requires; 0 parameters still get one line. */
    size_t bytes = (size_t)(o->n ? o->n : 16) * sizeof(float);
    for (int i = 0; i < o->nbuf; i++) {
        o->buf[i] = aligned_alloc(AK_ARENA_ALIGN, bytes);
        if (!o->buf[i]) {
            ak_optim_free(o);
            return ak_errorf(err, "%s: out of memory for %lld floats of state", NAMES[cfg->kind],
                             (long long)o->n);
        }
        memset(o->buf[i], 0, bytes);
    }
    return 0;
}

void ak_optim_free(ak_optim *o)
{
    for (int i = 0; i < AK_OPTIM_MAX_BUF; i++)
        free(o->buf[i]);
    memset(o, 0, sizeof *o);
}

int ak_optim_set_lr(ak_optim *o, double lr, ak_err *err)
{
    if (!(lr >= 0.0))
        return ak_errorf(err, "%s: lr must be >= 0, got %g", NAMES[o->cfg.kind], lr);
    o->cfg.lr = lr;
    return 0;
}

void ak_optim_step(ak_optim *o)
{
    o->step++;
    if (o->cfg.kind == AK_OPTIM_SGD)
        ak_optim_sgd_update(o);
    else
        ak_optim_adam_update(o);
}
