#include "data/corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/textfile.h"

/* Describes what is wrong with a non-empty line (the part after "got "), or
 * returns NULL when it is a well-formed pair. */
static const char *check_line(const char *line, size_t len, char *why, size_t whylen)
{
    if (ak_textfile_bad_bytes(line, len, why, whylen))
        return why;
    size_t fields = ak_textfile_fields(line);
    if (fields != 2) {
        snprintf(why, whylen, "%zu field%s", fields, fields == 1 ? "" : "s");
        return why;
    }
    const char *tab = strchr(line, '\t');
    if (tab == line)
        return "an empty source field";
    if (tab[1] == '\0')
        return "an empty target field";
    return NULL;
}

int ak_corpus_read(ak_corpus *c, const char *path, ak_on_malformed on_malformed, ak_err *err)
{
    memset(c, 0, sizeof *c);
    ak_textfile tf;
    if (ak_textfile_load(&tf, path, err) < 0)
        return -1;
    size_t cap = 0;
    char *line, why[160];
    size_t len;
    c->path = strdup(path);
    if (!c->path)
        goto oom;
    while (ak_textfile_next(&tf, &line, &len)) {
        if (len == 0) {
            c->n_blank++;
            continue;
        }
        const char *got = check_line(line, len, why, sizeof why);
        if (got) {
            ak_err msg;
            ak_errorf(&msg, "%s:%zu: expected two non-empty TAB-separated fields, got %s", path, tf.line,
                      got);
            if (on_malformed == AK_MALFORMED_FAIL) {
                if (err)
                    *err = msg;
                goto fail;
            }
            if (c->n_skipped++ == 0)
                memcpy(c->first_skipped, msg.msg, sizeof c->first_skipped);
            continue;
        }
        if (c->n == cap) {
            cap = cap ? 2 * cap : 1024;
            ak_text_pair *grown = realloc(c->pairs, cap * sizeof *grown);
            if (!grown)
                goto oom;
            c->pairs = grown;
        }
        char *tab = strchr(line, '\t');
        *tab = '\0';
        c->pairs[c->n++] = (ak_text_pair){.src = line, .tgt = tab + 1, .line = tf.line};
    }
    c->text = tf.buf;
    tf.buf = NULL;
    return 0;
oom:
    ak_errorf(err, "%s: out of memory while reading line %zu", path, tf.line);
fail:
    ak_textfile_free(&tf);
    ak_corpus_free(c);
    return -1;
}

void ak_corpus_free(ak_corpus *c)
{
    free(c->pairs);
    free(c->text);
    free(c->path);
    memset(c, 0, sizeof *c);
}
