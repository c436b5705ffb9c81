/* UTF-8 helpers and Unicode classes/lower-casing (lib/text/utf8.c, lib/text/unicode.c).
 * Expected lower-case strings were produced by CPython 3.11 str.lower(). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/unicode.h"
#include "text/utf8.h"

Test(text_utf8, decodes_one_to_four_byte_sequences)
{
    const char *s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"; /* a é € 😀 */
    size_t n = strlen(s), pos = 0;
    cr_assert_eq(ak_utf8_next(s, n, &pos), 'a');
    cr_assert_eq(ak_utf8_next(s, n, &pos), 0xE9);
    cr_assert_eq(ak_utf8_next(s, n, &pos), 0x20AC);
    cr_assert_eq(ak_utf8_next(s, n, &pos), 0x1F600);
    cr_assert_eq(pos, n);
    cr_assert_eq(ak_utf8_count(s, n), 4);
}

Test(text_utf8, encode_round_trips_every_scalar_value)
{
    char buf[AK_UTF8_MAX];
    for (uint32_t c = 0; c <= 0x10FFFF; c += (c < 0x3000 ? 1 : 97)) {
        size_t len = ak_utf8_encode(c, buf);
        if (c >= 0xD800 && c <= 0xDFFF) {
            cr_assert_eq(len, 0);
            continue;
        }
        size_t pos = 0;
        cr_assert_eq(ak_utf8_next(buf, len, &pos), (int32_t)c, "U+%04X", c);
        cr_assert_eq(pos, len);
    }
    cr_assert_eq(ak_utf8_encode(0x110000, buf), 0);
}

static void expect_bad(const char *s, size_t n, size_t off, const char *why)
{
    ak_err err = {{0}};
    size_t bad = 999;
    cr_assert_eq(ak_utf8_validate(s, n, &bad, &err), -1);
    cr_assert_eq(bad, off, "offset %zu, want %zu (%s)", bad, off, err.msg);
    char want[64];
    snprintf(want, sizeof want, "invalid UTF-8 at byte %zu: ", off);
    cr_assert(strstr(err.msg, want) == err.msg, "message: %s", err.msg);
    cr_assert(strstr(err.msg, why), "message: %s", err.msg);
}

Test(text_utf8, invalid_input_is_reported_with_its_byte_offset)
{
    expect_bad("ab\x80", 3, 2, "unexpected continuation byte");
    expect_bad("\xC3\xA9\xC0\xAF", 4, 2, "overlong"); /* overlong "/" */
    expect_bad("x\xE0\x80\xAF", 4, 1, "overlong");    /* overlong 3-byte */
    expect_bad("\xED\xA0\x80", 3, 0, "surrogate");    /* U+D800 */
    expect_bad("ok \xF4\x90\x80\x80", 7, 3, "above U+10FFFF");
    expect_bad("\xC3\xA9\xE2\x82", 4, 2, "truncated"); /* string ends inside */
    expect_bad("\xE2\x82"
               "A",
               3, 0, "truncated"); /* ASCII inside a sequence */
    expect_bad("\xFF", 1, 0, "never valid");
    cr_assert_eq(ak_utf8_validate("Vous êtes-vous blessée ?", strlen("Vous êtes-vous blessée ?"), NULL, NULL), 0);
}

Test(text_utf8, word_class_matches_python_re)
{
    /* letters of every covered script, digits, numerics, underscore */
    const uint32_t word[] = {'a',   'Z',   '0',  '_',  0xE9,   0xDF,  0x153,  0x1C5,   0x3A3, 0x3C2,
                             0x416, 0x451, 0xB2, 0xBD, 0x2167, 0x663, 0x4E2D, 0x1D400, 0xAA,  0x2B0};
    for (size_t i = 0; i < sizeof word / sizeof *word; i++)
        cr_assert(ak_uc_isword(word[i]), "U+%04X should be \\w", word[i]);
    /* punctuation, symbols, combining marks (not \w in Python's re), format characters */
    const uint32_t punct[] = {'-',  '\'', '.',   0x2019, 0x201E, 0x2010,  0x2014, 0x20AC,
                              0xAB, 0xBF, 0x301, 0x200B, 0xFEFF, 0x1F600, 0xD7};
    for (size_t i = 0; i < sizeof punct / sizeof *punct; i++)
        cr_assert(ak_uc_ispunct(punct[i]), "U+%04X should be [^\\w\\s]", punct[i]);
    const uint32_t space[] = {' ',    '\t',   '\n',   0x0B,   0x0C,   '\r',   0x1C,   0x1F,   0x85,  0xA0,
                              0x1680, 0x2000, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000};
    for (size_t i = 0; i < sizeof space / sizeof *space; i++)
        cr_assert(ak_uc_isspace(space[i]) && !ak_uc_isword(space[i]), "U+%04X should be \\s", space[i]);
    cr_assert(!ak_uc_isspace(0x200B) && !ak_uc_isspace(0x180E));
}

