/* INI parsing and --set overrides against a schema (see config.h). */
#include "io/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/config_internal.h"

#define MAX_FILE_BYTES (1 << 20)

/* Trims whitespace in place; returns the first non-space byte. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int valid_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    return 1;
}

/* Looks the key up and stores the value, or fails with "WHERE: ...". */
static int apply(const ak_cfg_schema *s, const char *where, const char *section, const char *key,
                 const char *value, void *cfg, ak_err *err)
{
    char why[AK_ERR_MSG_MAX];
    const ak_cfg_key *k = ak_cfgi_find(s, section, key);
    if (!k) {
        if (ak_cfgi_has_section(s, section))
            ak_cfgi_unknown_key(s, section, key, why, sizeof why);
        else
            ak_cfgi_unknown_section(s, section, why, sizeof why);
        return ak_errorf(err, "%s: %s", where, why);
    }
    if (ak_cfgi_parse_value(k, value, cfg, why, sizeof why) < 0)
        return ak_errorf(err, "%s: key '%s' in [%s]: %s", where, key, section, why);
    return 0;
}

/* Cuts a comment off: from a '#' that starts the line or follows
 * whitespace, or that starts the value after '='. */
static void cut_comment(char *line)
{
    for (char *p = line; *p; p++) {
        if (*p != '#')
            continue;
        char *q = p; /* the byte before '#', ignoring spaces after an '=' */
        while (q > line && (q[-1] == ' ' || q[-1] == '\t'))
            q--;
        if (p == line || q != p || q[-1] == '=') {
            *p = '\0';
            return;
        }
    }
}

/* One line of a file; *section points into the text (kept until the end). */
static int parse_line(const ak_cfg_schema *s, const char *where, char *line, const char **section,
                      size_t lineno, size_t *first_line, void *cfg, ak_err *err)
{
    cut_comment(line);
    line = trim(line);
    if (!*line)
        return 0;
    if (*line == '[') {
        size_t n = strlen(line);
        if (n < 2 || line[n - 1] != ']')
            return ak_errorf(err, "%s: expected a section header '[name]', got '%.100s'", where, line);
        line[n - 1] = '\0';
        char *name = trim(line + 1);
        if (!ak_cfgi_has_section(s, name)) {
            char why[AK_ERR_MSG_MAX];
            ak_cfgi_unknown_section(s, name, why, sizeof why);
            return ak_errorf(err, "%s: %s", where, why);
        }
        *section = name;
        return 0;
    }
    char *eq = strchr(line, '=');
    if (!eq)
        return ak_errorf(err, "%s: expected '[section]', 'key = value' or a comment, got '%.100s'", where, line);
    *eq = '\0';
    char *key = trim(line), *value = trim(eq + 1);
    if (!*key)
        return ak_errorf(err, "%s: expected a key name before '=', got nothing", where);
    if (!*section)
        return ak_errorf(err, "%s: key '%s' outside any section: expected a [section] line before it", where, key);
    const ak_cfg_key *k = ak_cfgi_find(s, *section, key);
    if (k && first_line[k - s->keys])
        return ak_errorf(err, "%s: duplicate key '%s' in [%s]: first set on line %zu", where, key, *section,
                         first_line[k - s->keys]);
    if (apply(s, where, *section, key, value, cfg, err) < 0)
        return -1;
    first_line[k - s->keys] = lineno;
    return 0;
}

int ak_cfg_parse_text(const ak_cfg_schema *s, const char *name, const char *text, void *cfg, ak_err *err)
{
    char *copy = strdup(text);
    size_t *first_line = calloc(s->n ? s->n : 1, sizeof *first_line);
    if (!copy || !first_line) {
        free(copy);
        free(first_line);
        return ak_errorf(err, "%s: out of memory", name);
    }
    const char *section = NULL;
    int rc = 0;
    size_t lineno = 0;
    for (char *line = copy; line && rc == 0;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char where[AK_ERR_MSG_MAX / 2];
        snprintf(where, sizeof where, "%s:%zu", name, ++lineno);
        rc = parse_line(s, where, line, &section, lineno, first_line, cfg, err);
        line = nl ? nl + 1 : NULL;
    }
    free(copy);
    free(first_line);
    return rc;
}

