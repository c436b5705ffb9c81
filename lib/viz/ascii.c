#include "viz/ascii.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "viz/colormap.h"
#include "viz/utf8.h"

/* ---- growable output buffer ---------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_fmt(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_fmt(sbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void sb_spaces(sbuf *b, int n)
{
    for (; n > 0; n--)
        sb_put(b, " ", 1);
}

/* Drops trailing spaces of the current line (before a newline is added). */
static void sb_rtrim(sbuf *b)
{
    while (b->len > 0 && b->p[b->len - 1] == ' ')
        b->p[--b->len] = '\0';
}

/* ---- label units ---------------------------------------------------- */

/* One displayed character: a code point with any zero-width marks that
 * follow it, control characters replaced by '?'. */
typedef struct unit {
    char s[32]; /* NUL-terminated */
    int n;      /* bytes */
    int w; /* columns */
} unit;

static int is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp < 0xA0);
}

/* Reads the next unit of s[*pos..len); returns 0 at the end. */
static int next_unit(const char *s, size_t len, size_t *pos, unit *u)
{
    u->n = u->w = 0;
    if (*pos >= len)
        return 0;
    uint32_t cp = ak_viz_utf8_next(s, len, pos);
    if (is_control(cp))
        cp = '?';
    u->n = ak_viz_utf8_put(u->s, cp);
    u->w = ak_viz_cp_width(cp);
    while (*pos < len) {
        size_t peek = *pos;
        uint32_t m = ak_viz_utf8_next(s, len, &peek);
        if (is_control(m) || ak_viz_cp_width(m) != 0 ||
            u->n + 5 > (int)sizeof u->s)
            break;
        u->n += ak_viz_utf8_put(u->s + u->n, m);
        *pos = peek;
    }
    u->s[u->n] = '\0';
    return 1;
}

static int text_width(const char *s)
{
    size_t len = strlen(s), pos = 0;
    unit u;
    int w = 0;
    while (next_unit(s, len, &pos, &u))
        w += u.w;
    return w;
}

/* Appends s cut to at most maxw columns (ending in ell when cut); returns
 * the columns written. */
static int put_fit(sbuf *b, const char *s, int maxw, const char *ell, int ellw)
{
    size_t len = strlen(s), pos = 0;
    unit u;
    if (text_width(s) <= maxw) {
        while (next_unit(s, len, &pos, &u))
            sb_put(b, u.s, (size_t)u.n);
        return text_width(s);
    }
    int w = 0;
    while (next_unit(s, len, &pos, &u) && w + u.w <= maxw - ellw) {
        sb_put(b, u.s, (size_t)u.n);
        w += u.w;
    }
    sb_str(b, ell);
    return w + ellw;
}

/* Unit `line` of a vertical label cut to max_lines (last one the marker),
 * or NULL when the label is shorter. */
static const char *vertical_unit(const char *s, int line, int max_lines,
                                 const char *ell, unit *u)
{
    size_t len = strlen(s), pos = 0;
    int count = 0;
    while (next_unit(s, len, &pos, u))
        count++;
    if (line >= count || line >= max_lines)
        return NULL;
    if (count > max_lines && line == max_lines - 1)
        return ell;
    pos = 0;
    for (int i = 0; i <= line; i++)
        next_unit(s, len, &pos, u);
    return u->s;
}

static int unit_count(const char *s)
{
    size_t len = strlen(s), pos = 0;
    unit u;
    int n = 0;
    while (next_unit(s, len, &pos, &u))
        n++;
    return n;
}

/* ---- colour ------------------------------------------------------------ */

int ak_ansi256_nearest(unsigned char r, unsigned char g, unsigned char b)
{
    /* The 6x6x6 cube (indices 16..231) and the grey ramp (232..255). */
    static const int lv[6] = {0, 95, 135, 175, 215, 255};
    const int c[3] = {r, g, b};
    int idx[3];
    long best = 0;
    for (int k = 0; k < 3; k++) {
        idx[k] = 0;
        for (int i = 1; i < 6; i++)
            if (abs(lv[i] - c[k]) < abs(lv[idx[k]] - c[k]))
                idx[k] = i;
        best += (long)(lv[idx[k]] - c[k]) * (lv[idx[k]] - c[k]);
    }
    int best_i = 16 + 36 * idx[0] + 6 * idx[1] + idx[2];
    for (int k = 0; k < 24; k++) {
        int v = 8 + 10 * k;
        long d = 0;
        for (int j = 0; j < 3; j++)
            d += (long)(v - c[j]) * (v - c[j]);
        if (d < best) {
            best = d;
            best_i = 232 + k;
        }
    }
    return best_i;
}

