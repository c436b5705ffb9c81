#include "data/batch.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t ns, nt; /* sort key: source length, target length */
    size_t pos;     /* position in the shuffled order: makes qsort stable */
    size_t pair;
} sort_key;

typedef struct {
    size_t start, rows; /* a run of the sorted order */
    int32_t src_cols, tgt_cols;
} span;

typedef struct {
    sort_key *keys; /* n */
    size_t *perm;   /* n: shuffled pair order, then batch order */
    span *spans;    /* n at most */
    size_t n_spans;
} scratch;

static int cmp_key(const void *pa, const void *pb)
{
    const sort_key *a = pa, *b = pb;
    if (a->ns != b->ns)
        return a->ns < b->ns ? -1 : 1;
    if (a->nt != b->nt)
        return a->nt < b->nt ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* One epoch of make_batches: shuffle, stable sort, greedy cut, batch shuffle.
 * Draws from b->rng exactly as the twin does when b->shuffle is set. */
static void draw_epoch(ak_batcher *b, scratch *s)
{
    const ak_idcorpus *c = b->pairs;
    size_t n = c->n;
    for (size_t i = 0; i < n; i++)
        s->perm[i] = i;
    if (b->shuffle)
        ak_pyrandom_shuffle(&b->rng, s->perm, n);
    for (size_t k = 0; k < n; k++) {
        const ak_idpair *p = &c->pairs[s->perm[k]];
        s->keys[k] = (sort_key){.ns = p->ns, .nt = p->nt, .pos = k, .pair = s->perm[k]};
    }
    qsort(s->keys, n, sizeof *s->keys, cmp_key);

    s->n_spans = 0;
    span cur = {0};
    for (size_t k = 0; k < n; k++) {
        int32_t ns = s->keys[k].ns, nt1 = s->keys[k].nt + 1;
        int32_t ms = cur.src_cols > ns ? cur.src_cols : ns;
        int32_t mt = cur.tgt_cols > nt1 ? cur.tgt_cols : nt1;
        int64_t width = ms > mt ? ms : mt;
        if (cur.rows && (int64_t)(cur.rows + 1) * width > b->batch_tokens) {
            s->spans[s->n_spans++] = cur;
            cur = (span){.start = k};
            ms = ns;
            mt = nt1;
        }
        cur.rows++;
        cur.src_cols = ms;
        cur.tgt_cols = mt;
    }
    if (cur.rows)
        s->spans[s->n_spans++] = cur;

    for (size_t i = 0; i < s->n_spans; i++)
        s->perm[i] = i;
    if (b->shuffle)
        ak_pyrandom_shuffle(&b->rng, s->perm, s->n_spans);
}

int ak_batcher_init(ak_batcher *b, const ak_idcorpus *pairs, int64_t batch_tokens, int64_t seed, int shuffle,
                    ak_err *err)
{
    memset(b, 0, sizeof *b);
    if (batch_tokens < 1 || batch_tokens > INT32_MAX)
        return ak_errorf(err, "batcher: expected batch_tokens in [1, %d], got %lld", INT32_MAX,
                         (long long)batch_tokens);
    if (seed > INT64_MAX - AK_BATCH_SEED_OFFSET)
        return ak_errorf(err, "batcher: expected a seed <= %lld, got %lld",
                         (long long)(INT64_MAX - AK_BATCH_SEED_OFFSET), (long long)seed);
    for (size_t i = 0; i < pairs->n; i++)
        if (pairs->pairs[i].ns < 1 || pairs->pairs[i].nt < 0 || pairs->pairs[i].nt == INT32_MAX)
            return ak_errorf(err, "batcher: pair %zu: expected a non-empty source and a target shorter than "
                                  "%d ids, got lengths %d and %d (filter with ak_idcorpus_filter first)",
                             i, INT32_MAX, pairs->pairs[i].ns, pairs->pairs[i].nt);
    *b = (ak_batcher){.pairs = pairs, .batch_tokens = batch_tokens, .seed = seed, .shuffle = shuffle != 0,
                      .next_epoch = 1};
    ak_pyrandom_seed(&b->rng, seed + AK_BATCH_SEED_OFFSET);
    return 0;
}

/* Returns p grown to hold max(n, 1) elements of size elem (updating *cap),
 * p itself when it is large enough, or NULL (p untouched) when out of memory. */
static void *ensure(void *p, size_t *cap, size_t n, size_t elem)
{
    if (n == 0)
        n = 1;
    if (n <= *cap)
        return p;
    void *q = n > SIZE_MAX / elem ? NULL : realloc(p, n * elem);
    if (q)
        *cap = n;
    return q;
}

/* Lays out the batches of s in plan storage and writes their matrices. */
static int materialize(const ak_batcher *b, const scratch *s, ak_batch_plan *plan, ak_err *err)
{
    const ak_idcorpus *c = b->pairs;
    size_t ints = 0;
    for (size_t i = 0; i < s->n_spans; i++) {
        const span *sp = &s->spans[i];
        size_t per_row = (size_t)sp->src_cols + 2 * (size_t)sp->tgt_cols + 2; /* < 2^34 */
        if (sp->rows > (SIZE_MAX / sizeof(int32_t) - ints) / per_row)
            return ak_errorf(err, "batcher: epoch %lld: batch matrices overflow the address space",
                             (long long)plan->epoch);
        ints += sp->rows * per_row;
    }
    size_t *order = ensure(plan->order, &plan->order_cap, c->n, sizeof *order);
    if (order)
        plan->order = order;
    ak_batch *batches = ensure(plan->batches, &plan->batches_cap, s->n_spans, sizeof *batches);
    if (batches)
        plan->batches = batches;
    int32_t *buf = ensure(plan->buf, &plan->buf_cap, ints, sizeof *buf);
    if (buf)
        plan->buf = buf;
    if (!order || !batches || !buf)
        return ak_errorf(err, "batcher: epoch %lld: out of memory for %zu batches (%zu ids)",
                         (long long)plan->epoch, s->n_spans, ints);
    int32_t *at = plan->buf;
    size_t row0 = 0;
    for (size_t k = 0; k < s->n_spans; k++) {
        const span *sp = &s->spans[s->perm[k]];
        int32_t R = (int32_t)sp->rows, Ls = sp->src_cols, Lt = sp->tgt_cols;
        ak_batch *bt = &plan->batches[k];
        *bt = (ak_batch){.rows = R, .src_cols = Ls, .tgt_cols = Lt, .pair = plan->order + row0};
        bt->src = at;
        at += (size_t)R * (size_t)Ls;
        bt->dec_in = at;
        at += (size_t)R * (size_t)Lt;
        bt->dec_out = at;
        at += (size_t)R * (size_t)Lt;
        bt->src_len = at;
        at += R;
        bt->dec_len = at;
        at += R;
        for (int32_t r = 0; r < R; r++) {
            size_t i = s->keys[sp->start + (size_t)r].pair;
            plan->order[row0 + (size_t)r] = i;
            int32_t ns = c->pairs[i].ns, nt = c->pairs[i].nt;
            int32_t *src = bt->src + (size_t)r * (size_t)Ls;
            int32_t *din = bt->dec_in + (size_t)r * (size_t)Lt;
            int32_t *dout = bt->dec_out + (size_t)r * (size_t)Lt;
            memcpy(src, ak_idcorpus_src(c, i), (size_t)ns * sizeof *src);
            for (int32_t j = ns; j < Ls; j++)
                src[j] = AK_BATCH_PAD;
            din[0] = AK_BATCH_BOS;
            memcpy(din + 1, ak_idcorpus_tgt(c, i), (size_t)nt * sizeof *din);
            memcpy(dout, ak_idcorpus_tgt(c, i), (size_t)nt * sizeof *dout);
            dout[nt] = AK_BATCH_EOS;
            for (int32_t j = nt + 1; j < Lt; j++)
                din[j] = dout[j] = AK_BATCH_PAD;
            bt->src_len[r] = ns;
            bt->dec_len[r] = nt + 1;
            bt->n_dec_tokens += nt + 1;
        }
        row0 += sp->rows;
    }
    plan->n_batches = s->n_spans;
    return 0;
}

int ak_batcher_plan(ak_batcher *b, int64_t epoch, ak_batch_plan *plan, ak_err *err)
{
    if (epoch < 1)
        return ak_errorf(err, "batcher: expected an epoch >= 1, got %lld", (long long)epoch);
    size_t n = b->pairs->n;
    scratch s = {0};
    s.keys = malloc((n ? n : 1) * sizeof *s.keys);
    s.perm = malloc((n ? n : 1) * sizeof *s.perm);
    s.spans = malloc((n ? n : 1) * sizeof *s.spans);
    int rc = 0;
    if (!s.keys || !s.perm || !s.spans) {
        rc = ak_errorf(err, "batcher: out of memory for %zu pairs", n);
        goto done;
    }
    if (b->shuffle) {
        if (epoch < b->next_epoch) { /* restart the stream and replay */
            ak_pyrandom_seed(&b->rng, b->seed + AK_BATCH_SEED_OFFSET);
            b->next_epoch = 1;
        }
        for (; b->next_epoch < epoch; b->next_epoch++)
            draw_epoch(b, &s);
        b->next_epoch = epoch + 1;
    }
    draw_epoch(b, &s);
    plan->epoch = epoch;
    plan->n_batches = 0;
    rc = materialize(b, &s, plan, err);
done:
    free(s.keys);
    free(s.perm);
    free(s.spans);
    return rc;
}

void ak_batch_plan_free(ak_batch_plan *plan)
{
    free(plan->order);
    free(plan->batches);
    free(plan->buf);
    memset(plan, 0, sizeof *plan);
}
