#include "io/container.h"

#include "io/atomic_file.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* Header field offsets (docs/formats.md, "Header"). */
enum {
    H_MAGIC = 0,
    H_VERSION = 8,
    H_FLAGS = 12,
    H_PAYLOAD_LEN = 16,
    H_COMPRESSED_LEN = 24,
    H_PAYLOAD_CRC = 32,
    H_COMPRESSED_CRC = 36,
    H_HEADER_CRC = 40,
};

/* key_len u32 + key (>= 1 byte) + type u8 + value_len u64 */
#define MIN_RECORD 14
/* Deflate spends at least 2 bits on 258 output bytes, so one compressed byte
 * inflates to at most 1032 (zlib FAQ, "maximum compression ratio"). */
#define MAX_INFLATE_RATIO 1032
#define ZCHUNK (1u << 16)
#define BLOB_FIRST_CHUNK ((size_t)1 << 20)

/* ------------------------------------------------------- little helpers */

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const unsigned char *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static int host_is_le(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* zlib's crc32 takes uInt lengths; feed big buffers in pieces. */
static uint32_t crc_update(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, b, k);
        b += k;
        n -= k;
    }
    return crc;
}

/* Strict UTF-8 (no overlong forms, surrogates, or code points above
 * U+10FFFF); 1 when s[0, n) is valid. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

/* NULL when s[0, n) is an acceptable key, else why not. */
static const char *key_problem(const char *s, size_t n)
{
    if (n == 0)
        return "empty key";
    if (n > AK_CONTAINER_KEY_MAX)
        return "key longer than 1024 bytes"; /* AK_CONTAINER_KEY_MAX */
    if (!utf8_valid((const unsigned char *)s, n))
        return "key is not valid UTF-8";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "key contains a control character";
    return NULL;
}

static int magic_ok(const char *magic)
{
    if (!magic || strlen(magic) != AK_CONTAINER_MAGIC_LEN)
        return 0;
    for (int i = 0; i < AK_CONTAINER_MAGIC_LEN; i++)
        if (magic[i] < 0x21 || magic[i] > 0x7e)
            return 0;
    return 1;
}

const char *ak_rec_type_name(int type)
{
    switch (type) {
    case AK_REC_U64:
        return "a u64";
    case AK_REC_I64:
        return "an i64";
    case AK_REC_F64:
        return "an f64";
    case AK_REC_STR:
        return "a string";
    case AK_REC_BYTES:
        return "a byte blob";
    case AK_REC_TENSOR:
        return "a float32 tensor";
    case AK_REC_I32S:
        return "an int32 array";
    default:
        return "an unknown type";
    }
}

static void encode_header(unsigned char h[AK_CONTAINER_HEADER_SIZE], const char *magic, uint64_t payload_len,
                          uint64_t compressed_len, uint32_t payload_crc, uint32_t compressed_crc)
{
    memcpy(h + H_MAGIC, magic, AK_CONTAINER_MAGIC_LEN);
    put_le32(h + H_VERSION, AK_CONTAINER_VERSION);
    put_le32(h + H_FLAGS, 0);
    put_le64(h + H_PAYLOAD_LEN, payload_len);
    put_le64(h + H_COMPRESSED_LEN, compressed_len);
    put_le32(h + H_PAYLOAD_CRC, payload_crc);
    put_le32(h + H_COMPRESSED_CRC, compressed_crc);
    put_le32(h + H_HEADER_CRC, (uint32_t)crc32(0, h, H_HEADER_CRC));
}

