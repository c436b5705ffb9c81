#include "io/attnfile.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/container.h"
#include "nn/model.h"
#include "text/utf8.h"

static const char *const MODE_NAMES[AK_ATTN_NMODES] = {"tf", "greedy"};

const char *ak_attn_mode_name(ak_attn_mode m)
{
    return (unsigned)m < AK_ATTN_NMODES ? MODE_NAMES[m] : "?";
}

int ak_attn_mode_parse(const char *s)
{
    for (int i = 0; i < AK_ATTN_NMODES; i++)
        if (strcmp(s, MODE_NAMES[i]) == 0)
            return i;
    return -1;
}

/* ------------------------------------------------------------ summary */

ak_attn_summary ak_attn_summary_from_desc(const struct ak_model_desc *d)
{
    ak_attn_summary s = {{0}, {0}};
    if (d->kind == AK_MODEL_TRANSFORMER) {
        s.layers[AK_ROLE_ENC_SELF] = (int)d->enc_layers;
        s.layers[AK_ROLE_DEC_SELF] = (int)d->dec_layers;
        s.layers[AK_ROLE_CROSS] = (int)d->dec_layers;
        for (int r = 0; r < AK_ATTN_NROLES; r++)
            s.heads[r] = s.layers[r] > 0 ? (int)d->heads : 0;
    } else {
        s.layers[AK_ROLE_CROSS] = 1;
        s.heads[AK_ROLE_CROSS] = d->attention == AK_ATTN_MULTIHEAD ? (int)d->heads : 1;
    }
    return s;
}

int ak_attn_summary_from_capture(const ak_attn_capture *c, ak_attn_summary *s, ak_err *err)
{
    if (c->failed)
        return ak_errorf(err, "attention capture failed (out of memory or a shape clash): maps incomplete");
    memset(s, 0, sizeof *s);
    for (int i = 0; i < c->n; i++) {
        const ak_attn_map *m = &c->maps[i];
        if ((unsigned)m->role >= AK_ATTN_NROLES || m->layer < 0 || m->layer >= AK_ATTN_MAX_LAYERS)
            return ak_errorf(err, "captured map role %d layer %d outside the supported range", (int)m->role, m->layer);
        if (m->layer + 1 > s->layers[m->role])
            s->layers[m->role] = m->layer + 1;
    }
    for (int r = 0; r < AK_ATTN_NROLES; r++)
        for (int l = 0; l < s->layers[r]; l++) {
            const ak_attn_map *m = ak_capture_find(c, (ak_attn_role)r, l);
            if (!m)
                return ak_errorf(err, "capture has %s layer %d but no layer %d", ak_attn_role_name((ak_attn_role)r),
                                 s->layers[r] - 1, l);
            if (l == 0)
                s->heads[r] = m->heads;
            else if (m->heads != s->heads[r])
                return ak_errorf(err, "capture's %s layer %d has %d heads, layer 0 has %d",
                                 ak_attn_role_name((ak_attn_role)r), l, m->heads, s->heads[r]);
        }
    return 0;
}

static int check_summary(const ak_attn_summary *s, ak_err *err)
{
    int total = 0;
    for (int r = 0; r < AK_ATTN_NROLES; r++) {
        const char *name = ak_attn_role_name((ak_attn_role)r);
        if (s->layers[r] < 0 || s->layers[r] > AK_ATTN_MAX_LAYERS)
            return ak_errorf(err, "%s layers %d outside [0, %d]", name, s->layers[r], AK_ATTN_MAX_LAYERS);
        if (s->layers[r] > 0 && (s->heads[r] < 1 || s->heads[r] > AK_ATTN_MAX_HEADS))
            return ak_errorf(err, "%s heads %d outside [1, %d]", name, s->heads[r], AK_ATTN_MAX_HEADS);
        if (s->layers[r] == 0 && s->heads[r] != 0)
            return ak_errorf(err, "%s has %d heads but no layers (expected 0 heads)", name, s->heads[r]);
        total += s->layers[r];
    }
    if (total == 0)
        return ak_errorf(err, "the model summary has no attention layer");
    return 0;
}

/* ------------------------------------------------------------- probes */

int64_t ak_attn_probe_dec_len(const ak_attn_probe *p, ak_attn_mode mode)
{
    return mode == AK_ATTN_TF ? (int64_t)p->ref.n + 1 : (int64_t)p->out.n + (p->out_eos ? 1 : 0);
}

