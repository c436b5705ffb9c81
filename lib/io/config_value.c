/* Value checking, formatting and suggestions for the config parser. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/config_internal.h"

const ak_cfg_key *ak_cfgi_find(const ak_cfg_schema *s, const char *section, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i].section, section) == 0 && strcmp(s->keys[i].key, key) == 0)
            return &s->keys[i];
    return NULL;
}

int ak_cfgi_section_starts(const ak_cfg_schema *s, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(s->keys[j].section, s->keys[i].section) == 0)
            return 0;
    return 1;
}

int ak_cfgi_has_section(const ak_cfg_schema *s, const char *section)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i].section, section) == 0)
            return 1;
    return 0;
}

/* Shortest text that strtod reads back as v; integral values without an
 * exponent ("1000000", not "1e+06"). */
static void fmt_double(double v, char *buf, size_t n)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, n, "%.0f", v);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

void ak_cfgi_expected(const ak_cfg_key *k, char *buf, size_t n)
{
    char lo[40], hi[40];
    switch (k->type) {
    case AK_CFG_INT:
        snprintf(buf, n, "an integer in [%lld, %lld]", (long long)k->imin, (long long)k->imax);
        break;
    case AK_CFG_FLOAT:
        fmt_double(k->fmin, lo, sizeof lo);
        fmt_double(k->fmax, hi, sizeof hi);
        snprintf(buf, n, "a number in [%s, %s]", lo, hi);
        break;
    case AK_CFG_BOOL:
        snprintf(buf, n, "a boolean (true/false, yes/no, on/off, 1/0)");
        break;
    case AK_CFG_ENUM: {
        size_t used = (size_t)snprintf(buf, n, "one of {");
        for (size_t i = 0; k->choices && k->choices[i] && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "", k->choices[i]);
        if (used < n)
            snprintf(buf + used, n - used, "}");
        break;
    }
    case AK_CFG_STRING:
    case AK_CFG_PATH:
        snprintf(buf, n, "%s of at most %d bytes", k->type == AK_CFG_PATH ? "a path" : "text",
                 AK_CFG_STR_MAX - 1);
        break;
    }
}

/* Why a string value is not allowed, or NULL. */
static const char *bad_text(const char *val, char *why, size_t n)
{
    size_t len = strlen(val);
    if (len >= AK_CFG_STR_MAX) {
        snprintf(why, n, "got %zu bytes", len);
        return why;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)val[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(why, n, "got a control character (0x%02X) at byte %zu", c, i + 1);
            return why;
        }
        if (c == '#' && (i == 0 || val[i - 1] == ' ' || val[i - 1] == '\t')) {
            snprintf(why, n, "got a '#' that would start a comment in a config file, at byte %zu", i + 1);
            return why;
        }
    }
    return NULL;
}

int ak_cfgi_parse_value(const ak_cfg_key *k, const char *val, void *cfg, char *why, size_t n)
{
    char *field = (char *)cfg + k->offset, *end, expected[256], text_why[128];
    errno = 0;
    switch (k->type) {
    case AK_CFG_INT: {
        long long v = *val ? strtoll(val, &end, 10) : 0;
        if (*val && !*end && errno == 0 && v >= k->imin && v <= k->imax) {
            int64_t x = v;
            memcpy(field, &x, sizeof x);
            return 0;
        }
        break;
    }
    case AK_CFG_FLOAT: {
        double v = *val ? strtod(val, &end) : 0;
        if (*val && !*end && isfinite(v) && v >= k->fmin && v <= k->fmax) {
            memcpy(field, &v, sizeof v);
            return 0;
        }
        break;
    }
    case AK_CFG_BOOL: {
        static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
        for (int i = 0; i < 4; i++) {
            bool v = strcasecmp(val, yes[i]) == 0;
            if (v || strcasecmp(val, no[i]) == 0) {
                memcpy(field, &v, sizeof v);
                return 0;
            }
        }
        break;
    }
    case AK_CFG_ENUM:
        for (int i = 0; k->choices && k->choices[i]; i++)
            if (strcmp(val, k->choices[i]) == 0) {
                memcpy(field, &i, sizeof i);
                return 0;
            }
        break;
    case AK_CFG_STRING:
    case AK_CFG_PATH:
        if (!bad_text(val, text_why, sizeof text_why)) {
            memcpy(field, val, strlen(val) + 1);
            return 0;
        }
        ak_cfgi_expected(k, expected, sizeof expected);
        snprintf(why, n, "expected %s without control characters or comments, %s", expected, text_why);
        return -1;
    }
    ak_cfgi_expected(k, expected, sizeof expected);
    snprintf(why, n, "expected %s, got '%.100s'", expected, val);
    return -1;
}

