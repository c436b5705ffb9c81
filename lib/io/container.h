/* The container: one binary file format for checkpoints (.ckpt) and attention
 * files (.attn), specified byte by byte in docs/formats.md ("## Container").
 *
 *   header (44 bytes, little-endian): magic[8] (the file kind, chosen by the
 *     caller: "AKCKPT01", "AKATTN01"), format version u32, flags u32 (0),
 *     payload length u64, compressed length u64, payload CRC32 u32,
 *     compressed-bytes CRC32 u32, header CRC32 u32 (of the 40 bytes before)
 *   compressed payload: one zlib stream of exactly `compressed length` bytes
 *     inflating to exactly `payload length` bytes, then end of file
 *   payload: records until its end, each
 *     key_len u32, key (UTF-8), type u8, value_len u64, value
 *
 * Writing: a writer deflates records as they are put (the uncompressed
 * payload is never held whole), into memory (ak_container_new, then
 * ak_container_save / ak_container_bytes) or straight into a temporary file
 * next to the destination (ak_container_stream, then ak_container_commit).
 * Files are replaced atomically (io/atomic_file.h). Writer errors are sticky:
 * after a failed put every later call fails with the first message, so a
 * caller may check only the final save/commit.
 *
 * Reading: ak_container_open validates everything before returning: magic,
 * version, header CRC, lengths against the file size, the zlib stream, the
 * CRCs of the compressed bytes and of the payload, every record's structure (lengths checked before use, keys
 * unique, type tags known, strings UTF-8). No byte sequence makes the reader
 * crash, read out of bounds or allocate more than the data actually
 * inflates to (plus 1 MiB). Records are then looked up by key with a type
 * check, or walked in file order.
 *
 * Ownership: an ak_container owns all record memory; pointers handed out
 * (keys, strings, tensor data) live until ak_container_close. A writer owns
 * its buffers and, for a stream writer, the temporary file, which
 * ak_container_writer_free removes unless it was committed.
 * Failure modes: every function that can fail returns -1 (or NULL) and puts
 * one line in err naming the file (reader, streaming writer, save) and what
 * was expected; messages are listed in docs/formats.md. */
#ifndef AK_IO_CONTAINER_H
#define AK_IO_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/params.h"

#define AK_CONTAINER_VERSION 1 /* the newest version this build reads and the one it writes */
#define AK_CONTAINER_HEADER_SIZE 44
#define AK_CONTAINER_MAGIC_LEN 8
#define AK_CONTAINER_KEY_MAX 1024    /* bytes in a key */
#define AK_CONTAINER_DEFAULT_LEVEL 1 /* zlib level; see writer_new in container.c */

typedef enum ak_rec_type {
    AK_REC_U64 = 1,
    AK_REC_I64 = 2,
    AK_REC_F64 = 3,
    AK_REC_STR = 4,    /* UTF-8 without NUL bytes */
    AK_REC_BYTES = 5,  /* any bytes */
    AK_REC_TENSOR = 6, /* float32, 0..4 dimensions */
    AK_REC_I32S = 7,   /* int32 array */
} ak_rec_type;

/* One record as the reader holds it. */
typedef struct ak_record {
    const char *key; /* NUL-terminated */
    ak_rec_type type;
    union {
        uint64_t u64;
        int64_t i64;
        double f64;
    } num;            /* AK_REC_U64 / I64 / F64 */
    const void *data; /* STR (NUL-terminated), BYTES (NUL appended), TENSOR (float), I32S (int32_t) */
    size_t len;       /* bytes for STR/BYTES (without the NUL), elements for TENSOR/I32S */
    int ndim;         /* TENSOR */
    int64_t shape[4]; /* TENSOR; unused entries 0 */
} ak_record;

/* "a float32 tensor", "a string", ... for messages; "an unknown type" otherwise. */
const char *ak_rec_type_name(int type);

/* ---------------------------------------------------------------- writer */

typedef struct ak_container_writer ak_container_writer;

/* A writer that keeps the compressed payload in memory. magic: exactly 8
 * printable ASCII characters. */
ak_container_writer *ak_container_new(const char *magic, ak_err *err);

/* A writer that deflates straight into PATH.tmp.PID (created now, so a
 * missing or unwritable directory fails here); ak_container_commit renames it
 * over path. */
ak_container_writer *ak_container_stream(const char *path, const char *magic, ak_err *err);

/* zlib compression level 0..9 (0 stores, still a valid zlib stream); only
 * before the first record. Default AK_CONTAINER_DEFAULT_LEVEL. */
int ak_container_set_level(ak_container_writer *w, int level, ak_err *err);