int64_t ak_attn_probe_queries(const ak_attn_probe *p, ak_attn_mode mode, ak_attn_role role)
{
    return role == AK_ROLE_ENC_SELF ? p->src.n : ak_attn_probe_dec_len(p, mode);
}

int64_t ak_attn_probe_keys(const ak_attn_probe *p, ak_attn_mode mode, ak_attn_role role)
{
    return role == AK_ROLE_DEC_SELF ? ak_attn_probe_dec_len(p, mode) : p->src.n;
}

const float *ak_attn_probe_row(const ak_attn_file *f, const ak_attn_probe *p, ak_attn_mode mode, ak_attn_role role,
                               int layer, int head, int64_t q)
{
    if ((unsigned)mode >= AK_ATTN_NMODES || (unsigned)role >= AK_ATTN_NROLES || layer < 0 ||
        layer >= f->model.layers[role] || head < 0 || head >= f->model.heads[role])
        return NULL;
    const float *w = p->map[mode][role][layer];
    int64_t nq = ak_attn_probe_queries(p, mode, role), nk = ak_attn_probe_keys(p, mode, role);
    if (!w || q < 0 || q >= nq)
        return NULL;
    return w + ((int64_t)head * nq + q) * nk;
}

static void tokens_free(ak_attn_tokens *t)
{
    free(t->tok); /* pointers and text are one block */
    t->tok = NULL;
    t->n = 0;
}

static void probe_free(ak_attn_probe *p)
{
    if (!p)
        return;
    tokens_free(&p->src);
    tokens_free(&p->ref);
    tokens_free(&p->out);
    for (int m = 0; m < AK_ATTN_NMODES; m++)
        for (int r = 0; r < AK_ATTN_NROLES; r++)
            for (int l = 0; l < AK_ATTN_MAX_LAYERS; l++)
                free(p->map[m][r][l]);
    free(p);
}

/* Copies n strings (lens[i] bytes each, not NUL-terminated in src) into one
 * block: n pointers, then the NUL-terminated texts. Checks each token. */
static int tokens_make(ak_attn_tokens *t, const char *const *tok, const size_t *lens, int32_t n, const char *what,
                       ak_err *err)
{
    t->tok = NULL;
    t->n = 0;
    if (n < 0 || n > AK_ATTN_MAX_TOKENS)
        return ak_errorf(err, "%s: %d tokens, expected 0..%d", what, n, AK_ATTN_MAX_TOKENS);
    size_t text = 0;
    for (int32_t i = 0; i < n; i++) {
        if (!tok[i] || lens[i] == 0)
            return ak_errorf(err, "%s: token %d is empty", what, i);
        if (memchr(tok[i], '\0', lens[i]))
            return ak_errorf(err, "%s: token %d contains a NUL byte", what, i);
        if (ak_utf8_validate(tok[i], lens[i], NULL, err) != 0)
            return ak_err_prefix(err, "%s: token %d", what, i);
        if (lens[i] > SIZE_MAX / 2 - text)
            return ak_errorf(err, "%s: tokens too long", what);
        text += lens[i] + 1;
    }
    if (n == 0)
        return 0;
    char **block = malloc(sizeof(char *) * (size_t)n + text);
    if (!block)
        return ak_errorf(err, "%s: out of memory for %d tokens", what, n);
    char *s = (char *)(block + n);
    for (int32_t i = 0; i < n; i++) {
        block[i] = s;
        memcpy(s, tok[i], lens[i]);
        s[lens[i]] = '\0';
        s += lens[i] + 1;
    }
    t->tok = block;
    t->n = n;
    return 0;
}

static int tokens_copy(ak_attn_tokens *t, const char *const *tok, int32_t n, const char *what, ak_err *err)
{
    if (n < 0 || n > AK_ATTN_MAX_TOKENS)
        return ak_errorf(err, "%s: %d tokens, expected 0..%d", what, n, AK_ATTN_MAX_TOKENS);
    if (n > 0 && !tok)
        return ak_errorf(err, "%s: %d tokens but no array", what, n);
    size_t *lens = malloc(sizeof *lens * (size_t)(n > 0 ? n : 1));
    if (!lens)
        return ak_errorf(err, "%s: out of memory", what);
    for (int32_t i = 0; i < n; i++)
        lens[i] = tok[i] ? strlen(tok[i]) : 0;
    int rc = tokens_make(t, tok, lens, n, what, err);
    free(lens);
    return rc;
}

