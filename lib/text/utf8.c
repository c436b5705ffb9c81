#include "text/utf8.h"

int32_t ak_utf8_next(const char *s, size_t n, size_t *pos)
{
    const unsigned char *u = (const unsigned char *)s + *pos;
    size_t left = n - *pos;
    uint32_t c = u[0];
    if (c < 0x80) {
        *pos += 1;
        return (int32_t)c;
    }
    size_t len;
    uint32_t min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80, c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, min = 0x800, c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000, c &= 0x07;
    } else {
        return -1; /* continuation byte, C0/C1 (overlong 2-byte) or F5..FF */
    }
    if (left < len)
        return -1;
    for (size_t k = 1; k < len; k++) {
        if ((u[k] & 0xC0) != 0x80)
            return -1;
        c = (c << 6) | (u[k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *pos += len;
    return (int32_t)c;
}

size_t ak_utf8_encode(uint32_t cp, char out[AK_UTF8_MAX])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0;
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp > 0x10FFFF)
        return 0;
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static const char *why_invalid(const unsigned char *u, size_t left)
{
    unsigned c = u[0];
    if ((c & 0xC0) == 0x80)
        return "unexpected continuation byte";
    if (c == 0xC0 || c == 0xC1)
        return "overlong encoding";
    if (c >= 0xF5)
        return "byte never valid in UTF-8";
    size_t len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    for (size_t k = 1; k < len; k++) {
        if (k >= left)
            return "truncated sequence";
        if ((u[k] & 0xC0) != 0x80)
            return "truncated sequence";
    }
    if ((c == 0xE0 && u[1] < 0xA0) || (c == 0xF0 && u[1] < 0x90))
        return "overlong encoding";
    if (c == 0xED && u[1] >= 0xA0)
        return "surrogate code point";
    return "code point above U+10FFFF";
}

int ak_utf8_validate(const char *s, size_t n, size_t *bad_off, ak_err *err)
{
    size_t pos = 0;
    while (pos < n) {
        if ((unsigned char)s[pos] < 0x80) { /* ASCII fast path */
            pos++;
            continue;
        }
        if (ak_utf8_next(s, n, &pos) < 0) {
            if (bad_off)
                *bad_off = pos;
            const unsigned char *u = (const unsigned char *)s + pos;
            return ak_errorf(err, "invalid UTF-8 at byte %zu: %s (0x%02X)", pos, why_invalid(u, n - pos), u[0]);
        }
    }
    return 0;
}

size_t ak_utf8_count(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}
