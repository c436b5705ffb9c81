/* Error reporting for calls that can fail on user input.
 *
 * Convention: a function that can fail takes an `ak_err *err` (which may be
 * NULL when the caller does not want the text), returns 0 on success and -1 on
 * failure, and on failure fills err->msg with one line that names the input
 * (file:line, argument, op and shapes) and what was expected. Nothing that is
 * reachable from user input aborts; internal invariants use assert(). */
#ifndef AK_CORE_ERROR_H
#define AK_CORE_ERROR_H

#include <stdarg.h>

#define AK_ERR_MSG_MAX 512

typedef struct ak_err {
    char msg[AK_ERR_MSG_MAX];
} ak_err;

/* Formats the message into err (when non-NULL) and returns -1, so that a
 * failing path can read `return ak_errorf(err, "...", ...);`. */
int ak_errorf(ak_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int ak_verrorf(ak_err *err, const char *fmt, va_list ap);

/* Prefixes an existing message with "prefix: " (e.g. a file name), keeping
 * the original text; returns -1. */
int ak_err_prefix(ak_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
