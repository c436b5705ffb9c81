/* Attention files (lib/io/attnfile.h, docs/formats.md "## Attention file"):
 * write/read round trip (file and memory, bitwise), refusal of truncated and
 * corrupted bytes (every truncation length, every single-byte change), of
 * well-formed containers whose content breaks the attention-file rules (each
 * rule with its message; crafted by rewriting a valid file record by record),
 * builder errors, and cutting maps out of a capture: by hand with known
 * values and padding, and from a real Transformer batch, teacher-forced and
 * greedy, against the same probe run alone without padding. */
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/rng.h"
#include "io/attnfile.h"
#include "io/container.h"
#include "nn/model.h"

/* ------------------------------------------------------------ helpers */

static char tmp_dir[64];

static char *tmpdir(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ak_io_attnfile_XXXXXX");
    cr_assert(mkdtemp(tmp_dir), "mkdtemp: %s", strerror(errno));
    return tmp_dir;
}

/* Fills every map of p with rows of positive random weights summing to 1. */
static void fill_maps(ak_attn_file *f, ak_attn_probe *p, uint64_t seed)
{
    ak_rng r = ak_rng_make(seed, 3);
    for (int m = 0; m < AK_ATTN_NMODES; m++)
        for (int role = 0; role < AK_ATTN_NROLES; role++)
            for (int l = 0; l < f->model.layers[role]; l++) {
                int64_t nq = ak_attn_probe_queries(p, (ak_attn_mode)m, (ak_attn_role)role);
                int64_t nk = ak_attn_probe_keys(p, (ak_attn_mode)m, (ak_attn_role)role);
                int64_t H = f->model.heads[role], n = H * nq * nk;
                float *w = malloc(sizeof(float) * (size_t)n);
                for (int64_t row = 0; row < H * nq; row++) {
                    float s = 0;
                    for (int64_t k = 0; k < nk; k++)
                        s += w[row * nk + k] = ak_rng_uniform_range(&r, 0.05f, 1.0f);
                    for (int64_t k = 0; k < nk; k++)
                        w[row * nk + k] /= s;
                }
                ak_err err = {{0}};
                cr_assert_eq(ak_attn_probe_set_map(f, p, (ak_attn_mode)m, (ak_attn_role)role, l, w, &err), 0, "%s",
                             err.msg);
                free(w);
            }
}

/* Summary with different heads per role: enc-self 2 x 3, dec-self 1 x 2, cross 2 x 2. */
static ak_attn_summary sample_summary(void)
{
    ak_attn_summary s = {{2, 1, 2}, {3, 2, 2}};
    return s;
}

/* Two probes: p0 with subwords, non-ASCII text and an EOS-terminated output;
 * p1 with an empty reference and an output cut at the step limit. */
static void sample_file(ak_attn_file *f, uint64_t epoch)
{
    ak_err err = {{0}};
    ak_attn_summary s = sample_summary();
    cr_assert_eq(ak_attn_file_init(f, epoch, &s, "kind = transformer\nheads = 2\n", &err), 0, "%s", err.msg);
    const char *src0[] = {"Das</w>", "Ha", "us</w>", "."}, *ref0[] = {"The</w>", "house</w>", "."},
               *out0[] = {"The</w>", "Stra\xC3\x9F"
                                     "e</w>"};
    ak_attn_probe *p = ak_attn_file_add_probe(f, 17, src0, 4, ref0, 3, out0, 2, 1, &err);
    cr_assert_not_null(p, "%s", err.msg);
    fill_maps(f, p, 1);
    const char *src1[] = {"\xE2\x96\x81"}, *out1[] = {"x", "y", "z"};
    p = ak_attn_file_add_probe(f, 4, src1, 1, NULL, 0, out1, 3, 0, &err);
    cr_assert_not_null(p, "%s", err.msg);
    fill_maps(f, p, 2);
}

static void expect_tokens(const ak_attn_tokens *a, const ak_attn_tokens *b)
{
    cr_assert_eq(a->n, b->n);
    for (int32_t i = 0; i < a->n; i++)
        cr_expect_str_eq(a->tok[i], b->tok[i]);
}

static void expect_same(const ak_attn_file *a, const ak_attn_file *b)
{
    cr_expect_eq(a->epoch, b->epoch);
    cr_expect_eq(memcmp(&a->model, &b->model, sizeof a->model), 0);
    cr_assert((a->model_desc == NULL) == (b->model_desc == NULL));
    if (a->model_desc)
        cr_expect_str_eq(a->model_desc, b->model_desc);
    cr_assert_eq(a->n_probes, b->n_probes);
    for (size_t i = 0; i < a->n_probes; i++) {
        const ak_attn_probe *p = a->probes[i], *q = b->probes[i];
        cr_expect_eq(p->id, q->id);
        cr_expect_eq(p->out_eos, q->out_eos);
        expect_tokens(&p->src, &q->src);
        expect_tokens(&p->ref, &q->ref);
        expect_tokens(&p->out, &q->out);
        for (int m = 0; m < AK_ATTN_NMODES; m++)
            for (int r = 0; r < AK_ATTN_NROLES; r++)
                for (int l = 0; l < AK_ATTN_MAX_LAYERS; l++) {
                    if (l >= a->model.layers[r]) {
                        cr_expect_null(q->map[m][r][l]);
                        continue;
                    }
                    int64_t n = a->model.heads[r] * ak_attn_probe_queries(p, (ak_attn_mode)m, (ak_attn_role)r) *
                                ak_attn_probe_keys(p, (ak_attn_mode)m, (ak_attn_role)r);
                    cr_assert(p->map[m][r][l] && q->map[m][r][l]);
                    cr_expect_eq(memcmp(p->map[m][r][l], q->map[m][r][l], sizeof(float) * (size_t)n), 0,
                                 "probe %zu %s %s layer %d differs", i, ak_attn_mode_name((ak_attn_mode)m),
                                 ak_attn_role_name((ak_attn_role)r), l);
                }
    }
}

