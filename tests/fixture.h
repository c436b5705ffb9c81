/* Reader for the PyTorch cross-check fixtures written by
 * tests/crosscheck/torch_fixture.py (format described there). */
#ifndef AK_TESTS_FIXTURE_H
#define AK_TESTS_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"

typedef struct fixture {
    char desc[2048];              /* "key = value" lines for ak_model_desc_from_text */
    int32_t *src, *tgt_in, *tgt_out;
    int64_t B, Ls, Lt, V;
    float *logits;
    double loss[2];               /* smoothing 0 and 0.1 */
    FILE *f;
} fixture;

/* Reads the description and batch; parameters are copied by fixture_load_params. */
static inline void fixture_open(fixture *fx, const char *path)
{
    memset(fx, 0, sizeof *fx);
    fx->f = fopen(path, "r");
    cr_assert_not_null(fx->f, "cannot open %s (run from the repository root)", path);
    char tag[32], a[128], b[128];
    size_t n = 0;
    while (fscanf(fx->f, "%31s", tag) == 1) {
        if (strcmp(tag, "desc") == 0) {
            cr_assert(fscanf(fx->f, "%127s %127s", a, b) == 2);
            n += (size_t)snprintf(fx->desc + n, sizeof fx->desc - n, "%s = %s\n", a, b);
        } else if (strcmp(tag, "param") == 0) {
            int nd;
            long long d, size = 1;
            cr_assert(fscanf(fx->f, "%127s %d", a, &nd) == 2);
            for (int i = 0; i < nd; i++) {
                cr_assert(fscanf(fx->f, "%lld", &d) == 1);
                size *= d;
            }
            for (long long i = 0; i < size; i++) {
                float v;
                cr_assert(fscanf(fx->f, "%f", &v) == 1);
            }
        } else if (strcmp(tag, "ids") == 0) {
            long long B, L;
            cr_assert(fscanf(fx->f, "%127s %lld %lld", a, &B, &L) == 3);
            int32_t *ids = malloc(sizeof(int32_t) * (size_t)(B * L));
            for (long long i = 0; i < B * L; i++)
                cr_assert(fscanf(fx->f, "%d", &ids[i]) == 1);
            fx->B = B;
            if (strcmp(a, "src") == 0) {
                fx->src = ids;
                fx->Ls = L;
            } else if (strcmp(a, "tgt_in") == 0) {
                fx->tgt_in = ids;
                fx->Lt = L;
            } else {
                fx->tgt_out = ids;
            }
        } else if (strcmp(tag, "logits") == 0) {
            long long B, L, V;
            cr_assert(fscanf(fx->f, "%lld %lld %lld", &B, &L, &V) == 3);
            fx->V = V;
            fx->logits = malloc(sizeof(float) * (size_t)(B * L * V));
            for (long long i = 0; i < B * L * V; i++)
                cr_assert(fscanf(fx->f, "%f", &fx->logits[i]) == 1);
        } else if (strcmp(tag, "loss") == 0) {
            double eps, v;
            cr_assert(fscanf(fx->f, "%lf %lf", &eps, &v) == 2);
            fx->loss[eps > 0] = v;
        } else {
            cr_assert_fail("fixture: unknown tag '%s'", tag);
        }
    }
}

/* Copies every fixture parameter into the model by name; asserts that names
 * and shapes match one to one. */
static inline void fixture_load_params(fixture *fx, ak_model *m)
{
    ak_params *p = ak_model_params(m);
    rewind(fx->f);
    char tag[32], a[128], b[128];
    int loaded = 0;
    while (fscanf(fx->f, "%31s", tag) == 1) {
        if (strcmp(tag, "param") != 0) {
            if (strcmp(tag, "desc") == 0)
                cr_assert(fscanf(fx->f, "%127s %127s", a, b) == 2);
            else
                break; /* params precede the batch */
            continue;
        }
        int nd;
        cr_assert(fscanf(fx->f, "%127s %d", a, &nd) == 2);
        ak_tensor *t = ak_params_find(p, a);
        cr_assert_not_null(t, "fixture parameter '%s' not in the model", a);
        cr_assert_eq(t->ndim, nd, "parameter '%s' ndim", a);
        for (int i = 0; i < nd; i++) {
            long long d;
            cr_assert(fscanf(fx->f, "%lld", &d) == 1);
            cr_assert_eq(t->shape[i], d, "parameter '%s' dim %d", a, i);
        }
        for (int64_t i = 0; i < t->size; i++)
            cr_assert(fscanf(fx->f, "%f", &t->data[i]) == 1);
        loaded++;
    }
    cr_assert_eq(loaded, p->n, "fixture has %d parameters, model %d", loaded, p->n);
}

static inline void fixture_close(fixture *fx)
{
    fclose(fx->f);
    free(fx->src);
    free(fx->tgt_in);
    free(fx->tgt_out);
    free(fx->logits);
}

#endif
