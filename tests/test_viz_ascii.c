/* ASCII renderer: exact golden renders of fixed matrices, truncation,
 * wrapping to a width, colour, and input errors.
 *
 * Goldens live in tests/golden/viz_ascii_*.txt and are compared byte for
 * byte (the suite runs from the repository root). After an intended change,
 * rerun with AK_UPDATE_GOLDEN=1 to rewrite them, then read the diff. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viz/ascii.h"
#include "viz/utf8.h"

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *more = realloc(buf, cap *= 2);
            cr_assert(more);
            buf = more;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static void check_golden(const char *name, const ak_heatmap *hm, const ak_ascii_opts *o)
{
    char path[256], *got;
    size_t got_len, want_len;
    ak_err err;
    snprintf(path, sizeof path, "tests/golden/%s", name);
    cr_assert_eq(ak_ascii_render(hm, o, &got, &got_len, &err), 0, "%s", err.msg);
    cr_assert_eq(strlen(got), got_len);
    if (getenv("AK_UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "wb");
        cr_assert(f, "cannot write %s", path);
        fwrite(got, 1, got_len, f);
        fclose(f);
    }
    char *want = read_all(path, &want_len);
    cr_assert(want, "%s missing (run from the repository root)", path);
    cr_assert(want_len == got_len && memcmp(want, got, got_len) == 0,
              "render differs from %s; got:\n%s", path, got);
    free(want);
    free(got);
}

/* Display width of the widest line. */
static int widest_line(const char *s)
{
    size_t len = strlen(s), pos = 0;
    int w = 0, best = 0;
    while (pos < len) {
        uint32_t cp = ak_viz_utf8_next(s, len, &pos);
        if (cp == '\n') {
            best = w > best ? w : best;
            w = 0;
        } else {
            w += ak_viz_cp_width(cp);
        }
    }
    return w > best ? w : best;
}

/* "Wer hat das Bier mitgebracht ?" -> "Who brought the beer ?" */
static const char *const DE[] = {"Wer", "hat", "das", "Bier", "mitgebracht", "?", "</s>"};
static const char *const EN[] = {"Who", "brought", "the", "beer", "?", "</s>"};
static const float ALIGN[6 * 7] = {
    0.86f, 0.05f, 0.02f, 0.01f, 0.03f, 0.02f, 0.01f,
    0.04f, 0.30f, 0.02f, 0.03f, 0.58f, 0.02f, 0.01f,
    0.02f, 0.03f, 0.81f, 0.10f, 0.02f, 0.01f, 0.01f,
    0.01f, 0.02f, 0.08f, 0.85f, 0.02f, 0.01f, 0.01f,
    0.01f, 0.01f, 0.01f, 0.02f, 0.05f, 0.88f, 0.02f,
    0.02f, 0.02f, 0.01f, 0.01f, 0.02f, 0.12f, 0.80f,
};

Test(viz_ascii, german_english_alignment_matches_golden)
{
    ak_heatmap hm = {ALIGN, 6, 7, EN, DE, "epoch 12  cross L2 H1"};
    check_golden("viz_ascii_bier.txt", &hm, NULL);
}

/* Every ramp level once, with its boundaries: 0.1 * k lands on level k. */
Test(viz_ascii, ramp_levels_and_legend_match_golden)
{
    float w[2 * 6] = {0.0f, 0.099f, 0.1f, 0.25f, 0.35f, 0.45f,
                      0.55f, 0.65f, 0.75f, 0.85f, 0.95f, 1.0f};
    ak_heatmap hm = {w, 2, 6, NULL, NULL, NULL};
    ak_ascii_opts o = {.cell_width = 3};
    check_golden("viz_ascii_ramp.txt", &hm, &o);
}

static const char *const LONG_COLS[] = {
    "internationalisation", "the", "\xE4\xB8\xAD\xE6\x96\x87", /* 中文 */
    "caf\xC3\xA9", "tab\there", NULL, "x", "y", "z", "Stra\xC3\x9F" "e",
    "e\xCC\x81t\xC3\xA9", "!", "end",
};
static const char *const LONG_ROWS[] = {
    "a-very-long-source-token", "\xE4\xB8\xAD\xE6\x96\x87\xE5\xAD\x97\xE7\xAC\xA6\xE4\xB8\xB2",
    "\x1b[31mred",
};

static void long_map(float *w)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 13; j++)
            w[i * 13 + j] = (float)((i * 5 + j * 3) % 11) / 10.0f;
}

Test(viz_ascii, truncation_and_wrapping_fit_the_width_and_match_golden)
{
    float w[3 * 13];
    long_map(w);
    ak_heatmap hm = {w, 3, 13, LONG_ROWS, LONG_COLS,
                     "a title far too long for a thirty-column terminal"};
    ak_ascii_opts o = {.max_width = 30, .max_label = 6};
    check_golden("viz_ascii_wrap.txt", &hm, &o);

    char *s;
    ak_err err;
    cr_assert_eq(ak_ascii_render(&hm, &o, &s, NULL, &err), 0);
    cr_assert_leq(widest_line(s), 30, "%s", s);
    cr_assert(strstr(s, "[columns 0-"), "no block header:\n%s", s);
    cr_assert(strstr(s, "a-ver\xE2\x80\xA6 |"), "row label not cut to 6:\n%s", s);
    cr_assert(!strchr(s, '\x1b') && !strchr(s, '\t'), "control char leaked:\n%s", s);
    free(s);
}

