/* attn_stats.tsv reader and summaries (decode/stats_tsv.h). */
#include "decode/stats_tsv.h"

#include "eval/attn_stats.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const ak_stat_names[AK_NSTATS] = {"entropy", "max_weight", "diagonality", "js_div", "aer"};

int ak_stat_parse(const char *name)
{
    for (int i = 0; i < AK_NSTATS; i++)
        if (!strcmp(name, ak_stat_names[i]))
            return i;
    return -1;
}

static int parse_field_u64(const char *s, uint64_t *v)
{
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    if (*s == '-')
        return -1;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

static int parse_field_int(const char *s, int *v)
{
    uint64_t x;
    if (parse_field_u64(s, &x) != 0 || x > 1u << 20)
        return -1;
    *v = (int)x;
    return 0;
}

static int parse_field_double(const char *s, double *v)
{
    if (!strcasecmp(s, "nan")) {
        *v = NAN;
        return 0;
    }
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (*end || (errno && !(x == 0.0)))
        return -1;
    *v = x;
    return 0;
}

int ak_stats_tsv_read(const char *path, ak_stat_row **rows, size_t *n, ak_err *err)
{
    *rows = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return ak_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t lcap = 0, cap = 0, lineno = 0;
    ssize_t len;
    ak_stat_row *v = NULL;
    int rc = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (lineno == 1) {
            if (strcmp(line, AK_ATTN_STATS_HEADER) != 0) {
                rc = ak_errorf(err, "%s:1: expected the header \"%s\" (tab-separated)", path,
                               "epoch role layer head entropy max_weight diagonality js_div aer");
                break;
            }
            continue;
        }
        if (len == 0)
            continue;
        char *field[9];
        int nf = 0;
        for (char *p = line; nf < 9;) {
            field[nf++] = p;
            char *tab = strchr(p, '\t');
            if (!tab)
                break;
            *tab = '\0';
            p = tab + 1;
        }
        if (nf != 9 || strchr(field[8], '\t')) {
            rc = ak_errorf(err, "%s:%zu: expected 9 tab-separated fields", path, lineno);
            break;
        }
        ak_stat_row r;
        int role = ak_attn_role_parse(field[1]);
        if (parse_field_u64(field[0], &r.epoch) != 0 || role < 0 || parse_field_int(field[2], &r.layer) != 0 ||
            parse_field_int(field[3], &r.head) != 0) {
            rc = ak_errorf(err, "%s:%zu: expected epoch, role (enc-self, dec-self, cross), layer and head", path,
                           lineno);
            break;
        }
        r.role = (ak_attn_role)role;
        for (int k = 0; k < AK_NSTATS && rc == 0; k++)
            if (parse_field_double(field[4 + k], &r.v[k]) != 0)
                rc = ak_errorf(err, "%s:%zu: %s: expected a number or nan, got '%.32s'", path, lineno, ak_stat_names[k],
                               field[4 + k]);
        if (rc != 0)
            break;
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            ak_stat_row *g = realloc(v, sizeof *v * nc);
            if (!g) {
                rc = ak_errorf(err, "out of memory");
                break;
            }
            v = g;
            cap = nc;
        }
        v[(*n)++] = r;
    }
    if (rc == 0 && ferror(f))
        rc = ak_errorf(err, "%s: read error", path);
    if (rc == 0 && lineno == 0)
        rc = ak_errorf(err, "%s: empty file", path);
    free(line);
    fclose(f);
    if (rc != 0) {
        free(v);
        *n = 0;
        return -1;
    }
    *rows = v;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int ak_stats_epochs(const ak_stat_row *rows, size_t n, uint64_t **epochs, size_t *n_epochs, ak_err *err)
{
    *epochs = NULL;
    *n_epochs = 0;
    uint64_t *v = malloc(sizeof *v * (n ? n : 1));
    if (!v)
        return ak_errorf(err, "out of memory");
    for (size_t i = 0; i < n; i++)
        v[i] = rows[i].epoch;
    qsort(v, n, sizeof *v, cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || v[k - 1] != v[i])
            v[k++] = v[i];
    *epochs = v;
    *n_epochs = k;
    return 0;
}

const ak_stat_row *ak_stats_find(const ak_stat_row *rows, size_t n, uint64_t epoch, ak_attn_role role, int layer,
                                 int head)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].epoch == epoch && rows[i].role == role && rows[i].layer == layer && rows[i].head == head)
            return &rows[i];
    return NULL;
}

int ak_stats_mean(const ak_stat_row *rows, size_t n, uint64_t epoch, ak_attn_role role, int layer, int head,
                  double out[AK_NSTATS])
{
    double sum[AK_NSTATS] = {0};
    int cnt[AK_NSTATS] = {0}, matched = 0;
    for (size_t i = 0; i < n; i++) {
        const ak_stat_row *r = &rows[i];
        if (r->epoch != epoch || r->role != role || (layer >= 0 && r->layer != layer) || (head >= 0 && r->head != head))
            continue;
        matched++;
        for (int k = 0; k < AK_NSTATS; k++)
            if (!isnan(r->v[k])) {
                sum[k] += r->v[k];
                cnt[k]++;
            }
    }
    for (int k = 0; k < AK_NSTATS; k++)
        out[k] = cnt[k] ? sum[k] / cnt[k] : NAN;
    return matched;
}
