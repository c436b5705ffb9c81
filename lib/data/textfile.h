/* Whole-file text input shared by the corpus readers (corpus.c,
 * corpus_gold.c, corpus_ids.c): load a plain or gzip-compressed file into
 * memory, walk its lines in place, check UTF-8.
 *
 * Compression is detected from the content (zlib's gzopen/gzread pass plain
 * files through), never from the file name. Concatenated gzip members are
 * read as one stream.
 *
 * Ownership: ak_textfile_load allocates tf->buf (NUL-terminated, len bytes
 * plus one); ak_textfile_free releases it. A reader that keeps pointers into
 * the text takes tf->buf over and sets it to NULL.
 * Failure modes: missing/unreadable file, corrupt or truncated gzip data, out
 * of memory: -1 with "PATH: ..." in err. */
#ifndef AK_DATA_TEXTFILE_H
#define AK_DATA_TEXTFILE_H

#include <stddef.h>

#include "core/error.h"

typedef struct ak_textfile {
    const char *path; /* borrowed, for messages */
    char *buf;        /* decompressed bytes + a NUL */
    size_t len;       /* bytes in buf, without the NUL */
    size_t pos;       /* start of the next line */
    size_t line;      /* 1-based number of the line last returned */
} ak_textfile;

int ak_textfile_load(ak_textfile *tf, const char *path, ak_err *err);

/* Returns the next line (without its '\n', which is overwritten with a NUL so
 * the line is a C string) and 1, or 0 at the end of the file. A final line
 * without '\n' is returned too; an empty file has no lines. *len counts the
 * bytes up to the line end, so a line holding a NUL byte has strlen < *len. */
int ak_textfile_next(ak_textfile *tf, char **line, size_t *len);

void ak_textfile_free(ak_textfile *tf);

/* Checks a line returned by ak_textfile_next for bytes no text line may
 * hold: NUL, CR, or malformed UTF-8. Returns 0 when there are none, else 1
 * with a description for "expected ..., got <why>" (e.g. "a CR byte at byte
 * 12 (CRLF line ends?)") in why[0, n). */
int ak_textfile_bad_bytes(const char *line, size_t len, char *why, size_t n);

/* Number of TAB-separated fields of a C string (TABs + 1). */
size_t ak_textfile_fields(const char *line);

/* Offset of the first byte of s[0, n) that is not part of well-formed UTF-8
 * (no overlong forms, surrogates or code points above U+10FFFF, the rules of
 * Python's strict decoder), or n when all of it is well-formed. */
size_t ak_utf8_invalid_at(const char *s, size_t n);

#endif
