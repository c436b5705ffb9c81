/* The training configuration's schema, loading and cross-key checks. */
#include "train/train_config.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


static const char *const TOKS[] = {"word", "bpe", "char", NULL};
static const char *const METRICS[] = {"bleu", "rouge", NULL};
static const char *const DETOKS[] = {"plain", "glue", NULL};
static const char *const MALFORMED[] = {"fail", "skip", NULL};
static const char *const KINDS[] = {"transformer", "rnn", NULL};
static const char *const POSITIONS[] = {"sinusoidal", "learned", NULL};
static const char *const CELLS[] = {"gru", "lstm", NULL};
static const char *const ATTNS[] = {"additive", "dot", "general", "scaled_dot", "multihead", NULL};
static const char *const OPTIMS[] = {"adam", "adamw", "sgd", NULL};
static const char *const SCHEDS[] = {"invsqrt", "constant", "cosine", NULL};
static const char *const SELECTS[] = {"auto", "bleu", "rouge1", "rouge2", "rougeL", "valid_loss", NULL};

#define OFF(f) offsetof(ak_train_cfg, f)
#define K_INT(s, k, f, lo, hi, d, dc)                                                                        \
    {.section = s, .key = k, .type = AK_CFG_INT, .offset = OFF(f), .imin = lo, .imax = hi, .def = d, .doc = dc}
#define K_FLT(s, k, f, lo, hi, d, dc)                                                                        \
    {.section = s, .key = k, .type = AK_CFG_FLOAT, .offset = OFF(f), .fmin = lo, .fmax = hi, .def = d, .doc = dc}
#define K_BOOL(s, k, f, d, dc) {.section = s, .key = k, .type = AK_CFG_BOOL, .offset = OFF(f), .def = d, .doc = dc}
#define K_ENUM(s, k, f, ch, d, dc)                                                                           \
    {.section = s, .key = k, .type = AK_CFG_ENUM, .offset = OFF(f), .choices = ch, .def = d, .doc = dc}
#define K_PATH(s, k, f, d, dc) {.section = s, .key = k, .type = AK_CFG_PATH, .offset = OFF(f), .def = d, .doc = dc}

/* The defaults are the PyTorch twin's (shared/peer/torch_train.py) and the
 * reference Transformer T of shared/reference-models.md. */
