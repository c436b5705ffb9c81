/* Run directory files (run_dir.h). */
#include "train/run_dir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic_file.h"
#include "train/interrupt.h"

int ak_mkdirs(const char *path, ak_err *err)
{
    size_t n = strlen(path);
    char *p = malloc(n + 1);
    if (!p)
        return ak_errorf(err, "out of memory");
    memcpy(p, path, n + 1);
    int rc = 0;
    for (size_t i = 1; i <= n && !rc; i++) {
        if (p[i] != '/' && p[i] != 0)
            continue;
        char c = p[i];
        p[i] = 0;
        struct stat st;
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            rc = ak_errorf(err, "%s: cannot create directory: %s", p, strerror(errno));
        else if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
            rc = ak_errorf(err, "%s: not a directory", p);
        p[i] = c;
    }
    free(p);
    return rc ? -1 : 0;
}

void ak_ckpt_epoch_path(char *buf, size_t n, const char *run_dir, int64_t epoch)
{
    snprintf(buf, n, "%s/ckpt/epoch-%03lld.ckpt", run_dir, (long long)epoch);
}

/* The epoch of a file name "epoch-NNN.ckpt", or -1. */
static int64_t epoch_of(const char *name)
{
    if (strncmp(name, "epoch-", 6) != 0)
        return -1;
    const char *p = name + 6;
    int64_t e = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 12; p++, digits++)
        e = e * 10 + (*p - '0');
    return digits >= 3 && !strcmp(p, ".ckpt") ? e : -1;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int list_dir(const char *dir, int64_t **out, size_t *n, ak_err *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : ak_errorf(err, "%s: cannot read directory: %s", dir, strerror(errno));
    size_t cap = 0;
    int rc = 0;
    for (struct dirent *e; !rc && (e = readdir(d));) {
        int64_t ep = epoch_of(e->d_name);
        if (ep < 0)
            continue;
        if (*n == cap) {
            int64_t *g = realloc(*out, sizeof *g * (cap = cap ? 2 * cap : 16));
            if (!g) {
                rc = ak_errorf(err, "out of memory");
                break;
            }
            *out = g;
        }
        (*out)[(*n)++] = ep;
    }
    closedir(d);
    if (rc) {
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_i64);
    return 0;
}

int ak_ckpt_list(const char *run_dir, int64_t **out, size_t *n, ak_err *err)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/ckpt", run_dir);
    return list_dir(dir, out, n, err);
}