void ak_cfgi_format_value(const ak_cfg_key *k, const void *cfg, char *buf, size_t n)
{
    const char *field = (const char *)cfg + k->offset;
    switch (k->type) {
    case AK_CFG_INT: {
        int64_t v;
        memcpy(&v, field, sizeof v);
        snprintf(buf, n, "%lld", (long long)v);
        break;
    }
    case AK_CFG_FLOAT: {
        double v;
        memcpy(&v, field, sizeof v);
        fmt_double(v, buf, n);
        break;
    }
    case AK_CFG_BOOL: {
        bool v;
        memcpy(&v, field, sizeof v);
        snprintf(buf, n, "%s", v ? "true" : "false");
        break;
    }
    case AK_CFG_ENUM: {
        int v, count = 0;
        memcpy(&v, field, sizeof v);
        while (k->choices[count])
            count++;
        snprintf(buf, n, "%s", v >= 0 && v < count ? k->choices[v] : "<invalid enum index>");
        break;
    }
    case AK_CFG_STRING:
    case AK_CFG_PATH:
        snprintf(buf, n, "%s", field);
        break;
    }
}

/* Edit distance of two short names (longer than 63 bytes: "far"). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (la > 63 || lb > 63)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Whether a candidate is close enough to suggest for a mistyped name. */
static int close_enough(const char *typed, size_t d)
{
    size_t limit = strlen(typed) / 3;
    return d <= (limit > 2 ? limit : 2);
}

void ak_cfgi_unknown_section(const ak_cfg_schema *s, const char *section, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "unknown section [%s]: expected one of ", section);
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < s->n; i++) {
        if (!ak_cfgi_section_starts(s, i))
            continue;
        const char *name = s->keys[i].section;
        if (used < n)
            used += (size_t)snprintf(buf + used, n - used, "%s[%s]", i ? ", " : "", name);
        size_t d = distance(section, name);
        if (d < best_d) {
            best_d = d;
            best = name;
        }
    }
    if (best && close_enough(section, best_d) && used < n)
        snprintf(buf + used, n - used, "; did you mean [%s]?", best);
}

void ak_cfgi_unknown_key(const ak_cfg_schema *s, const char *section, const char *key, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "unknown key '%s' in [%s]: expected one of ", key, section);
    const char *best = NULL, *elsewhere = NULL;
    size_t best_d = SIZE_MAX, listed = 0;
    for (size_t i = 0; i < s->n; i++) {
        const ak_cfg_key *k = &s->keys[i];
        if (strcmp(k->section, section) != 0) {
            if (!elsewhere && strcmp(k->key, key) == 0)
                elsewhere = k->section;
            continue;
        }
        if (used < n)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", listed++ ? ", " : "", k->key);
        size_t d = distance(key, k->key);
        if (d < best_d) {
            best_d = d;
            best = k->key;
        }
    }
    if (used >= n)
        return;
    if (elsewhere)
        snprintf(buf + used, n - used, "; '%s' belongs in [%s]", key, elsewhere);
    else if (best && close_enough(key, best_d))
        snprintf(buf + used, n - used, "; did you mean '%s'?", best);
}