static const ak_cfg_key KEYS[] = {
    K_PATH("data", "train", train, "data/eng-deu.tsv",
           "Training pairs: TSV source<TAB>target, plain or gzip-compressed."),
    K_PATH("data", "valid", valid, "",
           "Separate validation TSV; empty: draw valid_size pairs from the training file as the twin does."),
    K_INT("data", "valid_size", valid_size, 1, 10000000, "1000",
          "Validation pairs drawn from the training file (random.Random(seed).shuffle, first valid_size)."),
    K_ENUM("data", "on_malformed", on_malformed, MALFORMED, "fail",
           "A malformed TSV line (not two non-empty fields, bad UTF-8) fails the run or is skipped and counted."),
    K_BOOL("data", "lowercase", lowercase, "false",
           "Lower-case both sides (Unicode-aware, Python's str.lower()) before tokenizing and scoring."),
    K_ENUM("data", "tokenizer", tokenizer, TOKS, "word",
           "Tokens: regex words \\w+|[^\\w\\s], BPE learned on those words, or characters."),
    K_INT("data", "vocab_size", vocab_size, 5, 10000000, "8000",
          "Vocabulary size per side (or shared), the 4 specials included; BPE learns merges up to it."),
    K_INT("data", "min_count", min_count, 1, 1000000000, "2", "Tokens (BPE: symbols) seen fewer times are UNK."),
    K_BOOL("data", "shared_vocab", shared_vocab, "false", "One tokenizer learned from both sides."),
    K_INT("data", "max_len", max_len, 1, 100000, "40",
          "Training/validation pairs with more tokens on either side are dropped; greedy decoding stops here."),
    K_ENUM("data", "metric", metric, METRICS, "bleu",
           "Validation metric: corpus BLEU (sacreBLEU 13a) or ROUGE-1/2/L F1 (rouge-score)."),
    K_ENUM("data", "detok", detok, DETOKS, "plain",
           "Detokenization before scoring: no space before punctuation; glue also joins ' ’ - between words."),

    K_ENUM("model", "kind", kind, KINDS, "transformer", "Pre-LN Transformer or RNN encoder-decoder with attention."),
    K_INT("model", "d_model", d_model, 1, 65536, "256", "Transformer model size; RNN hidden size."),
    K_INT("model", "heads", heads, 1, 1024, "4", "Attention heads (Transformer; RNN with multihead attention)."),
    K_INT("model", "d_ff", d_ff, 1, 1048576, "1024", "Transformer feed-forward size."),
    K_INT("model", "enc_layers", enc_layers, 1, 64, "3", "Encoder layers."),
    K_INT("model", "dec_layers", dec_layers, 1, 64, "3", "Decoder layers."),
    K_INT("model", "max_positions", max_positions, 2, 100000, "256",
          "Longest sequence the model accepts (positional table); must exceed data.max_len + 1."),
    K_FLT("model", "dropout", dropout, 0, 0.99, "0.1", "Dropout probability."),
    K_ENUM("model", "positions", positions, POSITIONS, "sinusoidal", "Transformer positional encoding."),
    K_FLT("model", "emb_std", emb_std, 0, 100, "0",
          "Token embedding init std; 0 = the kind's default (Transformer d^-1/2, RNN 1)."),
    K_ENUM("model", "cell", cell, CELLS, "gru", "RNN cell."),
    K_BOOL("model", "bidirectional", bidirectional, "false", "RNN: bidirectional encoder."),
    K_ENUM("model", "attention", attention, ATTNS, "additive", "RNN decoder attention kind."),

    K_INT("train", "epochs", epochs, 1, 1000000, "20", "Epochs in the whole run (--epochs overrides)."),
    K_INT("train", "seed", seed, 0, 1000000000, "1",
          "Seed of the split, the batch order, initialization and dropout."),
    K_INT("train", "batch_tokens", batch_tokens, 1, 100000000, "4096",
          "Token budget per batch: rows * max(source len, target len + 1)."),
    K_ENUM("train", "optimizer", optimizer, OPTIMS, "adam", "Optimizer."),
    K_FLT("train", "lr", lr, 0, 100, "1e-3", "Peak learning rate."),
    K_FLT("train", "beta1", beta1, 0, 0.999999, "0.9", "Adam(W) beta1."),
    K_FLT("train", "beta2", beta2, 0, 0.999999999, "0.98", "Adam(W) beta2."),
    K_FLT("train", "eps", eps, 1e-30, 1, "1e-9", "Adam(W) epsilon."),
    K_FLT("train", "weight_decay", weight_decay, 0, 10, "0", "L2 (adam, sgd) or decoupled (adamw) weight decay."),
    K_FLT("train", "momentum", momentum, 0, 0.999999, "0", "SGD momentum."),
    K_BOOL("train", "nesterov", nesterov, "false", "SGD: Nesterov momentum."),
    K_ENUM("train", "schedule", schedule, SCHEDS, "invsqrt",
           "lr * min(step/warmup, sqrt(warmup/step)); constant after warm-up; or cosine down to min_lr."),
    K_INT("train", "warmup", warmup, 0, 100000000, "400", "Warm-up steps (invsqrt needs >= 1)."),
    K_INT("train", "total_steps", total_steps, 0, 1000000000, "0",
          "Cosine: last step of the decay; 0 = epochs * batches per epoch."),
    K_FLT("train", "min_lr", min_lr, 0, 100, "0", "Cosine: final learning rate."),
    K_FLT("train", "clip", clip, 0, 1e9, "1.0", "Global gradient-norm clipping; 0 = off."),
    K_FLT("train", "label_smoothing", label_smoothing, 0, 0.99, "0.1", "Label smoothing over all target classes."),
    K_ENUM("train", "select", select, SELECTS, "auto",
           "Metric for best.ckpt and early stopping; auto = bleu, or rougeL for metric = rouge."),
    K_INT("train", "patience", patience, 0, 1000000, "0",
          "Stop after this many epochs without improving the select metric; 0 = never."),
    K_INT("train", "keep_last", keep_last, 0, 1000000, "3", "Epoch checkpoints kept (older removed); 0 = all."),
    K_INT("train", "decode_batch", decode_batch, 1, 100000, "100", "Sentences per greedy-decoding batch."),
    K_INT("train", "decode_limit", decode_limit, 0, 100000000, "0",
          "Decode and score only the first N validation pairs; 0 = all."),
    K_FLT("train", "log_every", log_every, 0, 1e6, "30",
          "Seconds between progress lines when stderr is not a terminal; 0 = epoch lines only."),

    K_BOOL("attention", "enabled", attn_enabled, "true",
           "Save every attention map of the probes each epoch (attn/epoch-NNN.attn, attn_stats.tsv)."),
    K_PATH("attention", "probes", probes, "",
           "Probe pairs: a gold-alignment file (eng-deu.gold.tsv format) or a TSV; empty: the first "
           "probe_count validation pairs."),
    K_INT("attention", "probe_count", probe_count, 0, 100000,
          "8", "Probes taken from the validation pairs (no probes file), or the most taken from the file; 0 = all of the file."),
    K_INT("attention", "probe_max_len", probe_max_len, 0, 100000, "0",
          "Probe tokens kept per side (longer are truncated); 0 = data.max_len."),
};