/* SGR for a cell of level t (NaN: grey); fg chosen for contrast. */
static void put_color(sbuf *b, float t)
{
    ak_rgb c = ak_viridis(t);
    int lum = (299 * c.r + 587 * c.g + 114 * c.b) / 1000;
    sb_fmt(b, "\x1b[38;5;%dm\x1b[48;5;%dm", lum > 110 ? 16 : 231,
           ak_ansi256_nearest(c.r, c.g, c.b));
}

static const char *const RESET = "\x1b[0m";

/* ---- rendering --------------------------------------------------------- */

/* Ramp level 0..9 of t in [0, 1], or -1 for NaN. */
static int level(float t)
{
    if (isnan(t))
        return -1;
    int l = (int)(t * 10.0f);
    return l > 9 ? 9 : l < 0 ? 0 : l;
}

/* Midpoint of a level, for colouring the legend. */
static float level_mid(int level) { return (level + 0.5f) / 10.0f; }

static void render_legend(sbuf *b, const ak_ascii_opts *o, float lo, float hi,
                          int any_nan)
{
    const int indent = 8;
    int col = 0;
    double span = (double)hi - lo;
    sb_str(b, "legend:");
    col = 7;
    for (int i = 0; i <= 10; i++) {
        char entry[96];
        if (i == 10 && !any_nan)
            break;
        if (i < 10) {
            char a[32], z[32];
            ak_viz_fmt_value(a, sizeof a, lo + span * i / 10.0, span);
            ak_viz_fmt_value(z, sizeof z, lo + span * (i + 1) / 10.0, span);
            snprintf(entry, sizeof entry, " [%s,%s%c", a, z, i == 9 ? ']' : ')');
        } else {
            snprintf(entry, sizeof entry, " not finite");
        }
        int ew = 3 + (int)strlen(entry);
        int sep = col == indent - 1 ? 1 : 2;
        if (o->max_width > 0 && col > indent - 1 &&
            col + sep + ew > o->max_width) {
            sb_str(b, "\n");
            sb_spaces(b, indent - 1);
            col = indent - 1;
            sep = 1;
        }
        sb_spaces(b, sep);
        if (o->color)
            put_color(b, i < 10 ? level_mid(i) : NAN);
        sb_fmt(b, "'%c'", i < 10 ? AK_ASCII_RAMP[i] : '?');
        if (o->color)
            sb_str(b, RESET);
        sb_str(b, entry);
        col += sep + ew;
    }
    sb_str(b, "\n");
}

static void render_block(sbuf *b, const ak_heatmap *hm, const ak_ascii_opts *o,
                         int c0, int c1, int label_w, float lo, float hi,
                         const char *ell, int ellw)
{
    char num[12];
    int lines = 0;
    for (int j = c0; j < c1; j++) {
        int n = unit_count(ak_heatmap_label(hm->col_labels, j, num));
        lines = n > lines ? n : lines;
    }
    lines = lines > o->max_label ? o->max_label : lines;
    for (int line = 0; line < lines; line++) {
        sb_spaces(b, label_w + 2);
        for (int j = c0; j < c1; j++) {
            unit u;
            const char *s = ak_heatmap_label(hm->col_labels, j, num);
            const char *txt = vertical_unit(s, line, o->max_label, ell, &u);
            int w = txt == ell ? ellw : u.w;
            if (!txt) {
                txt = "";
                w = 0;
            } else if (w > o->cell_width) {
                txt = "?";
                w = 1;
            }
            sb_str(b, txt);
            sb_spaces(b, o->cell_width - w);
        }
        sb_rtrim(b);
        sb_str(b, "\n");
    }
    for (int i = 0; i < hm->rows; i++) {
        int w = put_fit(b, ak_heatmap_label(hm->row_labels, i, num), label_w,
                        ell, ellw);
        sb_spaces(b, label_w - w);
        sb_str(b, " |");
        int prev = -2;
        for (int j = c0; j < c1; j++) {
            float t = ak_range_t(hm->w[(size_t)i * hm->cols + j], lo, hi);
            int lvl = level(t);
            char ch = lvl < 0 ? '?' : AK_ASCII_RAMP[lvl];
            if (o->color && lvl != prev)
                put_color(b, lvl < 0 ? NAN : level_mid(lvl));
            prev = lvl;
            for (int k = 0; k < o->cell_width; k++)
                sb_put(b, &ch, 1);
        }
        if (o->color)
            sb_str(b, RESET);
        sb_str(b, "|\n");
    }
}

