/* The bitmap font, UTF-8 decoding and text drawing on a canvas. */
#include <criterion/criterion.h>
#include <string.h>

#include "viz/canvas.h"
#include "viz/font.h"
#include "viz/utf8.h"

static int glyph_empty(const uint8_t *g)
{
    for (int r = 0; r < AK_FONT_H; r++)
        if (g[r])
            return 0;
    return 1;
}

static void placeholder(uint8_t out[AK_FONT_H])
{
    cr_assert_eq(ak_font_glyph(0x4E00, out), 0);
}

Test(viz_font, sheets_are_well_formed)
{
    cr_assert_eq(ak_font_check_sheets(), 0);
}

Test(viz_font, every_printable_ascii_and_latin1_has_its_own_glyph)
{
    uint8_t box[AK_FONT_H], g[AK_FONT_H];
    placeholder(box);
    for (uint32_t cp = 0x20; cp <= 0xFF; cp++) {
        if (cp > 0x7E && cp < 0xA0)
            continue;
        cr_assert(ak_font_has_glyph(cp), "U+%04X", cp);
        cr_assert_eq(ak_font_glyph(cp, g), 1, "U+%04X", cp);
        cr_assert(memcmp(g, box, sizeof g) != 0, "U+%04X is the placeholder", cp);
        if (cp == 0x20 || cp == 0xA0)
            cr_assert(glyph_empty(g), "U+%04X should be blank", cp);
        else
            cr_assert(!glyph_empty(g), "U+%04X has no pixels", cp);
        cr_assert_eq(g[AK_FONT_H - 1], 0, "U+%04X inks the line-gap row", cp);
    }
}

Test(viz_font, glyphs_are_pairwise_distinct_except_soft_hyphen)
{
    static uint8_t all[256][AK_FONT_H];
    for (uint32_t cp = 0x21; cp <= 0xFF; cp++)
        ak_font_glyph(cp, all[cp]);
    for (uint32_t a = 0x21; a <= 0xFF; a++)
        for (uint32_t b = a + 1; b <= 0xFF; b++) {
            if ((a > 0x7E && a < 0xA1) || (b > 0x7E && b < 0xA1))
                continue;
            if (a == '-' && b == 0xAD) /* a soft hyphen shows as a hyphen */
                continue;
            cr_assert(memcmp(all[a], all[b], AK_FONT_H) != 0,
                      "U+%04X and U+%04X look the same", a, b);
        }
}

/* An accented letter keeps its base letter's body and adds ink above it
 * (or below, for the cedilla). */
static void check_accented(uint32_t cp, uint32_t base, int body0, int body1)
{
    uint8_t g[AK_FONT_H], b[AK_FONT_H];
    ak_font_glyph(cp, g);
    ak_font_glyph(base, b);
    for (int r = body0; r <= body1; r++)
        cr_assert_eq(g[r], b[r], "U+%04X row %d differs from '%c'", cp, r, base);
    cr_assert(memcmp(g, b, sizeof g) != 0, "U+%04X has no accent", cp);
}

Test(viz_font, french_and_german_letters_are_base_plus_accent)
{
    const char *caps = "AAAAAA.CEEEEIIII.NOOOOO..UUUUY..";
    const char *small = "aaaaaa.ceeee.....nooooo..uuuuy.y";
    for (int i = 0; caps[i]; i++)
        if (caps[i] != '.')
            check_accented(0xC0 + (uint32_t)i, (uint32_t)caps[i], 3, 9);
    for (int i = 0; small[i]; i++)
        if (small[i] != '.')
            check_accented(0xE0 + (uint32_t)i, (uint32_t)small[i], 5, 9);
}

Test(viz_font, cjk_and_other_scripts_draw_the_placeholder)
{
    uint8_t box[AK_FONT_H], g[AK_FONT_H];
    placeholder(box);
    const uint32_t others[] = {0x4E2D, 0x0416, 0x20AC, 0x0100, 0x1F600, 0x7F, 0x85, 0x09};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        cr_assert_eq(ak_font_glyph(others[i], g), 0, "U+%04X", others[i]);
        cr_assert(memcmp(g, box, sizeof g) == 0);
        cr_assert(!glyph_empty(g));
    }
}

Test(viz_font, decomposed_accents_compose_to_latin1)
{
    const char *nfd = "Gru\xCC\x88\xC3\x9F" "e\xCC\x81";  /* u + U+0308, e + U+0301 */
    const char *want[] = {"G", "r", "\xC3\xBC", "\xC3\x9F", "\xC3\xA9"};
    size_t len = strlen(nfd), pos = 0;
    for (int i = 0; i < 5; i++) {
        size_t p2 = 0;
        uint32_t expect = ak_viz_utf8_next(want[i], strlen(want[i]), &p2);
        cr_assert_eq(ak_font_next(nfd, len, &pos), expect, "character %d", i);
    }
    cr_assert_eq(pos, len);
    cr_assert_eq(ak_font_glyph_count(nfd), 5);
    /* A mark with no Latin-1 composition stays a separate (placeholder) glyph. */
    cr_assert_eq(ak_font_glyph_count("x\xCC\x81"), 2);
}