static char *fmt_shape(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

/* -------------------------------------------------------------- key set */

/* Open addressing over borrowed key pointers; index = position in file. */
typedef struct keyset {
    const char **keys;
    size_t *idx;
    size_t cap, n; /* cap: power of two or 0 */
} keyset;

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t keyset_slot(const keyset *ks, const char *key)
{
    size_t m = ks->cap - 1, i = (size_t)hash_key(key) & m;
    while (ks->keys[i] && strcmp(ks->keys[i], key) != 0)
        i = (i + 1) & m;
    return i;
}

/* Index of key, or SIZE_MAX. */
static size_t keyset_find(const keyset *ks, const char *key)
{
    if (ks->cap == 0)
        return SIZE_MAX;
    size_t i = keyset_slot(ks, key);
    return ks->keys[i] ? ks->idx[i] : SIZE_MAX;
}

/* Adds key (not present) with index idx; 0, or -1 when out of memory. */
static int keyset_add(keyset *ks, const char *key, size_t idx)
{
    if (2 * (ks->n + 1) > ks->cap) {
        keyset big = {0};
        big.cap = ks->cap ? 2 * ks->cap : 64;
        big.keys = calloc(big.cap, sizeof *big.keys);
        big.idx = calloc(big.cap, sizeof *big.idx);
        if (!big.keys || !big.idx) {
            free(big.keys);
            free(big.idx);
            return -1;
        }
        for (size_t i = 0; i < ks->cap; i++) {
            if (ks->keys[i]) {
                size_t j = keyset_slot(&big, ks->keys[i]);
                big.keys[j] = ks->keys[i];
                big.idx[j] = ks->idx[i];
            }
        }
        big.n = ks->n;
        free(ks->keys);
        free(ks->idx);
        *ks = big;
    }
    size_t i = keyset_slot(ks, key);
    ks->keys[i] = key;
    ks->idx[i] = idx;
    ks->n++;
    return 0;
}

static void keyset_free(keyset *ks)
{
    free(ks->keys);
    free(ks->idx);
    memset(ks, 0, sizeof *ks);
}

/* ---------------------------------------------------------------- writer */

struct ak_container_writer {
    char magic[AK_CONTAINER_MAGIC_LEN + 1];
    int streaming;      /* deflating into af.fp (else into mem) */
    int finished;       /* deflate stream closed */
    ak_atomic_file af;  /* stream writer, until commit/free */
    char *path;         /* stream writer: destination, for messages */
    unsigned char *mem; /* memory writer: compressed bytes */
    size_t mem_len, mem_cap;
    z_stream zs;
    int zs_live;
    uint64_t payload_len, compressed_len;
    uint32_t crc, ccrc; /* of the payload, of the compressed bytes */
    keyset keys;
    char **owned; /* key copies, in put order */
    size_t nkeys, owned_cap;
    int failed;
    ak_err first; /* sticky: the first failure */
    unsigned char zbuf[ZCHUNK];
};

/* Records the writer's first failure (prefixed with the path for a stream
 * writer) and returns it in err. */
__attribute__((format(printf, 3, 4))) static int wfail(ak_container_writer *w, ak_err *err, const char *fmt, ...)
{
    if (!w->failed) {
        va_list ap;
        va_start(ap, fmt);
        ak_verrorf(&w->first, fmt, ap);
        va_end(ap);
        if (w->path)
            ak_err_prefix(&w->first, "%s", w->path);
        w->failed = 1;
    }
    if (err)
        *err = w->first;
    return -1;
}

static int sink(ak_container_writer *w, const unsigned char *p, size_t n)
{
    if (w->streaming) {
        if (fwrite(p, 1, n, w->af.fp) != n)
            return wfail(w, NULL, "cannot write temporary file %s: %s", w->af.tmp, strerror(errno));
    } else {
        if (n > w->mem_cap - w->mem_len) {
            size_t cap = w->mem_cap ? w->mem_cap : ZCHUNK;
            while (cap - w->mem_len < n) {
                if (cap > SIZE_MAX / 2)
                    return wfail(w, NULL, "out of memory for the compressed payload");
                cap *= 2;
            }
            unsigned char *m = realloc(w->mem, cap);
            if (!m)
                return wfail(w, NULL, "out of memory for %zu bytes of compressed payload", cap);
            w->mem = m;
            w->mem_cap = cap;
        }
        memcpy(w->mem + w->mem_len, p, n);
        w->mem_len += n;
    }
    w->compressed_len += n;
    w->ccrc = crc_update(w->ccrc, p, n);
    return 0;
}

/* Deflates n bytes (flush Z_NO_FLUSH) or ends the stream (Z_FINISH). */
static int zfeed(ak_container_writer *w, const void *data, size_t n, int flush)
{
    const unsigned char *p = data;
    do {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        w->zs.next_in = (Bytef *)(uintptr_t)p;
        w->zs.avail_in = k;
        int last = flush == Z_FINISH && k == n;
        int rc;
        do {
            w->zs.next_out = w->zbuf;
            w->zs.avail_out = ZCHUNK;
            rc = deflate(&w->zs, last ? Z_FINISH : Z_NO_FLUSH);
            if (rc == Z_STREAM_ERROR)
                return wfail(w, NULL, "zlib deflate failed");
            if (sink(w, w->zbuf, ZCHUNK - w->zs.avail_out) != 0)
                return -1;
        } while (w->zs.avail_out == 0 || (last && rc != Z_STREAM_END));
        p += k;
        n -= k;
    } while (n > 0);
    return 0;
}

static int emit(ak_container_writer *w, const void *p, size_t n)
{
    w->crc = crc_update(w->crc, p, n);
    w->payload_len += n;
    return zfeed(w, p, n, Z_NO_FLUSH);
}

/* n 4-byte values, little-endian on the wire whatever the host order. */
static int emit_le32s(ak_container_writer *w, const void *p, size_t n)
{
    if (host_is_le())
        return emit(w, p, 4 * n);
    enum { BATCH = 1024 };
    unsigned char tmp[4 * BATCH];
    const unsigned char *src = p;
    while (n > 0) {
        size_t k = n < BATCH ? n : BATCH;
        /* cppcheck-suppress knownConditionTrueFalse ; false positive, k >= 1 inside the loop */
        for (size_t i = 0; i < k; i++) {
            uint32_t u;
            memcpy(&u, src + 4 * i, 4);
            put_le32(tmp + 4 * i, u);
        }
        if (emit(w, tmp, 4 * k) != 0)
            return -1;
        src += 4 * k;
        n -= k;
    }
    return 0;
}

static ak_container_writer *writer_new(const char *magic, ak_err *err)
{
    if (!magic_ok(magic)) {
        ak_errorf(err, "container magic must be 8 printable ASCII characters");
        return NULL;
    }
    ak_container_writer *w = calloc(1, sizeof *w);
    if (!w) {
        ak_errorf(err, "out of memory for a container writer");
        return NULL;
    }
    memcpy(w->magic, magic, AK_CONTAINER_MAGIC_LEN);
    /* Trained float32 weights hardly compress. On 8M N(0, 0.05) floats
     * (32 MB) level 1 took 0.69 s for 92.9% of the size, level 6 (zlib's
     * default) 0.79 s for 92.6%, level 9 1.09 s; hence 1 by default. */
    if (deflateInit(&w->zs, AK_CONTAINER_DEFAULT_LEVEL) != Z_OK) {
        free(w);
        ak_errorf(err, "out of memory for a zlib stream");
        return NULL;
    }
    w->zs_live = 1;
    w->crc = w->ccrc = (uint32_t)crc32(0, NULL, 0);
    return w;
}

ak_container_writer *ak_container_new(const char *magic, ak_err *err)
{
    return writer_new(magic, err);
}

ak_container_writer *ak_container_stream(const char *path, const char *magic, ak_err *err)
{
    ak_container_writer *w = writer_new(magic, err);
    if (!w)
        return NULL;
    w->path = strdup(path);
    if (!w->path) {
        ak_errorf(err, "%s: out of memory", path);
        ak_container_writer_free(w);
        return NULL;
    }
    if (ak_atomic_open(&w->af, path, err) != 0) {
        ak_container_writer_free(w);
        return NULL;
    }
    w->streaming = 1;
    /* Placeholder header, rewritten by commit once the lengths are known. */
    unsigned char zero[AK_CONTAINER_HEADER_SIZE] = {0};
    if (fwrite(zero, 1, sizeof zero, w->af.fp) != sizeof zero) {
        ak_errorf(err, "%s: cannot write temporary file %s: %s", path, w->af.tmp, strerror(errno));
        ak_container_writer_free(w);
        return NULL;
    }
    return w;
}

int ak_container_set_level(ak_container_writer *w, int level, ak_err *err)
{
    if (w->failed)
        return wfail(w, err, "unreachable");
    if (level < 0 || level > 9)
        return wfail(w, err, "compression level %d (must be 0..9)", level);
    if (w->payload_len > 0 || w->finished)
        return wfail(w, err, "compression level set after records were put");
    if (deflateParams(&w->zs, level, Z_DEFAULT_STRATEGY) != Z_OK)
        return wfail(w, err, "zlib refused compression level %d", level);
    return 0;
}

/* Checks the writer and key, remembers the key, writes the record head. */
static int begin_record(ak_container_writer *w, const char *key, ak_rec_type type, uint64_t value_len, ak_err *err)
{
    if (w->failed)
        return wfail(w, err, "unreachable");
    if (w->finished)
        return wfail(w, err, "record '%s': put after the container was written", key ? key : "(null)");
    if (!key)
        return wfail(w, err, "record key is NULL");
    size_t klen = strlen(key);
    const char *why = key_problem(key, klen);
    if (why)
        return wfail(w, err, "record '%.64s': %s", key, why);
    if (keyset_find(&w->keys, key) != SIZE_MAX)
        return wfail(w, err, "record '%s' put twice (keys must be unique)", key);
    if (w->nkeys == w->owned_cap) {
        size_t cap = w->owned_cap ? 2 * w->owned_cap : 64;
        char **o = realloc(w->owned, cap * sizeof *o);
        if (!o)
            return wfail(w, err, "out of memory");
        w->owned = o;
        w->owned_cap = cap;
    }
    char *copy = strdup(key);
    if (!copy || keyset_add(&w->keys, copy, w->nkeys) != 0) {
        free(copy);
        return wfail(w, err, "out of memory");
    }
    w->owned[w->nkeys++] = copy;
    unsigned char head[4 + AK_CONTAINER_KEY_MAX + 1 + 8];
    put_le32(head, (uint32_t)klen);
    memcpy(head + 4, key, klen);
    head[4 + klen] = (unsigned char)type;
    put_le64(head + 5 + klen, value_len);
    return emit(w, head, 13 + klen) == 0 ? 0 : wfail(w, err, "unreachable");
}

static int put_word(ak_container_writer *w, const char *key, ak_rec_type type, uint64_t bits, ak_err *err)
{
    unsigned char v[8];
    put_le64(v, bits);
    if (begin_record(w, key, type, 8, err) != 0 || emit(w, v, 8) != 0)
        return wfail(w, err, "unreachable");
    return 0;
}

int ak_container_put_u64(ak_container_writer *w, const char *key, uint64_t v, ak_err *err)
{
    return put_word(w, key, AK_REC_U64, v, err);
}

int ak_container_put_i64(ak_container_writer *w, const char *key, int64_t v, ak_err *err)
{
    return put_word(w, key, AK_REC_I64, (uint64_t)v, err);
}

int ak_container_put_f64(ak_container_writer *w, const char *key, double v, ak_err *err)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    return put_word(w, key, AK_REC_F64, bits, err);
}

