/* BPE learning, a transcription of the twin's BPEVocab.__init__ (shared/peer/torch_train.py) with the
 * same lazy heap: entries (count, pair) popped by (count desc, left asc, right asc); an entry whose count
 * differs from the pair's current count is stale and skipped.  Every pair with a positive count always
 * has an entry with its current count in the heap (pushed whenever the count changes), so the sequence of
 * merges depends only on counts and strings, never on heap layout or word order.  "where" lists are
 * append-only supersets (a word whose merge changes nothing is skipped, as in the twin). */
#include <stdlib.h>
#include <string.h>

#include "text/bpe.h"
#include "text/pairmap.h"
#include "text/pretok.h"
#include "text/strtab.h"

typedef struct ivec {
    int32_t *v;
    size_t n, cap;
} ivec;

typedef struct hent {
    int64_t count;
    int32_t a, b; /* symbol ids */
} hent;

typedef struct learner {
    ak_strtab *sym;
    int64_t *symcount; /* initial symbols only */
    size_t symcap;
    /* words: symbols seq[off[i] .. off[i] + len[i]), count cnt[i] */
    int32_t *seq;
    size_t *off, *len;
    int64_t *cnt;
    size_t nw;
    /* pairs */
    ak_pairmap pm;
    int32_t *pa, *pb;
    int64_t *pc;
    ivec *where;
    uint32_t *stamp;
    size_t pcap;
    /* heap */
    hent *heap;
    size_t hn, hcap;
    /* merge log */
    int32_t *ml, *mr;
    size_t mn, mcap;
} learner;

static int ivec_push(ivec *v, int32_t x)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 4;
        int32_t *p = realloc(v->v, cap * sizeof *p);
        if (!p)
            return -1;
        v->v = p, v->cap = cap;
    }
    v->v[v->n++] = x;
    return 0;
}

static void learner_free(learner *L)
{
    ak_strtab_free(L->sym);
    free(L->symcount);
    free(L->seq);
    free(L->off);
    free(L->len);
    free(L->cnt);
    for (size_t i = 0; i < L->pm.n && L->where; i++)
        free(L->where[i].v);
    free(L->where);
    ak_pairmap_free(&L->pm); /* after the loop above, which reads pm.n */
    free(L->pa);
    free(L->pb);
    free(L->pc);
    free(L->stamp);
    free(L->heap);
    free(L->ml);
    free(L->mr);
}

static const char *str(const learner *L, int32_t id)
{
    return ak_strtab_str(L->sym, id);
}

/* Heap order: x before y when (-x.count, x.a, x.b) < (-y.count, y.a, y.b) in Python tuple order. */
static int before(const learner *L, const hent *x, const hent *y)
{
    if (x->count != y->count)
        return x->count > y->count;
    int c = strcmp(str(L, x->a), str(L, y->a));
    if (c)
        return c < 0;
    return strcmp(str(L, x->b), str(L, y->b)) < 0;
}

static int heap_push(learner *L, int64_t count, int32_t a, int32_t b)
{
    if (L->hn == L->hcap) {
        size_t cap = L->hcap ? 2 * L->hcap : 1024;
        hent *p = realloc(L->heap, cap * sizeof *p);
        if (!p)
            return -1;
        L->heap = p, L->hcap = cap;
    }
    size_t i = L->hn++;
    hent e = {count, a, b};
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!before(L, &e, &L->heap[up]))
            break;
        L->heap[i] = L->heap[up];
        i = up;
    }
    L->heap[i] = e;
    return 0;
}

static hent heap_pop(learner *L)
{
    hent top = L->heap[0], e = L->heap[--L->hn];
    size_t i = 0, n = L->hn;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(L, &L->heap[c + 1], &L->heap[c]))
            c++;
        if (!before(L, &L->heap[c], &e))
            break;
        L->heap[i] = L->heap[c];
        i = c;
    }
    if (n)
        L->heap[i] = e;
    return top;
}