int ak_cfg_parse_file(const ak_cfg_schema *s, const char *path, void *cfg, ak_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ak_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(MAX_FILE_BYTES + 1);
    size_t len = buf ? fread(buf, 1, MAX_FILE_BYTES + 1, f) : 0;
    int bad_read = ferror(f);
    fclose(f);
    int rc;
    if (!buf)
        rc = ak_errorf(err, "%s: out of memory", path);
    else if (bad_read)
        rc = ak_errorf(err, "%s: cannot read", path);
    else if (len > MAX_FILE_BYTES)
        rc = ak_errorf(err, "%s: expected a config file of at most %d bytes, got more", path, MAX_FILE_BYTES);
    else if (memchr(buf, '\0', len))
        rc = ak_errorf(err, "%s: expected a text file, got a NUL byte at byte %zu", path,
                       (size_t)((char *)memchr(buf, '\0', len) - buf) + 1);
    else {
        buf[len] = '\0';
        rc = ak_cfg_parse_text(s, path, buf, cfg, err);
    }
    free(buf);
    return rc;
}

int ak_cfg_set(const ak_cfg_schema *s, const char *assignment, void *cfg, ak_err *err)
{
    char where[AK_ERR_MSG_MAX / 2];
    snprintf(where, sizeof where, "--set %.200s", assignment);
    char *copy = strdup(assignment);
    if (!copy)
        return ak_errorf(err, "%s: out of memory", where);
    char *eq = strchr(copy, '=');
    char *dot = eq ? memchr(copy, '.', (size_t)(eq - copy)) : NULL;
    int rc;
    if (!dot) {
        rc = ak_errorf(err, "%s: expected section.key=value", where);
    } else {
        *dot = *eq = '\0';
        rc = apply(s, where, trim(copy), trim(dot + 1), trim(eq + 1), cfg, err);
    }
    free(copy);
    return rc;
}

/* Schema errors are the caller's bugs; they are reported, not asserted, so
 * that a test can check every schema of the programs. */
static int check_key(const ak_cfg_schema *s, size_t i, ak_err *err)
{
    const ak_cfg_key *k = &s->keys[i];
    if (!k->section || !k->key || !valid_name(k->section) || !valid_name(k->key))
        return ak_errorf(err, "schema: key %zu: expected section and key names of letters, digits, '_' or '-', "
                              "got [%s] '%s'", i, k->section ? k->section : "(null)", k->key ? k->key : "(null)");
    if (ak_cfgi_find(s, k->section, k->key) != k)
        return ak_errorf(err, "schema: key '%s' in [%s] is listed twice", k->key, k->section);
    const char *bad = NULL;
    if (k->type == AK_CFG_INT && k->imin > k->imax)
        bad = "expected imin <= imax";
    else if (k->type == AK_CFG_FLOAT && !(k->fmin <= k->fmax && isfinite(k->fmin) && isfinite(k->fmax)))
        bad = "expected finite fmin <= fmax";
    else if (k->type == AK_CFG_ENUM && (!k->choices || !k->choices[0]))
        bad = "expected at least one choice";
    else if ((unsigned)k->type > AK_CFG_PATH)
        bad = "expected a known type";
    else if (!k->def || !k->doc || strchr(k->doc, '\n'))
        bad = "expected a default and a one-line doc string";
    if (bad)
        return ak_errorf(err, "schema: key '%s' in [%s]: %s", k->key, k->section, bad);
    return 0;
}

int ak_cfg_defaults(const ak_cfg_schema *s, void *cfg, ak_err *err)
{
    for (size_t i = 0; i < s->n; i++) {
        const ak_cfg_key *k = &s->keys[i];
        char why[AK_ERR_MSG_MAX];
        if (check_key(s, i, err) < 0)
            return -1;
        if (ak_cfgi_parse_value(k, k->def, cfg, why, sizeof why) < 0)
            return ak_errorf(err, "schema: key '%s' in [%s]: default %s", k->key, k->section, why);
    }
    return 0;
}

int ak_cfg_load(const ak_cfg_schema *s, const char *path, const char *const *sets, size_t n_sets, void *cfg,
                ak_err *err)
{
    if (ak_cfg_defaults(s, cfg, err) < 0)
        return -1;
    if (path && ak_cfg_parse_file(s, path, cfg, err) < 0)
        return -1;
    for (size_t i = 0; i < n_sets; i++)
        if (ak_cfg_set(s, sets[i], cfg, err) < 0)
            return -1;
    return 0;
}