int ak_container_put_str(ak_container_writer *w, const char *key, const char *s, ak_err *err)
{
    if (!w->failed && !s)
        return wfail(w, err, "record '%s': string is NULL", key ? key : "(null)");
    size_t n = s ? strlen(s) : 0;
    if (!w->failed && !utf8_valid((const unsigned char *)s, n))
        return wfail(w, err, "record '%s': string is not valid UTF-8", key ? key : "(null)");
    if (begin_record(w, key, AK_REC_STR, n, err) != 0 || emit(w, s, n) != 0)
        return wfail(w, err, "unreachable");
    return 0;
}

int ak_container_put_bytes(ak_container_writer *w, const char *key, const void *p, size_t n, ak_err *err)
{
    if (!w->failed && n && !p)
        return wfail(w, err, "record '%s': %zu bytes from a NULL pointer", key ? key : "(null)", n);
    if (begin_record(w, key, AK_REC_BYTES, n, err) != 0 || emit(w, p, n) != 0)
        return wfail(w, err, "unreachable");
    return 0;
}

int ak_container_put_tensor(ak_container_writer *w, const char *key, int ndim, const int64_t *shape, const float *data,
                            ak_err *err)
{
    const char *k = key ? key : "(null)";
    if (w->failed)
        return wfail(w, err, "unreachable");
    if (ndim < 0 || ndim > AK_MAX_DIMS || (ndim > 0 && !shape))
        return wfail(w, err, "record '%s': tensor has %d dimensions (must be 0..4)", k, ndim);
    /* Elements are capped so that the value length fits in a u64. */
    const uint64_t max_count = (UINT64_MAX - 4 - 8 * AK_MAX_DIMS) / 4;
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return wfail(w, err, "record '%s': dimension %d is %lld", k, i, (long long)shape[i]);
        if (shape[i] > 0 && count > max_count / (uint64_t)shape[i])
            return wfail(w, err, "record '%s': tensor element count overflows", k);
        count *= (uint64_t)shape[i];
    }
    if (count > SIZE_MAX / 4)
        return wfail(w, err, "record '%s': tensor too large for this machine", k);
    if (count && !data)
        return wfail(w, err, "record '%s': tensor data is NULL", k);
    unsigned char head[4 + 8 * AK_MAX_DIMS];
    put_le32(head, (uint32_t)ndim);
    for (int i = 0; i < ndim; i++)
        put_le64(head + 4 + 8 * i, (uint64_t)shape[i]);
    size_t hlen = 4 + 8 * (size_t)ndim;
    if (begin_record(w, key, AK_REC_TENSOR, hlen + 4 * count, err) != 0 || emit(w, head, hlen) != 0 ||
        emit_le32s(w, data, (size_t)count) != 0)
        return wfail(w, err, "unreachable");
    return 0;
}

int ak_container_put_i32s(ak_container_writer *w, const char *key, const int32_t *v, size_t n, ak_err *err)
{
    if (!w->failed && n && !v)
        return wfail(w, err, "record '%s': %zu int32s from a NULL pointer", key ? key : "(null)", n);
    if (!w->failed && n > SIZE_MAX / 4)
        return wfail(w, err, "record '%s': int32 array too large", key ? key : "(null)");
    if (begin_record(w, key, AK_REC_I32S, 4 * (uint64_t)n, err) != 0 || emit_le32s(w, v, n) != 0)
        return wfail(w, err, "unreachable");
    return 0;
}

static int finish(ak_container_writer *w, ak_err *err)
{
    if (w->failed)
        return wfail(w, err, "unreachable");
    if (!w->finished) {
        if (zfeed(w, NULL, 0, Z_FINISH) != 0)
            return wfail(w, err, "unreachable");
        deflateEnd(&w->zs);
        w->zs_live = 0;
        w->finished = 1;
    }
    return 0;
}

int ak_container_save(ak_container_writer *w, const char *path, ak_err *err)
{
    if (w->streaming)
        return ak_errorf(err, "%s: ak_container_save on a stream writer (use ak_container_commit)", path);
    if (finish(w, err) != 0)
        return ak_err_prefix(err, "%s", path);
    unsigned char h[AK_CONTAINER_HEADER_SIZE];
    encode_header(h, w->magic, w->payload_len, w->compressed_len, w->crc, w->ccrc);
    ak_atomic_file af;
    if (ak_atomic_open(&af, path, err) != 0)
        return -1;
    if (fwrite(h, 1, sizeof h, af.fp) != sizeof h || fwrite(w->mem, 1, w->mem_len, af.fp) != w->mem_len) {
        ak_errorf(err, "%s: cannot write temporary file %s: %s", path, af.tmp, strerror(errno));
        ak_atomic_abort(&af);
        return -1;
    }
    return ak_atomic_commit(&af, err);
}

