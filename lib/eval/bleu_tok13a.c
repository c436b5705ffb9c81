/* sacreBLEU's 13a tokeniser, step for step as the twin's tok13a(). */
#include <stdlib.h>
#include <string.h>

#include "eval/bleu.h"
#include "text/textbuf.h"
#include "text/unicode.h"
#include "text/utf8.h"

/* str.replace(from, to) of s[0..n) into out (left to right, non-overlapping). */
static int replace_all(const char *s, size_t n, const char *from, const char *to, ak_sbuf *out, ak_err *err)
{
    size_t fl = strlen(from), tl = strlen(to), i = 0;
    out->n = 0;
    int rc = ak_sbuf_put(out, "", 0, err);
    while (rc == 0 && i < n) {
        if (i + fl <= n && memcmp(s + i, from, fl) == 0) {
            rc = ak_sbuf_put(out, to, tl, err);
            i += fl;
        } else {
            rc = ak_sbuf_put(out, s + i, 1, err);
            i++;
        }
    }
    return rc;
}

static int rule1_char(uint32_t c) /* [\{-\~\[-\` -\&\(-\+\:-\@\/] */
{
    return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
           (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == '/';
}

static int is_digit(uint32_t c)
{
    return c >= '0' && c <= '9';
}

static int not_digit(uint32_t c)
{
    return !is_digit(c);
}

static int dot_comma(uint32_t c)
{
    return c == '.' || c == ',';
}

static int is_dash(uint32_t c)
{
    return c == '-';
}

/* re.sub of "(A)(B)" over code points: each match (a, b) becomes "a b " (space_before == 0) or " a b"
 * (space_before == 1); scanning resumes after b, as the regex engine does. s is valid UTF-8. */
static int pair_rule(const char *s, size_t n, int (*first)(uint32_t), int (*second)(uint32_t), int space_before,
                     ak_sbuf *out, ak_err *err)
{
    out->n = 0;
    int rc = ak_sbuf_put(out, "", 0, err);
    for (size_t pos = 0; rc == 0 && pos < n;) {
        size_t p1 = pos;
        uint32_t c1 = (uint32_t)ak_utf8_next(s, n, &p1);
        size_t p2 = p1;
        if (p1 < n && first(c1) && second((uint32_t)ak_utf8_next(s, n, &p2))) {
            if (space_before)
                rc = ak_sbuf_put(out, " ", 1, err);
            if (rc == 0)
                rc = ak_sbuf_put(out, s + pos, p1 - pos, err);
            if (rc == 0)
                rc = ak_sbuf_put(out, " ", 1, err);
            if (rc == 0)
                rc = ak_sbuf_put(out, s + p1, p2 - p1, err);
            if (rc == 0 && !space_before)
                rc = ak_sbuf_put(out, " ", 1, err);
            pos = p2;
        } else {
            rc = ak_sbuf_put(out, s + pos, p1 - pos, err);
            pos = p1;
        }
    }
    return rc;
}

char *ak_tok13a(const char *line, ak_err *err)
{
    size_t n = strlen(line), end = 0;
    if (ak_utf8_validate(line, n, NULL, err) < 0)
        return NULL;
    /* line.rstrip(): Unicode whitespace */
    for (size_t pos = 0; pos < n;) {
        uint32_t c = (uint32_t)ak_utf8_next(line, n, &pos);
        if (!ak_uc_isspace(c))
            end = pos;
    }
    ak_sbuf a = {0}, b = {0};
    int rc = replace_all(line, end, "<skipped>", "", &a, err);
    if (rc == 0)
        rc = replace_all(a.v, a.n, "-\n", "", &b, err);
    if (rc == 0)
        rc = replace_all(b.v, b.n, "\n", " ", &a, err);
    if (rc == 0 && memchr(a.v, '&', a.n)) {
        static const char *const esc[4][2] = {{"&quot;", "\""}, {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}};
        for (int k = 0; rc == 0 && k < 4; k++) {
            rc = replace_all(a.v, a.n, esc[k][0], esc[k][1], &b, err);
            ak_sbuf t = a;
            a = b, b = t;
        }
    }
    /* f" {line} " with rule 1 applied: every character of the class becomes " c " */
    if (rc == 0) {
        b.n = 0;
        rc = ak_sbuf_put(&b, " ", 1, err);
        for (size_t pos = 0; rc == 0 && pos < a.n;) {
            size_t at = pos;
            uint32_t c = (uint32_t)ak_utf8_next(a.v, a.n, &pos);
            if (rule1_char(c)) {
                char t[3] = {' ', (char)c, ' '};
                rc = ak_sbuf_put(&b, t, 3, err);
            } else {
                rc = ak_sbuf_put(&b, a.v + at, pos - at, err);
            }
        }
        if (rc == 0)
            rc = ak_sbuf_put(&b, " ", 1, err);
    }
    if (rc == 0)
        rc = pair_rule(b.v, b.n, not_digit, dot_comma, 0, &a, err);
    if (rc == 0)
        rc = pair_rule(a.v, a.n, dot_comma, not_digit, 1, &b, err);
    if (rc == 0)
        rc = pair_rule(b.v, b.n, is_digit, is_dash, 0, &a, err);
    /* " ".join(line.split()) */
    if (rc == 0) {
        b.n = 0;
        rc = ak_sbuf_put(&b, "", 0, err);
        size_t tok = 0;
        int in_tok = 0;
        for (size_t pos = 0; rc == 0 && pos <= a.n;) {
            size_t at = pos;
            int space = 1;
            if (pos < a.n)
                space = ak_uc_isspace((uint32_t)ak_utf8_next(a.v, a.n, &pos));
            else
                pos++;
            if (!space && !in_tok)
                tok = at, in_tok = 1;
            if (space && in_tok) {
                if (b.n > 0)
                    rc = ak_sbuf_put(&b, " ", 1, err);
                if (rc == 0)
                    rc = ak_sbuf_put(&b, a.v + tok, at - tok, err);
                in_tok = 0;
            }
        }
    }
    ak_sbuf_free(&a);
    if (rc < 0) {
        ak_sbuf_free(&b);
        return NULL;
    }
    return b.v;
}
