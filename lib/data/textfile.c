#include "data/textfile.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* zlib's message for the last error, without the "PATH: " it prepends. */
static const char *gz_why(gzFile f, const char *path, int *code)
{
    const char *why = gzerror(f, code);
    size_t n = strlen(path);
    if (strncmp(why, path, n) == 0 && why[n] == ':' && why[n + 1] == ' ')
        why += n + 2;
    return why;
}

int ak_textfile_load(ak_textfile *tf, const char *path, ak_err *err)
{
    memset(tf, 0, sizeof *tf);
    tf->path = path;
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return ak_errorf(err, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    gzbuffer(f, 1 << 17);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int code;
    const char *why;
    for (;;) {
        if (buf && cap - len < 2) {
            char *grown = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!grown)
                free(buf);
            buf = grown;
            cap *= 2;
        }
        if (!buf) {
            ak_errorf(err, "%s: out of memory after %zu bytes", path, len);
            goto fail;
        }
        size_t want = cap - len - 1;
        int got = gzread(f, buf + len, want > (1u << 30) ? (1u << 30) : (unsigned)want);
        if (got < 0) {
            why = gz_why(f, path, &code);
            ak_errorf(err, "%s: cannot read%s: %s", path, code == Z_ERRNO ? "" : " (gzip data)",
                      code == Z_ERRNO ? strerror(errno) : why);
            goto fail;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    /* A truncated gzip stream is not a read error to gzread: it ends the
     * data and leaves Z_BUF_ERROR ("unexpected end of file") behind. */
    why = gz_why(f, path, &code);
    if (code != Z_OK) {
        ak_errorf(err, "%s: cannot read (gzip data): %s", path, why);
        goto fail;
    }
    gzclose_r(f);
    buf[len] = '\0';
    tf->buf = buf;
    tf->len = len;
    return 0;
fail:
    free(buf);
    gzclose_r(f);
    return -1;
}

int ak_textfile_next(ak_textfile *tf, char **line, size_t *len)
{
    if (tf->pos >= tf->len)
        return 0;
    char *start = tf->buf + tf->pos;
    char *nl = memchr(start, '\n', tf->len - tf->pos);
    size_t n = nl ? (size_t)(nl - start) : tf->len - tf->pos;
    start[n] = '\0'; /* the '\n', or the terminating NUL of the buffer */
    tf->pos += n + 1;
    tf->line++;
    *line = start;
    *len = n;
    return 1;
}

void ak_textfile_free(ak_textfile *tf)
{
    free(tf->buf);
    tf->buf = NULL;
}

size_t ak_utf8_invalid_at(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the first continuation byte */
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else
            return i;
        if (n - i <= need)
            return i;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= need; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return i;
        i += need + 1;
    }
    return n;
}

int ak_textfile_bad_bytes(const char *line, size_t len, char *why, size_t n)
{
    size_t nul = strlen(line);
    const char *cr = memchr(line, '\r', len);
    size_t bad = ak_utf8_invalid_at(line, len);
    if (nul < len)
        snprintf(why, n, "a NUL byte at byte %zu", nul + 1);
    else if (cr)
        snprintf(why, n, "a CR byte at byte %zu (CRLF line ends?)", (size_t)(cr - line) + 1);
    else if (bad < len)
        snprintf(why, n, "invalid UTF-8 at byte %zu (0x%02X)", bad + 1, (unsigned char)line[bad]);
    else
        return 0;
    return 1;
}

size_t ak_textfile_fields(const char *line)
{
    size_t fields = 1;
    for (const char *p = line; (p = strchr(p, '\t')); p++)
        fields++;
    return fields;
}
