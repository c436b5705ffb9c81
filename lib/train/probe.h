/* Attention probes: a fixed set of pairs whose attention maps are saved
 * once before training (epoch 0) and after every epoch.
 *
 * The probes are, in order of preference: the file [attention] probes (a
 * gold-alignment file in the data/eng-deu.gold.tsv format, whose links
 * then give the alignment error rate, or a plain TSV), at most probe_count
 * of them (0 = all); else the first probe_count validation pairs. Each side
 * is encoded with the run's tokenizers and cut to probe_max_len tokens
 * (0 = data.max_len); greedy decoding of a probe stops at EOS or after that
 * many tokens.
 *
 * Per epoch (ak_probes_run), all probes go through the model as one batch,
 * in evaluation mode without gradients: greedily decoded and teacher-forced
 * (decoder input BOS + reference), capturing every attention map. The maps
 * are written to RUN_DIR/attn/epoch-NNN.attn (io/attnfile.h) and their
 * statistics (eval/attn_stats.h: entropy, max weight, diagonality, head
 * divergence and, with gold, AER) appended to RUN_DIR/attn_stats.tsv.
 *
 * Gold links refer to the file's own word tokens. A probe's gold is used
 * when the tokenizer's words (word tokens; BPE symbols grouped by "</w>";
 * characters grouped by the regex words they fall in) line up with them one
 * to one; otherwise (e.g. a side cut by probe_max_len) that probe has no
 * gold and is counted in n_gold_dropped.
 *
 * Ownership: ak_probes owns everything; ak_probes_free (safe on a zeroed
 * struct). Failure modes: unreadable or malformed probe file, encoding
 * errors, model errors, file writes: -1 with one line in err. */
#ifndef AK_TRAIN_PROBE_H
#define AK_TRAIN_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "autograd/tape.h"
#include "data/corpus.h"
#include "data/corpus_gold.h"
#include "eval/attn_stats.h"
#include "nn/model.h"
#include "text/textbuf.h"
#include "train/train_config.h"
#include "train/train_data.h"

typedef struct ak_probe_item {
    uint64_t id;                /* index in the probe file, or in the validation order */
    ak_ids src, ref;            /* ids, cut */
    ak_strlist src_tok, ref_tok; /* the tokens as shown in the attention file */
    int32_t *src_word, *ref_word; /* word maps for the gold, or NULL */
} ak_probe_item;

typedef struct ak_probes {
    ak_probe_item *items;
    size_t n;
    int64_t max_len;            /* tokens per side and greedy steps */
    int has_gold;               /* the file had gold links */
    size_t n_gold_dropped;      /* probes whose words did not line up */
    ak_attn_gold *gold;         /* [n] */
    const ak_attn_gold **gold_ptr; /* [n], NULL where a probe has no gold */
    ak_gold gold_file;
    ak_corpus tsv_file;
    const ak_tokenizer *tgt_tok; /* borrowed: output tokens */
} ak_probes;

int ak_probes_prepare(ak_probes *p, const ak_train_cfg *cfg, const ak_train_data *d, ak_err *err);
void ak_probes_free(ak_probes *p);

/* A short digest of the epoch's statistics for the log, e.g.
 * "best cross head AER 0.312 (layer 2 head 1)". */
typedef struct ak_probe_digest {
    double best_aer;       /* NaN without gold */
    int aer_layer, aer_head;
    double cross_entropy;  /* mean over cross heads */
} ak_probe_digest;

/* Runs the probes through m, writes RUN_DIR/attn/epoch-NNN.attn and
 * appends to RUN_DIR/attn_stats.tsv; digest may be NULL. Ends ctx steps. */
int ak_probes_run(const ak_probes *p, ak_ctx *ctx, ak_model *m, const char *run_dir, int64_t epoch,
                  ak_probe_digest *digest, ak_err *err);

#endif
