/* Attention capture: the weights every attention module computed, tagged by
 * where they came from, for training's attention files and for inference.
 *
 * Capture is opt-in per forward pass: modules receive an ak_attn_capture
 * pointer that is NULL when nobody listens, and then do nothing extra. When
 * it is set, each attention call copies its probabilities (which the softmax
 * keeps anyway for backward) out of the arena into a map owned by the
 * capture. Calls with the same (kind, layer) append query rows to the same
 * map, which is how step-by-step decoding builds a whole map. */
#ifndef AK_NN_CAPTURE_H
#define AK_NN_CAPTURE_H

#include "core/error.h"
#include "core/tensor.h"

typedef enum ak_attn_role {
    AK_ROLE_ENC_SELF,
    AK_ROLE_DEC_SELF,
    AK_ROLE_CROSS,
} ak_attn_role;

/* "enc-self", "dec-self", "cross" */
const char *ak_attn_role_name(ak_attn_role r);
/* Parses the names above; -1 when unknown. */
int ak_attn_role_parse(const char *s);

typedef struct ak_attn_map {
    ak_attn_role role;
    int layer, heads;
    int64_t batch, lq, lk;   /* w is [batch, heads, lq, lk] */
    float *w;                /* owned */
    int64_t cap_lq;          /* rows allocated per (batch, head) */
} ak_attn_map;

typedef struct ak_attn_capture {
    ak_attn_map *maps;       /* owned, in order of first appearance */
    int n, cap;
    int failed;              /* out of memory or a shape clash: maps incomplete */
} ak_attn_capture;

void ak_capture_init(ak_attn_capture *c);
/* Drops all maps (keeps nothing). */
void ak_capture_clear(ak_attn_capture *c);
void ak_capture_free(ak_attn_capture *c);

/* Appends probabilities w ([B, H, Lq, Lk], or [B, Lq, Lk] for one head) to
 * the map of (role, layer), creating it on first use. A later call for the
 * same map must agree in B, H and Lk; otherwise c->failed is set. */
void ak_capture_add(ak_attn_capture *c, ak_attn_role role, int layer, const ak_tensor *w);

/* The map of (role, layer), or NULL. */
const ak_attn_map *ak_capture_find(const ak_attn_capture *c, ak_attn_role role, int layer);

/* Pointer to row q of (batch b, head h) of a map. */
static inline const float *ak_attn_map_row(const ak_attn_map *m, int64_t b, int h, int64_t q)
{
    return m->w + ((b * m->heads + h) * m->cap_lq + q) * m->lk;
}

#endif