/* Index of pair (a, b), created with count 0 when new; -1 when out of memory. */
static int32_t pair_intern(learner *L, int32_t a, int32_t b)
{
    if (L->pm.n == L->pcap) { /* room for a new pair before interning */
        size_t cap = L->pcap ? 2 * L->pcap : 4096;
        int32_t *pa = realloc(L->pa, cap * sizeof *pa);
        if (pa)
            L->pa = pa;
        int32_t *pb = realloc(L->pb, cap * sizeof *pb);
        if (pb)
            L->pb = pb;
        int64_t *pc = realloc(L->pc, cap * sizeof *pc);
        if (pc)
            L->pc = pc;
        ivec *w = realloc(L->where, cap * sizeof *w);
        if (w)
            L->where = w;
        uint32_t *st = realloc(L->stamp, cap * sizeof *st);
        if (st)
            L->stamp = st;
        if (!pa || !pb || !pc || !w || !st)
            return -1;
        L->pcap = cap;
    }
    int added;
    int32_t p = ak_pairmap_intern(&L->pm, (uint32_t)a, (uint32_t)b, &added);
    if (p >= 0 && added) {
        L->pa[p] = a, L->pb[p] = b, L->pc[p] = 0, L->stamp[p] = 0;
        L->where[p] = (ivec){0};
    }
    return p;
}

static int add_to_pair(learner *L, int32_t a, int32_t b, int64_t k, int32_t word)
{
    int32_t p = pair_intern(L, a, b);
    if (p < 0)
        return -1;
    L->pc[p] += k;
    ivec *w = &L->where[p];
    if (k > 0 && (w->n == 0 || w->v[w->n - 1] != word) && ivec_push(w, word) < 0)
        return -1;
    return p;
}

/* Loads the words: symbols with "</w>" on the last one, symbol counts, pair counts. */
static int load_words(learner *L, const ak_counter *words, ak_err *err)
{
    size_t nw = ak_counter_size(words), total = 0;
    for (size_t i = 0; i < nw; i++)
        total += ak_counter_len(words, i); /* >= code points */
    L->nw = nw;
    L->seq = malloc((total ? total : 1) * sizeof *L->seq);
    L->off = malloc((nw ? nw : 1) * sizeof *L->off);
    L->len = malloc((nw ? nw : 1) * sizeof *L->len);
    L->cnt = malloc((nw ? nw : 1) * sizeof *L->cnt);
    if (!L->seq || !L->off || !L->len || !L->cnt)
        return ak_errorf(err, "bpe: out of memory for %zu words", nw);
    ak_spans sp = {0};
    char *tmp = NULL;
    size_t tmpcap = 0, at = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < nw; i++) {
        const char *w = ak_counter_str(words, i);
        size_t wl = ak_counter_len(words, i);
        int64_t n = ak_counter_count(words, i);
        sp.n = 0;
        if (wl == 0) {
            rc = ak_errorf(err, "bpe: empty word");
            break;
        }
        if (ak_pretok_chars(w, wl, &sp, err) < 0) {
            rc = ak_err_prefix(err, "bpe: word %zu", i);
            break;
        }
        L->off[i] = at, L->len[i] = sp.n, L->cnt[i] = n;
        for (size_t k = 0; k < sp.n; k++) {
            size_t l = sp.v[k].len, need = l + AK_BPE_EOW_LEN;
            if (need > tmpcap) {
                char *p = realloc(tmp, need);
                if (!p) {
                    rc = ak_errorf(err, "bpe: out of memory");
                    break;
                }
                tmp = p, tmpcap = need;
            }
            memcpy(tmp, w + sp.v[k].off, l);
            if (k + 1 == sp.n) {
                memcpy(tmp + l, AK_BPE_EOW, AK_BPE_EOW_LEN);
                l += AK_BPE_EOW_LEN;
            }
            if (ak_strtab_size(L->sym) == L->symcap) {
                size_t cap = L->symcap ? 2 * L->symcap : 1024;
                int64_t *p = realloc(L->symcount, cap * sizeof *p);
                if (!p) {
                    rc = ak_errorf(err, "bpe: out of memory");
                    break;
                }
                L->symcount = p, L->symcap = cap;
            }
            int added;
            int64_t s = ak_strtab_intern(L->sym, tmp, l, &added, err);
            if (s < 0) {
                rc = -1;
                break;
            }
            if (added)
                L->symcount[s] = 0;
            L->symcount[s] += n;
            L->seq[at++] = (int32_t)s;
        }
        for (size_t k = 0; rc == 0 && k + 1 < L->len[i]; k++) {
            const int32_t *s = L->seq + L->off[i];
            if (add_to_pair(L, s[k], s[k + 1], n, (int32_t)i) < 0)
                rc = ak_errorf(err, "bpe: out of memory counting pairs");
        }
    }
    free(tmp);
    ak_spans_free(&sp);
    return rc;
}

typedef struct sym_entry {
    int64_t count;
    const char *s;
} sym_entry;

static int cmp_sym(const void *pa, const void *pb)
{
    const sym_entry *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->s, b->s);
}