int ak_container_bytes(ak_container_writer *w, unsigned char **out, size_t *n, ak_err *err)
{
    *out = NULL;
    *n = 0;
    if (w->streaming)
        return ak_errorf(err, "ak_container_bytes on a stream writer");
    if (finish(w, err) != 0)
        return -1;
    unsigned char *b = malloc(AK_CONTAINER_HEADER_SIZE + w->mem_len);
    if (!b)
        return ak_errorf(err, "out of memory for a %zu-byte container", w->mem_len);
    encode_header(b, w->magic, w->payload_len, w->compressed_len, w->crc, w->ccrc);
    memcpy(b + AK_CONTAINER_HEADER_SIZE, w->mem, w->mem_len);
    *out = b;
    *n = AK_CONTAINER_HEADER_SIZE + w->mem_len;
    return 0;
}

int ak_container_commit(ak_container_writer *w, ak_err *err)
{
    if (!w->streaming)
        return ak_errorf(err, "ak_container_commit on a memory writer (use ak_container_save)");
    if (w->failed)
        return wfail(w, err, "unreachable");
    if (!w->af.fp)
        return ak_errorf(err, "%s: container already committed", w->path);
    if (finish(w, err) != 0) {
        ak_atomic_abort(&w->af);
        return -1;
    }
    unsigned char h[AK_CONTAINER_HEADER_SIZE];
    encode_header(h, w->magic, w->payload_len, w->compressed_len, w->crc, w->ccrc);
    if (fseek(w->af.fp, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, w->af.fp) != sizeof h) {
        wfail(w, err, "cannot write temporary file %s: %s", w->af.tmp, strerror(errno));
        ak_atomic_abort(&w->af);
        return -1;
    }
    ak_err e;
    if (ak_atomic_commit(&w->af, &e) != 0) {
        w->failed = 1;
        w->first = e;
        if (err)
            *err = e;
        return -1;
    }
    return 0;
}

void ak_container_writer_free(ak_container_writer *w)
{
    if (!w)
        return;
    if (w->zs_live)
        deflateEnd(&w->zs);
    if (w->af.fp || w->af.tmp)
        ak_atomic_abort(&w->af);
    for (size_t i = 0; i < w->nkeys; i++)
        free(w->owned[i]);
    free(w->owned);
    keyset_free(&w->keys);
    free(w->mem);
    free(w->path);
    free(w);
}

/* ---------------------------------------------------------------- reader */

struct ak_container {
    char *path;
    uint32_t version;
    ak_record *recs;
    size_t n, cap;
    keyset keys;
};

/* Why a parse stopped: the zlib stream itself is bad, the records are, or
 * something else (I/O, memory). A records error is only reported as such
 * when the rest of the stream inflates and matches its CRC; otherwise the
 * file is simply corrupted and that is what the message says. */
enum { WHY_OTHER = 1, WHY_CORRUPT, WHY_RECORDS };

typedef struct rd {
    const char *name;
    FILE *fp;                 /* compressed bytes from here ... */
    const unsigned char *mem; /* ... or from here */
    uint64_t zin_left;        /* compressed bytes not yet given to zlib */
    z_stream zs;
    int zs_live;
    uint64_t payload_len;     /* declared */
    uint64_t out_left;        /* payload bytes not yet read */
    uint32_t crc, want_crc;   /* payload */
    uint32_t ccrc, want_ccrc; /* compressed bytes */
    int why;
    ak_err msg;
    unsigned char inbuf[ZCHUNK];
} rd;

__attribute__((format(printf, 3, 4))) static int rfail(rd *r, int why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ak_verrorf(&r->msg, fmt, ap);
    va_end(ap);
    ak_err_prefix(&r->msg, why == WHY_CORRUPT ? "%s: corrupted" : "%s", r->name);
    r->why = why;
    return -1;
}

static uint64_t payload_offset(const rd *r)
{
    return r->payload_len - r->out_left;
}

static int refill(rd *r)
{
    if (r->fp) {
        size_t k = r->zin_left < ZCHUNK ? (size_t)r->zin_left : ZCHUNK;
        size_t got = fread(r->inbuf, 1, k, r->fp);
        if (got != k)
            return ferror(r->fp) ? rfail(r, WHY_OTHER, "cannot read: %s", strerror(errno))
                                 : rfail(r, WHY_OTHER, "file shrank while being read");
        r->zs.next_in = r->inbuf;
        r->zs.avail_in = (uInt)k;
        r->zin_left -= k;
        r->ccrc = crc_update(r->ccrc, r->inbuf, k);
    } else {
        uInt k = r->zin_left > (1u << 30) ? (1u << 30) : (uInt)r->zin_left;
        r->zs.next_in = (Bytef *)(uintptr_t)r->mem;
        r->zs.avail_in = k;
        r->ccrc = crc_update(r->ccrc, r->mem, k);
        r->mem += k;
        r->zin_left -= k;
    }
    return 0;
}

/* Inflates exactly n payload bytes into dst (n <= out_left, checked by the
 * caller against the declared length). */
static int rd_read(rd *r, void *dst, size_t n)
{
    assert(n <= r->out_left);
    unsigned char *d = dst;
    while (n > 0) {
        uInt step = n > (1u << 30) ? (1u << 30) : (uInt)n;
        r->zs.next_out = d;
        r->zs.avail_out = step;
        while (r->zs.avail_out > 0) {
            /* With no input left inflate may still have output pending (the
             * rest of a match), so only Z_BUF_ERROR means the data ended. */
            if (r->zs.avail_in == 0 && r->zin_left > 0 && refill(r) != 0)
                return -1;
            int rc = inflate(&r->zs, Z_NO_FLUSH);
            if (rc == Z_BUF_ERROR && r->zs.avail_in == 0 && r->zin_left == 0)
                return rfail(r, WHY_CORRUPT, "compressed data ends after %llu of %llu payload bytes",
                             (unsigned long long)(payload_offset(r) + step - r->zs.avail_out),
                             (unsigned long long)r->payload_len);
            if (rc == Z_STREAM_END && r->zs.avail_out > 0)
                return rfail(r, WHY_CORRUPT, "payload ends after %llu bytes, header says %llu",
                             (unsigned long long)(payload_offset(r) + step - r->zs.avail_out),
                             (unsigned long long)r->payload_len);
            if (rc == Z_MEM_ERROR)
                return rfail(r, WHY_OTHER, "out of memory in zlib");
            if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR)
                return rfail(r, WHY_CORRUPT, "invalid compressed data (zlib: %s)", r->zs.msg ? r->zs.msg : "error");
        }
        r->crc = crc_update(r->crc, d, step);
        r->out_left -= step;
        d += step;
        n -= step;
    }
    return 0;
}

