/* The option splitter shared by bin/infer's and bin/attnview's parsers.
 *
 * Given argv[*i] beginning with '-', recognises "--name", "--name=value" and
 * "--name value" against a NULL-terminated list of options that take a value
 * and one of flags that do not. Fills name (NUL-terminated) and *value (NULL
 * for a flag), advancing *i past a separate value. Returns 0, or -1 with
 * "unknown option '...' (see --help)", "--x needs a value (see --help)" or
 * "--x takes no value". */
#ifndef AK_DECODE_CLI_OPT_H
#define AK_DECODE_CLI_OPT_H

#include "core/error.h"

#define AK_OPT_NAME_MAX 32

int ak_cli_option(int argc, char **argv, int *i, const char *const *valued, const char *const *flags,
                  char name[AK_OPT_NAME_MAX], const char **value, ak_err *err);

#endif
