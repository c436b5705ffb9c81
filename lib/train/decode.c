/* Greedy decoding (decode.h). */
#include "train/decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

/* Rows whose state is kept after they ended, at most: finished rows are
 * dropped from the model's state once they are this share of it, so layers
 * and generator work on live rows only, while the copies that dropping costs
 * stay few (each drop moves the live rows' caches). */
#define DEAD_SHARE_NUM 1
#define DEAD_SHARE_DEN 4

/* PAD and BOS are never outputs (the twin may emit them from an untrained
 * model; a trained one gives them no mass anyway). */
static void mask_specials(ak_tensor *logits)
{
    int64_t V = ak_dim(logits, -1), rows = ak_rows(logits);
    for (int64_t r = 0; r < rows; r++)
        logits->data[r * V + AK_PAD] = logits->data[r * V + AK_BOS] = -INFINITY;
}

/* One batch. The decoding state (encoder memory, caches) lives in ctx; each
 * step's tensors go to `step`, which is reset after the step when it is not
 * ctx. State row i is batch row row[i]. */
static int greedy_run(ak_ctx *ctx, ak_ctx *step, ak_model *m, const int32_t *src, int64_t B, int64_t Ls,
                      int64_t max_len, int32_t *out, int32_t *len, ak_attn_capture *cap, ak_err *err)
{
    int32_t *prev = ak_arena_alloc(&ctx->arena, sizeof *prev * (size_t)B * 4);
    ak_decode_state *s = prev ? ak_model_begin_decode(ctx, m, src, B, Ls, max_len, cap) : NULL;
    if (!s)
        return prev ? ak_errorf(err, "%s", ctx->err.msg) : ak_errorf(err, "decode: out of memory");
    int32_t *next = prev + B, *row = next + B, *keep = row + B;
    for (int64_t b = 0; b < B; b++) {
        prev[b] = AK_BOS;
        row[b] = (int32_t)b;
        len[b] = -1; /* -1: still running */
    }
    int64_t n = B, live = B; /* rows in the state, rows still running */
    for (int64_t t = 0; t < max_len && live > 0; t++) {
        ak_tensor *logits = ak_model_decode_step(step, m, s, prev);
        if (!logits || ak_ctx_failed(step))
            return ak_errorf(err, "%s", step->err.msg);
        mask_specials(logits);
        ak_argmax(logits, next);
        if (step != ctx)
            ak_ctx_end_step(step);
        for (int64_t i = 0; i < n; i++) {
            int32_t b = row[i];
            if (len[b] >= 0) {
                prev[i] = AK_PAD;
            } else if (next[i] == AK_EOS) {
                len[b] = (int32_t)t;
                live--;
                prev[i] = AK_PAD;
            } else {
                out[b * max_len + t] = next[i];
                prev[i] = next[i];
            }
        }
        /* A capture keeps all B rows in every map: no dropping then. */
        if (!cap && live > 0 && (n - live) * DEAD_SHARE_DEN >= n * DEAD_SHARE_NUM) {
            int64_t k = 0;
            for (int64_t i = 0; i < n; i++)
                if (len[row[i]] < 0) {
                    keep[k] = (int32_t)i;
                    row[k] = row[i];
                    prev[k] = prev[i];
                    k++;
                }
            if (ak_decode_state_select(ctx, s, keep, k) != 0 || ak_ctx_failed(ctx))
                return ak_errorf(err, "%s", ctx->err.msg);
            n = k;
        }
    }
    for (int64_t b = 0; b < B; b++)
        if (len[b] < 0)
            len[b] = (int32_t)max_len;
    return 0;
}

/* The Transformer's decoding step writes its caches in place and keeps none
 * of the step's tensors (nn/transformer.c), so its steps can run on a scratch
 * context reset after each step: the arena then holds one step's
 * activations, not max_len of them. The RNN's state is its step's output, so
 * its steps stay in ctx. */
static int steps_apart(const ak_model *m)
{
    return ak_model_get_desc(m)->kind == AK_MODEL_TRANSFORMER;
}

static void scratch_init(ak_ctx *step, const ak_ctx *ctx)
{
    ak_ctx_init(step, 0, ctx->seed);
    ak_set_grad_enabled(step, 0);
    step->training = 0;
}

