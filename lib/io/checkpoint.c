#include "io/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const OPTIM_NAMES[] = {"sgd", "adam", "adamw"};

ak_container_writer *ak_ckpt_begin(const char *path, ak_model *m, const ak_optim *optim, ak_err *err)
{
    ak_container_writer *w = ak_container_stream(path, AK_CKPT_MAGIC, err);
    if (!w)
        return NULL;
    char *desc = ak_model_desc_to_text(ak_model_get_desc(m));
    int rc = desc ? ak_container_put_str(w, "model/desc", desc, err) : ak_errorf(err, "%s: out of memory", path);
    free(desc);
    rc = rc || ak_container_put_params(w, ak_model_params(m), err);
    if (!rc && optim) {
        char key[64];
        rc = ak_container_put_str(w, "optim/kind", OPTIM_NAMES[optim->cfg.kind], err) ||
             ak_container_put_i64(w, "optim/step", optim->step, err) ||
             ak_container_put_f64(w, "optim/lr", optim->cfg.lr, err);
        for (int i = 0; !rc && i < optim->nbuf; i++) {
            snprintf(key, sizeof key, "optim/%s", optim->buf_name[i]);
            rc = ak_container_put_tensor(w, key, 1, (const int64_t[]){optim->n}, optim->buf[i], err);
        }
    }
    if (rc) {
        ak_container_writer_free(w);
        return NULL;
    }
    return w;
}

int ak_ckpt_commit(ak_container_writer *w, ak_err *err)
{
    int rc = ak_container_commit(w, err);
    ak_container_writer_free(w);
    return rc;
}

ak_container *ak_ckpt_open(const char *path, ak_err *err)
{
    return ak_container_open(path, AK_CKPT_MAGIC, "checkpoint", err);
}

ak_model *ak_ckpt_load_model(const ak_container *c, ak_err *err)
{
    const char *text;
    ak_model_desc d;
    if (ak_container_get_str(c, "model/desc", &text, NULL, err) != 0)
        return NULL;
    if (ak_model_desc_from_text(&d, text, err) != 0) {
        ak_err_prefix(err, "%s", ak_container_path(c));
        return NULL;
    }
    ak_model *m = ak_model_create(&d, 0, err);
    if (!m)
        return NULL;
    if (ak_container_get_params(c, ak_model_params(m), err) != 0) {
        ak_model_free(m);
        return NULL;
    }
    return m;
}

int ak_ckpt_load_optim(const ak_container *c, ak_optim *o, ak_err *err)
{
    const char *path = ak_container_path(c), *kind;
    int64_t step;
    if (ak_container_get_str(c, "optim/kind", &kind, NULL, err) || ak_container_get_i64(c, "optim/step", &step, err))
        return -1;
    if (strcmp(kind, OPTIM_NAMES[o->cfg.kind]) != 0)
        return ak_errorf(err, "%s: optimizer state is for %s, the run uses %s", path, kind, OPTIM_NAMES[o->cfg.kind]);
    if (step < 0)
        return ak_errorf(err, "%s: optimizer step %lld is negative", path, (long long)step);
    const float *data[AK_OPTIM_MAX_BUF];
    for (int i = 0; i < o->nbuf; i++) {
        char key[64];
        int ndim;
        int64_t shape[4];
        snprintf(key, sizeof key, "optim/%s", o->buf_name[i]);
        if (ak_container_get_tensor(c, key, &ndim, shape, &data[i], err) != 0)
            return -1;
        if (ndim != 1 || shape[0] != o->n)
            return ak_errorf(err, "%s: optimizer buffer '%s' holds %lld floats, the model needs %lld", path,
                             o->buf_name[i], (long long)(ndim == 1 ? shape[0] : -1), (long long)o->n);
    }
    for (int i = 0; i < o->nbuf; i++)
        memcpy(o->buf[i], data[i], sizeof(float) * (size_t)o->n);
    o->step = step;
    return 0;
}