Test(viz_font, utf8_decoder_replaces_malformed_input)
{
    struct {
        const char *s;
        uint32_t cp[4];
        int n;
    } cases[] = {
        {"A\xC3\xA9", {0x41, 0xE9}, 2},
        {"\xE4\xB8\xAD", {0x4E2D}, 1},
        {"\xF0\x9F\x98\x80", {0x1F600}, 1},
        {"\xC0\xAF", {0xFFFD, 0xFFFD}, 2},          /* overlong '/' */
        {"\xED\xA0\x80", {0xFFFD, 0xFFFD, 0xFFFD}, 3}, /* surrogate */
        {"\xE2\x82", {0xFFFD, 0xFFFD}, 2},          /* truncated */
        {"\xFF" "a", {0xFFFD, 'a'}, 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t len = strlen(cases[k].s), pos = 0;
        int n = 0;
        while (pos < len) {
            cr_assert_lt(n, cases[k].n, "case %zu: too many code points", k);
            cr_assert_eq(ak_viz_utf8_next(cases[k].s, len, &pos), cases[k].cp[n],
                         "case %zu, code point %d", k, n);
            n++;
        }
        cr_assert_eq(n, cases[k].n, "case %zu", k);
    }
    char buf[4];
    cr_assert_eq(ak_viz_utf8_put(buf, 0x1F600), 4);
    cr_assert_eq(memcmp(buf, "\xF0\x9F\x98\x80", 4), 0);
    cr_assert_eq(ak_viz_cp_width(0x4E2D), 2);
    cr_assert_eq(ak_viz_cp_width(0x0301), 0);
    cr_assert_eq(ak_viz_cp_width('a'), 1);
}

static int ink(const ak_canvas *c, int x, int y)
{
    ak_rgb p = ak_canvas_get(c, x, y);
    return p.r == 0 && p.g == 0 && p.b == 0;
}

Test(viz_font, text_draws_glyph_pixels_at_scale)
{
    ak_canvas c;
    ak_err err;
    const ak_rgb white = {255, 255, 255}, black = {0, 0, 0};
    cr_assert_eq(ak_canvas_init(&c, 40, 30, white, &err), 0);
    cr_assert_eq(ak_canvas_text(&c, 1, 2, "T\xC3\xA9", black, 2, AK_TEXT_RIGHT),
                 2 * 2 * AK_FONT_W);
    cr_assert_eq(ak_text_length("T\xC3\xA9", 2), 2 * 2 * AK_FONT_W);
    uint8_t g[AK_FONT_H];
    ak_font_glyph('T', g);
    for (int gy = 0; gy < AK_FONT_H; gy++)
        for (int gx = 0; gx < AK_FONT_GLYPH_W; gx++) {
            int on = (g[gy] >> (AK_FONT_GLYPH_W - 1 - gx)) & 1;
            for (int d = 0; d < 4; d++)
                cr_assert_eq(ink(&c, 1 + 2 * gx + d % 2, 2 + 2 * gy + d / 2), on,
                             "T pixel %d,%d", gx, gy);
        }
    ak_canvas_free(&c);
}

Test(viz_font, upward_text_is_the_counterclockwise_rotation)
{
    const char *s = "Bier \xC3\xBC";
    int len = ak_text_length(s, 1);
    ak_canvas h, v;
    ak_err err;
    const ak_rgb white = {255, 255, 255}, black = {0, 0, 0};
    cr_assert_eq(ak_canvas_init(&h, len, AK_FONT_H, white, &err), 0);
    cr_assert_eq(ak_canvas_init(&v, AK_FONT_H, len, white, &err), 0);
    ak_canvas_text(&h, 0, 0, s, black, 1, AK_TEXT_RIGHT);
    ak_canvas_text(&v, 0, len - 1, s, black, 1, AK_TEXT_UP);
    for (int x = 0; x < len; x++)
        for (int y = 0; y < AK_FONT_H; y++)
            cr_assert_eq(ink(&h, x, y), ink(&v, y, len - 1 - x), "at %d,%d", x, y);
    ak_canvas_free(&h);
    ak_canvas_free(&v);
}

Test(viz_font, canvas_clips_and_rejects_bad_sizes)
{
    ak_canvas c;
    ak_err err;
    const ak_rgb white = {255, 255, 255}, red = {255, 0, 0};
    cr_assert_eq(ak_canvas_init(&c, 0, 10, white, &err), -1);
    cr_assert(strstr(err.msg, "0x10"), "%s", err.msg);
    cr_assert_eq(ak_canvas_init(&c, AK_CANVAS_MAX_SIDE, AK_CANVAS_MAX_SIDE, white, &err), -1);
    cr_assert_eq(ak_canvas_init(&c, 8, 8, white, &err), 0);
    ak_canvas_fill_rect(&c, -5, -5, 7, 7, red); /* covers 0..1 */
    ak_canvas_text(&c, -100, 5, "clipped away \xE4\xB8\xAD", red, 3, AK_TEXT_RIGHT);
    ak_canvas_text(&c, 5, 1000, "also clipped", red, 1, AK_TEXT_UP);
    cr_assert_eq(ak_canvas_get(&c, 1, 1).g, 0);
    cr_assert_eq(ak_canvas_get(&c, 2, 2).g, 255);
    ak_canvas_free(&c);
    ak_canvas_free(&c); /* safe twice */
}
