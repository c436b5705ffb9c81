/* The parameter store: every trainable tensor of a model, by name.
 *
 * Parameters are declared first (name, shape, initialiser), then
 * ak_params_finalize lays them out in one flat data buffer and one flat
 * gradient buffer, in declaration order, and initialises them from a seeded
 * RNG stream in that order. The flat layout lets an optimiser or a
 * checkpoint treat the whole model as one array; the names give the
 * checkpoint format and error messages something stable to point at. */
#ifndef AK_CORE_PARAMS_H
#define AK_CORE_PARAMS_H

#include "core/error.h"
#include "core/tensor.h"

typedef enum ak_init_kind {
    AK_INIT_ZEROS,
    AK_INIT_ONES,
    AK_INIT_NORMAL,   /* N(0, a^2) */
    AK_INIT_UNIFORM,  /* U(-a, a) */
} ak_init_kind;

typedef struct ak_init {
    ak_init_kind kind;
    float a;
} ak_init;

typedef struct ak_params {
    ak_tensor **items;   /* owned headers, declaration order */
    ak_init *inits;
    int n, cap;
    float *data, *grad;  /* owned flat buffers after finalize */
    int64_t total;       /* floats in each flat buffer */
    int finalized;
} ak_params;

void ak_params_init(ak_params *p);
/* Frees the headers, names and buffers. */
void ak_params_free(ak_params *p);

/* Declares a parameter (name copied). Returns its header, whose data and grad
 * are NULL until ak_params_finalize. Fails (NULL, err set) on a duplicate
 * name, a bad shape, after finalize, or out of memory. */
ak_tensor *ak_param(ak_params *p, const char *name, int ndim, const int64_t *shape, ak_init init, ak_err *err);

/* Allocates the flat buffers (gradients zeroed) and initialises every
 * parameter from stream `stream` of `seed`, in declaration order. */
int ak_params_finalize(ak_params *p, uint64_t seed, uint64_t stream, ak_err *err);

void ak_params_zero_grad(ak_params *p);

/* The parameter with this name, or NULL. */
ak_tensor *ak_params_find(const ak_params *p, const char *name);

#endif
