/* Attention files (.attn): for a fixed set of probe pairs, what the model
 * attended to at one epoch. Training writes RUN_DIR/attn/epoch-NNN.attn once
 * before the first epoch (epoch 0) and after every epoch; the renderers and
 * lib/eval/attn_stats read them. Specified byte by byte in docs/formats.md
 * ("## Attention file"); the bytes are a container (io/container.h) with
 * magic "AKATTN01".
 *
 * One file holds the epoch, a model summary (per attention role: how many
 * layers and heads) and the probes. A probe is its source tokens, reference
 * target tokens and greedily decoded output tokens (UTF-8 strings, without
 * BOS/EOS/PAD), whether the greedy output ended with EOS, and for each mode
 *   tf      teacher-forced: decoder input BOS + reference
 *   greedy  as decoded:     decoder input BOS + output
 * every attention map of the summary, one per (role, layer), as floats
 * [heads, queries, keys] cut to the probe's real lengths:
 *   enc-self  [H, n_src, n_src]
 *   dec-self  [H, n_dec, n_dec]
 *   cross     [H, n_dec, n_src]
 * where n_dec, the decoder positions of the mode, is n_ref + 1 for tf (the
 * last row is the one that predicts EOS) and n_out + out_eos for greedy (one
 * row per token the decoder produced, the final EOS included when decoding
 * stopped on it). Query row i is the step whose decoder input is
 * (BOS + tokens)[i] and which predicts (tokens + EOS)[i]. Layers count from 0,
 * as in nn/capture.h. The encoder maps of the two modes are the same
 * computation; both are stored so that every mode is complete on its own.
 *
 * Building: ak_attn_file_init, then per probe ak_attn_file_add_probe and,
 * per mode, ak_attn_probe_from_capture (batch row b of a capture) or
 * ak_attn_probe_set_map; then ak_attn_file_write. Writing fails unless every
 * map of every probe is set.
 *
 * Reading validates everything before returning (see docs/formats.md): the
 * container (magic, version, CRCs, structure), the attention-file version,
 * the summary within AK_ATTN_MAX_LAYERS / AK_ATTN_MAX_HEADS, every probe's
 * tokens (non-empty UTF-8 strings, at most AK_ATTN_MAX_TOKENS, n_src >= 1,
 * n_dec >= 1), every map's presence, shape (consistent with the token counts
 * and the summary) and values (finite, in [0, 1]), and that no map record
 * names a probe, role or layer outside the file's range. No byte sequence
 * crashes the reader. Unknown keys outside those patterns are ignored (later
 * versions may add records).
 *
 * Ownership: an ak_attn_file owns its probes, their tokens and maps and the
 * description text; ak_attn_file_free releases all. Pointers to probes stay
 * valid while probes are added. A zeroed struct is empty and may be freed.
 * Failure modes: every function that can fail returns -1 (or NULL) with one
 * line in err; the reader's messages start with the path. On a failed read
 * *f is left empty (nothing to free). */
#ifndef AK_IO_ATTNFILE_H
#define AK_IO_ATTNFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "nn/capture.h"

#define AK_ATTN_FILE_MAGIC "AKATTN01"
#define AK_ATTN_FILE_KIND "attention file"
#define AK_ATTN_FILE_VERSION 1 /* the "attn/version" record; newest this build reads, the one it writes */

#define AK_ATTN_NMODES 2
#define AK_ATTN_NROLES 3
#define AK_ATTN_MAX_LAYERS 64
#define AK_ATTN_MAX_HEADS 1024
#define AK_ATTN_MAX_TOKENS 65536 /* per sequence */

typedef enum ak_attn_mode {
    AK_ATTN_TF = 0,     /* teacher-forced */
    AK_ATTN_GREEDY = 1, /* as greedily decoded */
} ak_attn_mode;

/* "tf", "greedy" */
const char *ak_attn_mode_name(ak_attn_mode m);
/* Parses the names above; -1 when unknown. */
int ak_attn_mode_parse(const char *s);

/* Indexed by ak_attn_role. A role the model lacks has layers 0 and heads 0. */
typedef struct ak_attn_summary {
    int layers[AK_ATTN_NROLES];
    int heads[AK_ATTN_NROLES];
} ak_attn_summary;

struct ak_model_desc;
/* Transformer: enc-self enc_layers, dec-self and cross dec_layers, all with
 * `heads` heads. RNN: cross only, one layer, `heads` heads for multihead
 * attention and 1 for the single-head kinds. (Unvalidated descriptions give
 * whatever they say; ak_attn_file_init checks the ranges.) */
ak_attn_summary ak_attn_summary_from_desc(const struct ak_model_desc *d);

/* The summary a capture implies: per role, layers = 1 + the highest layer
 * captured, heads from its maps. Fails when the capture failed, a role skips
 * a layer, or heads differ between layers of a role. */
