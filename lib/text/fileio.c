#include "text/fileio.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *ak_read_file(const char *path, size_t *n, ak_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ak_errorf(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len - 1, f);
        if (len < cap - 1)
            break;
        char *p = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (!p) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = p;
        cap *= 2;
    }
    if (!buf) {
        fclose(f);
        ak_errorf(err, "%s: out of memory reading the file", path);
        return NULL;
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        free(buf);
        ak_errorf(err, "%s: cannot read: %s", path, strerror(e));
        return NULL;
    }
    fclose(f);
    buf[len] = '\0';
    *n = len;
    return buf;
}
