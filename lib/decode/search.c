/* Greedy and beam search over the step interface (decode/search.h). */
#include "decode/search.h"

#include "core/special_ids.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ak_hyp_free(ak_hyp *h)
{
    if (!h)
        return;
    free(h->ids);
    memset(h, 0, sizeof *h);
}

void ak_hyps_free(ak_hyps *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->n; i++)
        ak_hyp_free(&h->v[i]);
    free(h->v);
    h->v = NULL;
    h->n = 0;
}

double ak_length_penalty(int64_t len, double alpha)
{
    return alpha == 0.0 ? 1.0 : pow((5.0 + (double)len) / 6.0, alpha);
}

void ak_log_softmax_rows(const float *x, int64_t n, int64_t V, double *out)
{
    for (int64_t r = 0; r < n; r++) {
        const float *z = x + r * V;
        double *o = out + r * V;
        double mx = -INFINITY;
        for (int64_t j = 0; j < V; j++)
            if (z[j] > mx)
                mx = z[j];
        double sum = 0.0;
        if (isfinite(mx))
            for (int64_t j = 0; j < V; j++)
                sum += exp((double)z[j] - mx);
        double lse = isfinite(mx) ? mx + log(sum) : mx;
        for (int64_t j = 0; j < V; j++)
            o[j] = (double)z[j] - lse;
    }
}

static int copy_ids(ak_hyp *h, const int32_t *ids, int64_t n, ak_err *err)
{
    h->n = n;
    h->ids = NULL;
    if (n == 0)
        return 0;
    h->ids = malloc(sizeof(int32_t) * (size_t)n);
    if (!h->ids)
        return ak_errorf(err, "decode: out of memory for a hypothesis of %lld tokens", (long long)n);
    memcpy(h->ids, ids, sizeof(int32_t) * (size_t)n);
    return 0;
}

/* ------------------------------------------------------------------- beam */

typedef struct cand {
    double s;    /* cumulative log-probability */
    int64_t key; /* row * V + token: the tie-break, lower first */
} cand;

/* a ranks before b */
static inline int better(const cand *a, const cand *b)
{
    return a->s > b->s || (a->s == b->s && a->key < b->key);
}

