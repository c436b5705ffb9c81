/* Whole-file reading for the text module's loaders. */
#ifndef AK_TEXT_FILEIO_H
#define AK_TEXT_FILEIO_H

#include <stddef.h>

#include "core/error.h"

/* Reads the file into a malloc'd buffer (NUL-terminated, caller frees) and its size into *n; NULL with
 * "path: cannot open/read: reason" on failure. */
char *ak_read_file(const char *path, size_t *n, ak_err *err);

#endif
