/* Writers for a config schema: the effective configuration as INI text and
 * the schema as Markdown (see config.h). */
#include <stdio.h>
#include <string.h>

#include "io/config.h"
#include "io/config_internal.h"

int ak_cfg_dump(const ak_cfg_schema *s, const void *cfg, FILE *out)
{
    fprintf(out, "# Effective configuration: every key with the value in effect, defaults included.\n");
    for (size_t i = 0; i < s->n; i++) {
        if (!ak_cfgi_section_starts(s, i))
            continue;
        const char *section = s->keys[i].section;
        fprintf(out, "\n[%s]\n", section);
        for (size_t j = i; j < s->n; j++) {
            const ak_cfg_key *k = &s->keys[j];
            if (strcmp(k->section, section) != 0)
                continue;
            char expected[256], value[AK_CFG_STR_MAX + 64];
            ak_cfgi_expected(k, expected, sizeof expected);
            ak_cfgi_format_value(k, cfg, value, sizeof value);
            fprintf(out, "# %s (%s; default %s)\n%s =%s%s\n", k->doc, expected, *k->def ? k->def : "empty",
                    k->key, *value ? " " : "", value);
        }
    }
    return ferror(out) ? -1 : 0;
}

/* Writes text into a Markdown table cell, escaping '|'. */
static void cell(FILE *out, const char *text)
{
    for (; *text; text++) {
        if (*text == '|')
            fputc('\\', out);
        fputc(*text, out);
    }
}

int ak_cfg_markdown(const ak_cfg_schema *s, FILE *out)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!ak_cfgi_section_starts(s, i))
            continue;
        const char *section = s->keys[i].section;
        fprintf(out, "%s### [%s]\n\n| key | allowed values | default | description |\n| --- | --- | --- | --- |\n",
                i ? "\n" : "", section);
        for (size_t j = i; j < s->n; j++) {
            const ak_cfg_key *k = &s->keys[j];
            if (strcmp(k->section, section) != 0)
                continue;
            char expected[256];
            ak_cfgi_expected(k, expected, sizeof expected);
            fprintf(out, "| `%s` | ", k->key);
            cell(out, expected);
            fputs(" | ", out);
            if (*k->def) {
                fputc('`', out);
                cell(out, k->def);
                fputc('`', out);
            } else {
                fputs("(empty)", out);
            }
            fputs(" | ", out);
            cell(out, k->doc);
            fputs(" |\n", out);
        }
    }
    return ferror(out) ? -1 : 0;
}