void ak_attn_file_free(ak_attn_file *f)
{
    for (size_t i = 0; i < f->n_probes; i++)
        probe_free(f->probes[i]);
    free(f->probes);
    free(f->model_desc);
    memset(f, 0, sizeof *f);
}

int ak_attn_file_init(ak_attn_file *f, uint64_t epoch, const ak_attn_summary *s, const char *model_desc, ak_err *err)
{
    memset(f, 0, sizeof *f);
    if (check_summary(s, err) != 0)
        return ak_err_prefix(err, "attention file");
    if (model_desc) {
        f->model_desc = strdup(model_desc);
        if (!f->model_desc)
            return ak_errorf(err, "attention file: out of memory");
    }
    f->epoch = epoch;
    f->model = *s;
    return 0;
}

static int push_probe(ak_attn_file *f, ak_attn_probe *p, ak_err *err)
{
    if (f->n_probes == f->cap_probes) {
        size_t cap = f->cap_probes ? 2 * f->cap_probes : 8;
        ak_attn_probe **v = realloc(f->probes, sizeof *v * cap);
        if (!v)
            return ak_errorf(err, "attention file: out of memory for probes");
        f->probes = v;
        f->cap_probes = cap;
    }
    f->probes[f->n_probes++] = p;
    return 0;
}

/* Length rules shared by the builder and the reader. */
static int check_lengths(const ak_attn_probe *p, ak_err *err)
{
    if (p->src.n < 1)
        return ak_errorf(err, "no source tokens (at least 1 expected)");
    if (ak_attn_probe_dec_len(p, AK_ATTN_GREEDY) < 1)
        return ak_errorf(err, "greedy output has no decoder position (0 tokens and no EOS)");
    return 0;
}

ak_attn_probe *ak_attn_file_add_probe(ak_attn_file *f, uint64_t id, const char *const *src, int32_t n_src,
                                      const char *const *ref, int32_t n_ref, const char *const *out, int32_t n_out,
                                      int out_eos, ak_err *err)
{
    ak_attn_probe *p = calloc(1, sizeof *p);
    if (!p) {
        ak_errorf(err, "attention file: out of memory for a probe");
        return NULL;
    }
    p->id = id;
    p->out_eos = out_eos ? 1 : 0;
    if (tokens_copy(&p->src, src, n_src, "source", err) != 0 ||
        tokens_copy(&p->ref, ref, n_ref, "reference", err) != 0 ||
        tokens_copy(&p->out, out, n_out, "output", err) != 0 || check_lengths(p, err) != 0 ||
        push_probe(f, p, err) != 0) {
        ak_err_prefix(err, "attention file: probe %zu (id %" PRIu64 ")", f->n_probes, id);
        probe_free(p);
        return NULL;
    }
    return p;
}

/* Checks mode/role/layer and returns the map's element count. */
static int map_size(const ak_attn_file *f, const ak_attn_probe *p, ak_attn_mode mode, ak_attn_role role, int layer,
                    int64_t *nq, int64_t *nk, int64_t *size, ak_err *err)
{
    if ((unsigned)mode >= AK_ATTN_NMODES)
        return ak_errorf(err, "mode %d is not tf (0) or greedy (1)", (int)mode);
    if ((unsigned)role >= AK_ATTN_NROLES)
        return ak_errorf(err, "role %d is not an attention role", (int)role);
    if (layer < 0 || layer >= f->model.layers[role])
        return ak_errorf(err, "%s layer %d outside the model's %d %s layers", ak_attn_role_name(role), layer,
                         f->model.layers[role], ak_attn_role_name(role));
    *nq = ak_attn_probe_queries(p, mode, role);
    *nk = ak_attn_probe_keys(p, mode, role);
    /* heads <= 2^10, nq and nk <= 2^16 + 1: no overflow in int64. */
    *size = (int64_t)f->model.heads[role] * *nq * *nk;
    return 0;
}

/* Every value finite and in [0, 1]; names the first offender. */
static int check_values(const float *w, int64_t n, int64_t nq, int64_t nk, ak_err *err)
{
    for (int64_t i = 0; i < n; i++)
        if (!(w[i] >= 0.0f && w[i] <= 1.0f)) {
            int64_t per_head = nq * nk;
            return ak_errorf(err, "weight %g at head %lld, query %lld, key %lld is not a probability in [0, 1]",
                             (double)w[i], (long long)(i / per_head), (long long)(i % per_head / nk),
                             (long long)(i % nk));
        }
    return 0;
}