/* After the last payload byte: the zlib stream must end here, the file with
 * it, and the CRC must match. */
static int rd_finish(rd *r)
{
    assert(r->out_left == 0);
    unsigned char extra;
    for (;;) {
        if (r->zs.avail_in == 0 && r->zin_left > 0 && refill(r) != 0)
            return -1;
        r->zs.next_out = &extra;
        r->zs.avail_out = 1;
        int rc = inflate(&r->zs, Z_NO_FLUSH);
        if (r->zs.avail_out == 0)
            return rfail(r, WHY_CORRUPT, "payload is longer than the %llu bytes the header says",
                         (unsigned long long)r->payload_len);
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_MEM_ERROR)
            return rfail(r, WHY_OTHER, "out of memory in zlib");
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return rfail(r, WHY_CORRUPT, "invalid compressed data (zlib: %s)", r->zs.msg ? r->zs.msg : "error");
        if (rc == Z_BUF_ERROR && r->zs.avail_in == 0 && r->zin_left == 0)
            return rfail(r, WHY_CORRUPT, "compressed data ends before the end of the zlib stream");
    }
    uint64_t left = r->zs.avail_in + r->zin_left;
    if (left)
        return rfail(r, WHY_CORRUPT, "%llu bytes of compressed data after the end of the zlib stream",
                     (unsigned long long)left);
    /* The compressed CRC first: some bit flips in a deflate stream (a
     * distance that points at equal bytes) inflate to the same payload. */
    if (r->ccrc != r->want_ccrc)
        return rfail(r, WHY_CORRUPT, "CRC mismatch (compressed data CRC32 %08x, header says %08x)", (unsigned)r->ccrc,
                     (unsigned)r->want_ccrc);
    if (r->crc != r->want_crc)
        return rfail(r, WHY_CORRUPT, "CRC mismatch (payload CRC32 %08x, header says %08x)", (unsigned)r->crc,
                     (unsigned)r->want_crc);
    return 0;
}

/* Reads and discards the rest of the payload, then checks the stream end and
 * the CRC; used to tell a corrupted file from one with bad records. */
static int rd_drain(rd *r)
{
    unsigned char scratch[4096];
    while (r->out_left > 0) {
        size_t k = r->out_left < sizeof scratch ? (size_t)r->out_left : sizeof scratch;
        if (rd_read(r, scratch, k) != 0)
            return -1;
    }
    return rd_finish(r);
}

/* n bytes (n <= out_left) into a new buffer with `extra` zero bytes after
 * them. The buffer grows as data actually inflates, so a record that claims
 * more than the stream holds costs at most BLOB_FIRST_CHUNK before failing. */
static void *rd_blob(rd *r, uint64_t n, size_t extra)
{
    if (n > SIZE_MAX - extra - 1) {
        rfail(r, WHY_OTHER, "%llu-byte value too large for this machine", (unsigned long long)n);
        return NULL;
    }
    size_t cap = n < BLOB_FIRST_CHUNK ? (size_t)n : BLOB_FIRST_CHUNK, got = 0;
    unsigned char *b = malloc(cap + extra + 1); /* + 1: never malloc(0) */
    while (b) {
        if (rd_read(r, b + got, cap - got) != 0) {
            free(b);
            return NULL;
        }
        got = cap;
        if (got == n) {
            memset(b + n, 0, extra);
            return b;
        }
        cap = n - cap < cap ? (size_t)n : 2 * cap;
        unsigned char *g = realloc(b, cap + extra + 1);
        if (!g)
            free(b);
        b = g;
    }
    rfail(r, WHY_OTHER, "out of memory for a %llu-byte value", (unsigned long long)n);
    return NULL;
}

/* Converts n little-endian 4-byte values in place to host order. */
static void le32s_to_host(void *p, size_t n)
{
    if (host_is_le())
        return;
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = get_le32(b + 4 * i);
        memcpy(b + 4 * i, &u, 4);
    }
}

static void record_free(ak_record *rec)
{
    free((void *)(uintptr_t)rec->key);
    free((void *)(uintptr_t)rec->data);
}

/* The value of a record whose head (key, type, value_len <= out_left) was
 * read; fills rec. */
