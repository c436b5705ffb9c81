#include "text/ngram.h"

#include <stdlib.h>
#include <string.h>

typedef struct key {
    uint32_t t[AK_NGRAM_MAX]; /* unused tail is 0 for every key of one call */
} key;

static int cmp_key(const void *pa, const void *pb)
{
    const key *a = pa, *b = pb;
    for (int i = 0; i < AK_NGRAM_MAX; i++)
        if (a->t[i] != b->t[i])
            return a->t[i] < b->t[i] ? -1 : 1;
    return 0;
}

static key *keys(const uint32_t *s, size_t ns, int n, size_t *nk)
{
    *nk = ns >= (size_t)n ? ns - (size_t)n + 1 : 0;
    key *k = calloc(*nk ? *nk : 1, sizeof *k);
    if (!k)
        return NULL;
    for (size_t i = 0; i < *nk; i++)
        memcpy(k[i].t, s + i, (size_t)n * sizeof *s);
    qsort(k, *nk, sizeof *k, cmp_key);
    return k;
}

int ak_ngram_matches(const uint32_t *hyp, size_t nh, const uint32_t *ref, size_t nr, int n, int64_t *matches,
                     ak_err *err)
{
    *matches = 0;
    if (n < 1 || n > AK_NGRAM_MAX)
        return ak_errorf(err, "ngram: order %d outside [1, %d]", n, AK_NGRAM_MAX);
    size_t na, nb;
    key *a = keys(hyp, nh, n, &na), *b = keys(ref, nr, n, &nb);
    if (!a || !b) {
        free(a);
        free(b);
        return ak_errorf(err, "ngram: out of memory for %zu + %zu tokens", nh, nr);
    }
    int64_t m = 0;
    for (size_t i = 0, j = 0; i < na && j < nb;) {
        int c = cmp_key(&a[i], &b[j]);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            size_t ci = 0, cj = 0;
            key g = a[i];
            while (i < na && cmp_key(&a[i], &g) == 0)
                i++, ci++;
            while (j < nb && cmp_key(&b[j], &g) == 0)
                j++, cj++;
            m += (int64_t)(ci < cj ? ci : cj);
        }
    }
    free(a);
    free(b);
    *matches = m;
    return 0;
}