int ak_attn_probe_set_map(const ak_attn_file *f, ak_attn_probe *p, ak_attn_mode mode, ak_attn_role role, int layer,
                          const float *w, ak_err *err)
{
    int64_t nq, nk, size;
    if (map_size(f, p, mode, role, layer, &nq, &nk, &size, err) != 0 ||
        (size > 0 && !w && ak_errorf(err, "no weights given") != 0) || check_values(w, size, nq, nk, err) != 0)
        return ak_err_prefix(err, "attention file: probe id %" PRIu64 ": %s %s layer %d", p->id,
                             ak_attn_mode_name(mode), ak_attn_role_name(role), layer);
    float *copy = malloc(sizeof(float) * (size_t)(size > 0 ? size : 1));
    if (!copy)
        return ak_errorf(err, "attention file: out of memory for a %lld-float map", (long long)size);
    if (size > 0)
        memcpy(copy, w, sizeof(float) * (size_t)size);
    free(p->map[mode][role][layer]);
    p->map[mode][role][layer] = copy;
    return 0;
}

int ak_attn_probe_from_capture(const ak_attn_file *f, ak_attn_probe *p, ak_attn_mode mode, const ak_attn_capture *cap,
                               int64_t b, ak_err *err)
{
    if (cap->failed)
        return ak_errorf(err,
                         "attention file: probe id %" PRIu64 ": the %s capture failed (out of memory or a "
                         "shape clash)",
                         p->id, ak_attn_mode_name(mode));
    for (int r = 0; r < AK_ATTN_NROLES; r++)
        for (int l = 0; l < f->model.layers[r]; l++) {
            ak_attn_role role = (ak_attn_role)r;
            int64_t nq, nk, size;
            if (map_size(f, p, mode, role, l, &nq, &nk, &size, err) != 0)
                return -1;
            const ak_attn_map *m = ak_capture_find(cap, role, l);
            const char *rn = ak_attn_role_name(role), *mn = ak_attn_mode_name(mode);
            if (!m)
                return ak_errorf(err, "attention file: probe id %" PRIu64 ": the %s capture has no %s layer %d map",
                                 p->id, mn, rn, l);
            if (m->heads != f->model.heads[r])
                return ak_errorf(err,
                                 "attention file: probe id %" PRIu64 ": %s %s layer %d captured with %d heads, "
                                 "the model summary says %d",
                                 p->id, mn, rn, l, m->heads, f->model.heads[r]);
            if (b < 0 || b >= m->batch)
                return ak_errorf(err,
                                 "attention file: probe id %" PRIu64 ": batch row %lld outside the %s "
                                 "capture's %lld rows",
                                 p->id, (long long)b, mn, (long long)m->batch);
            if (m->lq < nq || m->lk < nk)
                return ak_errorf(err,
                                 "attention file: probe id %" PRIu64 ": %s %s layer %d captured as %lld x "
                                 "%lld, the probe needs %lld x %lld (queries x keys)",
                                 p->id, mn, rn, l, (long long)m->lq, (long long)m->lk, (long long)nq, (long long)nk);
            float *w = malloc(sizeof(float) * (size_t)(size > 0 ? size : 1));
            if (!w)
                return ak_errorf(err, "attention file: out of memory for a %lld-float map", (long long)size);
            for (int h = 0; h < m->heads; h++)
                for (int64_t q = 0; q < nq; q++)
                    memcpy(w + ((int64_t)h * nq + q) * nk, ak_attn_map_row(m, b, h, q), sizeof(float) * (size_t)nk);
            if (check_values(w, size, nq, nk, err) != 0) {
                free(w);
                return ak_err_prefix(err, "attention file: probe id %" PRIu64 ": %s %s layer %d", p->id, mn, rn, l);
            }
            free(p->map[mode][r][l]);
            p->map[mode][r][l] = w;
        }
    return 0;
}

/* ------------------------------------------------------------- writer */

#define KEY_BUF 96

