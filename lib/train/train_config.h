/* The training configuration: every key of a `train` config file, its
 * schema (io/config.h: types, ranges, defaults, one-line docs; docs/configs.md
 * is generated from it) and the checks that need more than one key or the
 * file system.
 *
 * Sections: [data] corpus, split, tokenizers, metric; [model] the
 * architecture (maps onto ak_model_desc; the RNN's attention kind is
 * [model] attention, because it is part of the architecture); [train]
 * optimizer, schedule, batching, checkpoints, early stopping; [attention]
 * the probes whose attention maps are saved every epoch.
 *
 * Paths in a config are taken relative to the current directory (run from
 * the repository root: `data/eng-deu.tsv`).
 *
 * Messages name where the offending value came from: "FILE:LINE: ..." for a
 * line of the file, "--set data.train=x: ..." for an override, "FILE: ...
 * (default)" for a default; then the key and what is allowed.
 *
 * Ownership: ak_train_config owns a copy of the file text and of the
 * overrides (for messages); free with ak_train_config_free. */
#ifndef AK_TRAIN_TRAIN_CONFIG_H
#define AK_TRAIN_TRAIN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "io/config.h"
#include "nn/model.h"
#include "optim/optim.h"

/* Enum values, in the order of the schema's choices. */
enum { AK_TC_TOK_WORD, AK_TC_TOK_BPE, AK_TC_TOK_CHAR };
enum { AK_TC_METRIC_BLEU, AK_TC_METRIC_ROUGE };
enum { AK_TC_DETOK_PLAIN, AK_TC_DETOK_GLUE };
enum { AK_TC_MALFORMED_FAIL, AK_TC_MALFORMED_SKIP };
enum { AK_TC_KIND_TRANSFORMER, AK_TC_KIND_RNN };
enum { AK_TC_POS_SINUSOIDAL, AK_TC_POS_LEARNED };
enum { AK_TC_CELL_GRU, AK_TC_CELL_LSTM };
enum { AK_TC_OPT_ADAM, AK_TC_OPT_ADAMW, AK_TC_OPT_SGD };
enum { AK_TC_SCHED_INVSQRT, AK_TC_SCHED_CONSTANT, AK_TC_SCHED_COSINE };
/* Early-stopping / best-checkpoint metric. */
enum {
    AK_TC_SEL_AUTO,       /* bleu for metric = bleu, rougeL for metric = rouge */
    AK_TC_SEL_BLEU,
    AK_TC_SEL_ROUGE1,
    AK_TC_SEL_ROUGE2,
    AK_TC_SEL_ROUGEL,
    AK_TC_SEL_VALID_LOSS, /* lower is better */
};

typedef struct ak_train_cfg {
    /* [data] */
    char train[AK_CFG_STR_MAX];
    char valid[AK_CFG_STR_MAX];
    int64_t valid_size;
    int on_malformed;
    bool lowercase;
    int tokenizer;
    int64_t vocab_size, min_count;
    bool shared_vocab;
    int64_t max_len;
    int metric, detok;
    /* [model] */
    int kind;
    int64_t d_model, heads, d_ff, enc_layers, dec_layers, max_positions;
    double dropout;
    int positions;
    double emb_std;
    int cell;
    bool bidirectional;
    int attention;
    /* [train] */
    int64_t epochs, seed, batch_tokens;
    int optimizer;
    double lr, beta1, beta2, eps, weight_decay, momentum;
    bool nesterov;
    int schedule;
    int64_t warmup, total_steps;
    double min_lr, clip, label_smoothing;
    int select;
    int64_t patience, keep_last;
    int64_t decode_batch, decode_limit;
    double log_every;
    /* [attention] */
    bool attn_enabled;
    char probes[AK_CFG_STR_MAX];
    int64_t probe_count, probe_max_len;
} ak_train_cfg;

extern const ak_cfg_schema ak_train_schema;

/* A loaded configuration with what is needed to say where each value came
 * from. */
typedef struct ak_train_config {
    ak_train_cfg v;
    char *path;      /* the config file (copy) */
    char *text;      /* its contents */
    char **sets;     /* the overrides, in order (copies) */
    size_t n_sets;
} ak_train_config;

/* Defaults, the file, the overrides (later wins), then ak_train_config_check.
 * On failure *c holds nothing that needs freeing beyond ak_train_config_free
 * (which is always safe on a zeroed or loaded struct). */
int ak_train_config_load(ak_train_config *c, const char *path, const char *const *sets, size_t n_sets,
                         ak_err *err);
void ak_train_config_free(ak_train_config *c);

/* Checks across keys (heads divide d_model, max_positions > max_len + 1,
 * schedule and optimizer settings, ...) and that every named file can be
 * opened. */
int ak_train_config_check(const ak_train_config *c, ak_err *err);

/* Where (section, key) got its value: "FILE:LINE", "--set section.key=VALUE"
 * or "FILE (default)". */
void ak_train_config_where(const ak_train_config *c, const char *section, const char *key, char *buf,
                           size_t n);

/* The value of one key as text (as the dump writes it). */
void ak_train_cfg_value_text(const ak_train_cfg *v, const char *section, const char *key, char *buf, size_t n);

/* The model description for the vocabulary sizes the tokenizers gave. */
ak_model_desc ak_train_cfg_model_desc(const ak_train_cfg *v, int64_t src_vocab, int64_t tgt_vocab);
/* The optimizer settings and the schedule (sched.total filled from
 * total_steps, or from steps_per_epoch * epochs when that is 0). */
ak_optim_cfg ak_train_cfg_optim(const ak_train_cfg *v);
ak_sched ak_train_cfg_sched(const ak_train_cfg *v, int64_t steps_per_epoch);
/* The metric that selects the best checkpoint (never AK_TC_SEL_AUTO), and its name. */
int ak_train_cfg_select(const ak_train_cfg *v);
const char *ak_train_select_name(int sel);

/* Effective configuration as INI text (malloc'd, caller frees), and
 * parsing it back (e.g. the copy inside a checkpoint; name for messages). */
char *ak_train_cfg_dump_text(const ak_train_cfg *v);
int ak_train_cfg_parse_text(ak_train_cfg *v, const char *name, const char *text, ak_err *err);

/* The first key whose value differs between a and b, skipping keys that
 * may change when a run is resumed (epochs, patience, keep_last, logging,
 * decoding batch sizes, data paths, all of [attention]); NULL when none.
 * *section receives its section. */
const char *ak_train_cfg_resume_diff(const ak_train_cfg *a, const ak_train_cfg *b, const char **section);

/* docs/configs.md: intro, then the schema as Markdown tables. */
int ak_train_cfg_markdown(FILE *out);

#endif