int ak_attn_summary_from_capture(const ak_attn_capture *c, ak_attn_summary *s, ak_err *err);

/* Tokens of one sequence: n NUL-terminated strings, owned. */
typedef struct ak_attn_tokens {
    char **tok;
    int32_t n;
} ak_attn_tokens;

typedef struct ak_attn_probe {
    uint64_t id; /* caller's identifier, e.g. the pair's index in its corpus */
    ak_attn_tokens src, ref, out;
    int out_eos; /* 1: greedy decoding stopped on EOS */
    /* map[mode][role][layer]: [heads, queries, keys] row-major, owned; NULL
     * until set (always set in a file that was read). */
    float *map[AK_ATTN_NMODES][AK_ATTN_NROLES][AK_ATTN_MAX_LAYERS];
} ak_attn_probe;

typedef struct ak_attn_file {
    uint64_t epoch;
    ak_attn_summary model;
    char *model_desc;       /* optional model description text (ak_model_desc_to_text), or NULL */
    ak_attn_probe **probes; /* n_probes, in file order */
    size_t n_probes, cap_probes;
} ak_attn_file;

/* Decoder positions of a mode: n_ref + 1 (tf) or n_out + out_eos (greedy). */
int64_t ak_attn_probe_dec_len(const ak_attn_probe *p, ak_attn_mode mode);
/* Query rows and keys of the (mode, role) maps of p (see the table above). */
int64_t ak_attn_probe_queries(const ak_attn_probe *p, ak_attn_mode mode, ak_attn_role role);
int64_t ak_attn_probe_keys(const ak_attn_probe *p, ak_attn_mode mode, ak_attn_role role);

/* Row q of head h of a map that is set (NULL when it is not). */
const float *ak_attn_probe_row(const ak_attn_file *f, const ak_attn_probe *p, ak_attn_mode mode, ak_attn_role role,
                               int layer, int head, int64_t q);

/* Starts an empty file. s: every role's layers in [0, AK_ATTN_MAX_LAYERS],
 * heads in [1, AK_ATTN_MAX_HEADS] where layers > 0 and 0 otherwise, at least
 * one layer in all. model_desc may be NULL (copied). */
int ak_attn_file_init(ak_attn_file *f, uint64_t epoch, const ak_attn_summary *s, const char *model_desc, ak_err *err);
void ak_attn_file_free(ak_attn_file *f);

/* Appends a probe with copies of its tokens (each a non-empty UTF-8 string;
 * n_src >= 1; n_out + out_eos >= 1; counts <= AK_ATTN_MAX_TOKENS) and no
 * maps yet. Returns it, or NULL with err. */
ak_attn_probe *ak_attn_file_add_probe(ak_attn_file *f, uint64_t id, const char *const *src, int32_t n_src,
                                      const char *const *ref, int32_t n_ref, const char *const *out, int32_t n_out,
                                      int out_eos, ak_err *err);

/* Copies one map, w [heads, queries, keys] contiguous (sizes as
 * ak_attn_probe_queries/keys say), replacing any earlier one. Fails on a
 * role or layer outside the summary, or values not finite or outside [0, 1]. */
int ak_attn_probe_set_map(const ak_attn_file *f, ak_attn_probe *p, ak_attn_mode mode, ak_attn_role role, int layer,
                          const float *w, ak_err *err);

/* Copies every (role, layer) map of the summary for mode from batch row b of
 * a capture, cut to the probe's real lengths: the capture's first queries
 * rows and keys columns (the rest is padding or other probes' extra steps).
 * Fails when the capture failed, a map is missing, its heads differ from the
 * summary, b is outside its batch, or it is smaller than the probe. */
int ak_attn_probe_from_capture(const ak_attn_file *f, ak_attn_probe *p, ak_attn_mode mode, const ak_attn_capture *cap,
                               int64_t b, ak_err *err);

/* Writes f to path atomically (streamed through the container). */
int ak_attn_file_write(const ak_attn_file *f, const char *path, ak_err *err);
/* The same file image in a malloc'd buffer (caller frees). */
int ak_attn_file_bytes(const ak_attn_file *f, unsigned char **out, size_t *n, ak_err *err);

/* Reads and validates path into *f (which must not hold a file). */
int ak_attn_file_read(ak_attn_file *f, const char *path, ak_err *err);
/* The same on a file image in memory; name stands for the path in messages. */
int ak_attn_file_read_mem(ak_attn_file *f, const void *bytes, size_t n, const char *name, ak_err *err);

/* "RUN_DIR/attn/epoch-NNN.attn" (at least three digits) into buf; -1 when
 * it does not fit. */
int ak_attn_file_path(char *buf, size_t n, const char *run_dir, uint64_t epoch, ak_err *err);

#endif