/* Merges pair p in every word that has it, updating counts, where-lists and the heap.  scratch has room
 * for the longest word.  Returns 0 or -1 (out of memory). */
static int apply_merge(learner *L, int32_t p, int32_t newsym, int32_t *scratch, ivec *touched, uint32_t epoch)
{
    int32_t a = L->pa[p], b = L->pb[p];
    touched->n = 0;
    for (size_t t = 0; t < L->where[p].n; t++) {
        int32_t wi = L->where[p].v[t];
        int32_t *s = L->seq + L->off[wi];
        size_t m = L->len[wi], o = 0;
        int64_t n = L->cnt[wi];
        for (size_t j = 0; j < m;) {
            if (j + 1 < m && s[j] == a && s[j + 1] == b) {
                scratch[o++] = newsym;
                j += 2;
            } else {
                scratch[o++] = s[j++];
            }
        }
        if (o == m)
            continue;
        for (size_t j = 0; j + 1 < m; j++) {
            int32_t q = ak_pairmap_find(&L->pm, (uint32_t)s[j], (uint32_t)s[j + 1]);
            L->pc[q] -= n;
            if (L->stamp[q] != epoch) {
                L->stamp[q] = epoch;
                if (ivec_push(touched, q) < 0)
                    return -1;
            }
        }
        for (size_t j = 0; j + 1 < o; j++) {
            int32_t q = add_to_pair(L, scratch[j], scratch[j + 1], n, wi);
            if (q < 0)
                return -1;
            if (L->stamp[q] != epoch) {
                L->stamp[q] = epoch;
                if (ivec_push(touched, q) < 0)
                    return -1;
            }
        }
        memcpy(s, scratch, o * sizeof *s);
        L->len[wi] = o;
    }
    L->pc[p] = 0; /* stats.pop(p) */
    free(L->where[p].v);
    L->where[p] = (ivec){0};
    for (size_t t = 0; t < touched->n; t++) {
        int32_t q = touched->v[t];
        if (q != p && L->pc[q] > 0 && heap_push(L, L->pc[q], L->pa[q], L->pb[q]) < 0)
            return -1;
    }
    return 0;
}

static int log_merge(learner *L, int32_t a, int32_t b)
{
    if (L->mn == L->mcap) {
        size_t cap = L->mcap ? 2 * L->mcap : 1024;
        int32_t *l = realloc(L->ml, cap * sizeof *l);
        if (l)
            L->ml = l;
        int32_t *r = realloc(L->mr, cap * sizeof *r);
        if (r)
            L->mr = r;
        if (!l || !r)
            return -1;
        L->mcap = cap;
    }
    L->ml[L->mn] = a, L->mr[L->mn] = b;
    L->mn++;
    return 0;
}

/* The merge loop.  itos: vocabulary so far (symbol ids after the specials), extended in place. */
static int learn(learner *L, size_t vocab_size, int64_t min_count, ivec *itos, ak_err *err)
{
    size_t maxlen = 0;
    for (size_t i = 0; i < L->nw; i++)
        maxlen = L->len[i] > maxlen ? L->len[i] : maxlen;
    int32_t *scratch = malloc((maxlen ? maxlen : 1) * sizeof *scratch);
    ivec touched = {0};
    /* known: symbol ids already in the vocabulary (bit per symbol id, grown with the table). */
    unsigned char *known = NULL;
    size_t kcap = 0;
    char *cat = NULL;
    size_t catcap = 0;
    int rc = scratch ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < itos->n; i++) {
        size_t need = (size_t)itos->v[i] + 1;
        if (need > kcap) {
            size_t cap = 2 * need;
            unsigned char *k = realloc(known, cap);
            if (!k) {
                rc = -1;
                break;
            }
            memset(k + kcap, 0, cap - kcap);
            known = k, kcap = cap;
        }
        known[itos->v[i]] = 1;
    }
    for (size_t q = 0; rc == 0 && q < L->pm.n; q++)
        if (L->pc[q] > 0)
            rc = heap_push(L, L->pc[q], L->pa[q], L->pb[q]);
    uint32_t epoch = 0;
    while (rc == 0 && AK_NSPECIAL + itos->n < vocab_size && L->hn > 0) {
        hent e = heap_pop(L);
        int32_t p = ak_pairmap_find(&L->pm, (uint32_t)e.a, (uint32_t)e.b);
        if (p < 0 || L->pc[p] != e.count || e.count <= 0)
            continue; /* stale */
        if (e.count < min_count)
            break;
        const char *sa = str(L, e.a), *sb = str(L, e.b);
        size_t la = strlen(sa), lb = strlen(sb);
        if (la + lb + 1 > catcap) {
            char *c = realloc(cat, 2 * (la + lb + 1));
            if (!c) {
                rc = -1;
                break;
            }
            cat = c, catcap = 2 * (la + lb + 1);
        }
        memcpy(cat, sa, la);
        memcpy(cat + la, sb, lb);
        int64_t ns = ak_strtab_intern(L->sym, cat, la + lb, NULL, err);
        if (ns < 0 || ns >= INT32_MAX || log_merge(L, e.a, e.b) < 0) {
            rc = -1;
            break;
        }
        if ((size_t)ns >= kcap) {
            size_t cap = 2 * ((size_t)ns + 1);
            unsigned char *k = realloc(known, cap);
            if (!k) {
                rc = -1;
                break;
            }
            memset(k + kcap, 0, cap - kcap);
            known = k, kcap = cap;
        }
        if (!known[ns]) {
            known[ns] = 1;
            if (ivec_push(itos, (int32_t)ns) < 0) {
                rc = -1;
                break;
            }
        }
        /* cppcheck-suppress knownConditionTrueFalse ; wraps after 2^32 merges */
        if (++epoch == 0) { /* wrapped: reset the stamps */
            memset(L->stamp, 0, L->pm.n * sizeof *L->stamp);
            epoch = 1;
        }
        rc = apply_merge(L, p, (int32_t)ns, scratch, &touched, epoch);
    }
    free(scratch);
    free(touched.v);
    free(known);
    free(cat);
    return rc < 0 ? ak_errorf(err, "bpe: out of memory while learning merges") : 0;
}