int ak_ckpt_prune(const char *run_dir, size_t keep, ak_err *err)
{
    if (keep == 0)
        return 0;
    int64_t *ep;
    size_t n;
    if (ak_ckpt_list(run_dir, &ep, &n, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i + keep < n && !rc; i++) {
        char path[4300];
        ak_ckpt_epoch_path(path, sizeof path, run_dir, ep[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            rc = ak_errorf(err, "%s: cannot remove: %s", path, strerror(errno));
    }
    free(ep);
    return rc ? -1 : 0;
}

static int copy_file(const char *src, const char *dst, ak_err *err)
{
    FILE *in = fopen(src, "rb");
    if (!in)
        return ak_errorf(err, "%s: cannot open: %s", src, strerror(errno));
    ak_atomic_file af = {0};
    if (ak_atomic_open(&af, dst, err) != 0) {
        fclose(in);
        return -1;
    }
    char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, got, af.fp) != got)
            break;
    int bad = ferror(in);
    fclose(in);
    if (bad) {
        ak_atomic_abort(&af);
        return ak_errorf(err, "%s: read error", src);
    }
    return ak_atomic_commit(&af, err);
}

int ak_ckpt_set_best(const char *run_dir, const char *src, ak_err *err)
{
    char best[4300], tmp[4400];
    snprintf(best, sizeof best, "%s/ckpt/best.ckpt", run_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", best, (long)getpid());
    ak_interrupt_guard(best);
    unlink(tmp);
    int rc = 0;
    if (link(src, tmp) == 0) {
        if (rename(tmp, best) != 0) {
            rc = ak_errorf(err, "%s: cannot rename %s over it: %s", best, tmp, strerror(errno));
            unlink(tmp);
        }
    } else {
        rc = copy_file(src, best, err);
    }
    ak_interrupt_unguard();
    return rc;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Copies the directory part of path (without the slash) into buf: "." when none. */
static void dir_of(const char *path, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(buf, n, ".");
    else if (slash == path)
        snprintf(buf, n, "/");
    else
        snprintf(buf, n, "%.*s", (int)(slash - path), path);
}

static const char *base_of(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    const char *b = path + n;
    while (b > path && b[-1] != '/')
        b--;
    return b;
}

int ak_ckpt_locate(const char *arg, char *ckpt, size_t ckpt_n, char *run_dir, size_t run_dir_n, ak_err *err)
{
    char dir[4200];
    if (is_file(arg)) {
        snprintf(ckpt, ckpt_n, "%s", arg);
        dir_of(arg, dir, sizeof dir);
        if (!strncmp(base_of(dir), "ckpt", 4) && (base_of(dir)[4] == 0 || base_of(dir)[4] == '/'))
            dir_of(dir, run_dir, run_dir_n);
        else
            run_dir[0] = 0;
        return 0;
    }
    if (!is_dir(arg))
        return ak_errorf(err, "--resume %s: no such checkpoint or run directory", arg);
    snprintf(dir, sizeof dir, "%s/ckpt", arg);
    if (is_dir(dir)) {
        snprintf(run_dir, run_dir_n, "%s", arg);
    } else if (!strcmp(base_of(arg), "ckpt") || !strncmp(base_of(arg), "ckpt/", 5)) {
        snprintf(dir, sizeof dir, "%s", arg);
        dir_of(arg, run_dir, run_dir_n);
    } else {
        return ak_errorf(err, "--resume %s: not a run directory (no ckpt/ folder)", arg);
    }
    snprintf(ckpt, ckpt_n, "%s/interrupted.ckpt", dir);
    if (is_file(ckpt))
        return 0;
    int64_t *ep;
    size_t n;
    if (list_dir(dir, &ep, &n, err) != 0)
        return -1;
    if (n == 0) {
        free(ep);
        return ak_errorf(err, "--resume %s: no checkpoint in %s", arg, dir);
    }
    snprintf(ckpt, ckpt_n, "%s/epoch-%03lld.ckpt", dir, (long long)ep[n - 1]);
    free(ep);
    return 0;
}

/* Whole file as a malloc'd string; NULL and *missing = 1 when absent. */
static char *slurp(const char *path, int *missing, ak_err *err)
{
    *missing = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            *missing = 1;
        else
            ak_errorf(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 12, n = 0;
    char *s = malloc(cap);
    while (s) {
        if (n + 1 >= cap) {
            char *g = realloc(s, cap *= 2);
            if (!g) {
                free(s);
                s = NULL;
                break;
            }
            s = g;
        }
        size_t got = fread(s + n, 1, cap - n - 1, f);
        if (!got)
            break;
        n += got;
    }
    int bad = ferror(f);
    fclose(f);
    if (!s || bad) {
        free(s);
        ak_errorf(err, "%s: %s", path, bad ? "read error" : "out of memory");
        return NULL;
    }
    s[n] = 0;
    return s;
}

int ak_write_text(const char *path, const char *text, ak_err *err)
{
    ak_interrupt_guard(path);
    int rc = ak_atomic_write(path, text, strlen(text), err);
    ak_interrupt_unguard();
    return rc;
}

int ak_tsv_truncate(const char *path, int64_t below, ak_err *err)
{
    int missing;
    char *s = slurp(path, &missing, err);
    if (!s)
        return missing ? 0 : -1;
    size_t w = 0;
    int first = 1;
    for (char *p = s; *p;) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        char *end;
        long long e = strtoll(p, &end, 10);
        int keep = first || (end != p && (*end == '\t' || *end == '\n') && e < below);
        if (keep) {
            memmove(s + w, p, len);
            w += len;
        }
        first = 0;
        p += len;
    }
    s[w] = 0;
    int rc = ak_write_text(path, s, err);
    free(s);
    return rc;
}

int ak_tsv_append(const char *path, const char *header, const char *row, ak_err *err)
{
    int missing;
    char *s = slurp(path, &missing, err);
    if (!s && !missing)
        return -1;
    size_t hl = strlen(header), have = s ? strlen(s) : 0;
    if (have && (strncmp(s, header, hl) != 0 || s[hl] != '\n')) {
        free(s);
        return ak_errorf(err, "%s: first line is not the expected header '%.60s...'", path, header);
    }
    size_t rl = strlen(row);
    char *t = malloc(have + hl + rl + 4);
    if (!t) {
        free(s);
        return ak_errorf(err, "out of memory");
    }
    size_t n = 0;
    if (have) {
        memcpy(t, s, have);
        n = have;
        if (t[n - 1] != '\n')
            t[n++] = '\n';
    } else {
        memcpy(t, header, hl);
        n = hl;
        t[n++] = '\n';
    }
    memcpy(t + n, row, rl);
    n += rl;
    t[n++] = '\n';
    t[n] = 0;
    int rc = ak_write_text(path, t, err);
    free(s);
    free(t);
    return rc;
}