static int read_value(rd *r, ak_record *rec, uint64_t vlen)
{
    const char *k = rec->key;
    unsigned char b[8 * AK_MAX_DIMS];
    switch (rec->type) {
    case AK_REC_U64:
    case AK_REC_I64:
    case AK_REC_F64:
        if (vlen != 8)
            return rfail(r, WHY_RECORDS, "record '%s' (%s) has a %llu-byte value, expected 8", k,
                         ak_rec_type_name(rec->type), (unsigned long long)vlen);
        if (rd_read(r, b, 8) != 0)
            return -1;
        rec->num.u64 = get_le64(b);
        if (rec->type == AK_REC_F64) {
            uint64_t bits = get_le64(b);
            memcpy(&rec->num.f64, &bits, 8);
        }
        return 0;
    case AK_REC_STR:
    case AK_REC_BYTES:
        if (!(rec->data = rd_blob(r, vlen, 1)))
            return -1;
        rec->len = (size_t)vlen;
        if (rec->type == AK_REC_STR && (memchr(rec->data, 0, rec->len) || !utf8_valid(rec->data, rec->len)))
            return rfail(r, WHY_RECORDS, "record '%s': string is not valid UTF-8 without NUL bytes", k);
        return 0;
    case AK_REC_I32S:
        if (vlen % 4)
            return rfail(r, WHY_RECORDS, "record '%s': int32 array of %llu bytes (not a multiple of 4)", k,
                         (unsigned long long)vlen);
        if (!(rec->data = rd_blob(r, vlen, 0)))
            return -1;
        rec->len = (size_t)(vlen / 4);
        le32s_to_host((void *)(uintptr_t)rec->data, rec->len);
        return 0;
    case AK_REC_TENSOR: {
        if (vlen < 4)
            return rfail(r, WHY_RECORDS, "record '%s': tensor value of %llu bytes is too short", k,
                         (unsigned long long)vlen);
        if (rd_read(r, b, 4) != 0)
            return -1;
        uint32_t ndim = get_le32(b);
        if (ndim > AK_MAX_DIMS)
            return rfail(r, WHY_RECORDS, "record '%s': tensor has %u dimensions (at most 4)", k, (unsigned)ndim);
        uint64_t head = 4 + 8 * (uint64_t)ndim;
        if (vlen < head)
            return rfail(r, WHY_RECORDS, "record '%s': tensor value of %llu bytes cannot hold %u dimensions", k,
                         (unsigned long long)vlen, (unsigned)ndim);
        if (ndim && rd_read(r, b, 8 * ndim) != 0)
            return -1;
        /* Element count, checked against the bytes actually declared: with
         * no zero dimension the running product only grows, so it may
         * never exceed what the data bytes hold (no overflow possible). */
        uint64_t have = (vlen - head) / 4, count = 1;
        int has_zero = 0;
        rec->ndim = (int)ndim;
        for (uint32_t i = 0; i < ndim; i++) {
            uint64_t d = get_le64(b + 8 * i);
            if (d > (uint64_t)INT64_MAX)
                return rfail(r, WHY_RECORDS, "record '%s': tensor dimension %u is %llu (above 2^63 - 1)", k,
                             (unsigned)i, (unsigned long long)d);
            rec->shape[i] = (int64_t)d;
            has_zero |= d == 0;
        }
        for (uint32_t i = 0; i < ndim && !has_zero; i++) {
            uint64_t d = (uint64_t)rec->shape[i];
            if (count > have / d)
                return rfail(r, WHY_RECORDS,
                             "record '%s': tensor dimension %u is %llu, more than its %llu data bytes hold", k,
                             (unsigned)i, (unsigned long long)d, (unsigned long long)(vlen - head));
            count *= d;
        }
        count = has_zero ? 0 : count;
        if (vlen - head != 4 * count)
            return rfail(r, WHY_RECORDS, "record '%s': tensor of %llu elements has %llu data bytes, expected %llu", k,
                         (unsigned long long)count, (unsigned long long)(vlen - head), (unsigned long long)(4 * count));
        if (!(rec->data = rd_blob(r, 4 * count, 0)))
            return -1;
        rec->len = (size_t)count;
        le32s_to_host((void *)(uintptr_t)rec->data, rec->len);
        return 0;
    }
    }
    return rfail(r, WHY_RECORDS, "record '%s': unknown type tag %d", k, (int)rec->type);
}

/* One record at the current position into rec (zeroed; freed by caller). */
static int read_record(rd *r, ak_container *c, ak_record *rec)
{
    size_t no = c->n;
    uint64_t off = payload_offset(r);
    unsigned char b[8];
    if (r->out_left < MIN_RECORD)
        return rfail(r, WHY_RECORDS, "record #%zu at payload offset %llu: only %llu bytes left, a record needs %d", no,
                     (unsigned long long)off, (unsigned long long)r->out_left, MIN_RECORD);
    if (rd_read(r, b, 4) != 0)
        return -1;
    uint32_t klen = get_le32(b);
    if (klen == 0 || klen > AK_CONTAINER_KEY_MAX || (uint64_t)klen + 9 > r->out_left)
        return rfail(r, WHY_RECORDS,
                     "record #%zu at payload offset %llu: key length %u (must be 1..%d and fit in the %llu "
                     "bytes left)",
                     no, (unsigned long long)off, (unsigned)klen, AK_CONTAINER_KEY_MAX,
                     (unsigned long long)r->out_left);
    char *key = malloc(klen + 1u);
    if (!key)
        return rfail(r, WHY_OTHER, "out of memory");
    rec->key = key;
    if (rd_read(r, key, klen) != 0)
        return -1;
    key[klen] = 0;
    const char *why = strlen(key) != klen ? "key contains a NUL byte" : key_problem(key, klen);
    if (why)
        return rfail(r, WHY_RECORDS, "record #%zu at payload offset %llu: %s", no, (unsigned long long)off, why);
    if (rd_read(r, b, 1) != 0)
        return -1;
    int type = b[0];
    if (rd_read(r, b, 8) != 0)
        return -1;
    uint64_t vlen = get_le64(b);
    if (type < AK_REC_U64 || type > AK_REC_I32S)
        return rfail(r, WHY_RECORDS, "record '%s' (#%zu): unknown type tag %d", key, no, type);
    rec->type = (ak_rec_type)type;
    if (vlen > r->out_left)
        return rfail(r, WHY_RECORDS, "record '%s': value of %llu bytes runs past the end of the payload (%llu left)",
                     key, (unsigned long long)vlen, (unsigned long long)r->out_left);
    size_t dup = keyset_find(&c->keys, key);
    if (dup != SIZE_MAX)
        return rfail(r, WHY_RECORDS, "duplicate record '%s' (#%zu and #%zu)", key, dup, no);
    return read_value(r, rec, vlen);
}

static int parse_records(rd *r, ak_container *c)
{
    while (r->out_left > 0) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 64;
            ak_record *g = realloc(c->recs, cap * sizeof *g);
            if (!g)
                return rfail(r, WHY_OTHER, "out of memory");
            c->recs = g;
            c->cap = cap;
        }
        ak_record rec;
        memset(&rec, 0, sizeof rec);
        if (read_record(r, c, &rec) != 0 || keyset_add(&c->keys, rec.key, c->n) != 0) {
            if (!r->why)
                rfail(r, WHY_OTHER, "out of memory");
            record_free(&rec);
            return -1;
        }
        c->recs[c->n++] = rec;
    }
    return rd_finish(r);
}

void ak_container_close(ak_container *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        record_free(&c->recs[i]);
    free(c->recs);
    keyset_free(&c->keys);
    free(c->path);
    free(c);
}

static void print_magic(char *out, size_t n, const unsigned char *m, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 5 < n; i++)
        k += (size_t)(m[i] >= 0x20 && m[i] < 0x7f && m[i] != '"' && m[i] != '\\'
                          ? snprintf(out + k, n - k, "%c", m[i])
                          : snprintf(out + k, n - k, "\\x%02x", m[i]));
    out[k] = 0;
}

/* Header checks in the documented order; fills r's lengths. got: bytes of h
 * available (the file may be shorter than a header); size: file size. */