static unsigned char *sample_bytes(size_t *n)
{
    ak_attn_file f;
    sample_file(&f, 3);
    unsigned char *img;
    ak_err err = {{0}};
    cr_assert_eq(ak_attn_file_bytes(&f, &img, n, &err), 0, "%s", err.msg);
    ak_attn_file_free(&f);
    return img;
}

/* --------------------------------------------------------- round trip */

Test(io_attnfile, round_trip_through_a_file_is_bitwise)
{
    ak_attn_file f, g;
    sample_file(&f, 0);
    char path[128];
    ak_err err = {{0}};
    cr_assert_eq(ak_attn_file_path(path, sizeof path, tmpdir(), 0, &err), 0);
    char dir[100];
    snprintf(dir, sizeof dir, "%s/attn", tmp_dir);
    cr_assert_eq(mkdir(dir, 0755), 0);
    cr_assert_eq(ak_attn_file_write(&f, path, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_attn_file_read(&g, path, &err), 0, "%s", err.msg);
    expect_same(&f, &g);
    /* Dimensions follow the token counts: p0 tf decoder = 3 ref + 1, greedy = 2 out + EOS. */
    cr_expect_eq(ak_attn_probe_dec_len(g.probes[0], AK_ATTN_TF), 4);
    cr_expect_eq(ak_attn_probe_dec_len(g.probes[0], AK_ATTN_GREEDY), 3);
    cr_expect_eq(ak_attn_probe_dec_len(g.probes[1], AK_ATTN_TF), 1);
    cr_expect_eq(ak_attn_probe_dec_len(g.probes[1], AK_ATTN_GREEDY), 3);
    cr_expect_eq(ak_attn_probe_keys(g.probes[0], AK_ATTN_TF, AK_ROLE_CROSS), 4);
    const float *row = ak_attn_probe_row(&g, g.probes[0], AK_ATTN_GREEDY, AK_ROLE_CROSS, 1, 1, 2);
    cr_expect_eq(row, g.probes[0]->map[AK_ATTN_GREEDY][AK_ROLE_CROSS][1] + (1 * 3 + 2) * 4);
    cr_expect_null(ak_attn_probe_row(&g, g.probes[0], AK_ATTN_GREEDY, AK_ROLE_CROSS, 2, 0, 0));
    cr_expect_null(ak_attn_probe_row(&g, g.probes[0], AK_ATTN_GREEDY, AK_ROLE_CROSS, 0, 2, 0));
    cr_expect_null(ak_attn_probe_row(&g, g.probes[0], AK_ATTN_GREEDY, AK_ROLE_CROSS, 0, 0, 3));
    ak_attn_file_free(&f);
    ak_attn_file_free(&g);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    cr_expect_neq(access(tmp, F_OK), 0, "temporary left behind");
    unlink(path);
    rmdir(dir);
    rmdir(tmp_dir);
}

Test(io_attnfile, round_trip_in_memory_and_unknown_keys_are_ignored)
{
    ak_attn_file f, g;
    sample_file(&f, 12);
    free(f.model_desc);
    f.model_desc = NULL; /* optional */
    unsigned char *img;
    size_t n;
    ak_err err = {{0}};
    cr_assert_eq(ak_attn_file_bytes(&f, &img, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_attn_file_read_mem(&g, img, n, "mem.attn", &err), 0, "%s", err.msg);
    expect_same(&f, &g);
    ak_attn_file_free(&g);
    free(img);
    ak_attn_file_free(&f);
}

Test(io_attnfile, path_names_the_epoch_with_three_digits)
{
    char buf[64];
    ak_err err = {{0}};
    cr_assert_eq(ak_attn_file_path(buf, sizeof buf, "runs/a", 7, &err), 0);
    cr_expect_str_eq(buf, "runs/a/attn/epoch-007.attn");
    cr_assert_eq(ak_attn_file_path(buf, sizeof buf, "r", 1234, &err), 0);
    cr_expect_str_eq(buf, "r/attn/epoch-1234.attn");
    cr_expect_eq(ak_attn_file_path(buf, 10, "runs/a", 7, &err), -1);
    cr_expect(strstr(err.msg, "longer than 9 bytes"), "%s", err.msg);
}

/* ------------------------------------------------- damaged bytes */

Test(io_attnfile, every_truncation_is_refused)
{
    size_t n;
    unsigned char *img = sample_bytes(&n);
    for (size_t k = 0; k < n; k++) {
        ak_attn_file g;
        ak_err err = {{0}};
        cr_assert_eq(ak_attn_file_read_mem(&g, img, k, "t.attn", &err), -1, "prefix of %zu bytes accepted", k);
        cr_assert_eq(g.n_probes, 0);
        const char *want = k == 0 ? "not an attnkit attention file (empty file)" : "truncated";
        if (k >= 8)
            cr_assert(strstr(err.msg, want), "%zu bytes: %s", k, err.msg);
    }
    free(img);
}

Test(io_attnfile, every_single_byte_change_is_refused)
{
    size_t n;
    unsigned char *img = sample_bytes(&n);
    for (size_t k = 0; k < n; k++) {
        ak_attn_file g;
        ak_err err = {{0}};
        img[k] ^= 0x5a;
        cr_assert_eq(ak_attn_file_read_mem(&g, img, n, "c.attn", &err), -1, "change at byte %zu accepted", k);
        cr_assert(strncmp(err.msg, "c.attn: ", 8) == 0, "%s", err.msg);
        if (k >= AK_CONTAINER_HEADER_SIZE)
            cr_assert(strstr(err.msg, "corrupted"), "byte %zu: %s", k, err.msg);
        img[k] ^= 0x5a;
    }
    ak_attn_file g;
    ak_err err = {{0}};
    cr_assert_eq(ak_attn_file_read_mem(&g, img, n, "c.attn", &err), 0, "%s", err.msg);
    ak_attn_file_free(&g);
    free(img);
}

Test(io_attnfile, a_checkpoint_is_not_an_attention_file)
{
    ak_err err = {{0}};
    ak_container_writer *w = ak_container_new("AKCKPT01", &err);
    unsigned char *img;
    size_t n;
    cr_assert_eq(ak_container_bytes(w, &img, &n, &err), 0);
    ak_container_writer_free(w);
    ak_attn_file g;
    cr_expect_eq(ak_attn_file_read_mem(&g, img, n, "x.ckpt", &err), -1);
    cr_expect_str_eq(err.msg, "x.ckpt: not an attnkit attention file (magic \"AKCKPT01\", expected \"AKATTN01\")");
    free(img);
    cr_expect_eq(ak_attn_file_read(&g, "/nonexistent/dir/e.attn", &err), -1);
    cr_expect(strstr(err.msg, "/nonexistent/dir/e.attn"), "%s", err.msg);
}

/* ------------------------------------- well-formed but invalid content */

/* Rewrites a valid file record by record, dropping `drop` (may be NULL) and
 * then putting whatever edit() adds; returns the new image. */
typedef void (*edit_fn)(ak_container_writer *w);

static unsigned char *rewrite(const char *drop, edit_fn edit, size_t *out_n)
{
    size_t n;
    unsigned char *img = sample_bytes(&n);
    ak_err err = {{0}};
    ak_container *c = ak_container_open_mem(img, n, "s", AK_ATTN_FILE_MAGIC, "attention file", &err);
    cr_assert_not_null(c, "%s", err.msg);
    ak_container_writer *w = ak_container_new(AK_ATTN_FILE_MAGIC, &err);
    for (size_t i = 0; i < ak_container_count(c); i++) {
        const ak_record *r = ak_container_at(c, i);
        if (drop && strcmp(r->key, drop) == 0)
            continue;
        switch (r->type) {
        case AK_REC_U64:
            ak_container_put_u64(w, r->key, r->num.u64, &err);
            break;
        case AK_REC_STR:
            ak_container_put_str(w, r->key, r->data, &err);
            break;
        case AK_REC_BYTES:
            ak_container_put_bytes(w, r->key, r->data, r->len, &err);
            break;
        case AK_REC_TENSOR:
            ak_container_put_tensor(w, r->key, r->ndim, r->shape, r->data, &err);
            break;
        default:
            cr_assert_fail("unexpected record type %d", (int)r->type);
        }
    }
    if (edit)
        edit(w);
    unsigned char *out;
    cr_assert_eq(ak_container_bytes(w, &out, out_n, &err), 0, "%s", err.msg);
    ak_container_writer_free(w);
    ak_container_close(c);
    free(img);
    return out;
}

static void expect_refused(const char *drop, edit_fn edit, const char *msg)
{
    size_t n;
    unsigned char *img = rewrite(drop, edit, &n);
    ak_attn_file g;
    ak_err err = {{0}};
    cr_expect_eq(ak_attn_file_read_mem(&g, img, n, "bad.attn", &err), -1, "accepted (expected \"%s\")", msg);
    cr_expect(strstr(err.msg, msg), "message \"%s\" lacks \"%s\"", err.msg, msg);
    cr_expect(strncmp(err.msg, "bad.attn: ", 10) == 0, "%s", err.msg);
    cr_expect_eq(g.n_probes, 0);
    free(img);
}

#define PUT_U64(name, key, v)                                                                                          \
    static void name(ak_container_writer *w)                                                                           \
    {                                                                                                                  \
        cr_assert_eq(ak_container_put_u64(w, key, v, NULL), 0);                                                        \
    }
#define PUT_BYTES(name, key, s)                                                                                        \
    static void name(ak_container_writer *w)                                                                           \
    {                                                                                                                  \
        cr_assert_eq(ak_container_put_bytes(w, key, s, sizeof s - 1, NULL), 0);                                        \
    }

PUT_U64(version2, "attn/version", 2)
PUT_U64(version0, "attn/version", 0)
PUT_U64(layers65, "model/cross/layers", 65)
PUT_U64(heads0, "model/cross/heads", 0)
PUT_U64(no_dec_layers, "model/dec-self/layers", 0)
PUT_U64(probes1000, "probes", 1000)
PUT_U64(eos2, "probe/0/out_eos", 2)
PUT_U64(extra_probe, "probe/7/id", 1)
PUT_U64(bad_index, "probe/01/id", 1)
PUT_U64(extra_layer, "probe/0/tf/cross/5", 1)
PUT_U64(bad_role, "probe/0/tf/bogus/0", 1)
PUT_U64(bad_layer, "probe/0/greedy/cross/01", 1)
PUT_U64(desc_u64, "model/desc", 1)
PUT_BYTES(unterminated, "probe/0/src", "Das\0Haus")
PUT_BYTES(empty_token, "probe/0/src", "\0Haus\0")
PUT_BYTES(bad_utf8, "probe/0/src", "Das\0H\xC3\0")
PUT_BYTES(no_src, "probe/0/src", "")
PUT_BYTES(no_out, "probe/1/out", "")

static void src_as_string(ak_container_writer *w)
{
    ak_container_put_str(w, "probe/0/src", "Das Haus", NULL);
}

/* p0 tf cross layer 0 is [2 heads, 3 ref + 1, 4 src]. */
static void wrong_shape(ak_container_writer *w)
{
    float z[2 * 4 * 5] = {0};
    ak_container_put_tensor(w, "probe/0/tf/cross/0", 3, (int64_t[]){2, 4, 5}, z, NULL);
}
static void two_dims(ak_container_writer *w)
{
    float z[8 * 4] = {0};
    ak_container_put_tensor(w, "probe/0/tf/cross/0", 2, (int64_t[]){8, 4}, z, NULL);
}
static void put_value(ak_container_writer *w, float v)
{
    float z[2 * 4 * 4] = {0};
    z[1 * 16 + 2 * 4 + 3] = v; /* head 1, query 2, key 3 */
    ak_container_put_tensor(w, "probe/0/tf/cross/0", 3, (int64_t[]){2, 4, 4}, z, NULL);
}
static void nan_value(ak_container_writer *w)
{
    put_value(w, NAN);
}
static void big_value(ak_container_writer *w)
{
    put_value(w, 1.5f);
}
static void negative_value(ak_container_writer *w)
{
    put_value(w, -0.25f);
}

Test(io_attnfile, content_errors_are_refused_with_their_message)
{
    expect_refused("attn/version", version2,
                   "attention file version 2, this build reads versions 1 to 1 (upgrade attnkit)");
    expect_refused("attn/version", version0, "attention file version 0");
    expect_refused("attn/version", NULL, "missing record 'attn/version'");
    expect_refused("epoch", NULL, "missing record 'epoch'");
    expect_refused("model/cross/layers", layers65, "record 'model/cross/layers' is 65, expected 0..64");
    expect_refused("model/cross/heads", heads0, "cross heads 0 outside [1, 1024]");
    expect_refused("model/dec-self/layers", no_dec_layers, "dec-self has 2 heads but no layers");
    expect_refused("probes", probes1000, "'probes' says 1000 probes, the file has records for at most");
    expect_refused("probe/0/out_eos", eos2, "record 'probe/0/out_eos' is 2, expected 0..1");
    expect_refused(NULL, extra_probe, "record 'probe/7/id' is for probe 7, the file has 2 probes");
    expect_refused(NULL, bad_index, "record 'probe/01/id' does not name a probe");
    expect_refused(NULL, extra_layer, "record 'probe/0/tf/cross/5': the model has 2 cross layers (0..1)");
    expect_refused(NULL, bad_role, "expected probe/P/tf/ROLE/LAYER");
    expect_refused(NULL, bad_layer, "layer is not a decimal number");
    expect_refused("model/desc", desc_u64, "record 'model/desc' is a u64, expected a string");
    expect_refused("probe/0/src", unterminated, "record 'probe/0/src': the last token is not NUL-terminated");
    expect_refused("probe/0/src", empty_token, "record 'probe/0/src': token 0 is empty");
    expect_refused("probe/0/src", bad_utf8, "record 'probe/0/src': token 1: invalid UTF-8");
    expect_refused("probe/0/src", no_src, "probe 0 (id 17): no source tokens");
    expect_refused("probe/1/out", no_out, "probe 1 (id 4): greedy output has no decoder position");
    expect_refused("probe/0/src", src_as_string, "record 'probe/0/src' is a string, expected a byte blob");
    expect_refused("probe/1/greedy/enc-self/1", NULL, "missing record 'probe/1/greedy/enc-self/1'");
    expect_refused("probe/0/tf/cross/0", wrong_shape,
                   "record 'probe/0/tf/cross/0' has shape [2, 4, 5], expected [2, 4, 4] (heads, reference tokens + 1, "
                   "source tokens)");
    expect_refused("probe/0/tf/cross/0", two_dims, "has shape [8, 4], expected [2, 4, 4]");
    expect_refused("probe/0/tf/cross/0", nan_value,
                   "record 'probe/0/tf/cross/0': weight nan at head 1, query 2, key 3 is not a probability in [0, 1]");
    expect_refused("probe/0/tf/cross/0", big_value, "weight 1.5 at head 1, query 2, key 3");
    expect_refused("probe/0/tf/cross/0", negative_value, "weight -0.25 at head 1, query 2, key 3");
}

/* Every record replaced by a value of every other type (and by hostile
 * values of its own): the reader refuses or accepts, never crashes (run
 * under ASan by `make sanitize`), and a refusal names the file. */
static const char *g_key;
static int g_kind;

static void replace_current(ak_container_writer *w)
{
    static const float one[1] = {1};
    switch (g_kind) {
    case 0:
        ak_container_put_u64(w, g_key, 0, NULL);
        break;
    case 1:
        ak_container_put_u64(w, g_key, UINT64_MAX, NULL);
        break;
    case 2:
        ak_container_put_str(w, g_key, "x", NULL);
        break;
    case 3:
        ak_container_put_bytes(w, g_key, "\xff\xfe\0", 3, NULL);
        break;
    case 4:
        ak_container_put_tensor(w, g_key, 1, (int64_t[]){1}, one, NULL);
        break;
    case 5:
        ak_container_put_tensor(w, g_key, 3, (int64_t[]){0, 0, 0}, NULL, NULL);
        break;
    default:
        ak_container_put_i32s(w, g_key, (const int32_t[]){-1}, 1, NULL);
        break;
    }
}

Test(io_attnfile, every_record_replaced_by_any_type_never_crashes)
{
    size_t n;
    unsigned char *img = sample_bytes(&n);
    ak_err err = {{0}};
    ak_container *c = ak_container_open_mem(img, n, "s", AK_ATTN_FILE_MAGIC, "attention file", &err);
    cr_assert_not_null(c, "%s", err.msg);
    int refused = 0, total = 0;
    for (size_t i = 0; i < ak_container_count(c); i++)
        for (g_kind = 0; g_kind < 7; g_kind++, total++) {
            g_key = ak_container_at(c, i)->key;
            size_t m;
            unsigned char *bad = rewrite(g_key, replace_current, &m);
            ak_attn_file g;
            if (ak_attn_file_read_mem(&g, bad, m, "bad.attn", &err) == 0) {
                ak_attn_file_free(&g);
            } else {
                refused++;
                cr_assert(strncmp(err.msg, "bad.attn: ", 10) == 0, "%s", err.msg);
            }
            free(bad);
        }
    /* Only "model/desc" (any string) and a few u64 values (id 0, epoch 0, a 0/1 flag) may pass. */
    cr_expect_gt(refused, total - 12, "%d of %d refused", refused, total);
    ak_container_close(c);
    free(img);
}

/* ---------------------------------------------------------- builder */

Test(io_attnfile, builder_refuses_bad_input)
{
    ak_err err = {{0}};
    ak_attn_file f;
    ak_attn_summary s = {{0, 0, 1}, {0, 0, 0}};
    cr_expect_eq(ak_attn_file_init(&f, 1, &s, NULL, &err), -1);
    cr_expect_str_eq(err.msg, "attention file: cross heads 0 outside [1, 1024]");
    s = (ak_attn_summary){{0, 0, 0}, {0, 0, 0}};
    cr_expect_eq(ak_attn_file_init(&f, 1, &s, NULL, &err), -1);
    cr_expect_str_eq(err.msg, "attention file: the model summary has no attention layer");
    s = (ak_attn_summary){{0, 0, 65}, {0, 0, 1}};
    cr_expect_eq(ak_attn_file_init(&f, 1, &s, NULL, &err), -1);
    cr_expect_str_eq(err.msg, "attention file: cross layers 65 outside [0, 64]");

    s = (ak_attn_summary){{0, 0, 1}, {0, 0, 2}};
    cr_assert_eq(ak_attn_file_init(&f, 1, &s, NULL, &err), 0, "%s", err.msg);
    const char *ok[] = {"a", "b"}, *empty[] = {"a", ""}, *bad[] = {"\xC0\xAF"};
    cr_expect_null(ak_attn_file_add_probe(&f, 9, empty, 2, ok, 2, ok, 2, 1, &err));
    cr_expect_str_eq(err.msg, "attention file: probe 0 (id 9): source: token 1 is empty");
    cr_expect_null(ak_attn_file_add_probe(&f, 9, ok, 2, bad, 1, ok, 2, 1, &err));
    cr_expect(strstr(err.msg, "attention file: probe 0 (id 9): reference: token 0: invalid UTF-8 at byte 0"), "%s",
              err.msg);
    cr_expect_null(ak_attn_file_add_probe(&f, 9, ok, 0, ok, 2, ok, 2, 1, &err));
    cr_expect_str_eq(err.msg, "attention file: probe 0 (id 9): no source tokens (at least 1 expected)");
    cr_expect_null(ak_attn_file_add_probe(&f, 9, ok, 1, ok, 2, ok, 0, 0, &err));
    cr_expect(strstr(err.msg, "greedy output has no decoder position"), "%s", err.msg);
    cr_expect_eq(f.n_probes, 0);

    ak_attn_probe *p = ak_attn_file_add_probe(&f, 9, ok, 2, ok, 1, ok, 2, 0, &err);
    cr_assert_not_null(p, "%s", err.msg);
    float w[2 * 2 * 2] = {0.5f, 0.5f, 1, 0, 0, 1, 0.25f, 0.75f}; /* tf cross [2 heads, 1 + 1, 2] */
    cr_expect_eq(ak_attn_probe_set_map(&f, p, AK_ATTN_TF, AK_ROLE_CROSS, 1, w, &err), -1);
    cr_expect_str_eq(err.msg, "attention file: probe id 9: tf cross layer 1: cross layer 1 outside the model's 1 cross "
                              "layers");
    cr_expect_eq(ak_attn_probe_set_map(&f, p, AK_ATTN_TF, AK_ROLE_ENC_SELF, 0, w, &err), -1);
    w[5] = 2.0f;
    cr_expect_eq(ak_attn_probe_set_map(&f, p, AK_ATTN_TF, AK_ROLE_CROSS, 0, w, &err), -1);
    cr_expect_str_eq(err.msg, "attention file: probe id 9: tf cross layer 0: weight 2 at head 1, query 0, key 1 is not "
                              "a probability in [0, 1]");
    w[5] = 1.0f;
    cr_assert_eq(ak_attn_probe_set_map(&f, p, AK_ATTN_TF, AK_ROLE_CROSS, 0, w, &err), 0, "%s", err.msg);

    /* The greedy map is missing: writing fails and leaves nothing behind. */
    char path[128];
    snprintf(path, sizeof path, "%s/e.attn", tmpdir());
    cr_expect_eq(ak_attn_file_write(&f, path, &err), -1);
    cr_expect(strstr(err.msg, "attention file: probe 0 (id 9) has no greedy cross layer 0 map"), "%s", err.msg);
    cr_expect(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
    cr_expect_neq(access(path, F_OK), 0);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    cr_expect_neq(access(tmp, F_OK), 0, "temporary left behind");
    ak_attn_file_free(&f);
    rmdir(tmp_dir);
}

Test(io_attnfile, summary_from_descriptions)
{
    ak_model_desc d = ak_model_desc_default(AK_MODEL_TRANSFORMER, 100, 100);
    ak_attn_summary s = ak_attn_summary_from_desc(&d);
    ak_attn_summary want = {{3, 3, 3}, {4, 4, 4}};
    cr_expect_eq(memcmp(&s, &want, sizeof s), 0);
    d = ak_model_desc_default(AK_MODEL_RNN, 100, 100);
    s = ak_attn_summary_from_desc(&d);
    want = (ak_attn_summary){{0, 0, 1}, {0, 0, 1}};
    cr_expect_eq(memcmp(&s, &want, sizeof s), 0);
    d.attention = AK_ATTN_MULTIHEAD;
    d.heads = 4;
    s = ak_attn_summary_from_desc(&d);
    cr_expect_eq(s.heads[AK_ROLE_CROSS], 4);
}

/* ------------------------------------------------------ from capture */

/* Weight of (b, h, q, k) in the hand-made capture: distinct, in [0, 1). */
static float code(int64_t b, int64_t h, int64_t q, int64_t k)
{
    return (float)(b * 1000 + h * 100 + q * 10 + k) / 4096.0f;
}

static void add_map(ak_attn_capture *cap, ak_attn_role role, int layer, int64_t B, int64_t H, int64_t lq, int64_t lk)
{
    float *data = malloc(sizeof(float) * (size_t)(B * H * lq * lk));
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t q = 0; q < lq; q++)
                for (int64_t k = 0; k < lk; k++)
                    data[((b * H + h) * lq + q) * lk + k] = code(b, h, q, k);
    ak_tensor t = {.data = data};
    cr_assert_eq(ak_tensor_set_shape(&t, 4, (int64_t[]){B, H, lq, lk}), 0);
    ak_capture_add(cap, role, layer, &t);
    free(data);
}

Test(io_attnfile, capture_maps_are_cut_to_the_probe_lengths)
{
    ak_attn_capture cap;
    ak_capture_init(&cap);
    /* Batch of 3, 2 heads, padded to 6 source and 5 decoder positions. */
    add_map(&cap, AK_ROLE_ENC_SELF, 0, 3, 2, 6, 6);
    add_map(&cap, AK_ROLE_DEC_SELF, 0, 3, 2, 5, 5);
    add_map(&cap, AK_ROLE_CROSS, 0, 3, 2, 5, 6);
    ak_attn_summary s;
    ak_err err = {{0}};
    cr_assert_eq(ak_attn_summary_from_capture(&cap, &s, &err), 0, "%s", err.msg);
    ak_attn_summary want = {{1, 1, 1}, {2, 2, 2}};
    cr_assert_eq(memcmp(&s, &want, sizeof s), 0);
    ak_attn_file f;
    cr_assert_eq(ak_attn_file_init(&f, 2, &s, NULL, &err), 0, "%s", err.msg);
    /* Batch row 1: 4 source tokens, 2 reference tokens (3 decoder rows). */
    const char *t[] = {"a", "b", "c", "d"};
    ak_attn_probe *p = ak_attn_file_add_probe(&f, 1, t, 4, t, 2, t, 2, 0, &err);
    cr_assert_not_null(p);
    cr_assert_eq(ak_attn_probe_from_capture(&f, p, AK_ATTN_TF, &cap, 1, &err), 0, "%s", err.msg);
    int64_t dims[3][2] = {{4, 4}, {3, 3}, {3, 4}};
    for (int r = 0; r < 3; r++) {
        const float *w = p->map[AK_ATTN_TF][r][0];
        for (int h = 0; h < 2; h++)
            for (int64_t q = 0; q < dims[r][0]; q++)
                for (int64_t k = 0; k < dims[r][1]; k++)
                    cr_assert_eq(w[(h * dims[r][0] + q) * dims[r][1] + k], code(1, h, q, k),
                                 "role %d h %d q %lld k %lld", r, h, (long long)q, (long long)k);
    }
    /* Errors: batch row outside, capture smaller than the probe, missing map, failed capture. */
    cr_expect_eq(ak_attn_probe_from_capture(&f, p, AK_ATTN_GREEDY, &cap, 3, &err), -1);
    cr_expect_str_eq(err.msg, "attention file: probe id 1: batch row 3 outside the greedy capture's 3 rows");
    const char *long_src[] = {"a", "b", "c", "d", "e", "f", "g"};
    ak_attn_probe *q = ak_attn_file_add_probe(&f, 2, long_src, 7, t, 1, t, 1, 1, &err);
    cr_expect_eq(ak_attn_probe_from_capture(&f, q, AK_ATTN_TF, &cap, 0, &err), -1);
    cr_expect_str_eq(err.msg, "attention file: probe id 2: tf enc-self layer 0 captured as 6 x 6, the probe needs 7 x "
                              "7 (queries x keys)");
    ak_attn_capture only_cross;
    ak_capture_init(&only_cross);
    add_map(&only_cross, AK_ROLE_CROSS, 0, 1, 2, 3, 4);
    cr_expect_eq(ak_attn_probe_from_capture(&f, p, AK_ATTN_TF, &only_cross, 0, &err), -1);
    cr_expect_str_eq(err.msg, "attention file: probe id 1: the tf capture has no enc-self layer 0 map");
    only_cross.failed = 1;
    cr_expect_eq(ak_attn_probe_from_capture(&f, p, AK_ATTN_TF, &only_cross, 0, &err), -1);
    cr_expect(strstr(err.msg, "the tf capture failed"), "%s", err.msg);
    cr_expect_eq(ak_attn_summary_from_capture(&only_cross, &s, &err), -1);
    ak_capture_free(&only_cross);
    /* A role that skips a layer. */
    ak_attn_capture gap;
    ak_capture_init(&gap);
    add_map(&gap, AK_ROLE_CROSS, 1, 1, 2, 3, 4);
    cr_expect_eq(ak_attn_summary_from_capture(&gap, &s, &err), -1);
    cr_expect_str_eq(err.msg, "capture has cross layer 1 but no layer 0");
    ak_capture_free(&gap);
    ak_capture_free(&cap);
    ak_attn_file_free(&f);
}

/* A real Transformer: probe A alone (no padding) and in a batch beside a
 * longer probe B (A padded) give the same cut maps, teacher-forced and
 * greedy; the cut maps' rows sum to 1 (nothing of the real rows was cut). */
static ak_model_desc tiny(void)
{
    ak_model_desc d = ak_model_desc_default(AK_MODEL_TRANSFORMER, 11, 9);
    d.d_model = 8;
    d.heads = 2;
    d.d_ff = 12;
    d.enc_layers = 2;
    d.dec_layers = 2;
    d.max_len = 16;
    d.dropout = 0;
    return d;
}

static void run_tf(ak_model *m, const int32_t *src, int64_t B, int64_t Ls, const int32_t *tin, int64_t Lt,
                   ak_attn_capture *cap)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_set_grad_enabled(&c, 0);
    ak_capture_init(cap);
    cr_assert_not_null(ak_model_forward(&c, m, src, B, Ls, tin, Lt, cap), "%s", c.err.msg);
    ak_ctx_free(&c);
}

/* Greedy for `steps` steps (no early stop: the caller's lengths cut). */
static void run_greedy(ak_model *m, const int32_t *src, int64_t B, int64_t Ls, int64_t steps, ak_attn_capture *cap,
                       int32_t *out)
{
    ak_ctx c;
    ak_ctx_init(&c, 0, 1);
    ak_set_grad_enabled(&c, 0);
    ak_capture_init(cap);
    ak_decode_state *s = ak_model_begin_decode(&c, m, src, B, Ls, steps, cap);
    cr_assert_not_null(s, "%s", c.err.msg);
    int32_t prev[4] = {AK_BOS, AK_BOS, AK_BOS, AK_BOS};
    for (int64_t t = 0; t < steps; t++) {
        ak_tensor *logits = ak_model_decode_step(&c, m, s, prev);
        cr_assert_not_null(logits, "%s", c.err.msg);
        int64_t V = logits->shape[1];
        for (int64_t b = 0; b < B; b++) {
            int32_t best = 0;
            for (int64_t v = 1; v < V; v++)
                if (logits->data[b * V + v] > logits->data[b * V + best])
                    best = (int32_t)v;
            prev[b] = best;
            out[b * steps + t] = best;
        }
    }
    ak_ctx_free(&c);
}

static void expect_close_maps(const ak_attn_file *f, const ak_attn_probe *a, const ak_attn_probe *b, ak_attn_mode mode)
{
    for (int r = 0; r < AK_ATTN_NROLES; r++)
        for (int l = 0; l < f->model.layers[r]; l++) {
            int64_t nq = ak_attn_probe_queries(a, mode, (ak_attn_role)r),
                    nk = ak_attn_probe_keys(a, mode, (ak_attn_role)r);
            for (int h = 0; h < f->model.heads[r]; h++)
                for (int64_t q = 0; q < nq; q++) {
                    const float *x = ak_attn_probe_row(f, a, mode, (ak_attn_role)r, l, h, q);
                    const float *y = ak_attn_probe_row(f, b, mode, (ak_attn_role)r, l, h, q);
                    double sum = 0;
                    for (int64_t k = 0; k < nk; k++) {
                        sum += x[k];
                        cr_assert(fabsf(x[k] - y[k]) < 1e-5f, "%s %s L%d h%d q%lld k%lld: %g vs %g",
                                  ak_attn_mode_name(mode), ak_attn_role_name((ak_attn_role)r), l, h, (long long)q,
                                  (long long)k, x[k], y[k]);
                    }
                    cr_assert(fabs(sum - 1.0) < 1e-5, "row sum %g", sum);
                }
        }
}

Test(io_attnfile, padded_batch_and_single_probe_give_the_same_cut_maps)
{
    ak_model_desc d = tiny();
    ak_err err = {{0}};
    ak_model *m = ak_model_create(&d, 7, &err);
    cr_assert_not_null(m, "%s", err.msg);
    /* A: 3 source, 2 reference tokens; B: 5 and 4. Batch: A padded. */
    int32_t srcA[3] = {4, 5, 6}, tinA[3] = {AK_BOS, 7, 8};
    int32_t src2[2 * 5] = {4, 5, 6, AK_PAD, AK_PAD, 9, 10, 4, 5, 6};
    int32_t tin2[2 * 5] = {AK_BOS, 7, 8, AK_PAD, AK_PAD, AK_BOS, 4, 5, 6, 7};
    ak_attn_capture alone, batch;
    run_tf(m, srcA, 1, 3, tinA, 3, &alone);
    run_tf(m, src2, 2, 5, tin2, 5, &batch);
    ak_attn_summary s = ak_attn_summary_from_desc(&d), sc;
    cr_assert_eq(ak_attn_summary_from_capture(&batch, &sc, &err), 0, "%s", err.msg);
    cr_assert_eq(memcmp(&s, &sc, sizeof s), 0);
    ak_attn_file f;
    cr_assert_eq(ak_attn_file_init(&f, 0, &s, NULL, &err), 0, "%s", err.msg);
    const char *src_t[] = {"e", "f", "g"}, *ref_t[] = {"h", "i"}, *out_t[] = {"o1", "o2", "o3", "o4"};
    /* Greedy: 4 steps in both runs; A's output counts as 3 tokens + EOS. */
    int32_t outA[4], out2[8];
    ak_attn_capture galone, gbatch;
    run_greedy(m, srcA, 1, 3, 4, &galone, outA);
    run_greedy(m, src2, 2, 5, 4, &gbatch, out2);
    for (int t = 0; t < 4; t++)
        cr_expect_eq(outA[t], out2[t], "greedy token %d differs with padding", t);
    ak_attn_probe *pa = ak_attn_file_add_probe(&f, 0, src_t, 3, ref_t, 2, out_t, 3, 1, &err);
    ak_attn_probe *pb = ak_attn_file_add_probe(&f, 1, src_t, 3, ref_t, 2, out_t, 3, 1, &err);
    cr_assert(pa && pb, "%s", err.msg);
    cr_assert_eq(ak_attn_probe_from_capture(&f, pa, AK_ATTN_TF, &alone, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_attn_probe_from_capture(&f, pb, AK_ATTN_TF, &batch, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_attn_probe_from_capture(&f, pa, AK_ATTN_GREEDY, &galone, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_attn_probe_from_capture(&f, pb, AK_ATTN_GREEDY, &gbatch, 0, &err), 0, "%s", err.msg);
    expect_close_maps(&f, pa, pb, AK_ATTN_TF);
    expect_close_maps(&f, pa, pb, AK_ATTN_GREEDY);
    /* The teacher-forced encoder maps equal the greedy ones (same computation). */
    int64_t n = 2 * 3 * 3;
    for (int64_t i = 0; i < n; i++)
        cr_expect(fabsf(pa->map[AK_ATTN_TF][AK_ROLE_ENC_SELF][1][i] - pa->map[AK_ATTN_GREEDY][AK_ROLE_ENC_SELF][1][i]) <
                  1e-6f);
    /* Greedy decoder self-attention is causal: row q puts nothing after q. */
    const float *ds = pa->map[AK_ATTN_GREEDY][AK_ROLE_DEC_SELF][0];
    for (int64_t q = 0; q < 4; q++)
        for (int64_t k = q + 1; k < 4; k++)
            cr_expect_eq(ds[q * 4 + k], 0.0f);
    ak_capture_free(&alone);
    ak_capture_free(&batch);
    ak_capture_free(&galone);
    ak_capture_free(&gbatch);
    ak_attn_file_free(&f);
    ak_model_free(m);
}