Test(viz_ascii, narrow_widths_still_render_every_column)
{
    float w[3 * 13];
    long_map(w);
    ak_heatmap hm = {w, 3, 13, LONG_ROWS, LONG_COLS, NULL};
    for (int width = 1; width <= 30; width += 7) {
        ak_ascii_opts o = {.max_width = width, .no_legend = 1, .ellipsis = "~"};
        char *s;
        ak_err err;
        cr_assert_eq(ak_ascii_render(&hm, &o, &s, NULL, &err), 0);
        int cells = 0;
        for (const char *p = s; (p = strchr(p, '|')) != NULL; p++) {
            const char *q = strchr(p + 1, '|');
            cr_assert(q);
            cells += (int)(q - p - 1) / 2;
            p = q;
        }
        cr_assert_eq(cells, 3 * 13, "width %d:\n%s", width, s);
        free(s);
    }
}

Test(viz_ascii, data_range_nan_and_indices_match_golden)
{
    float w[3 * 4] = {-2.0f, -1.0f, 0.0f, 1.0f, 2.0f, NAN, INFINITY, 0.5f,
                      -0.5f, 1.5f, 0.25f, -1.75f};
    ak_heatmap hm = {w, 3, 4, NULL, NULL, "logits, data range"};
    ak_ascii_opts o = {.range = {AK_RANGE_DATA, 0, 0}, .cell_width = 1};
    check_golden("viz_ascii_data.txt", &hm, &o);
}

Test(viz_ascii, ansi_colour_matches_golden)
{
    float w[2 * 3] = {0.0f, 0.5f, 1.0f, 0.95f, 0.05f, 0.45f};
    const char *const r[] = {"ja", "nein"}, *const c[] = {"yes", "no", "maybe"};
    ak_heatmap hm = {w, 2, 3, r, c, NULL};
    ak_ascii_opts o = {.color = 1, .max_width = 60};
    check_golden("viz_ascii_color.txt", &hm, &o);
}

Test(viz_ascii, ansi256_palette_lookup)
{
    cr_assert_eq(ak_ansi256_nearest(0, 0, 0), 16);
    cr_assert_eq(ak_ansi256_nearest(255, 255, 255), 231);
    cr_assert_eq(ak_ansi256_nearest(255, 0, 0), 196);
    cr_assert_eq(ak_ansi256_nearest(128, 128, 128), 244); /* grey 128 */
}

Test(viz_ascii, print_to_file_equals_render)
{
    ak_heatmap hm = {ALIGN, 6, 7, EN, DE, NULL};
    char *s, *back;
    size_t n, m;
    ak_err err;
    cr_assert_eq(ak_ascii_render(&hm, NULL, &s, &n, &err), 0);
    FILE *f = tmpfile();
    cr_assert(f);
    cr_assert_eq(ak_ascii_print(f, &hm, NULL, &err), 0, "%s", err.msg);
    rewind(f);
    back = malloc(n + 1);
    m = fread(back, 1, n + 1, f);
    cr_assert_eq(m, n);
    cr_assert_eq(memcmp(back, s, n), 0);
    fclose(f);
    free(s);
    free(back);
}

Test(viz_ascii, invalid_views_and_ranges_fail_with_a_message)
{
    char *s = (char *)1;
    ak_err err;
    ak_heatmap empty = {ALIGN, 0, 7, NULL, NULL, NULL};
    cr_assert_eq(ak_ascii_render(&empty, NULL, &s, NULL, &err), -1);
    cr_assert_null(s);
    cr_assert(strstr(err.msg, "ak_ascii_render") && strstr(err.msg, "0x7"), "%s", err.msg);
    ak_heatmap nul = {NULL, 2, 2, NULL, NULL, "h"};
    cr_assert_eq(ak_ascii_render(&nul, NULL, &s, NULL, &err), -1);
    cr_assert(strstr(err.msg, "NULL"), "%s", err.msg);
    ak_heatmap ok = {ALIGN, 2, 2, NULL, NULL, NULL};
    ak_ascii_opts o = {.range = {AK_RANGE_FIXED, 1.0f, 1.0f}};
    cr_assert_eq(ak_ascii_render(&ok, &o, &s, NULL, &err), -1);
    cr_assert(strstr(err.msg, "lo < hi"), "%s", err.msg);
}

Test(viz_ascii, columns_from_environment)
{
    setenv("COLUMNS", "97", 1);
    cr_assert_eq(ak_ascii_env_columns(80), 97);
    setenv("COLUMNS", "wide", 1);
    cr_assert_eq(ak_ascii_env_columns(80), 80);
    unsetenv("COLUMNS");
    cr_assert_eq(ak_ascii_env_columns(80), 80);
}