static int put_tokens(ak_container_writer *w, const char *key, const ak_attn_tokens *t, ak_err *err)
{
    size_t n = 0;
    for (int32_t i = 0; i < t->n; i++)
        n += strlen(t->tok[i]) + 1;
    char *blob = malloc(n ? n : 1);
    if (!blob)
        return ak_errorf(err, "out of memory");
    char *s = blob;
    for (int32_t i = 0; i < t->n; i++) {
        size_t len = strlen(t->tok[i]) + 1;
        memcpy(s, t->tok[i], len);
        s += len;
    }
    int rc = ak_container_put_bytes(w, key, blob, n, err);
    free(blob);
    return rc;
}

static int put_all(ak_container_writer *w, const ak_attn_file *f, ak_err *err)
{
    char key[KEY_BUF];
    if (check_summary(&f->model, err) != 0)
        return ak_err_prefix(err, "attention file");
    /* Every map must be there before anything is written. */
    for (size_t i = 0; i < f->n_probes; i++)
        for (int m = 0; m < AK_ATTN_NMODES; m++)
            for (int r = 0; r < AK_ATTN_NROLES; r++)
                for (int l = 0; l < f->model.layers[r]; l++)
                    if (!f->probes[i]->map[m][r][l])
                        return ak_errorf(err, "attention file: probe %zu (id %" PRIu64 ") has no %s %s layer %d map", i,
                                         f->probes[i]->id, ak_attn_mode_name((ak_attn_mode)m),
                                         ak_attn_role_name((ak_attn_role)r), l);
    int rc = ak_container_put_u64(w, "attn/version", AK_ATTN_FILE_VERSION, err);
    rc = rc || ak_container_put_u64(w, "epoch", f->epoch, err);
    for (int r = 0; r < AK_ATTN_NROLES && rc == 0; r++) {
        snprintf(key, sizeof key, "model/%s/layers", ak_attn_role_name((ak_attn_role)r));
        rc = ak_container_put_u64(w, key, (uint64_t)f->model.layers[r], err);
        snprintf(key, sizeof key, "model/%s/heads", ak_attn_role_name((ak_attn_role)r));
        rc = rc || ak_container_put_u64(w, key, (uint64_t)f->model.heads[r], err);
    }
    if (rc == 0 && f->model_desc)
        rc = ak_container_put_str(w, "model/desc", f->model_desc, err);
    rc = rc || ak_container_put_u64(w, "probes", (uint64_t)f->n_probes, err);
    for (size_t i = 0; i < f->n_probes && rc == 0; i++) {
        const ak_attn_probe *p = f->probes[i];
        snprintf(key, sizeof key, "probe/%zu/id", i);
        rc = ak_container_put_u64(w, key, p->id, err);
        snprintf(key, sizeof key, "probe/%zu/src", i);
        rc = rc || put_tokens(w, key, &p->src, err);
        snprintf(key, sizeof key, "probe/%zu/ref", i);
        rc = rc || put_tokens(w, key, &p->ref, err);
        snprintf(key, sizeof key, "probe/%zu/out", i);
        rc = rc || put_tokens(w, key, &p->out, err);
        snprintf(key, sizeof key, "probe/%zu/out_eos", i);
        rc = rc || ak_container_put_u64(w, key, (uint64_t)p->out_eos, err);
        for (int m = 0; m < AK_ATTN_NMODES && rc == 0; m++)
            for (int r = 0; r < AK_ATTN_NROLES && rc == 0; r++)
                for (int l = 0; l < f->model.layers[r] && rc == 0; l++) {
                    ak_attn_mode mode = (ak_attn_mode)m;
                    ak_attn_role role = (ak_attn_role)r;
                    int64_t shape[3] = {f->model.heads[r], ak_attn_probe_queries(p, mode, role),
                                        ak_attn_probe_keys(p, mode, role)};
                    snprintf(key, sizeof key, "probe/%zu/%s/%s/%d", i, ak_attn_mode_name(mode), ak_attn_role_name(role),
                             l);
                    rc = ak_container_put_tensor(w, key, 3, shape, p->map[m][r][l], err);
                }
    }
    return rc ? -1 : 0;
}

int ak_attn_file_write(const ak_attn_file *f, const char *path, ak_err *err)
{
    ak_container_writer *w = ak_container_stream(path, AK_ATTN_FILE_MAGIC, err);
    if (!w)
        return -1;
    int rc = put_all(w, f, err);
    if (rc == 0)
        rc = ak_container_commit(w, err);
    else
        ak_err_prefix(err, "%s", path);
    ak_container_writer_free(w);
    return rc;
}