const ak_cfg_schema ak_train_schema = {KEYS, sizeof KEYS / sizeof KEYS[0]};

static const ak_cfg_key *find_key(const char *section, const char *key)
{
    for (size_t i = 0; i < ak_train_schema.n; i++)
        if (!strcmp(KEYS[i].section, section) && !strcmp(KEYS[i].key, key))
            return &KEYS[i];
    return NULL;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void ak_train_config_free(ak_train_config *c)
{
    if (!c)
        return;
    free(c->path);
    free(c->text);
    for (size_t i = 0; i < c->n_sets; i++)
        free(c->sets[i]);
    free(c->sets);
    memset(c, 0, sizeof *c);
}

/* Reads a whole file into a NUL-terminated malloc'd string. */
static char *read_all(const char *path, ak_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ak_errorf(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        if (n + 1 >= cap) {
            char *g = realloc(buf, cap *= 2);
            if (!g) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = g;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        ak_errorf(err, "%s: %s", path, bad ? "read error" : "out of memory");
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

int ak_train_config_load(ak_train_config *c, const char *path, const char *const *sets, size_t n_sets,
                         ak_err *err)
{
    memset(c, 0, sizeof *c);
    if (ak_cfg_defaults(&ak_train_schema, &c->v, err) != 0)
        return -1;
    c->path = dup_str(path);
    c->text = read_all(path, err);
    if (!c->path || !c->text) {
        if (c->path && !c->text)
            return -1;
        return ak_errorf(err, "out of memory");
    }
    c->sets = calloc(n_sets ? n_sets : 1, sizeof *c->sets);
    if (!c->sets)
        return ak_errorf(err, "out of memory");
    for (size_t i = 0; i < n_sets; i++) {
        if (!(c->sets[i] = dup_str(sets[i])))
            return ak_errorf(err, "out of memory");
        c->n_sets = i + 1;
    }
    if (ak_cfg_parse_text(&ak_train_schema, path, c->text, &c->v, err) != 0)
        return -1;
    for (size_t i = 0; i < n_sets; i++)
        if (ak_cfg_set(&ak_train_schema, sets[i], &c->v, err) != 0)
            return -1;
    return ak_train_config_check(c, err);
}

/* ------------------------------------------------------------ locating */

/* Trims [*b, *e) of spaces and tabs. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && (**b == ' ' || **b == '\t'))
        (*b)++;
    while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
        (*e)--;
}

static int span_eq(const char *b, const char *e, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(e - b) == n && !memcmp(b, s, n);
}

/* Line (1-based) of `key` in `[section]` of an INI text, 0 when absent. */
static int find_line(const char *text, const char *section, const char *key)
{
    int line = 0, in_section = 0;
    for (const char *p = text; p && *p;) {
        line++;
        const char *nl = strchr(p, '\n'), *e = nl ? nl : p + strlen(p), *b = p;
        trim(&b, &e);
        if (b < e && *b == '[') {
            const char *close = memchr(b, ']', (size_t)(e - b));
            if (close) {
                const char *sb = b + 1, *se = close;
                trim(&sb, &se);
                in_section = span_eq(sb, se, section);
            }
        } else if (in_section && b < e && *b != '#') {
            const char *eq = memchr(b, '=', (size_t)(e - b));
            if (eq) {
                const char *kb = b, *ke = eq;
                trim(&kb, &ke);
                if (span_eq(kb, ke, key))
                    return line;
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}

void ak_train_config_where(const ak_train_config *c, const char *section, const char *key, char *buf, size_t n)
{
    char want[256];
    snprintf(want, sizeof want, "%s.%s", section, key);
    size_t wn = strlen(want);
    for (size_t i = c->n_sets; i-- > 0;) {
        const char *s = c->sets[i];
        while (*s == ' ')
            s++;
        if (!strncmp(s, want, wn) && (s[wn] == '=' || s[wn] == ' ')) {
            snprintf(buf, n, "--set %s", c->sets[i]);
            return;
        }
    }
    int line = c->text ? find_line(c->text, section, key) : 0;
    if (line)
        snprintf(buf, n, "%s:%d", c->path ? c->path : "config", line);
    else
        snprintf(buf, n, "%s (default)", c->path ? c->path : "config");
}

void ak_train_cfg_value_text(const ak_train_cfg *v, const char *section, const char *key, char *buf, size_t n)
{
    const ak_cfg_key *k = find_key(section, key);
    if (!k) {
        snprintf(buf, n, "?");
        return;
    }
    const char *base = (const char *)v + k->offset;
    switch (k->type) {
    case AK_CFG_INT: snprintf(buf, n, "%lld", (long long)*(const int64_t *)base); break;
    case AK_CFG_FLOAT: snprintf(buf, n, "%.17g", *(const double *)base); break;
    case AK_CFG_BOOL: snprintf(buf, n, "%s", *(const bool *)base ? "true" : "false"); break;
    case AK_CFG_ENUM: snprintf(buf, n, "%s", k->choices[*(const int *)base]); break;
    default: snprintf(buf, n, "%s", base); break;
    }
}

/* "WHERE: key 'K' in [S]: MESSAGE" */
static int key_error(const ak_train_config *c, const char *section, const char *key, ak_err *err, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));
static int key_error(const ak_train_config *c, const char *section, const char *key, ak_err *err, const char *fmt,
                     ...)
{
    char where[AK_CFG_STR_MAX + 64], what[AK_ERR_MSG_MAX];
    ak_train_config_where(c, section, key, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ak_errorf(err, "%s: key '%s' in [%s]: %s", where, key, section, what);
}

static int check_file(const ak_train_config *c, const char *section, const char *key, const char *path,
                      ak_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return key_error(c, section, key, err, "cannot open '%s': %s", path, strerror(errno));
    fclose(f);
    return 0;
}

int ak_train_config_check(const ak_train_config *c, ak_err *err)
{
    const ak_train_cfg *v = &c->v;
    if (!*v->train)
        return key_error(c, "data", "train", err, "expected a training file, got an empty path");
    if (check_file(c, "data", "train", v->train, err) || (*v->valid && check_file(c, "data", "valid", v->valid, err)) ||
        (*v->probes && check_file(c, "attention", "probes", v->probes, err)))
        return -1;
    if (v->max_positions < v->max_len + 2)
        return key_error(c, "model", "max_positions", err,
                         "expected at least data.max_len + 2 = %lld (decoder input and greedy output), got %lld",
                         (long long)v->max_len + 2, (long long)v->max_positions);
    if (v->probe_max_len > v->max_positions - 2)
        return key_error(c, "attention", "probe_max_len", err, "expected at most model.max_positions - 2 = %lld, got %lld",
                         (long long)v->max_positions - 2, (long long)v->probe_max_len);
    if (v->kind == AK_TC_KIND_TRANSFORMER && v->d_model % v->heads)
        return key_error(c, "model", "heads", err, "expected a divisor of d_model = %lld, got %lld",
                         (long long)v->d_model, (long long)v->heads);
    if (v->kind == AK_TC_KIND_RNN && v->attention == 4 && v->d_model % v->heads)
        return key_error(c, "model", "heads", err,
                         "expected a divisor of d_model = %lld for multihead attention, got %lld",
                         (long long)v->d_model, (long long)v->heads);
    if (v->kind == AK_TC_KIND_RNN && (v->attention == 1 || v->attention == 3) && v->bidirectional)
        return key_error(c, "model", "attention", err,
                         "%s needs equal query and key sizes; a bidirectional encoder doubles the keys "
                         "(use additive, general or multihead)",
                         ATTNS[v->attention]);
    if (v->schedule == AK_TC_SCHED_INVSQRT && v->warmup < 1)
        return key_error(c, "train", "warmup", err, "expected at least 1 for schedule = invsqrt, got %lld",
                         (long long)v->warmup);
    if (v->schedule == AK_TC_SCHED_COSINE && v->total_steps && v->total_steps <= v->warmup)
        return key_error(c, "train", "total_steps", err, "expected more than warmup = %lld, got %lld",
                         (long long)v->warmup, (long long)v->total_steps);
    if (v->schedule == AK_TC_SCHED_COSINE && v->min_lr > v->lr)
        return key_error(c, "train", "min_lr", err, "expected at most lr = %g, got %g", v->lr, v->min_lr);
    if (v->optimizer == AK_TC_OPT_SGD && v->nesterov && v->momentum <= 0)
        return key_error(c, "train", "nesterov", err, "needs momentum > 0");
    int sel = ak_train_cfg_select(v);
    if (v->metric == AK_TC_METRIC_BLEU && sel >= AK_TC_SEL_ROUGE1 && sel <= AK_TC_SEL_ROUGEL)
        return key_error(c, "train", "select", err, "%s needs data.metric = rouge", SELECTS[v->select]);
    if (v->metric == AK_TC_METRIC_ROUGE && sel == AK_TC_SEL_BLEU)
        return key_error(c, "train", "select", err, "bleu needs data.metric = bleu");
    return 0;
}

/* -------------------------------------------------------------- mapping */

ak_model_desc ak_train_cfg_model_desc(const ak_train_cfg *v, int64_t src_vocab, int64_t tgt_vocab)
{
    ak_model_kind kind = v->kind == AK_TC_KIND_RNN ? AK_MODEL_RNN : AK_MODEL_TRANSFORMER;
    ak_model_desc d = ak_model_desc_default(kind, src_vocab, tgt_vocab);
    d.d_model = v->d_model;
    d.heads = v->heads;
    d.d_ff = v->d_ff;
    d.enc_layers = v->enc_layers;
    d.dec_layers = v->dec_layers;
    d.max_len = v->max_positions;
    d.dropout = (float)v->dropout;
    d.learned_pos = v->positions == AK_TC_POS_LEARNED;
    d.emb_std = (float)v->emb_std;
    d.cell = v->cell == AK_TC_CELL_LSTM ? AK_CELL_LSTM : AK_CELL_GRU;
    d.bidirectional = v->bidirectional;
    d.attention = (ak_attn_type)ak_attn_type_parse(ATTNS[v->attention]);
    return d;
}

ak_optim_cfg ak_train_cfg_optim(const ak_train_cfg *v)
{
    ak_optim_cfg o;
    if (v->optimizer == AK_TC_OPT_SGD) {
        o = ak_sgd_cfg(v->lr, v->momentum);
        o.nesterov = v->nesterov;
    } else {
        o = v->optimizer == AK_TC_OPT_ADAMW ? ak_adamw_cfg(v->lr, v->weight_decay) : ak_adam_cfg(v->lr);
        o.beta1 = v->beta1;
        o.beta2 = v->beta2;
        o.eps = v->eps;
    }
    o.weight_decay = v->weight_decay;
    return o;
}

ak_sched ak_train_cfg_sched(const ak_train_cfg *v, int64_t steps_per_epoch)
{
    ak_sched s = {.lr = v->lr, .warmup = v->warmup, .min_lr = v->min_lr};
    s.kind = v->schedule == AK_TC_SCHED_COSINE ? AK_SCHED_COSINE
             : v->schedule == AK_TC_SCHED_CONSTANT ? AK_SCHED_CONSTANT
                                                   : AK_SCHED_INVSQRT;
    s.total = v->total_steps ? v->total_steps : steps_per_epoch * v->epochs;
    if (s.kind == AK_SCHED_COSINE && s.total <= s.warmup)
        s.total = s.warmup + 1;
    return s;
}

int ak_train_cfg_select(const ak_train_cfg *v)
{
    if (v->select != AK_TC_SEL_AUTO)
        return v->select;
    return v->metric == AK_TC_METRIC_ROUGE ? AK_TC_SEL_ROUGEL : AK_TC_SEL_BLEU;
}

const char *ak_train_select_name(int sel) { return SELECTS[sel]; }

/* ------------------------------------------------------------ text form */

char *ak_train_cfg_dump_text(const ak_train_cfg *v)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    int rc = ak_cfg_dump(&ak_train_schema, v, f);
    if (fclose(f) != 0 || rc != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int ak_train_cfg_parse_text(ak_train_cfg *v, const char *name, const char *text, ak_err *err)
{
    return ak_cfg_defaults(&ak_train_schema, v, err) || ak_cfg_parse_text(&ak_train_schema, name, text, v, err) ? -1
                                                                                                                : 0;
}

static int resume_may_change(const ak_cfg_key *k)
{
    static const char *const TRAIN_OK[] = {"epochs", "patience", "keep_last", "decode_batch", "decode_limit",
                                           "log_every", NULL};
    if (!strcmp(k->section, "attention"))
        return 1;
    if (!strcmp(k->section, "data"))
        return !strcmp(k->key, "train") || !strcmp(k->key, "valid");
    if (!strcmp(k->section, "train"))
        for (int i = 0; TRAIN_OK[i]; i++)
            if (!strcmp(k->key, TRAIN_OK[i]))
                return 1;
    return 0;
}

const char *ak_train_cfg_resume_diff(const ak_train_cfg *a, const ak_train_cfg *b, const char **section)
{
    for (size_t i = 0; i < ak_train_schema.n; i++) {
        const ak_cfg_key *k = &KEYS[i];
        if (resume_may_change(k))
            continue;
        const char *pa = (const char *)a + k->offset, *pb = (const char *)b + k->offset;
        int same;
        switch (k->type) {
        case AK_CFG_INT: same = *(const int64_t *)pa == *(const int64_t *)pb; break;
        case AK_CFG_FLOAT: same = *(const double *)pa == *(const double *)pb; break;
        case AK_CFG_BOOL: same = *(const bool *)pa == *(const bool *)pb; break;
        case AK_CFG_ENUM: same = *(const int *)pa == *(const int *)pb; break;
        default: same = !strcmp(pa, pb); break;
        }
        if (!same) {
            *section = k->section;
            return k->key;
        }
    }
    return NULL;
}

int ak_train_cfg_markdown(FILE *out)
{
    fputs("# Training configuration\n\n"
          "<!-- Generated by `bin/train --config-doc > docs/configs.md` from the schema in\n"
          "     lib/train/train_config.c; edit the schema, not this file. -->\n\n"
          "`bin/train CONFIG` reads an INI file: `[section]` headers, `key = value` lines, `#` comments\n"
          "(a whole line, or from a `#` after whitespace). Every key is optional; the defaults below are\n"
          "the PyTorch twin's (`shared/peer/torch_train.py`: word tokens, 8,000 per side, max-len 40,\n"
          "Adam(0.9, 0.98, 1e-9), lr 1e-3 with 400 warm-up steps then inverse square root, label smoothing\n"
          "0.1, clip 1.0, batches of <= 4,096 tokens, dropout 0.1) and the reference Transformer T\n"
          "(d 256, 4 heads, d_ff 1024, 3 + 3 layers). `--set section.key=value` overrides a key from the\n"
          "command line (repeatable, later wins). Paths are relative to the current directory.\n\n"
          "An unknown section or key, a value of the wrong type or out of range, a combination that cannot\n"
          "work (heads not dividing d_model, max_positions too small for max_len, ...) or a file that cannot\n"
          "be opened stops `bin/train` with exit status 2 and one line naming where the value came from\n"
          "(`FILE:LINE`, `--set ...` or `FILE (default)`), the key and what is allowed, e.g.\n\n"
          "    configs/demo.ini:12: unknown key 'epoch' in [train]: expected one of ...; did you mean 'epochs'?\n"
          "    configs/demo.ini:3: key 'train' in [data]: cannot open 'data/x.tsv': No such file or directory\n\n"
          "Each run writes the effective configuration (every key, defaults included) to\n"
          "`RUN_DIR/config.ini` and into every checkpoint. When a run is resumed the configuration must\n"
          "agree with the checkpoint's except for `[train]` epochs, patience, keep_last, decode_batch,\n"
          "decode_limit, log_every, the `[data]` train/valid paths (the data itself must be unchanged:\n"
          "a checksum is compared) and all of `[attention]`.\n\n"
          "The vocabulary sizes of the model come from the tokenizers. The RNN's attention kind is\n"
          "`[model] attention` (it is part of the architecture); `[attention]` is about the probes whose\n"
          "attention maps are saved every epoch.\n\n"
          "## Keys\n\n",
          out);
    return ak_cfg_markdown(&ak_train_schema, out);
}
