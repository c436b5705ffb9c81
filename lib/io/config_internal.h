/* Private to lib/io/config*.c: value checking and formatting, schema
 * lookups and "did you mean" suggestions shared by the parser (config.c)
 * and the writers (config_doc.c). Not installed, not for other modules. */
#ifndef AK_IO_CONFIG_INTERNAL_H
#define AK_IO_CONFIG_INTERNAL_H

#include <stddef.h>

#include "io/config.h"

/* The key, or NULL. */
const ak_cfg_key *ak_cfgi_find(const ak_cfg_schema *s, const char *section, const char *key);

/* Whether keys[i] is the first key of its section (sections are listed in
 * order of first use). */
int ak_cfgi_section_starts(const ak_cfg_schema *s, size_t i);
int ak_cfgi_has_section(const ak_cfg_schema *s, const char *section);

/* What a value of k must be, e.g. "an integer in [1, 1000000]". */
void ak_cfgi_expected(const ak_cfg_key *k, char *buf, size_t n);

/* Parses val and stores it in cfg; on failure leaves cfg alone and writes
 * "expected ..., got '...'" into why[0, n). */
int ak_cfgi_parse_value(const ak_cfg_key *k, const char *val, void *cfg, char *why, size_t n);

/* The value of k in cfg as it would be written in a file. */
void ak_cfgi_format_value(const ak_cfg_key *k, const void *cfg, char *buf, size_t n);

/* "unknown section [x]: expected one of [a], [b]; did you mean [a]?" and
 * "unknown key 'x' in [s]: expected one of a, b; did you mean 'a'?". */
void ak_cfgi_unknown_section(const ak_cfg_schema *s, const char *section, char *buf, size_t n);
void ak_cfgi_unknown_key(const ak_cfg_schema *s, const char *section, const char *key, char *buf, size_t n);

#endif
