#include "data/synthetic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "io/atomic_file.h"

static const char *const task_names[AK_SYNTH_N_TASKS] = {"reverse", "copy", "sort", "date"};

/* reverse/copy alphabet: words and single punctuation marks, each one token
 * of \w+|[^\w\s]; none equals a copy-task noise word. */
#define N_ALPHA 24
static const char *const alphabet[N_ALPHA] = {
    "cat", "dog", "owl", "pig", "fox", "hen", "cow", "elk", "ant", "bee", "emu", "yak",
    "ape", "bat", "gnu", "ram", "+",   "*",   "=",   "#",   "@",   "%",   "&",   "~",
};
#define COPY_FILLER "um"   /* in the source, deleted from the target */
#define COPY_INSERTED "uh" /* inserted into the target */
#define COPY_NOISE "unk"   /* replaces a copied token */

#define SORT_VALUES 100 /* numbers 0..99 */

#define YEAR_MIN 1900
#define YEAR_MAX 2099
static const char *const month_full[12] = {"January", "February", "March",     "April",   "May",      "June",
                                           "July",    "August",   "September", "October", "November", "December"};
static const char *const month_abbr[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
#define N_DATE_FORMS 5

const char ak_synth_usage[] = "usage: synth TASK --out PREFIX [--n N] [--probes K] [--seed S]\n"
                              "             [--min-len A --max-len B] [--p-replace P] [--p-insert P] [--p-filler P]\n"
                              "Writes PREFIX.tsv (N training pairs, source<TAB>target) and PREFIX.gold.tsv\n"
                              "(K probe pairs unseen in training, with their true word alignment, in the\n"
                              "format of data/eng-deu.gold.tsv). TASK is one of:\n"
                              "  reverse  tokens from a 24-token alphabet -> the same tokens reversed\n"
                              "  copy     tokens with fillers 'um' -> a copy without them, tokens replaced\n"
                              "           by 'unk' (--p-replace) and fillers 'uh' inserted (--p-insert)\n"
                              "  sort     numbers 0..99 -> the numbers ascending (stable for ties)\n"
                              "  date     'the 3rd of March 1999', 'March 3, 1999', '3 March 1999',\n"
                              "           '03/03/1999' (DD/MM/YYYY), '3.3.1999' -> '1999-03-03'\n"
                              "Options:\n"
                              "  --out PREFIX    output prefix (required)\n"
                              "  --n N           training pairs (default 20000)\n"
                              "  --probes K      gold probe pairs (default 48)\n"
                              "  --seed S        random seed, 0..2^64-1 (default 1)\n"
                              "  --min-len A     shortest source, in tokens (reverse/copy/sort; default 3)\n"
                              "  --max-len B     longest source, at most 40 (default 10)\n"
                              "  --p-replace P   copy: chance a token becomes 'unk' (default 0.1)\n"
                              "  --p-insert P    copy: chance of an inserted 'uh' before a token (default 0.1)\n"
                              "  --p-filler P    copy: chance of a source filler 'um' before a token (default 0.1)\n"
                              "  --help          this text\n"
                              "See docs/synthetic.md for the alignment conventions.\n";

const char *ak_synth_task_name(ak_synth_task t)
{
    return (unsigned)t < AK_SYNTH_N_TASKS ? task_names[t] : "?";
}

int ak_synth_task_parse(const char *name, ak_synth_task *t, ak_err *err)
{
    for (int i = 0; i < AK_SYNTH_N_TASKS; i++)
        if (strcmp(name, task_names[i]) == 0) {
            *t = (ak_synth_task)i;
            return 0;
        }
    return ak_errorf(err, "TASK: expected one of reverse, copy, sort, date, got '%s'", name);
}

ak_synth_opts ak_synth_defaults(ak_synth_task task)
{
    ak_synth_opts o = {0};
    o.task = task;
    o.n = 20000;
    o.probes = 48;
    o.seed = 1;
    if (task != AK_SYNTH_DATE) {
        o.min_len = 3;
        o.max_len = 10;
    }
    o.p_replace = o.p_insert = o.p_filler = 0.1f;
    return o;
}

static int check_p(float p, const char *flag, ak_err *err)
{
    if (!(p >= 0.0f && p <= 1.0f))
        return ak_errorf(err, "%s: expected a probability in [0, 1], got %g", flag, (double)p);
    return 0;
}

int ak_synth_check(const ak_synth_opts *o, ak_err *err)
{
    if ((unsigned)o->task >= AK_SYNTH_N_TASKS)
        return ak_errorf(err, "TASK: expected one of reverse, copy, sort, date, got %d", (int)o->task);
    if (o->n < 1 || o->n > AK_SYNTH_MAX_N)
        return ak_errorf(err, "--n: expected an integer in [1, %d], got %lld", AK_SYNTH_MAX_N, (long long)o->n);
    if (o->probes < 1 || o->probes > AK_SYNTH_MAX_PROBES)
        return ak_errorf(err, "--probes: expected an integer in [1, %d], got %lld", AK_SYNTH_MAX_PROBES,
                         (long long)o->probes);
    if (o->task == AK_SYNTH_DATE) {
        if (o->min_len != 0 || o->max_len != 0)
            return ak_errorf(err, "--%s: expected no length for task date (its forms are fixed)",
                             o->min_len != 0 ? "min-len" : "max-len");
    } else {
        if (o->min_len < 1 || o->min_len > AK_SYNTH_MAX_LEN)
            return ak_errorf(err, "--min-len: expected an integer in [1, %d], got %d", AK_SYNTH_MAX_LEN,
                             (int)o->min_len);
        if (o->max_len < o->min_len || o->max_len > AK_SYNTH_MAX_LEN)
            return ak_errorf(err, "--max-len: expected an integer in [%d (--min-len), %d], got %d", (int)o->min_len,
                             AK_SYNTH_MAX_LEN, (int)o->max_len);
    }
    if (check_p(o->p_replace, "--p-replace", err) || check_p(o->p_insert, "--p-insert", err) ||
        check_p(o->p_filler, "--p-filler", err))
        return -1;
    return 0;
}

/* ---- building one example ---- */

/* Appends a token to a side; `glue` joins it to the previous token without a
 * space in the sentence text. Sizes are bounded by the constants in the
 * header (asserted by construction: at most 2 * max_len tokens a side, each
 * shorter than AK_SYNTH_TOK_BYTES). */
static void put_tok(char (*toks)[AK_SYNTH_TOK_BYTES], int32_t *n, char *text, const char *tok, int glue)
{
    size_t used = strlen(text);
    snprintf(toks[*n], AK_SYNTH_TOK_BYTES, "%s", tok);
    snprintf(text + used, AK_SYNTH_TEXT_BYTES - used, "%s%s", (*n > 0 && !glue) ? " " : "", tok);
    (*n)++;
}

static void src_tok(ak_synth_example *ex, const char *tok, int glue)
{
    put_tok(ex->src, &ex->n_src, ex->src_text, tok, glue);
}

static void tgt_tok(ak_synth_example *ex, const char *tok, int glue)
{
    put_tok(ex->tgt, &ex->n_tgt, ex->tgt_text, tok, glue);
}

static void sure(ak_synth_example *ex, int32_t s, int32_t t)
{
    ex->sure[ex->n_sure++] = (ak_gold_link){s, t};
}

static int32_t draw_len(const ak_synth_opts *o, ak_rng *r)
{
    return o->min_len + (int32_t)ak_rng_below(r, (uint32_t)(o->max_len - o->min_len + 1));
}

static void gen_reverse(const ak_synth_opts *o, ak_rng *r, ak_synth_example *ex)
{
    int32_t n = draw_len(o, r);
    int a[AK_SYNTH_MAX_LEN];
    for (int32_t i = 0; i < n; i++) {
        a[i] = (int)ak_rng_below(r, N_ALPHA);
        src_tok(ex, alphabet[a[i]], 0);
    }
    for (int32_t j = 0; j < n; j++) {
        tgt_tok(ex, alphabet[a[n - 1 - j]], 0);
        sure(ex, n - 1 - j, j);
    }
}

static void gen_copy(const ak_synth_opts *o, ak_rng *r, ak_synth_example *ex)
{
    int32_t n = draw_len(o, r);
    int a[AK_SYNTH_MAX_LEN];
    int32_t pos[AK_SYNTH_MAX_LEN]; /* source position of alphabet token k */
    for (int32_t k = 0; k < n; k++) {
        if (ak_rng_uniform(r) < o->p_filler)
            src_tok(ex, COPY_FILLER, 0);
        a[k] = (int)ak_rng_below(r, N_ALPHA);
        pos[k] = ex->n_src;
        src_tok(ex, alphabet[a[k]], 0);
    }
    for (int32_t k = 0; k < n; k++) {
        if (ak_rng_uniform(r) < o->p_insert)
            tgt_tok(ex, COPY_INSERTED, 0);
        int replaced = ak_rng_uniform(r) < o->p_replace;
        sure(ex, pos[k], ex->n_tgt);
        tgt_tok(ex, replaced ? COPY_NOISE : alphabet[a[k]], 0);
    }
}

static void gen_sort(const ak_synth_opts *o, ak_rng *r, ak_synth_example *ex)
{
    int32_t n = draw_len(o, r);
    int v[AK_SYNTH_MAX_LEN];
    int32_t order[AK_SYNTH_MAX_LEN];
    char buf[AK_SYNTH_TOK_BYTES];
    for (int32_t i = 0; i < n; i++) {
        v[i] = (int)ak_rng_below(r, SORT_VALUES);
        snprintf(buf, sizeof buf, "%d", v[i]);
        src_tok(ex, buf, 0);
        order[i] = i;
    }
    /* Insertion sort: stable, so equal numbers keep their source order. */
    for (int32_t i = 1; i < n; i++) {
        int32_t x = order[i], j = i;
        while (j > 0 && v[order[j - 1]] > v[x]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
    for (int32_t j = 0; j < n; j++) {
        tgt_tok(ex, ex->src[order[j]], 0);
        sure(ex, order[j], j);
    }
}

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return d[m - 1] + (m == 2 && leap(y));
}

static const char *ordinal_suffix(int d)
{
    if (d >= 11 && d <= 13)
        return "th";
    switch (d % 10) {
    case 1:
        return "st";
    case 2:
        return "nd";
    case 3:
        return "rd";
    default:
        return "th";
    }
}

static void gen_date(ak_rng *r, ak_synth_example *ex)
{
    int y = YEAR_MIN + (int)ak_rng_below(r, YEAR_MAX - YEAR_MIN + 1);
    int m = 1 + (int)ak_rng_below(r, 12);
    int d = 1 + (int)ak_rng_below(r, (uint32_t)days_in(y, m));
    int form = (int)ak_rng_below(r, N_DATE_FORMS);
    int abbr = (int)ak_rng_below(r, 2);
    const char *mname = (abbr && (form == 1 || form == 2)) ? month_abbr[m - 1] : month_full[m - 1];
    char ys[AK_SYNTH_TOK_BYTES + 4], ms[AK_SYNTH_TOK_BYTES + 4], ds[AK_SYNTH_TOK_BYTES + 4];
    int32_t iy = 0, im = 0, id = 0; /* source positions of year, month, day */
    snprintf(ys, sizeof ys, "%d", y);
    switch (form) {
    case 0: /* the 3rd of March 1999 */
        snprintf(ds, sizeof ds, "%d%s", d, ordinal_suffix(d));
        src_tok(ex, "the", 0);
        id = ex->n_src, src_tok(ex, ds, 0);
        src_tok(ex, "of", 0);
        im = ex->n_src, src_tok(ex, mname, 0);
        iy = ex->n_src, src_tok(ex, ys, 0);
        break;
    case 1: /* March 3, 1999 */
        snprintf(ds, sizeof ds, "%d", d);
        im = ex->n_src, src_tok(ex, mname, 0);
        id = ex->n_src, src_tok(ex, ds, 0);
        src_tok(ex, ",", 1);
        iy = ex->n_src, src_tok(ex, ys, 0);
        break;
    case 2: /* 3 March 1999 */
        snprintf(ds, sizeof ds, "%d", d);
        id = ex->n_src, src_tok(ex, ds, 0);
        im = ex->n_src, src_tok(ex, mname, 0);
        iy = ex->n_src, src_tok(ex, ys, 0);
        break;
    case 3: /* 03/03/1999, day first */
        snprintf(ds, sizeof ds, "%02d", d);
        snprintf(ms, sizeof ms, "%02d", m);
        id = ex->n_src, src_tok(ex, ds, 0);
        src_tok(ex, "/", 1);
        im = ex->n_src, src_tok(ex, ms, 1);
        src_tok(ex, "/", 1);
        iy = ex->n_src, src_tok(ex, ys, 1);
        break;
    default: /* 3.3.1999, day first */
        snprintf(ds, sizeof ds, "%d", d);
        snprintf(ms, sizeof ms, "%d", m);
        id = ex->n_src, src_tok(ex, ds, 0);
        src_tok(ex, ".", 1);
        im = ex->n_src, src_tok(ex, ms, 1);
        src_tok(ex, ".", 1);
        iy = ex->n_src, src_tok(ex, ys, 1);
        break;
    }
    /* 1999-03-03 -> 1999 - 03 - 03 */
    snprintf(ms, sizeof ms, "%02d", m);
    snprintf(ds, sizeof ds, "%02d", d);
    tgt_tok(ex, ys, 0);
    tgt_tok(ex, "-", 1);
    tgt_tok(ex, ms, 1);
    tgt_tok(ex, "-", 1);
    tgt_tok(ex, ds, 1);
    sure(ex, iy, 0);
    sure(ex, im, 2);
    sure(ex, id, 4);
}

static int link_cmp(const void *a, const void *b)
{
    const ak_gold_link *x = a, *y = b;
    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    return (x->tgt > y->tgt) - (x->tgt < y->tgt);
}

void ak_synth_draw(const ak_synth_opts *o, int split, uint64_t index, ak_synth_example *ex)
{
    /* One Philox stream per example: bits 48.. task, 40..47 split, 0..39 index. */
    uint64_t stream =
        ((uint64_t)o->task << 48) | ((uint64_t)(split & 0xff) << 40) | (index & ((UINT64_C(1) << 40) - 1));
    ak_rng r = ak_rng_make(o->seed, stream);
    ex->n_src = ex->n_tgt = ex->n_sure = ex->n_possible = 0;
    ex->src_text[0] = ex->tgt_text[0] = '\0';
    switch (o->task) {
    case AK_SYNTH_REVERSE:
        gen_reverse(o, &r, ex);
        break;
    case AK_SYNTH_COPY:
        gen_copy(o, &r, ex);
        break;
    case AK_SYNTH_SORT:
        gen_sort(o, &r, ex);
        break;
    default:
        gen_date(&r, ex);
        break;
    }
    qsort(ex->sure, (size_t)ex->n_sure, sizeof ex->sure[0], link_cmp);
    /* possible = sure, plus for sort every (source copy, target copy) pair
     * of a repeated number. */
    if (o->task == AK_SYNTH_SORT) {
        for (int32_t i = 0; i < ex->n_src; i++)
            for (int32_t j = 0; j < ex->n_tgt; j++)
                if (strcmp(ex->src[i], ex->tgt[j]) == 0)
                    ex->possible[ex->n_possible++] = (ak_gold_link){i, j};
    } else {
        memcpy(ex->possible, ex->sure, sizeof ex->sure[0] * (size_t)ex->n_sure);
        ex->n_possible = ex->n_sure;
    }
}

/* ---- writing ---- */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void put_links(FILE *f, const ak_gold_link *l, int32_t n)
{
    for (int32_t k = 0; k < n; k++)
        fprintf(f, "%s%d-%d", k ? " " : "", (int)l[k].src, (int)l[k].tgt);
}

static void put_toks(FILE *f, char (*toks)[AK_SYNTH_TOK_BYTES], int32_t n)
{
    for (int32_t k = 0; k < n; k++)
        fprintf(f, "%s%s", k ? " " : "", toks[k]);
}

static void put_gold_line(FILE *f, ak_synth_example *ex)
{
    fprintf(f, "%s\t%s\t", ex->src_text, ex->tgt_text);
    put_toks(f, ex->src, ex->n_src);
    fputc('\t', f);
    put_toks(f, ex->tgt, ex->n_tgt);
    fputc('\t', f);
    put_links(f, ex->sure, ex->n_sure);
    fputc('\t', f);
    put_links(f, ex->possible, ex->n_possible);
    fputc('\n', f);
}

int ak_synth_write(const ak_synth_opts *o, const char *tsv_path, const char *gold_path, ak_err *err)
{
    if (ak_synth_check(o, err))
        return -1;
    int rc = -1;
    ak_atomic_file tsv = {0}, gold = {0};
    size_t n_train = (size_t)o->n, n_seen = 0, cap_seen = n_train + (size_t)o->probes;
    uint64_t *seen = malloc(sizeof *seen * cap_seen); /* hashes of sources used so far */
    ak_synth_example *ex = malloc(sizeof *ex);
    if (!seen || !ex) {
        ak_errorf(err, "synthetic %s: out of memory for %zu pairs", ak_synth_task_name(o->task), cap_seen);
        goto done;
    }
    if (tsv_path && ak_atomic_open(&tsv, tsv_path, err))
        goto done;
    for (size_t i = 0; i < n_train; i++) {
        ak_synth_draw(o, 0, i, ex);
        if (tsv.fp)
            fprintf(tsv.fp, "%s\t%s\n", ex->src_text, ex->tgt_text);
        seen[n_seen++] = fnv1a(ex->src_text);
    }
    qsort(seen, n_seen, sizeof *seen, u64_cmp);

    if (gold_path && ak_atomic_open(&gold, gold_path, err))
        goto done;
    if (gold.fp)
        fputs("english\tgerman\tenglish_tokens\tgerman_tokens\tsure\tpossible\n", gold.fp);
    /* Probes: skip a draw whose source was seen (in training or as an
     * earlier probe; a 64-bit hash collision only costs one extra draw). */
    size_t n_probes = (size_t)o->probes, got = 0;
    uint64_t limit = 1000 + 100 * (uint64_t)n_probes, k = 0;
    for (; got < n_probes && k < limit; k++) {
        ak_synth_draw(o, 1, k, ex);
        uint64_t h = fnv1a(ex->src_text);
        if (bsearch(&h, seen, n_train, sizeof *seen, u64_cmp))
            continue;
        int dup = 0;
        for (size_t q = n_train; q < n_seen && !dup; q++)
            dup = seen[q] == h;
        if (dup)
            continue;
        seen[n_seen++] = h;
        if (gold.fp)
            put_gold_line(gold.fp, ex);
        got++;
    }
    if (got < n_probes) {
        ak_errorf(err,
                  "--probes: only %zu of %zu probes could be drawn unseen in the %zu training "
                  "pairs after %llu draws; the %s task has too few distinct sources (raise "
                  "--max-len, lower --n or --probes)",
                  got, n_probes, n_train, (unsigned long long)k, ak_synth_task_name(o->task));
        goto done;
    }
    if (tsv.fp && ak_atomic_commit(&tsv, err))
        goto done;
    if (gold.fp && ak_atomic_commit(&gold, err))
        goto done;
    rc = 0;
done:
    ak_atomic_abort(&tsv);
    ak_atomic_abort(&gold);
    free(seen);
    free(ex);
    return rc;
}

/* ---- command line ---- */

static int parse_i64(const char *flag, const char *s, int64_t lo, int64_t hi, int64_t *out, ak_err *err)
{
    char *end = NULL;
    errno = 0;
    int ok = (*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9');
    long long v = ok ? strtoll(s, &end, 10) : 0;
    if (!ok || *end || errno || v < lo || v > hi)
        return ak_errorf(err, "%s: expected an integer in [%lld, %lld], got '%s'", flag, (long long)lo, (long long)hi,
                         s);
    *out = v;
    return 0;
}

static int parse_seed(const char *s, uint64_t *out, ak_err *err)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = 0;
    int ok = *s >= '0' && *s <= '9';
    if (ok)
        v = strtoull(s, &end, 10);
    if (!ok || *end || errno)
        return ak_errorf(err, "--seed: expected an integer in [0, 18446744073709551615], got '%s'", s);
    *out = v;
    return 0;
}

static int parse_p(const char *flag, const char *s, float *out, ak_err *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= 0.0 && v <= 1.0))
        return ak_errorf(err, "%s: expected a probability in [0, 1], got '%s'", flag, s);
    *out = (float)v;
    return 0;
}

