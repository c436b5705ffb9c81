/* Side-by-side text blocks (viz/side_by_side.h). */
#include "viz/side_by_side.h"

#include <string.h>

#include "viz/utf8.h"

int ak_text_columns(const char *s, size_t len)
{
    int w = 0;
    size_t i = 0;
    while (i < len) {
        if (s[i] == '\x1b' && i + 1 < len && s[i + 1] == '[') { /* CSI: parameters, then a final byte @..~ */
            i += 2;
            while (i < len && !((unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7e))
                i++;
            if (i < len)
                i++;
            continue;
        }
        uint32_t cp = ak_viz_utf8_next(s, len, &i);
        w += ak_viz_cp_width(cp);
    }
    return w;
}

static size_t line_len(const char *s)
{
    const char *nl = strchr(s, '\n');
    return nl ? (size_t)(nl - s) : strlen(s);
}

int ak_block_columns(const char *block)
{
    int best = 0;
    for (const char *p = block; *p;) {
        size_t n = line_len(p);
        int w = ak_text_columns(p, n);
        if (w > best)
            best = w;
        p += n;
        if (*p == '\n')
            p++;
    }
    return best;
}

int ak_side_by_side(FILE *f, const char *left, const char *right, const char *sep, ak_err *err)
{
    int lw = ak_block_columns(left);
    const char *l = left, *r = right;
    while (*l || *r) {
        size_t ln = line_len(l), rn = line_len(r);
        fwrite(l, 1, ln, f);
        for (int pad = lw - ak_text_columns(l, ln); pad > 0; pad--)
            fputc(' ', f);
        fputs(sep, f);
        fwrite(r, 1, rn, f);
        fputc('\n', f);
        l += ln;
        if (*l == '\n')
            l++;
        r += rn;
        if (*r == '\n')
            r++;
    }
    if (ferror(f))
        return ak_errorf(err, "write error");
    return 0;
}
