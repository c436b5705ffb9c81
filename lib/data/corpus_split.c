#include "data/corpus_split.h"

#include <stdlib.h>
#include <string.h>

#include "data/pyrandom.h"

int ak_split_make(ak_split *s, size_t n, size_t n_valid, int64_t seed, ak_err *err)
{
    memset(s, 0, sizeof *s);
    if (n_valid > n)
        return ak_errorf(err, "validation split: expected at most %zu pairs (the corpus size), got %zu", n,
                         n_valid);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    unsigned char *in_valid = calloc(n ? n : 1, 1);
    if (!idx || !in_valid) {
        free(idx);
        free(in_valid);
        return ak_errorf(err, "validation split: out of memory for %zu pairs", n);
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    ak_pyrandom r;
    ak_pyrandom_seed(&r, seed);
    ak_pyrandom_shuffle(&r, idx, n);
    for (size_t i = 0; i < n_valid; i++)
        in_valid[idx[i]] = 1;
    size_t t = n_valid; /* sorted(idx[n_valid:]) is every other index in order */
    for (size_t i = 0; i < n; i++)
        if (!in_valid[i])
            idx[t++] = i;
    free(in_valid);
    *s = (ak_split){.valid = idx, .n_valid = n_valid, .train = idx + n_valid, .n_train = n - n_valid};
    return 0;
}

void ak_split_free(ak_split *s)
{
    free(s->valid);
    memset(s, 0, sizeof *s);
}
