#include "core/error.h"

#include <stdio.h>
#include <stddef.h>
#include <string.h>

int ak_verrorf(ak_err *err, const char *fmt, va_list ap)
{
    if (err)
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return -1;
}

int ak_errorf(ak_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ak_verrorf(err, fmt, ap);
    va_end(ap);
    return -1;
}

int ak_err_prefix(ak_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char head[AK_ERR_MSG_MAX], old[AK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* Manual join: snprintf("%s: %s") trips -Wformat-truncation. */
    size_t k = 0, cap = sizeof err->msg - 1;
    for (const char *parts[3] = {head, ": ", old}, **q = parts; q < parts + 3; q++)
        for (const char *c = *q; *c && k < cap; c++)
            err->msg[k++] = *c;
    err->msg[k] = 0;
    return -1;
}
