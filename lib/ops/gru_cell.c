/* The GRU cell op (ops/gru_cell.h): forward and backward, one batch row at
 * a time. Rows are independent, so any split over threads gives the same
 * bits. The row loops are compiled for AVX-512 and the default and picked
 * at load time; -std=c11 turns floating-point contraction off, so both
 * clones do the same roundings. */
#include "ops/gru_cell.h"

#include "core/threads.h"
#include "ops/vexp.h"

#include <math.h>

#define AK_GRU_VCLONE __attribute__((target_clones("avx512f", "default")))

/* One row of the forward pass. gi, gh: [3H] (r | z | n); gx: [3H] added to
 * gi first, or NULL; h, out: [H]; rzn: [3H], receives r, z, n (and serves as
 * the scratch for gi + gx: each element is read before it is overwritten).
 * m: the row's mask value, or < 0 for none. */
AK_GRU_VCLONE static void row_forward(const float *gi, const float *restrict gx, const float *restrict gh,
                                      const float *restrict h, float m, int64_t H, float *rzn, float *restrict out)
{
    float *r = rzn, *z = rzn + H, *n = rzn + 2 * H;
    const float *x = gi;
    if (gx) { /* the composition's ak_add of the two projections */
#pragma omp simd
        for (int64_t j = 0; j < 3 * H; j++)
            rzn[j] = gi[j] + gx[j];
        x = rzn;
    }
    /* r and z as ak_add then ak_sigmoid (libm expf: a scalar call). */
    for (int64_t j = 0; j < 2 * H; j++)
        rzn[j] = 1.0f / (1.0f + expf(-(x[j] + gh[j])));
#pragma omp simd
    for (int64_t j = 0; j < H; j++)
        n[j] = ak_vtanhf(x[2 * H + j] + r[j] * gh[2 * H + j]);
    if (m < 0.0f) {
#pragma omp simd
        for (int64_t j = 0; j < H; j++)
            out[j] = n[j] + z[j] * (h[j] - n[j]);
    } else {
        /* The mask blend h' m + h (1 - m) as the composition wrote it: with
         * m 0 or 1 one term is exactly 0, the other exact. */
        float keep = 1.0f - m;
#pragma omp simd
        for (int64_t j = 0; j < H; j++)
            out[j] = (n[j] + z[j] * (h[j] - n[j])) * m + h[j] * keep;
    }
}

/* One row of the backward pass; the forward formulas, differentiated:
 *   o   = h' m + h (1 - m)        dh' = do m,  dh += do (1 - m)
 *   h'  = n + z (h - n)           dz = dh' (h - n),  dh += dh' z,  dn = dh' - dh' z
 *   n   = tanh(a_n)               da_n = dn (1 - n^2)
 *   a_n = gi_n + r gh_n           dgi_n += da_n,  dgh_n += da_n r,  dr = da_n gh_n
 *   r, z = s(a_r), s(a_z)         da = d(r|z) s (1 - s)
 *   a_r|z = gi_r|z + gh_r|z       dgi_r|z += da,  dgh_r|z += da
 * dgi, dgx, dgh, dh: where the row's gradients are added (gx's are gi's).
 * Targets that need no gradient point at one scratch row, hence no
 * `restrict` on them (omp simd vectorizes regardless). */
AK_GRU_VCLONE static void row_backward(const float *restrict go, const float *restrict gh, const float *restrict h,
                                       const float *restrict rzn, float m, int64_t H, float *dgi, float *dgx,
                                       float *dgh, float *dh)
{
    const float *r = rzn, *z = rzn + H, *n = rzn + 2 * H;
    float on = m < 0.0f ? 1.0f : m, keep = 1.0f - on;
    int masked = m >= 0.0f;
#pragma omp simd
    for (int64_t j = 0; j < H; j++) {
        float dhn = masked ? go[j] * on : go[j];
        float dd = dhn * z[j];
        float dz = dhn * (h[j] - n[j]);
        float dn = dhn - dd;
        float dan = dn * (1.0f - n[j] * n[j]);
        float dr = dan * gh[2 * H + j];
        float daz = dz * (z[j] * (1.0f - z[j]));
        float dar = dr * (r[j] * (1.0f - r[j]));
        dh[j] += masked ? go[j] * keep + dd : dd;
        dgi[j] += dar;
        dgi[H + j] += daz;
        dgi[2 * H + j] += dan;
        dgx[j] += dar;
        dgx[H + j] += daz;
        dgx[2 * H + j] += dan;
        dgh[j] += dar;
        dgh[H + j] += daz;
        dgh[2 * H + j] += dan * r[j];
    }
}

typedef struct gru_saved {
    float *rzn;   /* [B, 3H] */
    int64_t t;    /* step of a [B, L, 3H] gi */
    int has_mask; /* inputs: gi, gh, h, then mask and gx when given */
    int has_gx;
} gru_saved;