int ak_attn_file_bytes(const ak_attn_file *f, unsigned char **out, size_t *n, ak_err *err)
{
    ak_container_writer *w = ak_container_new(AK_ATTN_FILE_MAGIC, err);
    if (!w)
        return -1;
    int rc = put_all(w, f, err);
    if (rc == 0)
        rc = ak_container_bytes(w, out, n, err);
    ak_container_writer_free(w);
    return rc;
}

int ak_attn_file_path(char *buf, size_t n, const char *run_dir, uint64_t epoch, ak_err *err)
{
    int k = snprintf(buf, n, "%s/attn/epoch-%03" PRIu64 ".attn", run_dir, epoch);
    if (k < 0 || (size_t)k >= n)
        return ak_errorf(err, "%s: attention file path longer than %zu bytes", run_dir, n ? n - 1 : 0);
    return 0;
}

/* ------------------------------------------------------------- reader */

/* A u64 record that must lie in [lo, hi]. */
static int get_range(const ak_container *c, const char *key, uint64_t lo, uint64_t hi, uint64_t *v, ak_err *err)
{
    if (ak_container_get_u64(c, key, v, err) != 0)
        return -1;
    if (*v < lo || *v > hi)
        return ak_errorf(err, "%s: record '%s' is %" PRIu64 ", expected %" PRIu64 "..%" PRIu64, ak_container_path(c),
                         key, *v, lo, hi);
    return 0;
}

/* Tokens from a bytes record: NUL-terminated non-empty strings. */
static int get_tokens(const ak_container *c, const char *key, ak_attn_tokens *t, ak_err *err)
{
    const void *data;
    size_t n;
    if (ak_container_get_bytes(c, key, &data, &n, err) != 0)
        return -1;
    const char *s = data;
    if (n > 0 && s[n - 1] != '\0')
        return ak_errorf(err, "%s: record '%s': the last token is not NUL-terminated", ak_container_path(c), key);
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += s[i] == '\0';
    if (count > AK_ATTN_MAX_TOKENS)
        return ak_errorf(err, "%s: record '%s' holds %zu tokens, at most %d allowed", ak_container_path(c), key, count,
                         (int)AK_ATTN_MAX_TOKENS);
    const char **tok = malloc(sizeof *tok * (count ? count : 1));
    size_t *lens = malloc(sizeof *lens * (count ? count : 1));
    int rc = 0;
    if (!tok || !lens) {
        rc = ak_errorf(err, "%s: out of memory", ak_container_path(c));
    } else {
        size_t start = 0, k = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i] == '\0') {
                tok[k] = s + start;
                lens[k++] = i - start;
                start = i + 1;
            }
        char what[KEY_BUF + 16];
        snprintf(what, sizeof what, "record '%s'", key);
        if (tokens_make(t, tok, lens, (int32_t)count, what, err) != 0)
            rc = ak_err_prefix(err, "%s", ak_container_path(c));
    }
    free(tok);
    free(lens);
    return rc;
}

/* Canonical decimal (no sign, no leading zero) of at most 19 digits, ending
 * at `end` ('\0' or '/'); -1 otherwise. *after points past it. */
static int64_t parse_index(const char *s, const char **after)
{
    const char *p = s;
    int64_t v = 0;
    while (*p >= '0' && *p <= '9' && p - s < 19)
        v = v * 10 + (*p++ - '0');
    if (p == s || (*s == '0' && p - s > 1) || (*p != '\0' && *p != '/'))
        return -1;
    *after = p;
    return v;
}

/* Every record under "probe/" must name a probe in range, and a map key
 * (probe/P/MODE/...) a role and layer in range. */
