/* Parallel text corpora: TSV files of `source<TAB>target` lines, plain or
 * gzip-compressed (detected from the content), kept as raw UTF-8 strings.
 * Tokenizing and normalising (case, Unicode forms) belong to lib/text; this
 * module only reads, validates and holds the text.
 *
 * A line is well-formed when it has exactly two TAB-separated fields, both
 * non-empty, in well-formed UTF-8 without CR or NUL bytes. Empty lines are
 * skipped and counted, as the PyTorch twin (shared/peer/torch_train.py,
 * read_tsv) skips them, so pair i here is pair i there. A malformed line is
 * reported as
 *     FILE:LINE: expected two non-empty TAB-separated fields, got 3 fields
 * and, per ak_on_malformed, fails the read or is skipped and counted.
 *
 * Ownership: an ak_corpus owns its text, pair table and path copy; the
 * strings stay valid until ak_corpus_free. Failure modes: unreadable file,
 * corrupt gzip data, malformed line (FAIL), out of memory: -1 and a
 * one-line message; *c is then empty and needs no free. */
#ifndef AK_DATA_CORPUS_H
#define AK_DATA_CORPUS_H

#include <stddef.h>

#include "core/error.h"

typedef enum ak_on_malformed {
    AK_MALFORMED_FAIL = 0, /* the first malformed line fails the read */
    AK_MALFORMED_SKIP = 1, /* malformed lines are skipped and counted */
} ak_on_malformed;

typedef struct ak_text_pair {
    const char *src, *tgt; /* NUL-terminated UTF-8, inside the corpus text */
    size_t line;           /* 1-based line number in the file */
} ak_text_pair;

typedef struct ak_corpus {
    char *path;          /* copy of the path, for messages */
    ak_text_pair *pairs; /* n pairs in file order */
    size_t n;
    size_t n_blank;   /* empty lines skipped */
    size_t n_skipped; /* malformed lines skipped (AK_MALFORMED_SKIP) */
    char first_skipped[AK_ERR_MSG_MAX]; /* message of the first one, "" if none */
    char *text;                          /* the file's bytes, fields NUL-split */
} ak_corpus;

int ak_corpus_read(ak_corpus *c, const char *path, ak_on_malformed on_malformed, ak_err *err);
void ak_corpus_free(ak_corpus *c);

#endif