int ak_bpe_learn(const ak_counter *words, size_t vocab_size, int64_t min_count, ak_bpe **bpe_out, ak_vocab **vocab_out,
                 ak_err *err)
{
    *bpe_out = NULL;
    *vocab_out = NULL;
    learner L = {0};
    ivec itos = {0};
    sym_entry *se = NULL;
    const char **names = NULL, **left = NULL, **right = NULL;
    int rc = (L.sym = ak_strtab_new()) ? 0 : ak_errorf(err, "bpe: out of memory");
    if (rc == 0)
        rc = load_words(&L, words, err);
    size_t nsym = rc == 0 ? ak_strtab_size(L.sym) : 0, k = 0;
    if (rc == 0 && !(se = malloc((nsym ? nsym : 1) * sizeof *se)))
        rc = ak_errorf(err, "bpe: out of memory");
    for (size_t s = 0; rc == 0 && s < nsym; s++)
        if (L.symcount[s] >= min_count)
            se[k++] = (sym_entry){L.symcount[s], str(&L, (int32_t)s)};
    if (rc == 0) {
        qsort(se, k, sizeof *se, cmp_sym);
        for (size_t i = 0; rc == 0 && i < k; i++)
            if (ivec_push(&itos, (int32_t)ak_strtab_find(L.sym, se[i].s, strlen(se[i].s))) < 0)
                rc = ak_errorf(err, "bpe: out of memory");
    }
    if (rc == 0)
        rc = learn(&L, vocab_size, min_count, &itos, err);
    if (rc == 0) {
        names = malloc((AK_NSPECIAL + itos.n) * sizeof *names);
        left = malloc((L.mn ? L.mn : 1) * sizeof *left);
        right = malloc((L.mn ? L.mn : 1) * sizeof *right);
        if (!names || !left || !right)
            rc = ak_errorf(err, "bpe: out of memory");
    }
    if (rc == 0) {
        for (size_t i = 0; i < AK_NSPECIAL; i++)
            names[i] = ak_vocab_specials[i];
        for (size_t i = 0; i < itos.n; i++)
            names[AK_NSPECIAL + i] = str(&L, itos.v[i]);
        for (size_t i = 0; i < L.mn; i++)
            left[i] = str(&L, L.ml[i]), right[i] = str(&L, L.mr[i]);
        rc = ak_vocab_from_list(names, AK_NSPECIAL + itos.n, vocab_out, err);
    }
    if (rc == 0 && ak_bpe_from_merges(left, right, L.mn, bpe_out, err) < 0) {
        ak_vocab_free(*vocab_out);
        *vocab_out = NULL;
        rc = -1;
    }
    free(names);
    free(left);
    free(right);
    free(se);
    free(itos.v);
    learner_free(&L);
    return rc;
}