static int check_header(rd *r, const unsigned char *h, size_t got, uint64_t size, const char *magic, const char *kind)
{
    size_t m = got < AK_CONTAINER_MAGIC_LEN ? got : AK_CONTAINER_MAGIC_LEN;
    if (got == 0)
        return rfail(r, WHY_OTHER, "not an attnkit %s (empty file)", kind);
    if (memcmp(h, magic, m) != 0) {
        char seen[40];
        print_magic(seen, sizeof seen, h, m);
        return rfail(r, WHY_OTHER, "not an attnkit %s (magic \"%s\", expected \"%s\")", kind, seen, magic);
    }
    if (got < AK_CONTAINER_HEADER_SIZE)
        return rfail(r, WHY_OTHER, "truncated: %zu bytes, shorter than the %d-byte header", got,
                     AK_CONTAINER_HEADER_SIZE);
    uint32_t version = get_le32(h + H_VERSION);
    if (version > AK_CONTAINER_VERSION)
        return rfail(r, WHY_OTHER,
                     "written in container format version %u, this build reads versions up to %d (upgrade attnkit)",
                     (unsigned)version, AK_CONTAINER_VERSION);
    if (version == 0)
        return rfail(r, WHY_OTHER, "invalid container format version 0");
    if ((uint32_t)crc32(0, h, H_HEADER_CRC) != get_le32(h + H_HEADER_CRC))
        return rfail(r, WHY_CORRUPT, "header CRC mismatch");
    uint32_t flags = get_le32(h + H_FLAGS);
    if (flags)
        return rfail(r, WHY_OTHER, "unknown header flags 0x%08x (version %u defines none)", (unsigned)flags,
                     (unsigned)version);
    uint64_t plen = get_le64(h + H_PAYLOAD_LEN), clen = get_le64(h + H_COMPRESSED_LEN);
    uint64_t have = size - AK_CONTAINER_HEADER_SIZE;
    if (clen > have)
        return rfail(r, WHY_OTHER, "truncated: header says %llu bytes of payload, file has %llu",
                     (unsigned long long)clen, (unsigned long long)have);
    if (clen < have)
        return rfail(r, WHY_CORRUPT, "%llu unexpected bytes after the %llu-byte payload",
                     (unsigned long long)(have - clen), (unsigned long long)clen);
    if (clen <= UINT64_MAX / MAX_INFLATE_RATIO && plen > clen * MAX_INFLATE_RATIO)
        return rfail(r, WHY_CORRUPT,
                     "header says %llu payload bytes from %llu compressed bytes, more than zlib can produce",
                     (unsigned long long)plen, (unsigned long long)clen);
    r->payload_len = r->out_left = plen;
    r->zin_left = clen;
    r->want_crc = get_le32(h + H_PAYLOAD_CRC);
    r->want_ccrc = get_le32(h + H_COMPRESSED_CRC);
    r->crc = r->ccrc = (uint32_t)crc32(0, NULL, 0);
    return 0;
}

/* Shared body of open and open_mem: r holds the source, h/got/size the
 * header bytes and file size. */
static ak_container *parse(rd *r, const unsigned char *h, size_t got, uint64_t size, const char *magic,
                           const char *kind, ak_err *err)
{
    ak_container *c = NULL;
    if (!magic_ok(magic)) {
        rfail(r, WHY_OTHER, "expected magic must be 8 printable ASCII characters");
        goto fail;
    }
    if (check_header(r, h, got, size, magic, kind ? kind : "container") != 0)
        goto fail;
    c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(r->name))) {
        rfail(r, WHY_OTHER, "out of memory");
        goto fail;
    }
    c->version = get_le32(h + H_VERSION);
    if (inflateInit(&r->zs) != Z_OK) {
        rfail(r, WHY_OTHER, "out of memory for a zlib stream");
        goto fail;
    }
    r->zs_live = 1;
    if (parse_records(r, c) != 0) {
        if (r->why == WHY_RECORDS) {
            ak_err records = r->msg;
            if (rd_drain(r) == 0)
                r->msg = records;
        }
        goto fail;
    }
    inflateEnd(&r->zs);
    return c;
fail:
    if (r->zs_live)
        inflateEnd(&r->zs);
    if (err)
        *err = r->msg;
    ak_container_close(c);
    return NULL;
}

ak_container *ak_container_open(const char *path, const char *magic, const char *kind, ak_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        ak_errorf(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        ak_errorf(err, "%s: not a regular file", path);
        fclose(fp);
        return NULL;
    }
    rd *r = calloc(1, sizeof *r);
    if (!r) {
        fclose(fp);
        ak_errorf(err, "%s: out of memory", path);
        return NULL;
    }
    r->name = path;
    r->fp = fp;
    unsigned char h[AK_CONTAINER_HEADER_SIZE];
    size_t got = fread(h, 1, sizeof h, fp);
    ak_container *c;
    if (got < sizeof h && ferror(fp)) {
        ak_errorf(err, "%s: cannot read: %s", path, strerror(errno));
        c = NULL;
    } else {
        uint64_t size = (uint64_t)st.st_size < got ? got : (uint64_t)st.st_size;
        c = parse(r, h, got, size, magic, kind, err);
    }
    fclose(fp);
    free(r);
    return c;
}

ak_container *ak_container_open_mem(const void *bytes, size_t n, const char *name, const char *magic, const char *kind,
                                    ak_err *err)
{
    rd *r = calloc(1, sizeof *r);
    if (!r) {
        ak_errorf(err, "%s: out of memory", name);
        return NULL;
    }
    r->name = name;
    const unsigned char *b = bytes;
    size_t got = n < AK_CONTAINER_HEADER_SIZE ? n : AK_CONTAINER_HEADER_SIZE;
    r->mem = b + got;
    ak_container *c = parse(r, b, got, n, magic, kind, err);
    free(r);
    return c;
}

const char *ak_container_path(const ak_container *c)
{
    return c->path;
}
uint32_t ak_container_version(const ak_container *c)
{
    return c->version;
}
size_t ak_container_count(const ak_container *c)
{
    return c->n;
}

const ak_record *ak_container_at(const ak_container *c, size_t i)
{
    return i < c->n ? &c->recs[i] : NULL;
}

const ak_record *ak_container_find(const ak_container *c, const char *key)
{
    size_t i = keyset_find(&c->keys, key);
    return i == SIZE_MAX ? NULL : &c->recs[i];
}

static const ak_record *get_typed(const ak_container *c, const char *key, ak_rec_type type, ak_err *err)
{
    const ak_record *rec = ak_container_find(c, key);
    if (!rec)
        ak_errorf(err, "%s: missing record '%s'", c->path, key);
    else if (rec->type != type)
        ak_errorf(err, "%s: record '%s' is %s, expected %s", c->path, key, ak_rec_type_name(rec->type),
                  ak_rec_type_name(type));
    else
        return rec;
    return NULL;
}

