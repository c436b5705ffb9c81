/* The container format (lib/io/container.h, docs/formats.md "## Container"):
 * round trips, the exact byte layout, and refusal of every damaged or
 * hostile file (truncation at every length, every single-byte corruption,
 * crafted payloads with valid CRCs, random garbage), atomic replacement, and
 * the parameter-store helpers. Crafted files are built by craft() below
 * straight from the documented layout, independently of the writer. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/rng.h"
#include "io/atomic_file.h"
#include "io/container.h"

#define CK "AKCKPT01"
#define AT "AKATTN01"
#define HS AK_CONTAINER_HEADER_SIZE /* 44 */

/* ------------------------------------------------------------ helpers */

static char tmp_dir[64]; /* each test runs in its own process */

static char *tmpdir(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ak_io_container_XXXXXX");
    cr_assert(mkdtemp(tmp_dir), "mkdtemp: %s", strerror(errno));
    return tmp_dir;
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        for (struct dirent *e; d && (e = readdir(d));) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char sub[512];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void cleanup(void)
{
    if (tmp_dir[0])
        remove_tree(tmp_dir);
}

TestSuite(io_container, .fini = cleanup);

static char *path_in(const char *dir, const char *name)
{
    static char buf[4][256];
    static int k;
    char joined[256]; /* dir may itself be one of the buffers */
    snprintf(joined, sizeof joined, "%s/%s", dir, name);
    char *p = buf[k++ % 4];
    memcpy(p, joined, sizeof joined);
    return p;
}

/* Entries of dir other than . and .. (to see that no temporary is left). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void write_raw(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(p, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static unsigned char *read_raw(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s: %s", path, strerror(errno));
    static unsigned char buf[1 << 16];
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> 8 * i);
}

static void le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> 8 * i);
}

static uint32_t rd32(const unsigned char *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* A payload under construction, record by record, from the documented
 * layout: key_len u32, key, type u8, value_len u64, value. */
typedef struct pl {
    unsigned char b[1 << 14];
    size_t n;
} pl;

static void pl_bytes(pl *p, const void *v, size_t n)
{
    cr_assert(p->n + n <= sizeof p->b);
    memcpy(p->b + p->n, v, n);
    p->n += n;
}

static void pl_head(pl *p, const char *key, int type, uint64_t vlen)
{
    unsigned char h[13];
    le32(h, (uint32_t)strlen(key));
    pl_bytes(p, h, 4);
    pl_bytes(p, key, strlen(key));
    h[0] = (unsigned char)type;
    pl_bytes(p, h, 1);
    le64(h, vlen);
    pl_bytes(p, h, 8);
}

static void pl_u64(pl *p, const char *key, uint64_t v)
{
    unsigned char b[8];
    pl_head(p, key, AK_REC_U64, 8);
    le64(b, v);
    pl_bytes(p, b, 8);
}

typedef struct crafted {
    unsigned char b[1 << 15];
    size_t n;
} crafted;

/* Header + zlib(payload) with correct CRCs unless told otherwise. */
static void craft(crafted *f, const char *magic, uint32_t version, uint32_t flags, const void *payload, size_t plen,
                  int bad_payload_crc)
{
    uLongf clen = sizeof f->b - HS;
    cr_assert_eq(compress2(f->b + HS, &clen, payload, plen, 6), Z_OK);
    memcpy(f->b, magic, 8);
    le32(f->b + 8, version);
    le32(f->b + 12, flags);
    le64(f->b + 16, plen);
    le64(f->b + 24, clen);
    le32(f->b + 32, (uint32_t)crc32(0, payload, (uInt)plen) ^ (bad_payload_crc ? 1u : 0u));
    le32(f->b + 36, (uint32_t)crc32(0, f->b + HS, (uInt)clen));
    le32(f->b + 40, (uint32_t)crc32(0, f->b, 40));
    f->n = HS + clen;
}

static void fix_header_crc(unsigned char *b)
{
    le32(b + 40, (uint32_t)crc32(0, b, 40));
}

/* After editing the compressed bytes of a well-formed image of n bytes. */
static void fix_crcs(unsigned char *b, size_t n)
{
    le32(b + 36, (uint32_t)crc32(0, b + HS, (uInt)(n - HS)));
    fix_header_crc(b);
}

/* Opens a crafted image; asserts refusal and that the message holds want. */
static void check_refused(const void *b, size_t n, const char *want)
{
    ak_err err = {{0}};
    ak_container *c = ak_container_open_mem(b, n, "f.ckpt", CK, "checkpoint", &err);
    cr_assert_null(c, "accepted a file that should be refused (%s)", want);
    cr_assert(strstr(err.msg, want), "message \"%s\" lacks \"%s\"", err.msg, want);
    cr_assert(strncmp(err.msg, "f.ckpt: ", 8) == 0, "message does not name the file: %s", err.msg);
}

static void check_refused_payload(const pl *p, const char *want)
{
    static crafted f;
    craft(&f, CK, 1, 0, p->b, p->n, 0);
    check_refused(f.b, f.n, want);
}

static const float T4[2 * 3 * 1 * 2] = {1.5f, -2.25f, 0.0f, -0.0f, 3e38f, 1e-45f,
                                        7.0f, 8.5f,   -9.f, 10.f,  11.f,  -12.125f};

/* A writer holding one record of every type. */
static ak_container_writer *writer_all_types(ak_container_writer *w)
{
    ak_err err = {{0}};
    static const int64_t s1[] = {3}, s2[] = {2, 3}, s4[] = {2, 3, 1, 2}, s0[] = {4, 0};
    static const int32_t iv[] = {0, -1, 2147483647, -2147483647 - 1, 42};
    static const unsigned char blob[] = {0, 1, 2, 0, 255, 'x'};
    float scalar = 0.25f;
    cr_assert_eq(ak_container_put_u64(w, "u64/max", UINT64_MAX, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_u64(w, "u64/small", 7, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_i64(w, "i64/min", INT64_MIN, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_i64(w, "i64/neg", -123456789012345LL, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_f64(w, "f64/pi", 3.141592653589793, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_f64(w, "f64/negzero", -0.0, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_f64(w, "f64/inf", -INFINITY, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_str(w, "config", "lr = 0.001\nname = \"straße 東京\"\n", &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_str(w, "empty", "", &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_bytes(w, "blob", blob, sizeof blob, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_bytes(w, "noblob", NULL, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_tensor(w, "t/scalar", 0, NULL, &scalar, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_tensor(w, "t/vec", 1, s1, T4, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_tensor(w, "t/mat", 2, s2, T4, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_tensor(w, "t/4d", 4, s4, T4, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_tensor(w, "t/empty", 2, s0, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_i32s(w, "ids", iv, 5, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_i32s(w, "noids", NULL, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_str(w, "vocab/é", "ünïcødé key", &err), 0, "%s", err.msg);
    return w;
}

static const char *const ALL_KEYS[] = {
    "u64/max", "u64/small", "i64/min", "i64/neg", "f64/pi", "f64/negzero", "f64/inf", "config", "empty",  "blob",
    "noblob",  "t/scalar",  "t/vec",   "t/mat",   "t/4d",   "t/empty",     "ids",     "noids",  "vocab/é"};

static void check_all_types(const ak_container *c)
{
    ak_err err = {{0}};
    size_t nkeys = sizeof ALL_KEYS / sizeof *ALL_KEYS;
    cr_assert_eq(ak_container_count(c), nkeys);
    for (size_t i = 0; i < nkeys; i++)
        cr_assert_str_eq(ak_container_at(c, i)->key, ALL_KEYS[i], "record %zu out of file order", i);
    cr_assert_null(ak_container_at(c, nkeys));
    cr_assert_eq(ak_container_version(c), 1);

    uint64_t u;
    int64_t i;
    double d;
    cr_assert_eq(ak_container_get_u64(c, "u64/max", &u, &err), 0, "%s", err.msg);
    cr_assert_eq(u, UINT64_MAX);
    cr_assert_eq(ak_container_get_u64(c, "u64/small", &u, &err), 0);
    cr_assert_eq(u, 7);
    cr_assert_eq(ak_container_get_i64(c, "i64/min", &i, &err), 0);
    cr_assert_eq(i, INT64_MIN);
    cr_assert_eq(ak_container_get_i64(c, "i64/neg", &i, &err), 0);
    cr_assert_eq(i, -123456789012345LL);
    cr_assert_eq(ak_container_get_f64(c, "f64/pi", &d, &err), 0);
    cr_assert_eq(d, 3.141592653589793);
    cr_assert_eq(ak_container_get_f64(c, "f64/negzero", &d, &err), 0);
    cr_assert(d == 0.0 && signbit(d), "-0.0 lost its sign");
    cr_assert_eq(ak_container_get_f64(c, "f64/inf", &d, &err), 0);
    cr_assert(isinf(d) && d < 0);

    const char *s;
    size_t n;
    cr_assert_eq(ak_container_get_str(c, "config", &s, &n, &err), 0);
    cr_assert_str_eq(s, "lr = 0.001\nname = \"straße 東京\"\n");
    cr_assert_eq(n, strlen(s));
    cr_assert_eq(ak_container_get_str(c, "empty", &s, &n, &err), 0);
    cr_assert_str_eq(s, "");
    cr_assert_eq(n, 0);
    cr_assert_eq(ak_container_get_str(c, "vocab/é", &s, NULL, &err), 0);
    cr_assert_str_eq(s, "ünïcødé key");

    const void *p;
    cr_assert_eq(ak_container_get_bytes(c, "blob", &p, &n, &err), 0);
    cr_assert_eq(n, 6);
    cr_assert_arr_eq(p, ((unsigned char[]){0, 1, 2, 0, 255, 'x'}), 6);
    cr_assert_eq(ak_container_get_bytes(c, "noblob", &p, &n, &err), 0);
    cr_assert_eq(n, 0);

    int nd;
    int64_t sh[4];
    const float *t;
    cr_assert_eq(ak_container_get_tensor(c, "t/scalar", &nd, sh, &t, &err), 0);
    cr_assert_eq(nd, 0);
    cr_assert_eq(t[0], 0.25f);
    cr_assert_eq(ak_container_get_tensor(c, "t/vec", &nd, sh, &t, &err), 0);
    cr_assert(nd == 1 && sh[0] == 3);
    cr_assert_arr_eq(t, T4, 3 * sizeof(float));
    cr_assert_eq(ak_container_get_tensor(c, "t/mat", &nd, sh, &t, &err), 0);
    cr_assert(nd == 2 && sh[0] == 2 && sh[1] == 3 && sh[2] == 0);
    cr_assert_arr_eq(t, T4, 6 * sizeof(float));
    cr_assert_eq(ak_container_get_tensor(c, "t/4d", &nd, sh, &t, &err), 0);
    cr_assert(nd == 4 && sh[0] == 2 && sh[1] == 3 && sh[2] == 1 && sh[3] == 2);
    cr_assert_arr_eq(t, T4, 12 * sizeof(float), "tensor data changed (bit-exact incl. -0.0 and denormal)");
    cr_assert_eq(ak_container_get_tensor(c, "t/empty", &nd, sh, &t, &err), 0);
    cr_assert(nd == 2 && sh[0] == 4 && sh[1] == 0);
    cr_assert_eq(ak_container_find(c, "t/empty")->len, 0);

    const int32_t *iv;
    cr_assert_eq(ak_container_get_i32s(c, "ids", &iv, &n, &err), 0);
    cr_assert_eq(n, 5);
    cr_assert_arr_eq(iv, ((int32_t[]){0, -1, 2147483647, -2147483647 - 1, 42}), 5 * sizeof(int32_t));
    cr_assert_eq(ak_container_get_i32s(c, "noids", &iv, &n, &err), 0);
    cr_assert_eq(n, 0);
}

/* A small valid file for the damage tests (about 200 bytes). */
static unsigned char *small_file(size_t *n)
{
    ak_err err = {{0}};
    ak_container_writer *w = ak_container_new(CK, &err);
    static const int64_t sh[] = {2, 2};
    static const float v[] = {1, 2, 3, 4};
    cr_assert_eq(ak_container_put_u64(w, "epoch", 3, &err), 0);
    cr_assert_eq(ak_container_put_str(w, "model", "gru 2x64", &err), 0);
    cr_assert_eq(ak_container_put_tensor(w, "param/w", 2, sh, v, &err), 0);
    cr_assert_eq(ak_container_put_i32s(w, "ids", (const int32_t[]){5, 6, 7}, 3, &err), 0);
    cr_assert_eq(ak_container_put_f64(w, "loss", 1.25, &err), 0);
    unsigned char *b;
    cr_assert_eq(ak_container_bytes(w, &b, n, &err), 0, "%s", err.msg);
    ak_container_writer_free(w);
    return b;
}

static ak_container_writer *small_writer(uint64_t epoch)
{
    ak_err err = {{0}};
    ak_container_writer *w = ak_container_new(CK, &err);
    cr_assert_eq(ak_container_put_u64(w, "epoch", epoch, &err), 0);
    return w;
}

/* --------------------------------------------------------- round trips */

Test(io_container, round_trip_every_record_type_in_memory)
{
    ak_err err = {{0}};
    ak_container_writer *w = writer_all_types(ak_container_new(CK, &err));
    unsigned char *b;
    size_t n;
    cr_assert_eq(ak_container_bytes(w, &b, &n, &err), 0, "%s", err.msg);
    ak_container *c = ak_container_open_mem(b, n, "mem", CK, "checkpoint", &err);
    cr_assert_not_null(c, "%s", err.msg);
    check_all_types(c);
    ak_container_close(c);
    ak_container_writer_free(w);
    free(b);
}

Test(io_container, round_trip_through_save_and_stream_gives_identical_files)
{
    ak_err err = {{0}};
    const char *dir = tmpdir();
    const char *a = path_in(dir, "a.ckpt"), *s = path_in(dir, "s.ckpt");
    ak_container_writer *w = writer_all_types(ak_container_new(CK, &err));
    cr_assert_eq(ak_container_save(w, a, &err), 0, "%s", err.msg);
    ak_container_writer_free(w);
    w = writer_all_types(ak_container_stream(s, CK, &err));
    cr_assert_eq(ak_container_commit(w, &err), 0, "%s", err.msg);
    ak_container_writer_free(w);
    for (int k = 0; k < 2; k++) {
        ak_container *c = ak_container_open(k ? s : a, CK, "checkpoint", &err);
        cr_assert_not_null(c, "%s", err.msg);
        cr_assert_str_eq(ak_container_path(c), k ? s : a);
        check_all_types(c);
        ak_container_close(c);
    }
    size_t na, ns;
    unsigned char *ba = malloc(1 << 16);
    const unsigned char *ra = read_raw(a, &na);
    memcpy(ba, ra, na);
    unsigned char *bs = read_raw(s, &ns);
    cr_assert_eq(na, ns);
    cr_assert_arr_eq(ba, bs, na, "memory and stream writers produced different bytes");
    cr_assert_eq(count_entries(dir), 2, "a temporary file was left behind");
    free(ba);
}

Test(io_container, round_trip_large_tensor_spans_many_chunks)
{
    /* 3M floats = 12 MB: many 64 KiB zlib chunks and several doublings of
     * the reader's growing value buffer. */
    ak_err err = {{0}};
    const char *dir = tmpdir();
    const char *path = path_in(dir, "big.ckpt");
    const int64_t sh[] = {1000, 3000};
    float *x = malloc(sizeof(float) * 3000000);
    ak_rng r = ak_rng_make(5, 0);
    for (int i = 0; i < 3000000; i++)
        x[i] = ak_rng_normal(&r, 0.0f, 1.0f);
    ak_container_writer *w = ak_container_stream(path, CK, &err);
    cr_assert_not_null(w, "%s", err.msg);
    cr_assert_eq(ak_container_put_tensor(w, "big", 2, sh, x, &err), 0);
    cr_assert_eq(ak_container_put_u64(w, "after", 99, &err), 0);
    cr_assert_eq(ak_container_commit(w, &err), 0, "%s", err.msg);
    ak_container_writer_free(w);
    ak_container *c = ak_container_open(path, CK, "checkpoint", &err);
    cr_assert_not_null(c, "%s", err.msg);
    int nd;
    int64_t s[4];
    const float *y;
    cr_assert_eq(ak_container_get_tensor(c, "big", &nd, s, &y, &err), 0);
    cr_assert(nd == 2 && s[0] == 1000 && s[1] == 3000);
    cr_assert_eq(memcmp(x, y, sizeof(float) * 3000000), 0);
    uint64_t u;
    cr_assert_eq(ak_container_get_u64(c, "after", &u, &err), 0);
    cr_assert_eq(u, 99);
    ak_container_close(c);
    free(x);
}

Test(io_container, every_compression_level_reads_back_and_late_changes_are_refused)
{
    ak_err err = {{0}};
    size_t sizes[10];
    for (int level = 0; level <= 9; level++) {
        ak_container_writer *w = ak_container_new(CK, &err);
        cr_assert_eq(ak_container_set_level(w, level, &err), 0, "%s", err.msg);
        writer_all_types(w);
        unsigned char *b;
        cr_assert_eq(ak_container_bytes(w, &b, &sizes[level], &err), 0);
        ak_container *c = ak_container_open_mem(b, sizes[level], "l.ckpt", CK, "checkpoint", &err);
        cr_assert_not_null(c, "level %d: %s", level, err.msg);
        check_all_types(c);
        ak_container_close(c);
        ak_container_writer_free(w);
        free(b);
    }
    cr_assert_gt(sizes[0], sizes[9], "level 0 should store, level 9 compress");
    ak_container_writer *w = ak_container_new(CK, &err);
    cr_assert_eq(ak_container_set_level(w, 10, &err), -1);
    cr_assert_str_eq(err.msg, "compression level 10 (must be 0..9)");
    ak_container_writer_free(w);
    w = small_writer(1);
    cr_assert_eq(ak_container_set_level(w, 9, &err), -1);
    cr_assert_str_eq(err.msg, "compression level set after records were put");
    ak_container_writer_free(w);
}

Test(io_container, empty_container_round_trips)
{
    ak_err err = {{0}};
    ak_container_writer *w = ak_container_new(AT, &err);
    unsigned char *b;
    size_t n;
    cr_assert_eq(ak_container_bytes(w, &b, &n, &err), 0);
    cr_assert_eq(rd64(b + 16), 0, "payload length of an empty container");
    ak_container *c = ak_container_open_mem(b, n, "e.attn", AT, "attention file", &err);
    cr_assert_not_null(c, "%s", err.msg);
    cr_assert_eq(ak_container_count(c), 0);
    ak_container_close(c);
    ak_container_writer_free(w);
    free(b);
}

/* --------------------------------------------------------- byte layout */

Test(io_container, header_and_payload_bytes_follow_the_documented_layout)
{
    ak_err err = {{0}};
    ak_container_writer *w = ak_container_new(CK, &err);
    const int64_t sh[] = {2};
    cr_assert_eq(ak_container_put_u64(w, "a", 0x0102030405060708ull, &err), 0);
    cr_assert_eq(ak_container_put_tensor(w, "t", 1, sh, (const float[]){1.0f, -2.0f}, &err), 0);
    cr_assert_eq(ak_container_put_str(w, "s", "h\xc3\xa9", &err), 0);
    cr_assert_eq(ak_container_put_i32s(w, "i", (const int32_t[]){-2}, 1, &err), 0);
    unsigned char *b;
    size_t n;
    cr_assert_eq(ak_container_bytes(w, &b, &n, &err), 0);
    ak_container_writer_free(w);

    /* Payload written out by hand from docs/formats.md. */
    static const unsigned char want[] = {
        1,    0,    0,    0,    'a',  1,    8,    0,    0, 0, 0, 0, 0, 0, /* key "a", u64, 8 bytes */
        8,    7,    6,    5,    4,    3,    2,    1,                      /* 0x0102030405060708 */
        1,    0,    0,    0,    't',  6,    20,   0,    0, 0, 0, 0, 0, 0, /* key "t", tensor, 20 bytes */
        1,    0,    0,    0,    2,    0,    0,    0,    0, 0, 0, 0,       /* ndim 1, dim 2 */
        0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,                   /* 1.0f, -2.0f */
        1,    0,    0,    0,    's',  4,    3,    0,    0, 0, 0, 0, 0, 0, 'h',  0xc3, 0xa9, /* key "s", string "hé" */
        1,    0,    0,    0,    'i',  7,    4,    0,    0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff,
        0xff, /* key "i", int32s {-2} */
    };
    cr_assert_arr_eq(b, CK, 8, "magic");
    cr_assert_eq(rd32(b + 8), 1, "version");
    cr_assert_eq(rd32(b + 12), 0, "flags");
    cr_assert_eq(rd64(b + 16), sizeof want, "payload length");
    cr_assert_eq(HS, 44);
    cr_assert_eq(rd64(b + 24), n - HS, "compressed length");
    cr_assert_eq(rd32(b + 32), (uint32_t)crc32(0, want, sizeof want), "payload CRC");
    cr_assert_eq(rd32(b + 36), (uint32_t)crc32(0, b + HS, (uInt)(n - HS)), "compressed-bytes CRC");
    cr_assert_eq(rd32(b + 40), (uint32_t)crc32(0, b, 40), "header CRC");
    unsigned char got[sizeof want + 16];
    uLongf glen = sizeof got;
    cr_assert_eq(uncompress(got, &glen, b + HS, n - HS), Z_OK, "payload is not one zlib stream");
    cr_assert_eq(glen, sizeof want);
    cr_assert_arr_eq(got, want, sizeof want, "payload bytes differ from the documented layout");
    free(b);
}

Test(io_container, crafted_file_from_the_spec_is_read)
{
    /* The reverse direction: bytes built by hand are read back. */
    pl p = {0};
    pl_u64(&p, "epoch", 12);
    pl_head(&p, "w", AK_REC_TENSOR, 4 + 16 + 4 * 2);
    unsigned char t[4 + 16 + 8] = {
        2, 0, 0, 0, 1, 0, 0,    0,    0,    0,    0,    0,    2,    0,
        0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0xbf}; /* [1, 2]: 3.0f, -1.0f */
    pl_bytes(&p, t, sizeof t);
    static crafted f;
    craft(&f, AT, 1, 0, p.b, p.n, 0);
    ak_err err = {{0}};
    ak_container *c = ak_container_open_mem(f.b, f.n, "x.attn", AT, "attention file", &err);
    cr_assert_not_null(c, "%s", err.msg);
    uint64_t e;
    cr_assert_eq(ak_container_get_u64(c, "epoch", &e, &err), 0);
    cr_assert_eq(e, 12);
    int nd;
    int64_t sh[4];
    const float *d;
    cr_assert_eq(ak_container_get_tensor(c, "w", &nd, sh, &d, &err), 0);
    cr_assert(nd == 2 && sh[0] == 1 && sh[1] == 2 && d[0] == 3.0f && d[1] == -1.0f);
    ak_container_close(c);
}

/* ------------------------------------------------------ typed lookups */

Test(io_container, lookups_name_missing_records_and_wrong_types)
{
    ak_err err = {{0}};
    ak_container_writer *w = writer_all_types(ak_container_new(CK, &err));
    unsigned char *b;
    size_t n;
    cr_assert_eq(ak_container_bytes(w, &b, &n, &err), 0);
    ak_container *c = ak_container_open_mem(b, n, "m.ckpt", CK, "checkpoint", &err);
    cr_assert_not_null(c);
    int nd;
    int64_t sh[4];
    const float *t;
    cr_assert_eq(ak_container_get_tensor(c, "config", &nd, sh, &t, &err), -1);
    cr_assert_str_eq(err.msg, "m.ckpt: record 'config' is a string, expected a float32 tensor");
    cr_assert_eq(ak_container_get_tensor(c, "nope", &nd, sh, &t, &err), -1);
    cr_assert_str_eq(err.msg, "m.ckpt: missing record 'nope'");
    uint64_t u;
    cr_assert_eq(ak_container_get_u64(c, "i64/min", &u, &err), -1);
    cr_assert_str_eq(err.msg, "m.ckpt: record 'i64/min' is an i64, expected a u64");
    cr_assert_eq(ak_container_get_i32s(c, "t/vec", NULL, NULL, &err), -1);
    cr_assert_str_eq(err.msg, "m.ckpt: record 't/vec' is a float32 tensor, expected an int32 array");
    cr_assert_eq(ak_container_get_str(c, "blob", NULL, NULL, &err), -1);
    cr_assert_str_eq(err.msg, "m.ckpt: record 'blob' is a byte blob, expected a string");
    cr_assert_eq(ak_container_get_f64(c, "u64/max", NULL, &err), -1);
    cr_assert_str_eq(err.msg, "m.ckpt: record 'u64/max' is a u64, expected an f64");
    cr_assert_eq(ak_container_get_bytes(c, "ids", NULL, NULL, &err), -1);
    cr_assert_str_eq(err.msg, "m.ckpt: record 'ids' is an int32 array, expected a byte blob");
    cr_assert_eq(ak_container_get_i64(c, "f64/pi", NULL, &err), -1);
    cr_assert_str_eq(err.msg, "m.ckpt: record 'f64/pi' is an f64, expected an i64");
    cr_assert_null(ak_container_find(c, "nope"));
    ak_container_close(c);
    ak_container_writer_free(w);
    free(b);
}

/* ------------------------------------------------------ writer errors */

Test(io_container, writer_refuses_bad_keys_and_values_and_stays_failed)
{
    ak_err err = {{0}};
    cr_assert_null(ak_container_new("SHORT", &err));
    cr_assert(strstr(err.msg, "8 printable ASCII"), "%s", err.msg);

    static const struct {
        const char *key, *want;
    } bad[] = {
        {"", "empty key"},
        {"tab\there", "control character"},
        {"bad\xff", "not valid UTF-8"},
        {"over\xc0\xaflong", "not valid UTF-8"},
        {"surrogate\xed\xa0\x80", "not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ak_container_writer *w = ak_container_new(CK, &err);
        cr_assert_eq(ak_container_put_u64(w, bad[i].key, 1, &err), -1, "key #%zu accepted", i);
        cr_assert(strstr(err.msg, bad[i].want), "key #%zu: %s", i, err.msg);
        ak_container_writer_free(w);
    }
    char longkey[AK_CONTAINER_KEY_MAX + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = 0;
    ak_container_writer *w = ak_container_new(CK, &err);
    cr_assert_eq(ak_container_put_u64(w, longkey, 1, &err), -1);
    cr_assert(strstr(err.msg, "longer than 1024"), "%s", err.msg);
    ak_container_writer_free(w);
    longkey[AK_CONTAINER_KEY_MAX] = 0; /* exactly the maximum is fine */
    w = ak_container_new(CK, &err);
    cr_assert_eq(ak_container_put_u64(w, longkey, 1, &err), 0, "%s", err.msg);
    ak_container_writer_free(w);

    w = ak_container_new(CK, &err);
    cr_assert_eq(ak_container_put_str(w, "s", "caf\xe9", &err), -1);
    cr_assert_str_eq(err.msg, "record 's': string is not valid UTF-8");
    ak_container_writer_free(w);

    const int64_t neg[] = {2, -1}, five[] = {1, 1, 1, 1, 1}, huge[] = {INT64_MAX, INT64_MAX};
    w = ak_container_new(CK, &err);
    cr_assert_eq(ak_container_put_tensor(w, "t", 2, neg, T4, &err), -1);
    cr_assert_str_eq(err.msg, "record 't': dimension 1 is -1");
    ak_container_writer_free(w);
    w = ak_container_new(CK, &err);
    cr_assert_eq(ak_container_put_tensor(w, "t", 5, five, T4, &err), -1);
    cr_assert_str_eq(err.msg, "record 't': tensor has 5 dimensions (must be 0..4)");
    ak_container_writer_free(w);
    w = ak_container_new(CK, &err);
    cr_assert_eq(ak_container_put_tensor(w, "t", 2, huge, T4, &err), -1);
    cr_assert(strstr(err.msg, "overflows"), "%s", err.msg);
    ak_container_writer_free(w);

    /* Duplicate key: refused, and the writer keeps failing with that
     * message, so a caller that checks only the save learns of it. */
    const char *dir = tmpdir();
    w = ak_container_new(CK, &err);
    cr_assert_eq(ak_container_put_u64(w, "epoch", 1, &err), 0);
    cr_assert_eq(ak_container_put_i64(w, "epoch", 2, &err), -1);
    cr_assert_str_eq(err.msg, "record 'epoch' put twice (keys must be unique)");
    cr_assert_eq(ak_container_put_u64(w, "other", 3, &err), -1);
    cr_assert_str_eq(err.msg, "record 'epoch' put twice (keys must be unique)");
    const char *path = path_in(dir, "x.ckpt");
    cr_assert_eq(ak_container_save(w, path, &err), -1);
    char want[300];
    snprintf(want, sizeof want, "%s: record 'epoch' put twice (keys must be unique)", path);
    cr_assert_str_eq(err.msg, want);
    cr_assert_eq(count_entries(dir), 0, "a failed writer wrote a file");
    ak_container_writer_free(w);

    /* Stream writers name their path in every message. */
    w = ak_container_stream(path, CK, &err);
    cr_assert_not_null(w, "%s", err.msg);
    cr_assert_eq(ak_container_put_u64(w, "", 1, &err), -1);
    snprintf(want, sizeof want, "%s: record '': empty key", path);
    cr_assert_str_eq(err.msg, want);
    cr_assert_eq(ak_container_commit(w, &err), -1);
    cr_assert_str_eq(err.msg, want);
    ak_container_writer_free(w);
    cr_assert_eq(count_entries(dir), 0, "the temporary of a failed stream writer was left behind");
}

/* ------------------------------------------------------ header checks */

Test(io_container, wrong_magic_names_the_expected_kind)
{
    size_t n;
    unsigned char *b = small_file(&n);
    ak_err err = {{0}};
    cr_assert_null(ak_container_open_mem(b, n, "run.attn", AT, "attention file", &err));
    cr_assert_str_eq(err.msg, "run.attn: not an attnkit attention file (magic \"AKCKPT01\", expected \"AKATTN01\")");
    const char junk[] = "\x89PNG\r\n\x1a\n and more bytes to pass the header size.........";
    cr_assert_null(ak_container_open_mem(junk, sizeof junk, "x.ckpt", CK, "checkpoint", &err));
    cr_assert_str_eq(err.msg, "x.ckpt: not an attnkit checkpoint "
                              "(magic \"\\x89PNG\\x0d\\x0a\\x1a\\x0a\", expected \"AKCKPT01\")");
    cr_assert_null(ak_container_open_mem(b, 0, "x.ckpt", CK, "checkpoint", &err));
    cr_assert_str_eq(err.msg, "x.ckpt: not an attnkit checkpoint (empty file)");
    free(b);
}

Test(io_container, future_and_zero_versions_are_refused_by_name)
{
    size_t n;
    unsigned char *b = small_file(&n);
    le32(b + 8, 2);
    fix_header_crc(b);
    check_refused(b, n, "f.ckpt: written in container format version 2, this build reads versions up to 1");
    /* The version is checked before the header CRC: a future header may be
     * laid out differently after its first 12 bytes. */
    le32(b + 8, 7);
    check_refused(b, n, "version 7, this build reads versions up to 1");
    le32(b + 8, 0);
    fix_header_crc(b);
    check_refused(b, n, "f.ckpt: invalid container format version 0");
    free(b);
}

Test(io_container, unknown_flags_are_refused)
{
    size_t n;
    unsigned char *b = small_file(&n);
    le32(b + 12, 4);
    fix_header_crc(b);
    check_refused(b, n, "f.ckpt: unknown header flags 0x00000004");
    free(b);
}

Test(io_container, absurd_lengths_in_the_header_are_refused_before_allocating)
{
    size_t n;
    unsigned char *b = small_file(&n);
    uint64_t clen = rd64(b + 24);
    le64(b + 24, UINT64_MAX);
    fix_header_crc(b);
    char want[200];
    snprintf(want, sizeof want, "f.ckpt: truncated: header says %llu bytes of payload, file has %llu",
             (unsigned long long)UINT64_MAX, (unsigned long long)(n - HS));
    check_refused(b, n, want);
    le64(b + 24, clen - 1);
    fix_header_crc(b);
    check_refused(b, n, "f.ckpt: corrupted: 1 unexpected bytes after the");
    le64(b + 24, clen);
    le64(b + 16, UINT64_MAX);
    fix_header_crc(b);
    check_refused(b, n, "more than zlib can produce");
    le64(b + 16, clen * 1032 + 1);
    fix_header_crc(b);
    check_refused(b, n, "more than zlib can produce");
    le64(b + 16, clen * 1032); /* possible in principle; the stream then ends early */
    fix_header_crc(b);
    check_refused(b, n, "f.ckpt: corrupted: payload ends after");
    free(b);
}

/* ------------------------------------------------------------ damage */

Test(io_container, every_truncation_is_refused_in_memory_and_on_disk)
{
    size_t n;
    unsigned char *b = small_file(&n);
    cr_assert_gt(n, 100);
    const char *dir = tmpdir();
    const char *path = path_in(dir, "cut.ckpt");
    for (size_t cut = 0; cut < n; cut++) {
        for (int disk = 0; disk < 2; disk++) {
            ak_err err = {{0}};
            ak_container *c;
            if (disk) {
                write_raw(path, b, cut);
                c = ak_container_open(path, CK, "checkpoint", &err);
            } else {
                c = ak_container_open_mem(b, cut, "f.ckpt", CK, "checkpoint", &err);
            }
            cr_assert_null(c, "a file cut to %zu of %zu bytes was accepted", cut, n);
            const char *want = cut == 0 ? "empty file" : "truncated";
            cr_assert(strstr(err.msg, want), "cut %zu: %s", cut, err.msg);
            if (cut >= HS) {
                char w[100];
                snprintf(w, sizeof w, "header says %zu bytes of payload, file has %zu", n - HS, cut - HS);
                cr_assert(strstr(err.msg, w), "cut %zu: %s", cut, err.msg);
            }
        }
    }
    free(b);
}

Test(io_container, every_single_byte_corruption_is_refused)
{
    size_t n;
    unsigned char *b = small_file(&n);
    const char *dir = tmpdir();
    const char *path = path_in(dir, "flip.ckpt");
    static const unsigned char masks[] = {0x01, 0x80, 0xff, 0x10};
    for (size_t i = 0; i < n; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            b[i] ^= masks[m];
            ak_err err = {{0}};
            ak_container *c = ak_container_open_mem(b, n, "f.ckpt", CK, "checkpoint", &err);
            cr_assert_null(c, "byte %zu ^ 0x%02x was not detected", i, masks[m]);
            cr_assert(strncmp(err.msg, "f.ckpt: ", 8) == 0 && strlen(err.msg) > 12, "byte %zu: %s", i, err.msg);
            if (i >= HS)
                cr_assert(strstr(err.msg, "corrupted"), "payload byte %zu ^ 0x%02x: %s", i, masks[m], err.msg);
            if (m == 0) { /* once through the FILE reader as well */
                write_raw(path, b, n);
                cr_assert_null(ak_container_open(path, CK, "checkpoint", &err), "byte %zu on disk", i);
            }
            b[i] ^= masks[m];
        }
    }
    ak_err err = {{0}};
    ak_container *c = ak_container_open_mem(b, n, "f.ckpt", CK, "checkpoint", &err);
    cr_assert_not_null(c, "the undamaged file is refused: %s", err.msg);
    ak_container_close(c);
    free(b);
}

Test(io_container, payload_crc_mismatch_is_reported_as_corruption)
{
    pl p = {0};
    pl_u64(&p, "epoch", 1);
    static crafted f;
    craft(&f, CK, 1, 0, p.b, p.n, 1);
    check_refused(f.b, f.n, "f.ckpt: corrupted: CRC mismatch");
    /* Bad records in a file whose CRC does not match either: the CRC wins,
     * since the records are then not what was written. */
    pl q = {0};
    pl_head(&q, "x", 99, 0);
    craft(&f, CK, 1, 0, q.b, q.n, 1);
    check_refused(f.b, f.n, "f.ckpt: corrupted: CRC mismatch");
    craft(&f, CK, 1, 0, q.b, q.n, 0);
    check_refused(f.b, f.n, "f.ckpt: record 'x' (#0): unknown type tag 99");
}

Test(io_container, zlib_stream_problems_are_refused)
{
    pl p = {0};
    pl_u64(&p, "epoch", 1);
    static crafted f;
    craft(&f, CK, 1, 0, p.b, p.n, 0);
    /* Extra data after the zlib stream, inside the declared length. */
    static unsigned char g[sizeof f.b + 8];
    memcpy(g, f.b, f.n);
    memcpy(g + f.n, "JUNK", 4);
    le64(g + 24, rd64(g + 24) + 4);
    fix_crcs(g, f.n + 4);
    check_refused(g, f.n + 4, "f.ckpt: corrupted: 4 bytes of compressed data after the end of the zlib stream");
    /* A stream that ends before its end marker: drop the adler32 trailer. */
    memcpy(g, f.b, f.n);
    le64(g + 24, rd64(g + 24) - 4);
    fix_crcs(g, f.n - 4);
    check_refused(g, f.n - 4, "f.ckpt: corrupted: compressed data ends before the end of the zlib stream");
    /* Declared payload longer than the stream inflates to. */
    memcpy(g, f.b, f.n);
    le64(g + 16, p.n + 1);
    fix_header_crc(g);
    check_refused(g, f.n, "f.ckpt: corrupted: payload ends after 26 bytes, header says 27");
    /* Declared payload shorter: the stream goes on. */
    le64(g + 16, p.n - 1);
    fix_header_crc(g);
    check_refused(g, f.n, "f.ckpt: ");
    /* A raw deflate stream instead of zlib. */
    memcpy(g, f.b, f.n);
    g[HS] = 0x00;
    fix_crcs(g, f.n);
    check_refused(g, f.n, "corrupted");
}

/* --------------------------------------- records with valid CRCs */

Test(io_container, duplicate_keys_in_a_file_are_refused)
{
    pl p = {0};
    pl_u64(&p, "epoch", 1);
    pl_u64(&p, "step", 2);
    pl_u64(&p, "epoch", 3);
    check_refused_payload(&p, "f.ckpt: duplicate record 'epoch' (#0 and #2)");
}

Test(io_container, bad_record_structure_is_refused_with_a_reason)
{
    pl p;
    unsigned char b[64];
    /* key length 0, huge, and past the end */
    p = (pl){0};
    le32(b, 0);
    pl_bytes(&p, b, 4);
    pl_bytes(&p, "xxxxxxxxxxxxxxxxxxx", 20);
    check_refused_payload(&p, "record #0 at payload offset 0: key length 0");
    p = (pl){0};
    pl_u64(&p, "ok", 5);
    le32(b, 0xffffffffu);
    pl_bytes(&p, b, 4);
    pl_bytes(&p, "xxxxxxxxxxxxxxxxxxx", 20);
    check_refused_payload(&p, "record #1 at payload offset 23: key length 4294967295");
    p = (pl){0};
    le32(b, 30);
    pl_bytes(&p, b, 4);
    pl_bytes(&p, "abcdefghijklmnopqrstuvwxyz", 26);
    check_refused_payload(&p, "key length 30 (must be 1..1024 and fit in the 26 bytes left)");
    /* fewer bytes left than any record */
    p = (pl){0};
    pl_u64(&p, "ok", 5);
    pl_bytes(&p, "\x01\x00\x00", 3);
    check_refused_payload(&p, "record #1 at payload offset 23: only 3 bytes left, a record needs 14");
    /* keys with NUL, control characters, invalid UTF-8 */
    p = (pl){0};
    pl_head(&p, "a", AK_REC_U64, 8);
    p.b[4] = 0;
    pl_bytes(&p, "12345678", 8);
    check_refused_payload(&p, "key contains a NUL byte");
    p = (pl){0};
    pl_u64(&p, "a\nb", 1);
    check_refused_payload(&p, "key contains a control character");
    p = (pl){0};
    pl_u64(&p, "\xc3(", 1);
    check_refused_payload(&p, "key is not valid UTF-8");
    /* unknown type tags: 0 and 8 */
    p = (pl){0};
    pl_head(&p, "z", 0, 0);
    check_refused_payload(&p, "record 'z' (#0): unknown type tag 0");
    p = (pl){0};
    pl_head(&p, "z", 8, 0);
    check_refused_payload(&p, "record 'z' (#0): unknown type tag 8");
    /* value lengths: absurd, past the end, wrong for the type */
    p = (pl){0};
    pl_head(&p, "big", AK_REC_BYTES, UINT64_MAX);
    pl_bytes(&p, "abc", 3);
    check_refused_payload(&p, "record 'big': value of 18446744073709551615 bytes runs past the end of the payload (3 left)");
    p = (pl){0};
    pl_head(&p, "n", AK_REC_F64, 7);
    pl_bytes(&p, "1234567", 7);
    check_refused_payload(&p, "record 'n' (an f64) has a 7-byte value, expected 8");
    p = (pl){0};
    pl_head(&p, "ids", AK_REC_I32S, 6);
    pl_bytes(&p, "123456", 6);
    check_refused_payload(&p, "record 'ids': int32 array of 6 bytes (not a multiple of 4)");
    /* strings that are not UTF-8 or hold NUL bytes */
    p = (pl){0};
    pl_head(&p, "s", AK_REC_STR, 3);
    pl_bytes(&p, "a\0b", 3);
    check_refused_payload(&p, "record 's': string is not valid UTF-8 without NUL bytes");
    p = (pl){0};
    pl_head(&p, "s", AK_REC_STR, 2);
    pl_bytes(&p, "\xed\xa0", 2);
    check_refused_payload(&p, "record 's': string is not valid UTF-8 without NUL bytes");
}

Test(io_container, bad_tensors_are_refused_without_overflow)
{
    pl p;
    unsigned char b[40];
    p = (pl){0};
    pl_head(&p, "t", AK_REC_TENSOR, 4);
    le32(b, 5);
    pl_bytes(&p, b, 4);
    check_refused_payload(&p, "record 't': tensor has 5 dimensions (at most 4)");
    p = (pl){0};
    pl_head(&p, "t", AK_REC_TENSOR, 2);
    pl_bytes(&p, "ab", 2);
    check_refused_payload(&p, "record 't': tensor value of 2 bytes is too short");
    p = (pl){0};
    pl_head(&p, "t", AK_REC_TENSOR, 12);
    le32(b, 2);
    le64(b + 4, 1);
    pl_bytes(&p, b, 12);
    check_refused_payload(&p, "record 't': tensor value of 12 bytes cannot hold 2 dimensions");
    /* dims whose product overflows 64 bits: 2^33 * 2^33 with 8 data bytes */
    p = (pl){0};
    pl_head(&p, "t", AK_REC_TENSOR, 4 + 16 + 8);
    le32(b, 2);
    le64(b + 4, 1ull << 33);
    le64(b + 12, 1ull << 33);
    le64(b + 20, 0);
    pl_bytes(&p, b, 28);
    check_refused_payload(&p, "record 't': tensor dimension 0 is 8589934592, more than its 8 data bytes hold");
    /* a dimension above INT64_MAX, with a zero dimension before it */
    p = (pl){0};
    pl_head(&p, "t", AK_REC_TENSOR, 4 + 16);
    le32(b, 2);
    le64(b + 4, 0);
    le64(b + 12, 1ull << 63);
    pl_bytes(&p, b, 20);
    check_refused_payload(&p, "record 't': tensor dimension 1 is 9223372036854775808");
    /* element count and data bytes disagree */
    p = (pl){0};
    pl_head(&p, "t", AK_REC_TENSOR, 4 + 8 + 12);
    le32(b, 1);
    le64(b + 4, 2);
    memset(b + 12, 0, 12);
    pl_bytes(&p, b, 24);
    check_refused_payload(&p, "record 't': tensor of 2 elements has 12 data bytes, expected 8");
}

/* ------------------------------------------------------------- fuzzing */

/* Random garbage, garbage behind a valid magic, and random payloads behind
 * a fully valid header: all refused or read cleanly, never a crash (the
 * suite runs under ASan/UBSan in `make sanitize`). */
Test(io_container, random_garbage_never_crashes)
{
    ak_rng r = ak_rng_make(2024, 3);
    static unsigned char b[600];
    static crafted f;
    int accepted = 0;
    for (int it = 0; it < 3000; it++) {
        size_t n = ak_rng_u32(&r) % sizeof b;
        for (size_t i = 0; i < n; i++)
            b[i] = (unsigned char)ak_rng_u32(&r);
        int mode = it % 3;
        ak_err err = {{0}};
        ak_container *c;
        if (mode == 2) {
            craft(&f, CK, 1, 0, b, n, 0);
            c = ak_container_open_mem(f.b, f.n, "f.ckpt", CK, "checkpoint", &err);
        } else {
            if (mode == 1 && n >= 8)
                memcpy(b, CK, 8);
            c = ak_container_open_mem(b, n, "f.ckpt", CK, "checkpoint", &err);
        }
        cr_assert(c || strncmp(err.msg, "f.ckpt: ", 8) == 0, "refusal without a message: %s", err.msg);
        accepted += c != NULL;
        ak_container_close(c);
    }
    cr_assert_lt(accepted, 10, "random bytes are almost never a valid container");
}

/* Structure-aware: a valid payload with bytes mutated, then wrapped with
 * correct CRCs, so that every record check gets exercised. Whatever is
 * accepted must be fully readable. */
Test(io_container, mutated_payloads_with_valid_crcs_never_crash)
{
    ak_err err = {{0}};
    ak_container_writer *w = writer_all_types(ak_container_new(CK, &err));
    unsigned char *file;
    size_t n;
    cr_assert_eq(ak_container_bytes(w, &file, &n, &err), 0);
    ak_container_writer_free(w);
    static unsigned char payload[4096], mutated[4096];
    uLongf plen = sizeof payload;
    cr_assert_eq(uncompress(payload, &plen, file + HS, n - HS), Z_OK);
    free(file);
    ak_rng r = ak_rng_make(7, 1);
    static crafted f;
    int accepted = 0;
    for (int it = 0; it < 4000; it++) {
        memcpy(mutated, payload, plen);
        size_t len = plen;
        int edits = 1 + (int)(ak_rng_u32(&r) % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = ak_rng_u32(&r) % len;
            switch (ak_rng_u32(&r) % 4) {
            case 0:
                mutated[at] = (unsigned char)ak_rng_u32(&r);
                break;
            case 1:
                mutated[at] ^= (unsigned char)(1u << (ak_rng_u32(&r) % 8));
                break;
            case 2:
                mutated[at] = (unsigned char)(ak_rng_u32(&r) % 2 ? 0xff : 0x00);
                break;
            case 3:
                len = at + 1;
                break; /* cut the payload short */
            }
        }
        craft(&f, CK, 1, 0, mutated, len, 0);
        ak_container *c = ak_container_open_mem(f.b, f.n, "f.ckpt", CK, "checkpoint", &err);
        if (!c) {
            cr_assert(strncmp(err.msg, "f.ckpt: ", 8) == 0 && !strstr(err.msg, "corrupted"),
                      "a valid stream with bad records should name the record problem: %s", err.msg);
            continue;
        }
        accepted++;
        /* Touch everything an accepted file hands out. */
        double sum = 0;
        for (size_t i = 0; i < ak_container_count(c); i++) {
            const ak_record *rec = ak_container_at(c, i);
            cr_assert_eq(ak_container_find(c, rec->key), rec);
            size_t bytes = rec->type == AK_REC_TENSOR || rec->type == AK_REC_I32S ? 4 * rec->len
                           : rec->type == AK_REC_STR || rec->type == AK_REC_BYTES ? rec->len + 1
                                                                                  : 0;
            for (size_t k = 0; k < bytes; k++)
                sum += ((const unsigned char *)rec->data)[k];
            if (rec->type == AK_REC_STR)
                cr_assert_eq(strlen(rec->data), rec->len);
        }
        (void)sum;
        ak_container_close(c);
    }
    cr_assert_gt(accepted, 0, "some mutations (inside values) should still be valid files");
}

/* ------------------------------------------------------ atomic writes */

static uint64_t epoch_of(const char *path)
{
    ak_err err = {{0}};
    ak_container *c = ak_container_open(path, CK, "checkpoint", &err);
    cr_assert_not_null(c, "%s", err.msg);
    uint64_t e = 0;
    cr_assert_eq(ak_container_get_u64(c, "epoch", &e, &err), 0);
    ak_container_close(c);
    return e;
}

Test(io_container, save_replaces_an_existing_file)
{
    const char *dir = tmpdir();
    const char *path = path_in(dir, "m.ckpt");
    ak_err err = {{0}};
    for (uint64_t e = 1; e <= 3; e++) {
        ak_container_writer *w = small_writer(e);
        cr_assert_eq(ak_container_save(w, path, &err), 0, "%s", err.msg);
        ak_container_writer_free(w);
        cr_assert_eq(epoch_of(path), e);
    }
    cr_assert_eq(count_entries(dir), 1);
}

Test(io_container, missing_directory_fails_naming_path_and_reason)
{
    const char *dir = tmpdir();
    const char *path = path_in(dir, "nodir/m.ckpt");
    ak_err err = {{0}};
    ak_container_writer *w = small_writer(1);
    cr_assert_eq(ak_container_save(w, path, &err), -1);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
    cr_assert(strstr(err.msg, "cannot create temporary file") && strstr(err.msg, strerror(ENOENT)), "%s", err.msg);
    ak_container_writer_free(w);
    cr_assert_null(ak_container_stream(path, CK, &err));
    cr_assert(strstr(err.msg, strerror(ENOENT)), "%s", err.msg);
    cr_assert_null(ak_container_open(path, CK, "checkpoint", &err));
    cr_assert(strstr(err.msg, "cannot open: ") && strstr(err.msg, strerror(ENOENT)), "%s", err.msg);
}

Test(io_container, failed_rename_leaves_the_destination_and_no_temporary)
{
    /* The destination is a (non-empty) directory: everything up to the
     * rename succeeds, the rename fails. */
    const char *dir = tmpdir();
    const char *dest = path_in(dir, "m.ckpt");
    cr_assert_eq(mkdir(dest, 0755), 0);
    write_raw(path_in(dest, "keep"), "x", 1);
    ak_err err = {{0}};
    ak_container_writer *w = small_writer(1);
    cr_assert_eq(ak_container_save(w, dest, &err), -1);
    cr_assert(strstr(err.msg, "cannot rename temporary file over it"), "%s", err.msg);
    ak_container_writer_free(w);
    cr_assert_eq(count_entries(dir), 1, "temporary left behind");
    cr_assert_eq(count_entries(dest), 1);
    cr_assert_null(ak_container_open(dest, CK, "checkpoint", &err));
    cr_assert(strstr(err.msg, "not a regular file"), "%s", err.msg);
}

Test(io_container, write_failure_midway_keeps_the_old_file_intact)
{
    /* RLIMIT_FSIZE makes writes past 4 KiB fail (EFBIG) the way a full disk
     * would; this test runs in its own process, so the limit stays here. */
    const char *dir = tmpdir();
    const char *path = path_in(dir, "m.ckpt");
    ak_err err = {{0}};
    ak_container_writer *w = small_writer(41);
    cr_assert_eq(ak_container_save(w, path, &err), 0, "%s", err.msg);
    ak_container_writer_free(w);
    size_t n0;
    static unsigned char before[1 << 16];
    const unsigned char *r0 = read_raw(path, &n0);
    memcpy(before, r0, n0);

    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {4096, 4096};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    /* Incompressible data, larger than the limit, through both writers. */
    static float noise[8192];
    ak_rng r = ak_rng_make(1, 1);
    for (int i = 0; i < 8192; i++)
        noise[i] = ak_rng_normal(&r, 0.0f, 1.0f);
    const int64_t sh[] = {8192};
    w = small_writer(42);
    cr_assert_eq(ak_container_put_tensor(w, "noise", 1, sh, noise, &err), 0);
    cr_assert_eq(ak_container_save(w, path, &err), -1, "a write past RLIMIT_FSIZE succeeded");
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0 && strstr(err.msg, strerror(EFBIG)), "%s", err.msg);
    ak_container_writer_free(w);
    cr_assert_eq(count_entries(dir), 1, "temporary left behind");
    size_t n1;
    unsigned char *after = read_raw(path, &n1);
    cr_assert(n1 == n0 && memcmp(before, after, n0) == 0, "the old file changed");

    w = ak_container_stream(path, CK, &err);
    cr_assert_not_null(w, "%s", err.msg);
    int rc = ak_container_put_tensor(w, "noise", 1, sh, noise, &err);
    if (rc == 0)
        rc = ak_container_commit(w, &err);
    cr_assert_eq(rc, -1);
    cr_assert(strstr(err.msg, strerror(EFBIG)), "%s", err.msg);
    ak_container_writer_free(w);
    cr_assert_eq(count_entries(dir), 1, "temporary left behind");
    cr_assert_eq(epoch_of(path), 41);
}

Test(io_container, uncommitted_stream_writer_leaves_nothing)
{
    const char *dir = tmpdir();
    const char *path = path_in(dir, "m.ckpt");
    ak_err err = {{0}};
    ak_container_writer *w = small_writer(5);
    cr_assert_eq(ak_container_save(w, path, &err), 0);
    ak_container_writer_free(w);
    w = ak_container_stream(path, CK, &err);
    cr_assert_eq(ak_container_put_u64(w, "epoch", 6, &err), 0);
    cr_assert_eq(count_entries(dir), 2, "the stream writer should hold a temporary");
    ak_container_writer_free(w); /* abandoned, e.g. training interrupted */
    cr_assert_eq(count_entries(dir), 1);
    cr_assert_eq(epoch_of(path), 5);
    /* Wrong finishing call for the writer kind. */
    w = small_writer(1);
    cr_assert_eq(ak_container_commit(w, &err), -1);
    cr_assert(strstr(err.msg, "use ak_container_save"), "%s", err.msg);
    ak_container_writer_free(w);
}

Test(io_container, atomic_write_helper_round_trips_bytes)
{
    const char *dir = tmpdir();
    const char *path = path_in(dir, "raw.bin");
    ak_err err = {{0}};
    cr_assert_eq(ak_atomic_write(path, "hello", 5, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_atomic_write(path, "bye", 3, &err), 0, "%s", err.msg);
    size_t n;
    unsigned char *b = read_raw(path, &n);
    cr_assert(n == 3 && memcmp(b, "bye", 3) == 0);
    cr_assert_eq(count_entries(dir), 1);
}

/* ---------------------------------------------------------- parameters */

static void declare(ak_params *p, const char *name, int ndim, const int64_t *shape)
{
    ak_err err = {{0}};
    cr_assert_not_null(ak_param(p, name, ndim, shape, (ak_init){AK_INIT_NORMAL, 1.0f}, &err), "%s", err.msg);
}

static void model(ak_params *p, int64_t q_cols, int with_extra, uint64_t seed)
{
    ak_params_init(p);
    declare(p, "enc.emb", 2, (const int64_t[]){10, 4});
    declare(p, "enc.0.attn.q.weight", 2, (const int64_t[]){256, q_cols});
    declare(p, "enc.0.attn.q.bias", 1, (const int64_t[]){256});
    if (with_extra)
        declare(p, "dec.out.bias", 1, (const int64_t[]){10});
    declare(p, "scale", 0, NULL);
    ak_err err = {{0}};
    cr_assert_eq(ak_params_finalize(p, seed, 0, &err), 0, "%s", err.msg);
}

static ak_container *params_file(const ak_params *p)
{
    ak_err err = {{0}};
    ak_container_writer *w = ak_container_new(CK, &err);
    cr_assert_eq(ak_container_put_params(w, p, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_container_put_str(w, "config", "x", &err), 0);
    unsigned char *b;
    size_t n;
    cr_assert_eq(ak_container_bytes(w, &b, &n, &err), 0);
    ak_container_writer_free(w);
    ak_container *c = ak_container_open_mem(b, n, "m.ckpt", CK, "checkpoint", &err);
    cr_assert_not_null(c, "%s", err.msg);
    free(b);
    return c;
}

Test(io_container, params_round_trip_in_declaration_order)
{
    ak_params a, b;
    model(&a, 256, 1, 1);
    model(&b, 256, 1, 2);
    cr_assert_neq(memcmp(a.data, b.data, sizeof(float) * (size_t)a.total), 0);
    ak_container *c = params_file(&a);
    static const char *const order[] = {
        "param/enc.emb", "param/enc.0.attn.q.weight", "param/enc.0.attn.q.bias", "param/dec.out.bias", "param/scale",
        "config"};
    cr_assert_eq(ak_container_count(c), 6);
    for (int i = 0; i < 6; i++)
        cr_assert_str_eq(ak_container_at(c, (size_t)i)->key, order[i]);
    ak_err err = {{0}};
    cr_assert_eq(ak_container_get_params(c, &b, &err), 0, "%s", err.msg);
    for (int i = 0; i < a.n; i++)
        cr_assert_eq(memcmp(a.items[i]->data, b.items[i]->data, sizeof(float) * (size_t)a.items[i]->size), 0,
                     "parameter %s differs after loading", a.items[i]->name);
    ak_container_close(c);
    ak_params_free(&a);
    ak_params_free(&b);
}

/* Loads c into p, expecting failure with exactly msg and p unchanged. */
static void check_load_refused(const ak_container *c, ak_params *p, const char *msg)
{
    float *before = malloc(sizeof(float) * (size_t)p->total);
    memcpy(before, p->data, sizeof(float) * (size_t)p->total);
    ak_err err = {{0}};
    cr_assert_eq(ak_container_get_params(c, p, &err), -1, "mismatched parameters loaded");
    cr_assert_str_eq(err.msg, msg);
    cr_assert_eq(memcmp(before, p->data, sizeof(float) * (size_t)p->total), 0, "store half-loaded");
    free(before);
}

Test(io_container, params_mismatches_are_named_and_nothing_is_loaded)
{
    ak_params file, want;
    model(&file, 128, 1, 1);
    ak_container *c = params_file(&file);

    model(&want, 256, 1, 2);
    check_load_refused(c, &want,
                 "m.ckpt: parameter 'enc.0.attn.q.weight' has shape [256, 128] in the file, the model expects "
                 "[256, 256]");
    ak_params_free(&want);

    model(&want, 128, 0, 2); /* the file has dec.out.bias, the model not */
    check_load_refused(c, &want,
                 "m.ckpt: the file has parameter 'dec.out.bias' (shape [10]) that the model does not declare");
    ak_params_free(&want);
    ak_container_close(c);
    ak_params_free(&file);

    model(&file, 128, 0, 1);
    c = params_file(&file);
    model(&want, 256, 1, 2); /* wrong shape and a missing parameter */
    check_load_refused(c, &want,
                 "m.ckpt: parameter 'enc.0.attn.q.weight' has shape [256, 128] in the file, the model expects "
                 "[256, 256] (and 1 more parameter problem)");
    ak_params_free(&want);
    model(&want, 128, 1, 2);
    check_load_refused(c, &want, "m.ckpt: parameter 'dec.out.bias' (shape [10] in the model) is missing from the file");
    ak_params_free(&want);
    ak_container_close(c);
    ak_params_free(&file);
}

Test(io_container, params_record_of_the_wrong_type_is_refused)
{
    ak_params p;
    model(&p, 256, 0, 1);
    ak_err err = {{0}};
    ak_container_writer *w = ak_container_new(CK, &err);
    for (int i = 0; i < p.n; i++) {
        char key[128];
        snprintf(key, sizeof key, "param/%s", p.items[i]->name);
        if (i == 2)
            cr_assert_eq(ak_container_put_str(w, key, "not a tensor", &err), 0);
        else
            cr_assert_eq(ak_container_put_tensor(w, key, p.items[i]->ndim, p.items[i]->shape, p.items[i]->data, &err),
                         0);
    }
    cr_assert_eq(ak_container_put_u64(w, "param/stray", 1, &err), 0);
    unsigned char *b;
    size_t n;
    cr_assert_eq(ak_container_bytes(w, &b, &n, &err), 0);
    ak_container_writer_free(w);
    ak_container *c = ak_container_open_mem(b, n, "m.ckpt", CK, "checkpoint", &err);
    cr_assert_not_null(c);
    check_load_refused(c, &p,
                 "m.ckpt: record 'param/enc.0.attn.q.bias' is a string, expected a float32 tensor (and 1 more "
                 "parameter problem)");
    ak_container_close(c);
    free(b);

    ak_params raw;
    ak_params_init(&raw);
    declare(&raw, "w", 1, (const int64_t[]){3});
    w = ak_container_new(CK, &err);
    cr_assert_eq(ak_container_put_params(w, &raw, &err), -1);
    cr_assert_str_eq(err.msg, "parameter store is not finalized");
    ak_container_writer_free(w);
    ak_params_free(&raw);
    ak_params_free(&p);
}
