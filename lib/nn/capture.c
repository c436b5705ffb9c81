#include "nn/capture.h"

#include <stdlib.h>
#include <string.h>

static const char *const ROLE_NAMES[] = {"enc-self", "dec-self", "cross"};

const char *ak_attn_role_name(ak_attn_role r) { return r <= AK_ROLE_CROSS ? ROLE_NAMES[r] : "?"; }

int ak_attn_role_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, ROLE_NAMES[i]) == 0)
            return i;
    return -1;
}

void ak_capture_init(ak_attn_capture *c) { memset(c, 0, sizeof *c); }

void ak_capture_clear(ak_attn_capture *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->maps[i].w);
    c->n = 0;
    c->failed = 0;
}

void ak_capture_free(ak_attn_capture *c)
{
    ak_capture_clear(c);
    free(c->maps);
    memset(c, 0, sizeof *c);
}

const ak_attn_map *ak_capture_find(const ak_attn_capture *c, ak_attn_role role, int layer)
{
    for (int i = 0; i < c->n; i++)
        if (c->maps[i].role == role && c->maps[i].layer == layer)
            return &c->maps[i];
    return NULL;
}

/* Grows a map to at least lq rows per (batch, head) and lk columns, keeping
 * the rows (zero-padded on the right). Columns grow when a decoder's
 * self-attention is captured one step at a time: step t sees t + 1 keys. */
static int reserve(ak_attn_map *m, int64_t lq, int64_t lk)
{
    if (lq <= m->cap_lq && lk <= m->lk)
        return 0;
    int64_t cap = m->cap_lq ? m->cap_lq : 8;
    while (cap < lq)
        cap *= 2;
    int64_t nk = lk > m->lk ? lk : m->lk;
    float *w = calloc((size_t)(m->batch * m->heads * cap * nk), sizeof(float));
    if (!w)
        return -1;
    for (int64_t bh = 0; bh < m->batch * m->heads && m->w; bh++)
        for (int64_t q = 0; q < m->lq; q++)
            memcpy(w + (bh * cap + q) * nk, m->w + (bh * m->cap_lq + q) * m->lk, sizeof(float) * (size_t)m->lk);
    free(m->w);
    m->w = w;
    m->cap_lq = cap;
    m->lk = nk;
    return 0;
}

void ak_capture_add(ak_attn_capture *c, ak_attn_role role, int layer, const ak_tensor *w)
{
    if (!c || !w || c->failed)
        return;
    int four = w->ndim == 4;
    int64_t B = w->shape[0], H = four ? w->shape[1] : 1;
    int64_t lq = ak_dim(w, -2), lk = ak_dim(w, -1);
    ak_attn_map *m = (ak_attn_map *)ak_capture_find(c, role, layer);
    if (!m) {
        if (c->n == c->cap) {
            int cap = c->cap ? 2 * c->cap : 8;
            ak_attn_map *maps = realloc(c->maps, sizeof *maps * (size_t)cap);
            if (!maps) {
                c->failed = 1;
                return;
            }
            c->maps = maps;
            c->cap = cap;
        }
        m = &c->maps[c->n++];
        memset(m, 0, sizeof *m);
        m->role = role;
        m->layer = layer;
        m->heads = (int)H;
        m->batch = B;
        m->lk = lk;
    }
    if (m->batch != B || m->heads != H || (lk < m->lk && role != AK_ROLE_DEC_SELF) ||
        reserve(m, m->lq + lq, lk) != 0) {
        c->failed = 1;
        return;
    }
    for (int64_t bh = 0; bh < B * H; bh++)
        for (int64_t q = 0; q < lq; q++)
            memcpy(m->w + (bh * m->cap_lq + m->lq + q) * m->lk, w->data + (bh * lq + q) * lk,
                   sizeof(float) * (size_t)lk);
    m->lq += lq;
}