int ak_container_get_u64(const ak_container *c, const char *key, uint64_t *v, ak_err *err)
{
    const ak_record *rec = get_typed(c, key, AK_REC_U64, err);
    if (rec && v)
        *v = rec->num.u64;
    return rec ? 0 : -1;
}

int ak_container_get_i64(const ak_container *c, const char *key, int64_t *v, ak_err *err)
{
    const ak_record *rec = get_typed(c, key, AK_REC_I64, err);
    if (rec && v)
        *v = rec->num.i64;
    return rec ? 0 : -1;
}

int ak_container_get_f64(const ak_container *c, const char *key, double *v, ak_err *err)
{
    const ak_record *rec = get_typed(c, key, AK_REC_F64, err);
    if (rec && v)
        *v = rec->num.f64;
    return rec ? 0 : -1;
}

int ak_container_get_str(const ak_container *c, const char *key, const char **s, size_t *len, ak_err *err)
{
    const ak_record *rec = get_typed(c, key, AK_REC_STR, err);
    if (rec && s)
        *s = rec->data;
    if (rec && len)
        *len = rec->len;
    return rec ? 0 : -1;
}

int ak_container_get_bytes(const ak_container *c, const char *key, const void **p, size_t *n, ak_err *err)
{
    const ak_record *rec = get_typed(c, key, AK_REC_BYTES, err);
    if (rec && p)
        *p = rec->data;
    if (rec && n)
        *n = rec->len;
    return rec ? 0 : -1;
}

int ak_container_get_tensor(const ak_container *c, const char *key, int *ndim, int64_t shape[4], const float **data,
                            ak_err *err)
{
    const ak_record *rec = get_typed(c, key, AK_REC_TENSOR, err);
    if (!rec)
        return -1;
    if (ndim)
        *ndim = rec->ndim;
    if (shape)
        memcpy(shape, rec->shape, sizeof rec->shape);
    if (data)
        *data = rec->data;
    return 0;
}

int ak_container_get_i32s(const ak_container *c, const char *key, const int32_t **v, size_t *n, ak_err *err)
{
    const ak_record *rec = get_typed(c, key, AK_REC_I32S, err);
    if (rec && v)
        *v = rec->data;
    if (rec && n)
        *n = rec->len;
    return rec ? 0 : -1;
}

/* ------------------------------------------------------------ parameters */

#define PREFIX_LEN (sizeof AK_CONTAINER_PARAM_PREFIX - 1)

#define PARAM_KEY_BUF (PREFIX_LEN + AK_CONTAINER_KEY_MAX + 1)

/* "param/<name>" into buf; -1 when longer than a key can be. */
static int param_key(char buf[PARAM_KEY_BUF], const char *name)
{
    size_t n = strlen(name);
    if (PREFIX_LEN + n > AK_CONTAINER_KEY_MAX)
        return -1;
    memcpy(buf, AK_CONTAINER_PARAM_PREFIX, PREFIX_LEN);
    memcpy(buf + PREFIX_LEN, name, n + 1);
    return 0;
}

int ak_container_put_params(ak_container_writer *w, const ak_params *p, ak_err *err)
{
    if (!p->finalized)
        return wfail(w, err, "parameter store is not finalized");
    for (int i = 0; i < p->n; i++) {
        const ak_tensor *t = p->items[i];
        char key[PARAM_KEY_BUF];
        if (param_key(key, t->name) != 0)
            return wfail(w, err, "parameter '%.64s...': name longer than a record key may be", t->name);
        if (ak_container_put_tensor(w, key, t->ndim, t->shape, t->data, err) != 0)
            return -1;
    }
    return 0;
}

/* Remembers the first problem's message and counts them all. */
__attribute__((format(printf, 3, 4))) static void problem(ak_err *first, int *count, const char *fmt, ...)
{
    if ((*count)++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        ak_verrorf(first, fmt, ap);
        va_end(ap);
    }
}

int ak_container_get_params(const ak_container *c, ak_params *p, ak_err *err)
{
    if (!p->finalized)
        return ak_errorf(err, "%s: cannot load parameters into a store that is not finalized", c->path);
    ak_err first = {{0}};
    int count = 0;
    char want[96], have[96];
    for (int i = 0; i < p->n; i++) {
        const ak_tensor *t = p->items[i];
        char key[PARAM_KEY_BUF];
        const ak_record *rec = param_key(key, t->name) == 0 ? ak_container_find(c, key) : NULL;
        fmt_shape(want, sizeof want, t->ndim, t->shape);
        if (!rec)
            problem(&first, &count, "parameter '%s' (shape %s in the model) is missing from the file", t->name, want);
        else if (rec->type != AK_REC_TENSOR)
            problem(&first, &count, "record '%s' is %s, expected a float32 tensor", key, ak_rec_type_name(rec->type));
        else if (rec->ndim != t->ndim || memcmp(rec->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim) != 0)
            problem(&first, &count, "parameter '%s' has shape %s in the file, the model expects %s", t->name,
                    fmt_shape(have, sizeof have, rec->ndim, rec->shape), want);
    }
    for (size_t i = 0; i < c->n; i++) {
        const ak_record *rec = &c->recs[i];
        if (strncmp(rec->key, AK_CONTAINER_PARAM_PREFIX, PREFIX_LEN) != 0 || ak_params_find(p, rec->key + PREFIX_LEN))
            continue;
        if (rec->type == AK_REC_TENSOR)
            problem(&first, &count, "the file has parameter '%s' (shape %s) that the model does not declare",
                    rec->key + PREFIX_LEN, fmt_shape(have, sizeof have, rec->ndim, rec->shape));
        else
            problem(&first, &count, "the file has parameter record '%s' (%s) that the model does not declare", rec->key,
                    ak_rec_type_name(rec->type));
    }
    if (count) {
        ak_errorf(err, "%s: %s", c->path, first.msg);
        if (count > 1 && err) {
            size_t k = strlen(err->msg);
            snprintf(err->msg + k, sizeof err->msg - k, " (and %d more parameter problem%s)", count - 1,
                     count > 2 ? "s" : "");
        }
        return -1;
    }
    for (int i = 0; i < p->n; i++) {
        ak_tensor *t = p->items[i];
        char key[PARAM_KEY_BUF];
        param_key(key, t->name); /* cannot fail: checked above */
        const ak_record *rec = ak_container_find(c, key);
        if (t->size)
            memcpy(t->data, rec->data, sizeof(float) * (size_t)t->size);
    }
    return 0;
}