static int check_keys(const ak_container *c, const ak_attn_summary *s, uint64_t n_probes, ak_err *err)
{
    const char *path = ak_container_path(c);
    for (size_t i = 0; i < ak_container_count(c); i++) {
        const char *key = ak_container_at(c, i)->key, *rest;
        if (strncmp(key, "probe/", 6) != 0)
            continue;
        int64_t pi = parse_index(key + 6, &rest);
        if (pi < 0 || *rest != '/')
            return ak_errorf(err, "%s: record '%s' does not name a probe (probe/INDEX/...)", path, key);
        if ((uint64_t)pi >= n_probes)
            return ak_errorf(err, "%s: record '%s' is for probe %lld, the file has %" PRIu64 " probes", path, key,
                             (long long)pi, n_probes);
        rest++;
        const char *slash = strchr(rest, '/');
        char mode[8];
        size_t ml = slash ? (size_t)(slash - rest) : 0;
        if (!slash || ml >= sizeof mode)
            continue;
        memcpy(mode, rest, ml);
        mode[ml] = '\0';
        if (ak_attn_mode_parse(mode) < 0)
            continue;
        const char *rs = slash + 1, *ls = strchr(rs, '/');
        char role[16];
        size_t rl = ls ? (size_t)(ls - rs) : 0;
        int r = -1;
        if (ls && rl < sizeof role) {
            memcpy(role, rs, rl);
            role[rl] = '\0';
            r = ak_attn_role_parse(role);
        }
        if (r < 0)
            return ak_errorf(err,
                             "%s: record '%s': expected probe/P/%s/ROLE/LAYER with ROLE enc-self, dec-self or "
                             "cross",
                             path, key, mode);
        const char *end;
        int64_t layer = parse_index(ls + 1, &end);
        if (layer < 0 || *end != '\0')
            return ak_errorf(err, "%s: record '%s': layer is not a decimal number", path, key);
        if (layer >= s->layers[r])
            return ak_errorf(err, "%s: record '%s': the model has %d %s layers (0..%d)", path, key, s->layers[r],
                             ak_attn_role_name((ak_attn_role)r), s->layers[r] - 1);
    }
    return 0;
}

static int read_probe(const ak_container *c, const ak_attn_file *f, size_t i, ak_attn_probe *p, ak_err *err)
{
    const char *path = ak_container_path(c);
    char key[KEY_BUF];
    uint64_t eos;
    snprintf(key, sizeof key, "probe/%zu/id", i);
    if (ak_container_get_u64(c, key, &p->id, err) != 0)
        return -1;
    snprintf(key, sizeof key, "probe/%zu/src", i);
    if (get_tokens(c, key, &p->src, err) != 0)
        return -1;
    snprintf(key, sizeof key, "probe/%zu/ref", i);
    if (get_tokens(c, key, &p->ref, err) != 0)
        return -1;
    snprintf(key, sizeof key, "probe/%zu/out", i);
    if (get_tokens(c, key, &p->out, err) != 0)
        return -1;
    snprintf(key, sizeof key, "probe/%zu/out_eos", i);
    if (get_range(c, key, 0, 1, &eos, err) != 0)
        return -1;
    p->out_eos = (int)eos;
    if (check_lengths(p, err) != 0)
        return ak_err_prefix(err, "%s: probe %zu (id %" PRIu64 ")", path, i, p->id);
    for (int m = 0; m < AK_ATTN_NMODES; m++)
        for (int r = 0; r < AK_ATTN_NROLES; r++)
            for (int l = 0; l < f->model.layers[r]; l++) {
                ak_attn_mode mode = (ak_attn_mode)m;
                ak_attn_role role = (ak_attn_role)r;
                snprintf(key, sizeof key, "probe/%zu/%s/%s/%d", i, ak_attn_mode_name(mode), ak_attn_role_name(role), l);
                int ndim;
                int64_t shape[4];
                const float *data;
                if (ak_container_get_tensor(c, key, &ndim, shape, &data, err) != 0)
                    return -1;
                int64_t want[3] = {f->model.heads[r], ak_attn_probe_queries(p, mode, role),
                                   ak_attn_probe_keys(p, mode, role)};
                if (ndim != 3 || shape[0] != want[0] || shape[1] != want[1] || shape[2] != want[2]) {
                    char got[96];
                    int k = snprintf(got, sizeof got, "[");
                    for (int d = 0; d < ndim && d < 4; d++)
                        k += snprintf(got + k, sizeof got - (size_t)k, "%s%lld", d ? ", " : "", (long long)shape[d]);
                    snprintf(got + k, sizeof got - (size_t)k, "]");
                    return ak_errorf(err, "%s: record '%s' has shape %s, expected [%lld, %lld, %lld] (heads, %s, %s)",
                                     path, key, got, (long long)want[0], (long long)want[1], (long long)want[2],
                                     role == AK_ROLE_ENC_SELF ? "source tokens"
                                     : mode == AK_ATTN_TF     ? "reference tokens + 1"
                                                              : "output tokens + EOS",
                                     role == AK_ROLE_DEC_SELF ? "decoder positions" : "source tokens");
                }
                int64_t size = want[0] * want[1] * want[2];
                if (check_values(data, size, want[1], want[2], err) != 0)
                    return ak_err_prefix(err, "%s: record '%s'", path, key);
                float *w = malloc(sizeof(float) * (size_t)(size > 0 ? size : 1));
                if (!w)
                    return ak_errorf(err, "%s: out of memory", path);
                if (size > 0)
                    memcpy(w, data, sizeof(float) * (size_t)size);
                p->map[m][r][l] = w;
            }
    return 0;
}

