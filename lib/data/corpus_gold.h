/* Gold word alignments (data/eng-deu.gold.tsv, described in data/SOURCES.md):
 * a header line
 *     english<TAB>german<TAB>english_tokens<TAB>german_tokens<TAB>sure<TAB>possible
 * then one pair per line: the two sentences, their tokens separated by single
 * spaces, and two space-separated lists of links "i-j" (English token i,
 * German token j, 0-based). Checked: field count, non-empty sentences and
 * tokens, UTF-8, links within the token counts, no duplicate link, every
 * sure link also possible (Och & Ney 2000). A link list may be empty.
 *
 * Ownership: an ak_gold owns all strings, token and link arrays; pointers
 * stay valid until ak_gold_free. Failure modes: unreadable file, bad header,
 * malformed line or link ("FILE:LINE: ..."), out of memory: -1 with a
 * message; *g is then empty and needs no free. */
#ifndef AK_DATA_CORPUS_GOLD_H
#define AK_DATA_CORPUS_GOLD_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ak_gold_link {
    int32_t src, tgt; /* token indices: English, German */
} ak_gold_link;

typedef struct ak_gold_pair {
    const char *src, *tgt;           /* English and German sentences */
    const char *const *src_tok;      /* n_src_tok English tokens */
    const char *const *tgt_tok;      /* n_tgt_tok German tokens */
    int32_t n_src_tok, n_tgt_tok;
    const ak_gold_link *sure;        /* n_sure links, file order */
    const ak_gold_link *possible;    /* n_possible links, file order */
    int32_t n_sure, n_possible;
    size_t line;                     /* 1-based line in the file */
} ak_gold_pair;

typedef struct ak_gold {
    ak_gold_pair *pairs;
    size_t n;
    /* storage behind the pointers above */
    char *text;
    const char **toks;
    ak_gold_link *links;
} ak_gold;

int ak_gold_read(ak_gold *g, const char *path, ak_err *err);
void ak_gold_free(ak_gold *g);

#endif
