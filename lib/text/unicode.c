#include "text/unicode.h"

#include <stdlib.h>

#include "text/unicode_tables.h"
#include "text/utf8.h"

static int in_ranges(uint32_t c, const uint32_t (*r)[2], size_t n)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < r[mid][0])
            hi = mid;
        else if (c > r[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int ak_uc_isword(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    return in_ranges(c, ak_uc_word_ranges, ak_uc_word_ranges_n);
}

int ak_uc_isspace(uint32_t c)
{
    if (c < 0x80)
        return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

int ak_uc_ispunct(uint32_t c)
{
    return !ak_uc_isword(c) && !ak_uc_isspace(c);
}

uint32_t ak_uc_tolower(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    if (c == 0x130)
        return 'i';
    size_t lo = 0, hi = ak_uc_lower_runs_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const ak_uc_lower_run *r = &ak_uc_lower_runs[mid];
        if (c < r->lo)
            hi = mid;
        else if (c > r->hi)
            lo = mid + 1;
        else
            return (c - r->lo) % r->stride == 0 ? (uint32_t)((int32_t)c + r->delta) : c;
    }
    return c;
}

static int is_cased(uint32_t c)
{
    return in_ranges(c, ak_uc_cased_ranges, ak_uc_cased_ranges_n);
}

static int is_ignorable(uint32_t c)
{
    return in_ranges(c, ak_uc_ignorable_ranges, ak_uc_ignorable_ranges_n);
}

/* CPython's handle_capital_sigma(): the capital sigma that spans s[at..end) is final when
 *   \p{cased} \p{case-ignorable}* SIGMA !( \p{case-ignorable}* \p{cased} ).
 * s is valid UTF-8 here. */
static int final_sigma(const char *s, size_t n, size_t at, size_t end)
{
    size_t i = at;
    int cased = 0;
    while (i > 0) {
        size_t j = i - 1;
        while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80)
            j--;
        size_t p = j;
        uint32_t c = (uint32_t)ak_utf8_next(s, n, &p);
        i = j;
        if (!is_ignorable(c)) {
            cased = is_cased(c);
            break;
        }
    }
    if (!cased)
        return 0;
    for (size_t p = end; p < n;) {
        uint32_t c = (uint32_t)ak_utf8_next(s, n, &p);
        if (!is_ignorable(c))
            return !is_cased(c);
    }
    return 1;
}

char *ak_utf8_lower(const char *s, size_t n, size_t *out_n, ak_err *err)
{
    if (ak_utf8_validate(s, n, NULL, err) < 0)
        return NULL;
    /* Lower-casing never needs more than 3 output bytes per input byte: the longest case is U+0130
     * (2 bytes) -> "i\u0307" (3 bytes); one-code-point mappings grow at most from 2 to 3 bytes
     * (e.g. U+023A -> U+2C65). */
    if (n > (SIZE_MAX - 1) / 3) {
        ak_errorf(err, "lower: string of %zu bytes is too long", n);
        return NULL;
    }
    char *out = malloc(3 * n + 1);
    if (!out) {
        ak_errorf(err, "lower: out of memory for %zu bytes", 3 * n + 1);
        return NULL;
    }
    size_t o = 0;
    for (size_t pos = 0; pos < n;) {
        size_t at = pos;
        uint32_t c = (uint32_t)ak_utf8_next(s, n, &pos);
        if (c == 0x130) {
            out[o++] = 'i';
            o += ak_utf8_encode(0x307, out + o);
            continue;
        }
        if (c == 0x3A3) {
            o += ak_utf8_encode(final_sigma(s, n, at, pos) ? 0x3C2 : 0x3C3, out + o);
            continue;
        }
        o += ak_utf8_encode(ak_uc_tolower(c), out + o);
    }
    out[o] = '\0';
    if (out_n)
        *out_n = o;
    return out;
}