static int read_container(ak_attn_file *out, const ak_container *c, ak_err *err)
{
    const char *path = ak_container_path(c);
    ak_attn_file f;
    memset(&f, 0, sizeof f);
    uint64_t v;
    if (ak_container_get_u64(c, "attn/version", &v, err) != 0)
        return -1;
    if (v == 0 || v > AK_ATTN_FILE_VERSION)
        return ak_errorf(err, "%s: attention file version %" PRIu64 ", this build reads versions 1 to %d%s", path, v,
                         AK_ATTN_FILE_VERSION, v > AK_ATTN_FILE_VERSION ? " (upgrade attnkit)" : "");
    if (ak_container_get_u64(c, "epoch", &f.epoch, err) != 0)
        return -1;
    for (int r = 0; r < AK_ATTN_NROLES; r++) {
        char key[KEY_BUF];
        uint64_t layers, heads;
        snprintf(key, sizeof key, "model/%s/layers", ak_attn_role_name((ak_attn_role)r));
        if (get_range(c, key, 0, AK_ATTN_MAX_LAYERS, &layers, err) != 0)
            return -1;
        snprintf(key, sizeof key, "model/%s/heads", ak_attn_role_name((ak_attn_role)r));
        if (get_range(c, key, 0, AK_ATTN_MAX_HEADS, &heads, err) != 0)
            return -1;
        f.model.layers[r] = (int)layers;
        f.model.heads[r] = (int)heads;
    }
    if (check_summary(&f.model, err) != 0)
        return ak_err_prefix(err, "%s", path);
    const ak_record *desc = ak_container_find(c, "model/desc");
    if (desc && ak_container_get_str(c, "model/desc", NULL, NULL, err) != 0)
        return -1;
    uint64_t n_probes;
    if (ak_container_get_u64(c, "probes", &n_probes, err) != 0)
        return -1;
    /* Each probe needs 5 records plus its maps: a count the records cannot
     * back is refused before anything is allocated for it. */
    uint64_t per = 5;
    for (int r = 0; r < AK_ATTN_NROLES; r++)
        per += (uint64_t)AK_ATTN_NMODES * (uint64_t)f.model.layers[r];
    if (n_probes > ak_container_count(c) / per)
        return ak_errorf(err, "%s: 'probes' says %" PRIu64 " probes, the file has records for at most %zu", path,
                         n_probes, (size_t)(ak_container_count(c) / per));
    if (check_keys(c, &f.model, n_probes, err) != 0)
        return -1;
    if (desc && !(f.model_desc = strdup(desc->data)))
        return ak_errorf(err, "%s: out of memory", path);
    int rc = 0;
    for (uint64_t i = 0; i < n_probes && rc == 0; i++) {
        ak_attn_probe *p = calloc(1, sizeof *p);
        if (!p) {
            rc = ak_errorf(err, "%s: out of memory", path);
            break;
        }
        if ((rc = read_probe(c, &f, (size_t)i, p, err)) != 0 || (rc = push_probe(&f, p, err)) != 0)
            probe_free(p);
    }
    if (rc != 0) {
        ak_attn_file_free(&f);
        return -1;
    }
    *out = f;
    return 0;
}

int ak_attn_file_read_mem(ak_attn_file *f, const void *bytes, size_t n, const char *name, ak_err *err)
{
    memset(f, 0, sizeof *f);
    ak_container *c = ak_container_open_mem(bytes, n, name, AK_ATTN_FILE_MAGIC, AK_ATTN_FILE_KIND, err);
    if (!c)
        return -1;
    int rc = read_container(f, c, err);
    ak_container_close(c);
    return rc;
}

int ak_attn_file_read(ak_attn_file *f, const char *path, ak_err *err)
{
    memset(f, 0, sizeof *f);
    ak_container *c = ak_container_open(path, AK_ATTN_FILE_MAGIC, AK_ATTN_FILE_KIND, err);
    if (!c)
        return -1;
    int rc = read_container(f, c, err);
    ak_container_close(c);
    return rc;
}