/* Min-heap (worst at the root) of the best `cap` candidates seen. */
static void heap_push(cand *h, int *n, int cap, cand c)
{
    if (*n == cap) {
        if (!better(&c, &h[0]))
            return;
        h[0] = c; /* replace the worst, sift down */
        int i = 0;
        for (;;) {
            int l = 2 * i + 1, r = l + 1, w = i;
            if (l < *n && better(&h[w], &h[l]))
                w = l;
            if (r < *n && better(&h[w], &h[r]))
                w = r;
            if (w == i)
                break;
            cand t = h[i];
            h[i] = h[w];
            h[w] = t;
            i = w;
        }
        return;
    }
    int i = (*n)++;
    h[i] = c;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!better(&h[p], &h[i]))
            break;
        cand t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static int cand_cmp(const void *a, const void *b)
{
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

/* The finished list: at most cap hypotheses, best score first; among equal
 * scores the earlier one stays first. */
typedef struct finlist {
    ak_hyp *v;
    int n, cap;
} finlist;

static int fin_add(finlist *f, const int32_t *ids, int64_t n, int finished, double logprob, double alpha, ak_err *err)
{
    double score = logprob / ak_length_penalty(n + finished, alpha);
    if (f->n == f->cap && !(score > f->v[f->n - 1].score))
        return 0;
    if (f->n == f->cap)
        ak_hyp_free(&f->v[--f->n]);
    int pos = f->n;
    while (pos > 0 && score > f->v[pos - 1].score)
        pos--;
    ak_hyp h = {.finished = finished, .logprob = logprob, .score = score};
    if (copy_ids(&h, ids, n, err) != 0)
        return -1;
    memmove(&f->v[pos + 1], &f->v[pos], sizeof(ak_hyp) * (size_t)(f->n - pos));
    f->v[pos] = h;
    f->n++;
    return 0;
}

int ak_beam_run(const ak_stepper *s, const ak_beam_opts *o, ak_hyps *out, ak_err *err)
{
    out->v = NULL;
    out->n = 0;
    int K = o->beam, nbest = o->nbest ? o->nbest : 1;
    int64_t L = o->max_len, V = s->vocab;
    if (K < 1 || K > 4096 || nbest < 1 || nbest > K || L < 1 || !(o->alpha >= 0.0) || V < AK_NSPECIAL + 1)
        return ak_errorf(err,
                         "beam: need 1 <= beam <= 4096, 1 <= nbest <= beam, max_len >= 1, alpha >= 0 "
                         "(got beam %d, nbest %d, max_len %lld, alpha %g)",
                         K, nbest, (long long)L, o->alpha);
    int C = 2 * K;
    double *logp = malloc(sizeof(double) * (size_t)K * (size_t)V);
    int32_t *hist = malloc(sizeof(int32_t) * (size_t)K * (size_t)L);
    int32_t *nhist = malloc(sizeof(int32_t) * (size_t)K * (size_t)L);
    double *cum = calloc((size_t)K, sizeof *cum), *ncum = calloc((size_t)K, sizeof *ncum);
    int32_t *prev = malloc(sizeof(int32_t) * (size_t)K), *idx = malloc(sizeof(int32_t) * (size_t)K);
    cand *heap = malloc(sizeof(cand) * (size_t)C);
    finlist fin = {.v = calloc((size_t)K, sizeof(ak_hyp)), .cap = K};
    int rc = 0;
    if (!logp || !hist || !nhist || !cum || !ncum || !prev || !idx || !heap || !fin.v) {
        rc = ak_errorf(err, "beam: out of memory for beam %d, vocabulary %lld", K, (long long)V);
        goto out;
    }
    int n = 1; /* live rows */
    prev[0] = AK_BOS;
    for (int64_t t = 0; t < L; t++) {
        if (s->step(s->user, prev, n, logp, err) != 0) {
            rc = -1;
            goto out;
        }
        int nh = 0;
        for (int r = 0; r < n; r++)
            for (int64_t j = 0; j < V; j++) {
                if (j == AK_PAD || j == AK_BOS) /* never outputs, as in greedy decoding */
                    continue;
                double lp = logp[(int64_t)r * V + j];
                if (lp > -INFINITY) /* also drops NaN */
                    heap_push(heap, &nh, C, (cand){cum[r] + lp, (int64_t)r * V + j});
            }
        qsort(heap, (size_t)nh, sizeof(cand), cand_cmp);
        int nl = 0;
        for (int i = 0; i < nh; i++) {
            int r = (int)(heap[i].key / V);
            int32_t tok = (int32_t)(heap[i].key % V);
            if (tok == AK_EOS) {
                if (i < K && fin_add(&fin, hist + (int64_t)r * L, t, 1, heap[i].s, o->alpha, err) != 0) {
                    rc = -1;
                    goto out;
                }
            } else if (nl < K) {
                memcpy(nhist + (int64_t)nl * L, hist + (int64_t)r * L, sizeof(int32_t) * (size_t)t);
                nhist[(int64_t)nl * L + t] = tok;
                ncum[nl] = heap[i].s;
                idx[nl] = r;
                prev[nl] = tok;
                nl++;
            }
        }
        int32_t *th = hist;
        hist = nhist;
        nhist = th;
        double *tc = cum;
        cum = ncum;
        ncum = tc;
        n = nl;
        if (n == 0)
            break;
        if (t + 1 == L) { /* out of steps: the live ones end here, unfinished */
            for (int i = 0; i < n; i++)
                if (fin_add(&fin, hist + (int64_t)i * L, t + 1, 0, cum[i], o->alpha, err) != 0) {
                    rc = -1;
                    goto out;
                }
            break;
        }
        if (fin.n == K) {
            double best = cum[0]; /* live rows are in rank order */
            double bound =
                best <= 0 ? best / ak_length_penalty(L, o->alpha) : best / ak_length_penalty(t + 2, o->alpha);
            if (bound <= fin.v[fin.n - 1].score)
                break;
        }
        if (s->select(s->user, idx, n, err) != 0) {
            rc = -1;
            goto out;
        }
    }
    if (fin.n == 0) {
        rc = ak_errorf(err, "beam: no hypothesis with a finite probability (NaN logits?)");
        goto out;
    }
    for (int i = nbest < fin.n ? nbest : fin.n; i < fin.n; i++)
        ak_hyp_free(&fin.v[i]);
    out->n = nbest < fin.n ? nbest : fin.n;
    out->v = fin.v;
    fin.v = NULL;
out:
    if (fin.v) {
        for (int i = 0; i < fin.n; i++)
            ak_hyp_free(&fin.v[i]);
        free(fin.v);
    }
    free(logp);
    free(hist);
    free(nhist);
    free(cum);
    free(ncum);
    free(prev);
    free(idx);
    free(heap);
    return rc;
}

/* ---------------------------------------------------------- model adapter */

static int model_step(void *user, const int32_t *prev, int64_t n, double *logp, ak_err *err)
{
    ak_model_stepper *ms = user;
    ak_tensor *logits = ak_model_decode_step(ms->ctx, ms->model, ms->state, prev);
    if (!logits || ak_ctx_failed(ms->ctx))
        return ak_errorf(err, "%s", ms->ctx->err.msg);
    int64_t V = ak_model_get_desc(ms->model)->tgt_vocab;
    if (ak_rows(logits) != n || ak_dim(logits, -1) != V)
        return ak_errorf(err, "decode: step returned %lld rows of %lld, expected %lld of %lld",
                         (long long)ak_rows(logits), (long long)ak_dim(logits, -1), (long long)n, (long long)V);
    ak_log_softmax_rows(logits->data, n, V, logp);
    return 0;
}

static int model_select(void *user, const int32_t *idx, int64_t n, ak_err *err)
{
    ak_model_stepper *ms = user;
    if (ak_decode_state_select(ms->ctx, ms->state, idx, n) != 0 || ak_ctx_failed(ms->ctx))
        return ak_errorf(err, "%s", ms->ctx->failed ? ms->ctx->err.msg : "decode: reordering the beam failed");
    return 0;
}

int ak_model_stepper_begin(ak_model_stepper *ms, ak_ctx *ctx, ak_model *m, const int32_t *src, int64_t B, int64_t Ls,
                           int64_t max_steps, ak_stepper *s, ak_err *err)
{
    ak_set_grad_enabled(ctx, 0);
    ctx->training = 0;
    ms->ctx = ctx;
    ms->model = m;
    ms->state = ak_model_begin_decode(ctx, m, src, B, Ls, max_steps, NULL);
    if (!ms->state || ak_ctx_failed(ctx))
        return ak_errorf(err, "%s", ctx->failed ? ctx->err.msg : "decode: could not start");
    s->user = ms;
    s->vocab = ak_model_get_desc(m)->tgt_vocab;
    s->step = model_step;
    s->select = model_select;
    return 0;
}

int ak_decode_beam(ak_ctx *ctx, ak_model *m, const int32_t *src, int64_t Ls, const ak_beam_opts *o, ak_hyps *out,
                   ak_err *err)
{
    ak_model_stepper ms;
    ak_stepper s;
    out->v = NULL;
    out->n = 0;
    if (ak_model_stepper_begin(&ms, ctx, m, src, 1, Ls, o->max_len, &s, err) != 0)
        return -1;
    return ak_beam_run(&s, o, out, err);
}
