/* Embedding lookup: rows of w [V, D] gathered by integer ids.
 *
 * The ids are validated (each in [0, V)) and, when a tape node is recorded,
 * copied into the arena so the caller's buffer may be reused at once.
 *
 * Backward scatter-adds each token's gradient row into its id's row of dw.
 * Determinism: every row of dw is owned by one piece of work, which adds the
 * tokens with that id in token order. The tokens are grouped by id with a
 * stable counting sort, so dw[v] += dy[t1]; dw[v] += dy[t2]; ... for
 * t1 < t2 < ..., exactly the serial order, for any thread count and any
 * schedule. */
#include "ops/ops.h"

#include "core/threads.h"

#include <stdio.h>
#include <string.h>

typedef struct emb_saved {
    int32_t *ids;
    int64_t n; /* tokens */
} emb_saved;

/* y[t] = w[ids[t]]:  dw[v] += sum over t with ids[t] == v of dy[t] (t ascending). */
static void embedding_backward(ak_ctx *ctx, ak_node *n)
{
    ak_tensor *w = n->in[0];
    float *gw = ak_grad(ctx, w);
    if (!gw)
        return;
    const emb_saved *sv = n->saved;
    const float *dy = n->out->grad;
    int64_t V = w->shape[0], D = w->shape[1], nt = sv->n;
    if (nt == 0 || D == 0)
        return;
    /* start[v]..start[v+1]: positions in `order` of the tokens with id v. */
    int64_t *start = ak_arena_calloc(&ctx->arena, sizeof(int64_t) * (size_t)(V + 1));
    int64_t *order = ak_arena_alloc(&ctx->arena, sizeof(int64_t) * (size_t)nt);
    int32_t *used = ak_arena_alloc(&ctx->arena, sizeof(int32_t) * (size_t)(nt < V ? nt : V));
    int64_t *fill = ak_arena_alloc(&ctx->arena, sizeof(int64_t) * (size_t)V);
    if (!start || !order || !used || !fill) {
        ak_ctx_fail(ctx, "embedding: out of memory in backward for %lld tokens, V = %lld", (long long)nt,
                    (long long)V);
        return;
    }
    for (int64_t t = 0; t < nt; t++)
        start[sv->ids[t] + 1]++;
    int64_t nused = 0;
    for (int64_t v = 0; v < V; v++) {
        if (start[v + 1])
            used[nused++] = (int32_t)v;
        start[v + 1] += start[v];
    }
    memcpy(fill, start, sizeof(int64_t) * (size_t)V);
    for (int64_t t = 0; t < nt; t++)
        order[fill[sv->ids[t]]++] = t;
#pragma omp parallel for schedule(dynamic, 8) if (nt * D >= AK_PAR_MIN)
    for (int64_t u = 0; u < nused; u++) {
        int64_t v = used[u];
        float *row = gw + v * D;
        for (int64_t k = start[v]; k < start[v + 1]; k++) {
            const float *g = dy + order[k] * D;
            for (int64_t j = 0; j < D; j++)
                row[j] += g[j];
        }
    }
}

/* Writes "[i, j, k]" for flat position `pos` of an ids array of this shape. */
static void position_str(int64_t pos, int nd, const int64_t *shape, char *buf, size_t n)
{
    int64_t idx[3] = {0, 0, 0};
    for (int i = nd - 1; i >= 0; i--) {
        idx[i] = shape[i] ? pos % shape[i] : 0;
        pos = shape[i] ? pos / shape[i] : 0;
    }
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < nd && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)idx[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

ak_tensor *ak_embedding(ak_ctx *ctx, ak_tensor *w, const int32_t *ids, int ids_ndim, const int64_t *ids_shape)
{
    if (!w)
        return NULL;
    char sw[64];
    if (w->ndim != 2)
        return ak_ctx_fail(ctx, "embedding: expected a weight [V, D], got shape %s", ak_shape_str(w, sw, sizeof sw));
    if (ids_ndim < 0 || ids_ndim > 3)
        return ak_ctx_fail(ctx, "embedding: expected ids with 0 to 3 dimensions, got %d", ids_ndim);
    int64_t shape[AK_MAX_DIMS];
    for (int i = 0; i < ids_ndim; i++)
        shape[i] = ids_shape[i];
    shape[ids_ndim] = w->shape[1];
    ak_tensor idt = {0};
    if (ak_tensor_set_shape(&idt, ids_ndim, ids_shape) != 0)
        return ak_ctx_fail(ctx, "embedding: invalid ids shape");
    int64_t nt = idt.size, V = w->shape[0], D = w->shape[1];
    if (nt > 0 && !ids)
        return ak_ctx_fail(ctx, "embedding: ids is NULL for %lld tokens", (long long)nt);
    for (int64_t t = 0; t < nt; t++) {
        if (ids[t] < 0 || ids[t] >= V) {
            char pos[64], si[64];
            position_str(t, ids_ndim, ids_shape, pos, sizeof pos);
            return ak_ctx_fail(ctx, "embedding: id %d at position %s of ids %s is outside [0, %lld) for weight %s",
                               (int)ids[t], pos, ak_shape_str(&idt, si, sizeof si), (long long)V,
                               ak_shape_str(w, sw, sizeof sw));
        }
    }
    ak_tensor *y = ak_tensor_new(ctx, ids_ndim + 1, shape);
    if (!y)
        return NULL;
#pragma omp parallel for schedule(static) if (nt * D >= AK_PAR_MIN)
    for (int64_t t = 0; t < nt; t++)
        memcpy(y->data + t * D, w->data + (int64_t)ids[t] * D, sizeof(float) * (size_t)D);
    ak_node *node = ak_tape_record(ctx, y, "embedding", embedding_backward, 1, &w);
    if (node) {
        emb_saved *sv = ak_arena_alloc(&ctx->arena, sizeof *sv);
        int32_t *copy = ak_arena_alloc(&ctx->arena, sizeof(int32_t) * (size_t)(nt ? nt : 1));
        if (!sv || !copy)
            return ak_ctx_fail(ctx, "embedding: out of memory saving %lld ids", (long long)nt);
        if (nt)
            memcpy(copy, ids, sizeof(int32_t) * (size_t)nt);
        sv->ids = copy;
        sv->n = nt;
        node->saved = sv;
        node->reads = AK_READS_NONE; /* the saved ids */
    }
    return y;
}