Test(text_utf8, simple_lower_maps_latin_greek_cyrillic)
{
    cr_assert_eq(ak_uc_tolower('A'), 'a');
    cr_assert_eq(ak_uc_tolower(0xC9), 0xE9);   /* É */
    cr_assert_eq(ak_uc_tolower(0x178), 0xFF);  /* Ÿ */
    cr_assert_eq(ak_uc_tolower(0x152), 0x153); /* Œ */
    cr_assert_eq(ak_uc_tolower(0x1C4), 0x1C6); /* Ǆ */
    cr_assert_eq(ak_uc_tolower(0x1C5), 0x1C6); /* ǅ */
    cr_assert_eq(ak_uc_tolower(0x391), 0x3B1); /* Α */
    cr_assert_eq(ak_uc_tolower(0x410), 0x430); /* А */
    cr_assert_eq(ak_uc_tolower(0x401), 0x451); /* Ё */
    cr_assert_eq(ak_uc_tolower(0x1E9E), 0xDF); /* ẞ */
    cr_assert_eq(ak_uc_tolower(0x212A), 'k');  /* Kelvin sign */
    cr_assert_eq(ak_uc_tolower(0x130), 'i');
    cr_assert_eq(ak_uc_tolower(0x153), 0x153);
    cr_assert_eq(ak_uc_tolower(0x153 + 1), 0x155); /* Ŕ (U+0154) */
    cr_assert_eq(ak_uc_tolower('1'), '1');
}

/* CPython 3.11: s.lower() */
static const char *const lower_cases[][2] = {
    {"İstanbul", "i\xCC\x87stanbul"},
    {"ΟΔΟΣ ΣΑ", "οδος σα"},
    {"Σ", "σ"},
    {"aΣ", "aς"},
    {"aΣ.", "aς."},
    {"aΣb", "aσb"},
    {"a\xCC\x81Σ", "a\xCC\x81ς"},
    {"Σ\xCC\x81", "σ\xCC\x81"},
    {"KELVIN K", "kelvin k"},
    {"ÀÉÎ ǅ Ǆ", "àéî ǆ ǆ"},
    {"ΌΣΟΣ. ΣΟΦΟΣ’", "όσος. σοφος’"},
    {"ẞ Ω", "ß ω"},
    {"Москва", "москва"},
    {"ÆØÅ ŒUVRE ĲSSEL", "æøå œuvre ĳssel"},
};

Test(text_utf8, lower_matches_python_str_lower)
{
    for (size_t i = 0; i < sizeof lower_cases / sizeof *lower_cases; i++) {
        ak_err err = {{0}};
        size_t n;
        char *low = ak_utf8_lower(lower_cases[i][0], strlen(lower_cases[i][0]), &n, &err);
        cr_assert_not_null(low, "%s", err.msg);
        cr_assert_str_eq(low, lower_cases[i][1], "case %zu", i);
        cr_assert_eq(n, strlen(lower_cases[i][1]));
        free(low);
    }
}

Test(text_utf8, lower_rejects_invalid_utf8_with_offset)
{
    ak_err err = {{0}};
    cr_assert_null(ak_utf8_lower("ABC\xC3", 4, NULL, &err));
    cr_assert(strstr(err.msg, "byte 3"), "%s", err.msg);
}