/* Records. key: 1..AK_CONTAINER_KEY_MAX bytes of UTF-8 without control
 * characters, unique within the file. Fails on a bad or duplicate key, a
 * string that is not UTF-8, a bad shape, a failed write, or after the writer
 * was finished. */
int ak_container_put_u64(ak_container_writer *w, const char *key, uint64_t v, ak_err *err);
int ak_container_put_i64(ak_container_writer *w, const char *key, int64_t v, ak_err *err);
int ak_container_put_f64(ak_container_writer *w, const char *key, double v, ak_err *err);
int ak_container_put_str(ak_container_writer *w, const char *key, const char *s, ak_err *err);
int ak_container_put_bytes(ak_container_writer *w, const char *key, const void *p, size_t n, ak_err *err);
/* ndim 0..4 (0 = scalar, one element); dimensions >= 0; data holds the
 * product of the dimensions, row-major (may be NULL when that is 0). */
int ak_container_put_tensor(ak_container_writer *w, const char *key, int ndim, const int64_t *shape, const float *data,
                            ak_err *err);
int ak_container_put_i32s(ak_container_writer *w, const char *key, const int32_t *v, size_t n, ak_err *err);

/* Memory writer: finishes the payload and writes header + payload to path
 * atomically. May be called again (e.g. to a second path); no records can be
 * put after the first call. */
int ak_container_save(ak_container_writer *w, const char *path, ak_err *err);

/* Memory writer: finishes the payload and returns the whole file image in a
 * malloc'd buffer the caller frees. */
int ak_container_bytes(ak_container_writer *w, unsigned char **out, size_t *n, ak_err *err);

/* Stream writer: finishes the payload, writes the header and atomically
 * replaces the destination. On failure the temporary is removed and the
 * destination untouched. */
int ak_container_commit(ak_container_writer *w, ak_err *err);

/* Frees the writer; removes the temporary of an uncommitted stream writer. */
void ak_container_writer_free(ak_container_writer *w);

/* ---------------------------------------------------------------- reader */

typedef struct ak_container ak_container;

/* Opens and fully validates path. magic: the expected 8 bytes; kind: what
 * they mean, for the message on a mismatch ("checkpoint" gives "PATH: not an
 * attnkit checkpoint (magic ...)"). */
ak_container *ak_container_open(const char *path, const char *magic, const char *kind, ak_err *err);

/* The same on a file image in memory; name stands for the path in messages. */
ak_container *ak_container_open_mem(const void *bytes, size_t n, const char *name, const char *magic, const char *kind,
                                    ak_err *err);

void ak_container_close(ak_container *c);

const char *ak_container_path(const ak_container *c);
uint32_t ak_container_version(const ak_container *c);

/* Records in file order: i in [0, count). */
size_t ak_container_count(const ak_container *c);
const ak_record *ak_container_at(const ak_container *c, size_t i);

/* The record with this key, or NULL. */
const ak_record *ak_container_find(const ak_container *c, const char *key);

/* Typed lookups: 0 and the value, or -1 with "PATH: missing record 'k'" or
 * "PATH: record 'k' is a string, expected a float32 tensor". Pointers stay
 * valid until ak_container_close. Any output pointer may be NULL. */
int ak_container_get_u64(const ak_container *c, const char *key, uint64_t *v, ak_err *err);
int ak_container_get_i64(const ak_container *c, const char *key, int64_t *v, ak_err *err);
int ak_container_get_f64(const ak_container *c, const char *key, double *v, ak_err *err);
int ak_container_get_str(const ak_container *c, const char *key, const char **s, size_t *len, ak_err *err);
int ak_container_get_bytes(const ak_container *c, const char *key, const void **p, size_t *n, ak_err *err);
int ak_container_get_tensor(const ak_container *c, const char *key, int *ndim, int64_t shape[4], const float **data,
                            ak_err *err);
int ak_container_get_i32s(const ak_container *c, const char *key, const int32_t **v, size_t *n, ak_err *err);

/* ------------------------------------------------------------ parameters */

#define AK_CONTAINER_PARAM_PREFIX "param/"

/* Puts every parameter of a finalized store as a tensor record
 * "param/<name>", in declaration order. */
int ak_container_put_params(ak_container_writer *w, const ak_params *p, ak_err *err);

/* Loads a finalized store from the "param/" records: every declared
 * parameter must be present as a float32 tensor of exactly its shape, and
 * the file must hold no parameter the store does not declare. Nothing is
 * copied unless all of that holds. Messages name the first problem in
 * declaration order ("PATH: parameter 'enc.q.weight' has shape [256, 128] in
 * the file, the model expects [256, 256]") and count the others. */
int ak_container_get_params(const ak_container *c, ak_params *p, ak_err *err);

#endif