static void gru_cell_backward(ak_ctx *ctx, ak_node *n)
{
    const gru_saved *sv = n->saved;
    ak_tensor *gi = n->in[0], *gh = n->in[1], *h = n->in[2];
    ak_tensor *mask = sv->has_mask ? n->in[3] : NULL, *gx = sv->has_gx ? ak_node_in(n, 3 + sv->has_mask) : NULL;
    int64_t B = h->shape[0], H = h->shape[1], L = gi->ndim == 3 ? gi->shape[1] : 1, G = 3 * H;
    float *dgi = ak_grad(ctx, gi), *dgh = ak_grad(ctx, gh), *dh = ak_grad(ctx, h);
    float *dgx = gx ? ak_grad(ctx, gx) : NULL;
    /* Inputs that need no gradient (the zero initial state), or a gx that
     * is not there, get their share written to a scratch row instead: the
     * row loop stays branch-free. */
    int need = !dgi || !dgh || !dh || !dgx;
    size_t bytes = sizeof(float) * (size_t)(B * G);
    float *scratch = need ? ak_arena_alloc_recycled(&ctx->arena, bytes) : NULL;
    if (need && !scratch) {
        ak_ctx_fail(ctx, "gru_cell: out of memory for a gradient scratch of %lld x %lld", (long long)B, (long long)G);
        return;
    }
    const float *go = n->out->grad;
#pragma omp parallel for schedule(static) if (B * G >= AK_PAR_MIN)
    for (int64_t b = 0; b < B; b++) {
        float *s = scratch ? scratch + b * G : NULL;
        row_backward(go + b * H, gh->data + b * G, h->data + b * H, sv->rzn + b * G, mask ? mask->data[b] : -1.0f, H,
                     dgi ? dgi + (b * L + sv->t) * G : s, dgx ? dgx + b * G : s, dgh ? dgh + b * G : s,
                     dh ? dh + b * H : s);
    }
    if (scratch)
        ak_arena_release(&ctx->arena, scratch, bytes);
}

ak_tensor *ak_gru_cell(ak_ctx *ctx, ak_tensor *gi, int64_t t, ak_tensor *gx, ak_tensor *gh, ak_tensor *h,
                       ak_tensor *mask)
{
    if (!gi || !gh || !h)
        return NULL;
    int64_t B = h->shape[0], H = h->ndim == 2 ? h->shape[1] : 0, G = 3 * H;
    int64_t L = gi->ndim == 3 ? gi->shape[1] : 1;
    int ok = h->ndim == 2 && H > 0 && (gi->ndim == 2 || gi->ndim == 3) && gi->shape[0] == B &&
             gi->shape[gi->ndim - 1] == G && gh->ndim == 2 && gh->shape[0] == B && gh->shape[1] == G &&
             (!gx || (gx->ndim == 2 && gx->shape[0] == B && gx->shape[1] == G)) &&
             (!mask || (mask->ndim == 2 && mask->shape[0] == B && mask->shape[1] == 1));
    if (!ok || t < 0 || t >= L) {
        char s1[64], s2[64], s3[64], s4[64] = "none", s5[64] = "none";
        if (gx)
            ak_shape_str(gx, s4, sizeof s4);
        if (mask)
            ak_shape_str(mask, s5, sizeof s5);
        return ak_ctx_fail(ctx,
                           "gru_cell: expected gi [B, 3H] or [B, L, 3H] with step t in [0, L), gx [B, 3H] or none, "
                           "gh [B, 3H], h [B, H] and mask [B, 1] or none, got gi %s (t %lld), gx %s, gh %s, h %s, "
                           "mask %s",
                           ak_shape_str(gi, s1, sizeof s1), (long long)t, s4, ak_shape_str(gh, s2, sizeof s2),
                           ak_shape_str(h, s3, sizeof s3), s5);
    }
    /* r, z, n are kept for backward when there will be one, else they are
     * a scratch handed back at once (decoding step after step). */
    int keep =
        ctx->grad_enabled && (gi->requires_grad || gh->requires_grad || h->requires_grad || (gx && gx->requires_grad));
    size_t bytes = sizeof(float) * (size_t)(B * G);
    ak_tensor *out = ak_tensor_new(ctx, 2, ak_shape(B, H));
    gru_saved *sv = keep ? ak_arena_alloc(&ctx->arena, sizeof *sv) : NULL;
    float *rzn = keep ? ak_arena_alloc(&ctx->arena, bytes) : ak_arena_alloc_recycled(&ctx->arena, bytes);
    if (!out || (keep && !sv) || !rzn)
        return ak_ctx_fail(ctx, "gru_cell: out of memory");
#pragma omp parallel for schedule(static) if (B * G >= AK_PAR_MIN)
    for (int64_t b = 0; b < B; b++)
        row_forward(gi->data + (b * L + t) * G, gx ? gx->data + b * G : NULL, gh->data + b * G, h->data + b * H,
                    mask ? mask->data[b] : -1.0f, H, rzn + b * G, out->data + b * H);
    if (!keep) {
        ak_arena_release(&ctx->arena, rzn, bytes);
        return out;
    }
    ak_tensor *in[5] = {gi, gh, h, mask, gx};
    int n_in = 3;
    if (mask)
        in[n_in++] = mask;
    if (gx)
        in[n_in++] = gx;
    ak_node *node = ak_tape_record(ctx, out, "gru_cell", gru_cell_backward, n_in, in);
    if (!node)
        return NULL; /* the tape failed the context */
    *sv = (gru_saved){.rzn = rzn, .t = t, .has_mask = mask != NULL, .has_gx = gx != NULL};
    node->saved = sv;
    node->reads = AK_READS_IN(1) | AK_READS_IN(2) | (mask ? AK_READS_IN(3) : 0u);
    return out;
}