int ak_synth_parse_args(int argc, char **argv, ak_synth_opts *o, const char **prefix, int *help, ak_err *err)
{
    *help = 0;
    *prefix = NULL;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            *help = 1;
            return 0;
        }
    if (argc < 2 || argv[1][0] == '-')
        return ak_errorf(err, "TASK: expected one of reverse, copy, sort, date as the first "
                              "argument (see --help)");
    ak_synth_task task = AK_SYNTH_REVERSE;
    if (ak_synth_task_parse(argv[1], &task, err))
        return -1;
    *o = ak_synth_defaults(task);
    int64_t v;
    for (int i = 2; i < argc; i++) {
        const char *f = argv[i];
        static const char *const known[] = {"--out",     "--n",         "--probes",   "--seed",    "--min-len",
                                            "--max-len", "--p-replace", "--p-insert", "--p-filler"};
        int is_known = 0;
        for (size_t q = 0; q < sizeof known / sizeof known[0]; q++)
            is_known |= strcmp(f, known[q]) == 0;
        if (!is_known)
            return ak_errorf(err,
                             "%s: unknown argument, expected an option such as --out, "
                             "--n, --probes, --seed (see --help)",
                             f);
        if (i + 1 >= argc)
            return ak_errorf(err, "%s: expected a value after it", f);
        const char *a = argv[++i];
        if (strcmp(f, "--out") == 0) {
            if (!*a)
                return ak_errorf(err, "--out: expected a non-empty path prefix");
            *prefix = a;
        } else if (strcmp(f, "--n") == 0) {
            if (parse_i64(f, a, 1, AK_SYNTH_MAX_N, &v, err))
                return -1;
            o->n = v;
        } else if (strcmp(f, "--probes") == 0) {
            if (parse_i64(f, a, 1, AK_SYNTH_MAX_PROBES, &v, err))
                return -1;
            o->probes = v;
        } else if (strcmp(f, "--seed") == 0) {
            if (parse_seed(a, &o->seed, err))
                return -1;
        } else if (strcmp(f, "--min-len") == 0 || strcmp(f, "--max-len") == 0) {
            int is_min = strcmp(f, "--min-len") == 0;
            if (task == AK_SYNTH_DATE)
                return ak_errorf(err,
                                 "%s: expected no length for task date (its forms are "
                                 "fixed)",
                                 f);
            if (parse_i64(f, a, 1, AK_SYNTH_MAX_LEN, &v, err))
                return -1;
            if (is_min)
                o->min_len = (int32_t)v;
            else
                o->max_len = (int32_t)v;
        } else {
            if (task != AK_SYNTH_COPY)
                return ak_errorf(err, "%s: expected only with task copy, got task %s", f, argv[1]);
            float *p = strcmp(f, "--p-replace") == 0  ? &o->p_replace
                       : strcmp(f, "--p-insert") == 0 ? &o->p_insert
                                                      : &o->p_filler;
            if (parse_p(f, a, p, err))
                return -1;
        }
    }
    if (!*prefix)
        return ak_errorf(err, "--out: expected an output prefix (required)");
    return ak_synth_check(o, err);
}
