/* Greedy decoding (decode.h). */
#include "train/decode.h"

#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

int ak_greedy_batch(ak_ctx *ctx, ak_model *m, const int32_t *src, int64_t B, int64_t Ls, int64_t max_len,
                    int32_t *out, int32_t *len, ak_attn_capture *cap, ak_err *err)
{
    if (B < 1 || max_len < 1)
        return ak_errorf(err, "decode: expected at least one row and one step, got %lld and %lld", (long long)B,
                         (long long)max_len);
    int grad = ak_set_grad_enabled(ctx, 0), training = ctx->training;
    ctx->training = 0;
    int rc = 0;
    int32_t *prev = ak_arena_alloc(&ctx->arena, sizeof *prev * (size_t)B * 2);
    ak_decode_state *s = prev ? ak_model_begin_decode(ctx, m, src, B, Ls, max_len, cap) : NULL;
    if (!s)
        rc = prev ? ak_errorf(err, "%s", ctx->err.msg) : ak_errorf(err, "decode: out of memory");
    int32_t *next = prev ? prev + B : NULL;
    int64_t live = B;
    for (int64_t b = 0; b < B; b++) {
        if (prev)
            prev[b] = AK_BOS;
        len[b] = -1; /* -1: still running */
    }
    for (int64_t t = 0; !rc && t < max_len && live > 0; t++) {
        ak_tensor *logits = ak_model_decode_step(ctx, m, s, prev);
        if (!logits || ak_ctx_failed(ctx)) {
            rc = ak_errorf(err, "%s", ctx->err.msg);
            break;
        }
        ak_argmax(logits, next);
        for (int64_t b = 0; b < B; b++) {
            if (len[b] >= 0) {
                prev[b] = AK_PAD;
                continue;
            }
            if (next[b] == AK_EOS) {
                len[b] = (int32_t)t;
                live--;
                prev[b] = AK_PAD;
            } else {
                out[b * max_len + t] = next[b];
                prev[b] = next[b];
            }
        }
    }
    for (int64_t b = 0; b < B; b++)
        if (len[b] < 0)
            len[b] = rc ? 0 : (int32_t)max_len;
    ak_ctx_end_step(ctx);
    ctx->training = training;
    ak_set_grad_enabled(ctx, grad);
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
                     int64_t max_len, int64_t batch, ak_ids *hyps, const volatile sig_atomic_t *cancel,
                     ak_err *err)
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
    for (size_t k = 0; !rc && k < n; k += (size_t)batch) {
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
        rc = ak_greedy_batch(ctx, m, mat, (int64_t)B, Ls, max_len, out, len, NULL, err);
        for (size_t r = 0; !rc && r < B; r++) {
            ak_ids *h = &hyps[order[k + r]];
            h->n = 0;
            for (int32_t t = 0; !rc && t < len[r]; t++)
                rc = ak_ids_push(h, out[r * (size_t)max_len + (size_t)t], err);
        }
    }
    free(order);
    free(mat);
    free(out);
    free(len);
    return rc;
}
