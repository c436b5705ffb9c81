/* Writing a rendered file so that a failure never leaves half of one: the
 * bytes go to a temporary file beside the target (same directory, so the
 * rename is atomic), which is flushed, closed and renamed over the target.
 * On any error the temporary file is removed and the target is untouched.
 * Errors name the path and the errno text. New files get mode 0644. */
#ifndef AK_VIZ_FILE_WRITE_H
#define AK_VIZ_FILE_WRITE_H

#include <stddef.h>

#include "core/error.h"

int ak_viz_write_file(const char *path, const void *data, size_t len,
                      ak_err *err);

#endif
