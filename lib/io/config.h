/* Schema-driven INI configuration.
 *
 * File syntax: `[section]` lines, `key = value` lines, blank lines and `#`
 * comments (a whole line, or the rest of a line from a `#` that starts the
 * value or follows whitespace: `lr = 1e-3  # peak`); names and values are
 * whitespace-trimmed; CRLF line ends are accepted.
 *
 * The caller describes every allowed key in a table of ak_cfg_key: section,
 * key, type, range or choices, default, one-line doc, and where the value
 * goes in the caller's struct (offsetof). Field types by key type:
 *     AK_CFG_INT    int64_t            AK_CFG_ENUM    int (index into choices)
 *     AK_CFG_FLOAT  double             AK_CFG_STRING  char[AK_CFG_STR_MAX]
 *     AK_CFG_BOOL   bool               AK_CFG_PATH    char[AK_CFG_STR_MAX]
 * Precedence: defaults, then the file, then --set overrides, in order (a
 * later --set of the same key wins). A key may appear once per file.
 *
 * Messages (one line, naming what is allowed):
 *   FILE:LINE: key 'epochs' in [train]: expected an integer in [1, 1000000], got 'abc'
 *   FILE:LINE: unknown key 'epoch' in [train]: expected one of epochs, lr; did you mean 'epochs'?
 *   FILE:LINE: unknown section [trian]: expected one of [data], [train]; did you mean [train]?
 *   FILE:LINE: duplicate key 'lr' in [train]: first set on line 4
 *   --set train.epochs=abc: key 'epochs' in [train]: expected an integer in [1, 1000000], got 'abc'
 *
 * ak_cfg_dump writes every key with its effective value as INI text that
 * parses back to the same values (floats in shortest round-trip form), so a
 * run directory can keep exactly what was used; ak_cfg_markdown writes the
 * schema as Markdown tables (docs/configs.md is generated from it).
 *
 * Ownership: the schema and its strings are borrowed (normally static
 * tables); values are copied into the caller's struct, nothing is
 * allocated that outlives a call. Failure modes: the ones above, a missing
 * or unreadable file, an invalid schema (reported by ak_cfg_defaults as
 * "schema: ..."), out of memory: -1 with the message in err; keys applied
 * before the failing line keep their new values. */
#ifndef AK_IO_CONFIG_H
#define AK_IO_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

#define AK_CFG_STR_MAX 512 /* bytes of a string/path field, NUL included */

typedef enum ak_cfg_type {
    AK_CFG_INT,
    AK_CFG_FLOAT,
    AK_CFG_BOOL,   /* true/false, yes/no, on/off, 1/0 (any case); dumped as true/false */
    AK_CFG_STRING, /* any text without control characters */
    AK_CFG_ENUM,   /* one of choices, exact spelling */
    AK_CFG_PATH,   /* a file path, kept as written; checked like a string */
} ak_cfg_type;

typedef struct ak_cfg_key {
    const char *section, *key; /* names: letters, digits, '_', '-' */
    ak_cfg_type type;
    size_t offset;               /* offsetof(caller struct, field) */
    int64_t imin, imax;          /* AK_CFG_INT: allowed range, inclusive */
    double fmin, fmax;           /* AK_CFG_FLOAT: allowed range, inclusive */
    const char *const *choices;  /* AK_CFG_ENUM: NULL-terminated list */
    const char *def;             /* default, written as in a file; required */
    const char *doc;             /* one line for the docs and the dump */
} ak_cfg_key;

typedef struct ak_cfg_schema {
    const ak_cfg_key *keys; /* sections are listed in order of first use */
    size_t n;
} ak_cfg_schema;

/* Checks the schema (names, ranges, every default valid) and writes every
 * default into cfg. */
int ak_cfg_defaults(const ak_cfg_schema *s, void *cfg, ak_err *err);

/* Applies the keys of INI text; `name` stands for the file in messages. */
int ak_cfg_parse_text(const ak_cfg_schema *s, const char *name, const char *text, void *cfg, ak_err *err);

/* ak_cfg_parse_text on a file's contents. */
int ak_cfg_parse_file(const ak_cfg_schema *s, const char *path, void *cfg, ak_err *err);

/* Applies one override written `section.key=value` (spaces around '='
 * allowed), validated like a file line. */
int ak_cfg_set(const ak_cfg_schema *s, const char *assignment, void *cfg, ak_err *err);

/* Defaults, then the file (when path is not NULL), then the overrides. */
int ak_cfg_load(const ak_cfg_schema *s, const char *path, const char *const *sets, size_t n_sets, void *cfg,
                ak_err *err);

/* Writes the effective configuration as INI text; -1 on a write error. */
int ak_cfg_dump(const ak_cfg_schema *s, const void *cfg, FILE *out);

/* Writes the schema as Markdown: a heading and table per section. */
int ak_cfg_markdown(const ak_cfg_schema *s, FILE *out);

#endif
