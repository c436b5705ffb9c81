#include "text/pretok.h"

#include "text/unicode.h"
#include "text/utf8.h"

static int bad_utf8(const char *s, size_t n, ak_err *err)
{
    return ak_utf8_validate(s, n, NULL, err);
}

int ak_pretok_words(const char *s, size_t n, ak_spans *out, ak_err *err)
{
    size_t pos = 0, run = 0; /* run: start of the current \w+ run, valid when in_run */
    int in_run = 0;
    while (pos < n) {
        size_t at = pos;
        int32_t c = ak_utf8_next(s, n, &pos);
        if (c < 0)
            return bad_utf8(s, n, err);
        if (ak_uc_isword((uint32_t)c)) {
            if (!in_run)
                run = at, in_run = 1;
            continue;
        }
        if (in_run) {
            if (ak_spans_push(out, run, at - run, err) < 0)
                return -1;
            in_run = 0;
        }
        if (!ak_uc_isspace((uint32_t)c) && ak_spans_push(out, at, pos - at, err) < 0)
            return -1;
    }
    if (in_run && ak_spans_push(out, run, n - run, err) < 0)
        return -1;
    return 0;
}

int ak_pretok_chars(const char *s, size_t n, ak_spans *out, ak_err *err)
{
    size_t pos = 0;
    while (pos < n) {
        size_t at = pos;
        if (ak_utf8_next(s, n, &pos) < 0)
            return bad_utf8(s, n, err);
        if (ak_spans_push(out, at, pos - at, err) < 0)
            return -1;
    }
    return 0;
}
