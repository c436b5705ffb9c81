/* A translation session over one checkpoint: the model, its tokenizers and a
 * context, with what the inference programs do to a line of text: encode it,
 * decode it (greedy or beam), detokenize the result and extract the
 * attention map the result received.
 *
 * The checkpoint alone is enough (io/ckpt_tokenizer.h): records
 * "tok/src/..." and "tok/tgt/..." hold the tokenizers. A checkpoint without
 * them still opens (its tokenizers are then NULL and text functions fail with
 * a message saying so), so id-level work (ak_score_pairs) stays possible.
 *
 * Attention of an output: decoding runs step by step, but the decoder is
 * causal, so a teacher-forced forward pass on the source and BOS + output
 * gives each output position exactly the attention it had while decoding
 * (checked by a test against the step-by-step capture). Rows are the
 * produced tokens (EOS last when produced), columns the keys: source tokens
 * for cross and enc-self attention, produced tokens for dec-self.
 *
 * Ownership: a translator owns everything it opened; ak_translator_close
 * releases it. Hypotheses and views returned are the caller's. Failure
 * modes: every function that can fail returns -1 with one line in err. */
#ifndef AK_DECODE_TRANSLATE_H
#define AK_DECODE_TRANSLATE_H

#include <stddef.h>
#include <stdint.h>

#include "autograd/tape.h"
#include "decode/attn_view.h"
#include "decode/search.h"
#include "io/container.h"
#include "nn/capture.h"
#include "nn/model.h"
#include "text/textbuf.h"
#include "text/tokenizer.h"
#include "train/train_config.h"

typedef struct ak_translator {
    ak_container *ckpt;
    ak_model *model;
    ak_tokenizer *src_tok, *tgt_tok; /* NULL when the checkpoint has none */
    char no_tok[AK_ERR_MSG_MAX];     /* why they are missing, for messages */
    /* The training run's settings, from the "run/config" record bin/train
     * writes (train/train_config.h); has_run_cfg 0 when absent. Used for:
     * lowercasing inputs ([data] lowercase), the default decoding length and
     * source cut ([data] max_len), detokenization ([data] detok) and the
     * evaluation metric ([data] metric). */
    int has_run_cfg;
    ak_train_cfg run_cfg;
    char cfg_note[AK_ERR_MSG_MAX]; /* why an existing run/config was not usable, or "" */
    ak_ctx ctx;
} ak_translator;

/* Opens and validates a checkpoint and builds its model. Fails on a missing,
 * unreadable or corrupt file (the checkpoint reader's message). */
int ak_translator_open(ak_translator *t, const char *path, ak_err *err);
void ak_translator_close(ak_translator *t);

/* 0 when both tokenizers are there, else -1 with "PATH: ...". */
int ak_translator_need_text(const ak_translator *t, ak_err *err);

/* Encodes one source text into out (cleared first), lower-cased first when
 * the run lower-cased its data. Fails on invalid UTF-8, a text with no token
 * ("empty input") and one longer than the model's max_len ("input of N
 * tokens, the model takes at most M"). */
int ak_translator_encode(const ak_translator *t, const char *text, ak_ids *out, ak_err *err);

/* Search settings: beam 0 is greedy; max_len 0 is ak_translator_default_max_len. */
typedef struct ak_search_cfg {
    int beam;
    int nbest; /* 0: 1; must be <= beam for beam search, 1 for greedy */
    int64_t max_len;
    double alpha; /* length penalty (beam only) */
    int batch;    /* greedy: sources decoded together; 0: 32 */
} ak_search_cfg;

/* Checks a configuration against the model (ranges; max_len <= the model's). */
int ak_search_cfg_check(const ak_translator *t, const ak_search_cfg *cfg, ak_err *err);

/* Decodes srcs[0..n) (each 1..max_len ids): out[i] receives the best
 * hypotheses of source i (nbest for beam, one for greedy). Greedy is the
 * trainer's batched decoder (train/decode.h: batches of cfg->batch sources
 * of similar length), its hypotheses carry no score (see
 * ak_translator_logprob); beam search runs one source at a time. The arena
 * is reset after every batch or sentence. On failure nothing is left in out. */
int ak_translator_decode(ak_translator *t, const ak_ids *srcs, size_t n, const ak_search_cfg *cfg, ak_hyps *out,
                         ak_err *err);

/* Greedy hypotheses come without scores (logprob = score = NAN); this
 * computes logprob (teacher-forced, in double) and sets score = logprob. */
int ak_translator_logprob(ak_translator *t, const ak_ids *src, ak_hyp *h, ak_err *err);

/* Detokenized text of a hypothesis (malloc'd). glue: text/detok.h. */
char *ak_translator_detok(const ak_translator *t, const ak_hyp *h, int glue, ak_err *err);

/* Display label of one token: the vocabulary string, with BPE's end-of-word
 * marker removed and "@@" appended to a piece that does not end a word. */
void ak_token_label(const ak_tokenizer *tok, int32_t id, char *buf, size_t n);

/* Layers and heads of an attention kind in this model: 0 layers when the
 * model has no such attention (RNN self-attention). */
void ak_model_attn_layout(const ak_model_desc *d, ak_attn_role role, int *layers, int *heads);

/* Checks layer (0-based) and head (0-based, -1 = average of the heads)
 * against the model, naming the allowed range. */
int ak_attn_choice_check(const ak_model_desc *d, ak_attn_role role, int layer, int head, ak_err *err);

/* The attention hypothesis h (decoded from src) received, as described
 * above. layer < 0 picks the last layer. */
int ak_translator_attention(ak_translator *t, const ak_ids *src, const ak_hyp *h, ak_attn_role role, int layer,
                            int head, ak_attn_view *out, ak_err *err);

/* Lower-cases text (malloc'd copy) when the run lower-cased its data, else
 * returns a plain copy; NULL with a message on invalid UTF-8 or no memory. */
char *ak_translator_normalize(const ak_translator *t, const char *text, ak_err *err);

/* The run's settings, or the fallbacks when the checkpoint has no run
 * configuration: the metric ("bleu", "rouge"; NULL = unknown), the default
 * decoding length (the run's [data] max_len capped by the model's, else the
 * model's max_len) and whether to detokenize with glue (0 when unknown). */
const char *ak_translator_metric_hint(const ak_translator *t);
int64_t ak_translator_default_max_len(const ak_translator *t);
int ak_translator_glue(const ak_translator *t);

#endif