int ak_ascii_render(const ak_heatmap *hm, const ak_ascii_opts *opts, char **out,
                    size_t *len, ak_err *err)
{
    ak_ascii_opts o = {0};
    float lo, hi;
    if (opts)
        o = *opts;
    *out = NULL;
    if (ak_heatmap_check(hm, err) < 0 ||
        ak_range_resolve(&o.range, hm, 1, &lo, &hi, err) < 0)
        return ak_err_prefix(err, "ak_ascii_render");
    o.cell_width = o.cell_width <= 0 ? 2 : o.cell_width > 8 ? 8 : o.cell_width;
    o.max_label = o.max_label <= 0 ? 12 : o.max_label < 2 ? 2 :
                  o.max_label > 64 ? 64 : o.max_label;
    const char *ell = o.ellipsis ? o.ellipsis : "\xE2\x80\xA6";
    int ellw = text_width(ell);

    char num[12];
    int label_w = 0;
    for (int i = 0; i < hm->rows; i++) {
        int w = text_width(ak_heatmap_label(hm->row_labels, i, num));
        label_w = w > label_w ? w : label_w;
    }
    label_w = label_w > o.max_label ? o.max_label : label_w;
    int per_block = hm->cols;
    if (o.max_width > 0) {
        if (label_w + 3 + o.cell_width > o.max_width)
            label_w = o.max_width - 3 - o.cell_width;
        label_w = label_w < ellw + 1 ? ellw + 1 : label_w;
        per_block = (o.max_width - label_w - 3) / o.cell_width;
        per_block = per_block < 1 ? 1 : per_block;
    }

    sbuf b = {0};
    if (hm->title) {
        put_fit(&b, hm->title, o.max_width > 0 ? o.max_width : 1 << 20, ell,
                ellw);
        sb_str(&b, "\n");
    }
    for (int c0 = 0; c0 < hm->cols; c0 += per_block) {
        int c1 = c0 + per_block < hm->cols ? c0 + per_block : hm->cols;
        if (per_block < hm->cols) {
            if (c0 > 0)
                sb_str(&b, "\n");
            sb_fmt(&b, "[columns %d-%d of %d]\n", c0, c1 - 1, hm->cols);
        }
        render_block(&b, hm, &o, c0, c1, label_w, lo, hi, ell, ellw);
    }
    if (!o.no_legend) {
        int any_nan = 0;
        for (size_t i = 0; i < (size_t)hm->rows * hm->cols && !any_nan; i++)
            any_nan = !isfinite(hm->w[i]);
        render_legend(&b, &o, lo, hi, any_nan);
    }
    if (b.oom) {
        free(b.p);
        return ak_errorf(err, "ak_ascii_render: out of memory");
    }
    *out = b.p;
    if (len)
        *len = b.len;
    return 0;
}

int ak_ascii_print(FILE *f, const ak_heatmap *hm, const ak_ascii_opts *opts,
                   ak_err *err)
{
    char *s;
    size_t n;
    if (ak_ascii_render(hm, opts, &s, &n, err) < 0)
        return -1;
    errno = 0;
    size_t wrote = fwrite(s, 1, n, f);
    free(s);
    if (wrote != n || fflush(f) != 0)
        return ak_errorf(err, "ak_ascii_print: write failed: %s",
                         errno ? strerror(errno) : "short write");
    return 0;
}

int ak_ascii_env_columns(int fallback)
{
    const char *s = getenv("COLUMNS");
    if (!s || !*s)
        return fallback;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v <= 0 || v > 100000)
        return fallback;
    return (int)v;
}
