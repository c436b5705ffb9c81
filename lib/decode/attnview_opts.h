/* Command line of bin/attnview (usage: ak_attnview_usage), parsed into a
 * struct so the rules are testable. Same conventions as infer's options
 * (decode/infer_opts.h): "--opt VALUE" or "--opt=VALUE", one-line messages
 * naming the option and what it accepts. */
#ifndef AK_DECODE_ATTNVIEW_OPTS_H
#define AK_DECODE_ATTNVIEW_OPTS_H

#include <stdio.h>

#include "core/error.h"
#include "io/attnfile.h"
#include "nn/capture.h"

#define AK_HEAD_AVG (-1)
#define AK_HEAD_ALL (-2)

typedef struct ak_attnview_opts {
    const char *run;     /* RUN_DIR */
    const char *compare; /* second RUN_DIR, or NULL */
    int list;            /* --list */
    int stats;           /* --stats */
    int stat;            /* --stat: one statistic (index into ak_stat_names), -1 all */
    long probe;          /* 0 */
    ak_attn_role role;   /* cross */
    ak_attn_mode mode;   /* tf */
    int layer;           /* -1: last */
    int head;            /* >= 0, AK_HEAD_AVG (default) or AK_HEAD_ALL */
    const char *epoch;   /* spec (attn_view.h), NULL: "last" for maps, "all" for stats */
    int ansi;
    int width; /* 0: $COLUMNS or 100 */
    const char *png, *ppm;
    int cell; /* image cell size; 0: 16 */
} ak_attnview_opts;

/* 0 (valid), 1 (--help) or -1 with a message. */
int ak_attnview_parse(int argc, char **argv, ak_attnview_opts *o, ak_err *err);
void ak_attnview_usage(FILE *f);

#endif
