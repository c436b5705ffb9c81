#include "core/params.h"

#include "core/arena.h"
#include "core/rng.h"

#include <stdlib.h>
#include <string.h>

void ak_params_init(ak_params *p) { memset(p, 0, sizeof *p); }

void ak_params_free(ak_params *p)
{
    for (int i = 0; i < p->n; i++) {
        free((char *)p->items[i]->name);
        free(p->items[i]);
    }
    free(p->items);
    free(p->inits);
    free(p->data);
    free(p->grad);
    memset(p, 0, sizeof *p);
}

ak_tensor *ak_params_find(const ak_params *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->items[i]->name, name) == 0)
            return p->items[i];
    return NULL;
}

ak_tensor *ak_param(ak_params *p, const char *name, int ndim, const int64_t *shape, ak_init init, ak_err *err)
{
    if (p->finalized) {
        ak_errorf(err, "parameter '%s': declared after the store was finalized", name);
        return NULL;
    }
    if (ak_params_find(p, name)) {
        ak_errorf(err, "parameter '%s': declared twice", name);
        return NULL;
    }
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 32;
        ak_tensor **items = realloc(p->items, sizeof *items * (size_t)cap);
        if (items)
            p->items = items;
        ak_init *inits = items ? realloc(p->inits, sizeof *inits * (size_t)cap) : NULL;
        if (!items || !inits) {
            ak_errorf(err, "parameter '%s': out of memory", name);
            return NULL;
        }
        p->inits = inits;
        p->cap = cap;
    }
    ak_tensor *t = calloc(1, sizeof *t);
    char *nm = strdup(name);
    if (!t || !nm || ak_tensor_set_shape(t, ndim, shape) != 0) {
        free(t);
        free(nm);
        ak_errorf(err, "parameter '%s': invalid shape or out of memory", name);
        return NULL;
    }
    t->name = nm;
    t->requires_grad = 1;
    t->is_param = 1;
    p->items[p->n] = t;
    p->inits[p->n] = init;
    p->n++;
    return t;
}

static void init_values(float *x, int64_t n, ak_init init, ak_rng *r)
{
    for (int64_t i = 0; i < n; i++) {
        switch (init.kind) {
        case AK_INIT_ZEROS: x[i] = 0.0f; break;
        case AK_INIT_ONES: x[i] = 1.0f; break;
        case AK_INIT_NORMAL: x[i] = ak_rng_normal(r, 0.0f, init.a); break;
        case AK_INIT_UNIFORM: x[i] = ak_rng_uniform_range(r, -init.a, init.a); break;
        }
    }
}

int ak_params_finalize(ak_params *p, uint64_t seed, uint64_t stream, ak_err *err)
{
    if (p->finalized)
        return ak_errorf(err, "parameter store finalized twice");
    /* Each tensor starts on a cache line so kernels see aligned rows. */
    const int64_t align = AK_ARENA_ALIGN / (int64_t)sizeof(float);
    int64_t total = 0;
    for (int i = 0; i < p->n; i++)
        total += (p->items[i]->size + align - 1) / align * align;
    size_t bytes = (size_t)(total ? total : align) * sizeof(float);
    p->data = aligned_alloc(AK_ARENA_ALIGN, bytes);
    p->grad = aligned_alloc(AK_ARENA_ALIGN, bytes);
    if (!p->data || !p->grad)
        return ak_errorf(err, "out of memory for %lld parameters", (long long)total);
    memset(p->data, 0, bytes);
    memset(p->grad, 0, bytes);
    p->total = total;
    ak_rng r = ak_rng_make(seed, stream);
    int64_t off = 0;
    for (int i = 0; i < p->n; i++) {
        ak_tensor *t = p->items[i];
        t->data = p->data + off;
        t->grad = p->grad + off;
        init_values(t->data, t->size, p->inits[i], &r);
        off += (t->size + align - 1) / align * align;
    }
    p->finalized = 1;
    return 0;
}

void ak_params_zero_grad(ak_params *p)
{
    if (p->grad)
        memset(p->grad, 0, (size_t)p->total * sizeof(float));
}