static int greedy_batch(ak_ctx *ctx, ak_ctx *step, ak_model *m, const int32_t *src, int64_t B, int64_t Ls,
                        int64_t max_len, int32_t *out, int32_t *len, ak_attn_capture *cap, ak_err *err)
{
    if (B < 1 || max_len < 1)
        return ak_errorf(err, "decode: expected at least one row and one step, got %lld and %lld", (long long)B,
                         (long long)max_len);
    int grad = ak_set_grad_enabled(ctx, 0), training = ctx->training;
    ctx->training = 0;
    int rc = greedy_run(ctx, step ? step : ctx, m, src, B, Ls, max_len, out, len, cap, err);
    if (rc)
        for (int64_t b = 0; b < B; b++)
            len[b] = 0;
    if (step)
        ak_ctx_end_step(step);
    ak_ctx_end_step(ctx);
    ctx->training = training;
    ak_set_grad_enabled(ctx, grad);
    return rc;
}

int ak_greedy_batch(ak_ctx *ctx, ak_model *m, const int32_t *src, int64_t B, int64_t Ls, int64_t max_len, int32_t *out,
                    int32_t *len, ak_attn_capture *cap, ak_err *err)
{
    ak_ctx step;
    if (!steps_apart(m))
        return greedy_batch(ctx, NULL, m, src, B, Ls, max_len, out, len, cap, err);
    scratch_init(&step, ctx);
    int rc = greedy_batch(ctx, &step, m, src, B, Ls, max_len, out, len, cap, err);
    ak_ctx_free(&step);
    return rc;
}

/* Stable counting sort of 0..n-1 by source length (an empty source counts
 * as 1, the [UNK] it is decoded as). */
static int sort_by_len(const int32_t *src_len, size_t n, int64_t longest, size_t *order)
{
    size_t *start = calloc((size_t)longest + 2, sizeof *start);
    if (!start)
        return -1;
    for (size_t i = 0; i < n; i++)
        start[(src_len[i] ? src_len[i] : 1) + 1]++;
    for (int64_t l = 1; l <= longest + 1; l++)
        start[l] += start[l - 1];
    for (size_t i = 0; i < n; i++)
        order[start[src_len[i] ? src_len[i] : 1]++] = i;
    free(start);
    return 0;
}

int ak_greedy_decode(ak_ctx *ctx, ak_model *m, const int32_t *const *src, const int32_t *src_len, size_t n,
                     int64_t max_len, int64_t batch, ak_ids *hyps, const volatile sig_atomic_t *cancel, ak_err *err)
{
    if (n == 0)
        return 0;
    if (batch < 1)
        batch = 1;
    size_t *order = malloc(sizeof *order * n);
    int64_t longest = 1;
    for (size_t i = 0; i < n; i++)
        if (src_len[i] > longest)
            longest = src_len[i];
    int32_t *mat = malloc(sizeof *mat * (size_t)batch * (size_t)longest);
    int32_t *out = malloc(sizeof *out * (size_t)batch * (size_t)max_len);
    int32_t *len = malloc(sizeof *len * (size_t)batch);
    int rc = (!order || !mat || !out || !len) ? ak_errorf(err, "decode: out of memory") : 0;
    if (!rc) {
        if (sort_by_len(src_len, n, longest, order) != 0)
            rc = ak_errorf(err, "decode: out of memory");
    }
    ak_ctx step;
    int apart = steps_apart(m);
    if (apart)
        scratch_init(&step, ctx);
    /* Longest sources first: the arena reaches its largest size at the first
     * batch and never grows again (growing merges its blocks into a new one,
     * whose pages are all faulted in anew). */
    for (size_t k = (n - 1) / (size_t)batch * (size_t)batch; !rc; k -= (size_t)batch) {
        if (cancel && *cancel) {
            rc = 1;
            break;
        }
        size_t B = n - k < (size_t)batch ? n - k : (size_t)batch;
        int64_t Ls = 1;
        for (size_t r = 0; r < B; r++)
            if (src_len[order[k + r]] > Ls)
                Ls = src_len[order[k + r]];
        for (size_t r = 0; r < B; r++) {
            size_t i = order[k + r];
            int32_t l = src_len[i];
            int32_t *row = mat + r * (size_t)Ls;
            if (l == 0) {
                row[0] = AK_UNK;
                l = 1;
            } else {
                memcpy(row, src[i], sizeof *row * (size_t)l);
            }
            for (int64_t c = l; c < Ls; c++)
                row[c] = AK_PAD;
        }
        rc = greedy_batch(ctx, apart ? &step : NULL, m, mat, (int64_t)B, Ls, max_len, out, len, NULL, err);
        for (size_t r = 0; !rc && r < B; r++) {
            ak_ids *h = &hyps[order[k + r]];
            h->n = 0;
            for (int32_t t = 0; !rc && t < len[r]; t++)
                rc = ak_ids_push(h, out[r * (size_t)max_len + (size_t)t], err);
        }
        if (k == 0)
            break;
    }
    if (apart)
        ak_ctx_free(&step);
    free(order);
    free(mat);
    free(out);
    free(len);
    return rc;
}
