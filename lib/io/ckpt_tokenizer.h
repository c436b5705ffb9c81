/* Tokenizers inside a checkpoint, so a checkpoint alone is enough to
 * translate: records "tok/<side>/kind" ("char", "word", "bpe"),
 * "tok/<side>/vocab" (the tokens of ids 0.. joined by '\n', as the vocab
 * file format of text/vocab.h) and, for BPE, "tok/<side>/merges" (one
 * "left right" pair per line in learning order). side is "src" or "tgt". */
#ifndef AK_IO_CKPT_TOKENIZER_H
#define AK_IO_CKPT_TOKENIZER_H

#include "io/container.h"
#include "text/tokenizer.h"

int ak_ckpt_put_tokenizer(ak_container_writer *w, const char *side, const ak_tokenizer *t, ak_err *err);

/* Rebuilds the tokenizer of `side`; *out is new and owned by the caller. */
int ak_ckpt_get_tokenizer(const ak_container *c, const char *side, ak_tokenizer **out, ak_err *err);

#endif
