/* bin/infer: translate, summarize, score and evaluate with a checkpoint, and
 * show the attention each output received. Options: ak_infer_usage()
 * (lib/decode/infer_opts.c); the work is in lib/decode. */
#include "core/threads.h"
#include "data/corpus.h"
#include "data/corpus_ids.h"
#include "decode/infer_opts.h"
#include "decode/score.h"
#include "decode/translate.h"
#include "eval/bleu.h"
#include "eval/rouge.h"
#include "viz/ascii.h"
#include "viz/heatmap_image.h"
#include "viz/png.h"
#include "viz/ppm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE 2

static int fail(const char *msg)
{
    fprintf(stderr, "infer: %s\n", msg);
    return EXIT_USAGE;
}

/* ------------------------------------------------------------ translating */

typedef struct session {
    const ak_infer_opts *o;
    ak_translator *t;
    ak_search_cfg cfg;
    int index_images; /* image paths get the input number */
    int glue;
} session;

static int write_image(const char *path, int is_png, const ak_heatmap *hm, const ak_infer_opts *o, ak_err *err)
{
    ak_image_opts io = {.cell = o->cell};
    ak_canvas c = {0};
    if (ak_heatmap_render(hm, &io, &c, NULL, err) != 0)
        return -1;
    int rc = is_png ? ak_png_write(path, &c, err) : ak_ppm_write(path, &c, err);
    ak_canvas_free(&c);
    return rc;
}

/* Attention of hypothesis h of input number `num` (1-based): ASCII under
 * the output and/or image files. */
static int show_attention(session *s, const ak_ids *src, const ak_hyp *h, int num, int best, ak_err *err)
{
    const ak_infer_opts *o = s->o;
    int want_img = best && (o->ppm || o->png);
    if (!o->show_attn && !want_img)
        return 0;
    ak_attn_view v;
    if (ak_translator_attention(s->t, src, h, o->role, o->layer, o->head, &v, err) != 0)
        return -1;
    ak_heatmap hm = ak_attn_view_heatmap(&v);
    int rc = 0;
    if (o->show_attn) {
        ak_ascii_opts ao = {.max_width = o->width ? o->width : ak_ascii_env_columns(100),
                            .color = o->show_attn == AK_SHOW_ANSI};
        rc = ak_ascii_print(stdout, &hm, &ao, err);
        if (rc == 0)
            fputc('\n', stdout);
    }
    const char *files[2] = {o->ppm, o->png};
    for (int k = 0; k < 2 && rc == 0 && want_img; k++) {
        if (!files[k])
            continue;
        char path[4096];
        if (!s->index_images)
            snprintf(path, sizeof path, "%s", files[k]);
        else if (ak_indexed_path(files[k], num, path, sizeof path) != 0) {
            rc = ak_errorf(err, "%s: path too long", files[k]);
            break;
        }
        rc = write_image(path, k == 1, &hm, o, err);
    }
    ak_attn_view_free(&v);
    return rc;
}

/* What happens to a text that cannot be translated. */
enum { BAD_FAILS, BAD_SKIPPED_WITH_EMPTY_LINE, BAD_REPORTED };

/* Translates texts[0..n) (input numbers first_num..): prints each output.
 * A text that cannot be encoded fails the call (BAD_FAILS: arguments), is
 * skipped with a warning and an empty output line so outputs stay aligned
 * (BAD_SKIPPED_WITH_EMPTY_LINE: batch mode), or is just reported
 * (BAD_REPORTED: interactive). Returns 0, or -1 on a failure that should
 * stop the program (message in err). */
static int translate_chunk(session *s, char **texts, size_t n, int first_num, int bad_policy, ak_err *err)
{
    const ak_infer_opts *o = s->o;
    ak_ids *srcs = calloc(n, sizeof *srcs);
    unsigned char *ok = calloc(n ? n : 1, 1);
    ak_ids *good = calloc(n ? n : 1, sizeof *good);
    ak_hyps *hyps = calloc(n, sizeof *hyps);
    int rc = 0;
    size_t ng = 0;
    if (!srcs || !ok || !good || !hyps) {
        rc = ak_errorf(err, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        ak_err e = {{0}};
        if (ak_translator_encode(s->t, texts[i], &srcs[i], &e) == 0) {
            ok[i] = 1;
            good[ng++] = srcs[i];
        } else if (bad_policy == BAD_FAILS) {
            rc = ak_errorf(err, "input %d: %s", first_num + (int)i, e.msg);
            goto out;
        } else if (bad_policy == BAD_REPORTED) {
            fprintf(stderr, "infer: %s\n", e.msg);
        } else {
            fprintf(stderr, "infer: warning: input %d skipped: %s\n", first_num + (int)i, e.msg);
        }
    }
    if (ak_translator_decode(s->t, good, ng, &s->cfg, hyps, err) != 0) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0, g = 0; i < n && rc == 0; i++) {
        if (!ok[i]) {
            for (int k = 0; bad_policy == BAD_SKIPPED_WITH_EMPTY_LINE && k < o->nbest; k++)
                fputc('\n', stdout);
            continue;
        }
        const ak_hyps *hs = &hyps[g++];
        for (int k = 0; k < hs->n && rc == 0; k++) {
            char *text = ak_translator_detok(s->t, &hs->v[k], s->glue, err);
            if (!text) {
                rc = -1;
                break;
            }
            if (o->scores && !o->beam && ak_translator_logprob(s->t, &srcs[i], &hs->v[k], err) != 0) {
                free(text);
                rc = -1;
                break;
            }
            if (o->scores)
                printf("%.6f\t", hs->v[k].score);
            printf("%s\n", text);
            free(text);
            rc = show_attention(s, &srcs[i], &hs->v[k], first_num + (int)i, k == 0, err);
        }
    }
    fflush(stdout);
out:
    for (size_t i = 0; hyps && i < ng; i++)
        ak_hyps_free(&hyps[i]);
    for (size_t i = 0; srcs && i < n; i++)
        ak_ids_free(&srcs[i]);
    free(srcs);
    free(ok);
    free(good);
    free(hyps);
    return rc;
}

/* One line without its end (LF, CRLF); NULL at end of file. */
static char *read_line(FILE *f, char **buf, size_t *cap)
{
    ssize_t n = getline(buf, cap, f);
    if (n < 0)
        return NULL;
    while (n > 0 && ((*buf)[n - 1] == '\n' || (*buf)[n - 1] == '\r'))
        (*buf)[--n] = '\0';
    return *buf;
}

static int run_lines(session *s, FILE *f, int interactive, ak_err *err)
{
    char *buf = NULL;
    size_t cap = 0;
    int num = 0, rc = 0;
    size_t chunk = interactive ? 1 : (size_t)(s->cfg.batch ? s->cfg.batch : 32);
    char **lines = calloc(chunk, sizeof *lines);
    if (!lines)
        return ak_errorf(err, "out of memory");
    size_t n = 0;
    for (;;) {
        if (interactive) {
            fputs("> ", stderr);
            fflush(stderr);
        }
        char *line = read_line(f, &buf, &cap);
        if (line && !(lines[n] = strdup(line))) {
            rc = ak_errorf(err, "out of memory");
            break;
        }
        if (line)
            n++;
        if (n == chunk || (!line && n > 0)) {
            ak_err e = {{0}};
            int r = translate_chunk(s, lines, n, num + 1, interactive ? BAD_REPORTED : BAD_SKIPPED_WITH_EMPTY_LINE, &e);
            num += (int)n;
            for (size_t i = 0; i < n; i++)
                free(lines[i]);
            n = 0;
            if (r != 0) {
                if (!interactive) {
                    rc = ak_errorf(err, "%s", e.msg);
                    break;
                }
                fprintf(stderr, "infer: %s\n", e.msg);
            }
        }
        if (!line)
            break;
    }
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    free(buf);
    if (interactive)
        fputc('\n', stderr);
    return rc;
}

static int cmd_translate(const ak_infer_opts *o, ak_translator *t)
{
    ak_err err = {{0}};
    session s = {
        .o = o,
        .t = t,
        .cfg = {.beam = o->beam, .nbest = o->nbest, .max_len = o->max_len, .alpha = o->alpha, .batch = o->batch}};
    if (ak_translator_need_text(t, &err) != 0 || ak_search_cfg_check(t, &s.cfg, &err) != 0)
        return fail(err.msg);
    /* A --layer/--head that names nothing is an error even when no map is
       drawn: the user meant something that cannot happen. */
    if ((o->show_attn || o->ppm || o->png || o->layer >= 0 || o->head >= 0) &&
        ak_attn_choice_check(ak_model_get_desc(t->model), o->role, o->layer, o->head, &err) != 0)
        return fail(err.msg);
    s.index_images = o->n_texts != 1;
    s.glue = o->detok >= 0 ? o->detok : ak_translator_glue(t);
    if (o->n_texts)
        return translate_chunk(&s, (char **)o->texts, (size_t)o->n_texts, 1, BAD_FAILS, &err) == 0 ? 0 : fail(err.msg);
    FILE *f = stdin;
    int interactive = 0;
    if (o->input) {
        f = fopen(o->input, "r");
        if (!f) {
            ak_errorf(&err, "%s: cannot open: %s", o->input, strerror(errno));
            return fail(err.msg);
        }
    } else {
        interactive = isatty(fileno(stdin));
    }
    int rc = run_lines(&s, f, interactive, &err);
    if (f != stdin)
        fclose(f);
    return rc == 0 ? 0 : fail(err.msg);
}

/* --------------------------------------------------------------- scoring */

/* ak_encode_fn over the checkpoint's tokenizers. */
static int64_t encode_side(void *user, int side, const char *text, int32_t *out, size_t cap, ak_err *err)
{
    const ak_translator *t = user;
    ak_ids ids = {0};
    if (ak_tokenizer_encode(side == AK_SIDE_SRC ? t->src_tok : t->tgt_tok, text, &ids, err) != 0)
        return -1;
    if (ids.n <= cap && ids.n)
        memcpy(out, ids.v, sizeof(int32_t) * ids.n);
    int64_t n = (int64_t)ids.n;
    ak_ids_free(&ids);
    return n;
}

static int cmd_score(const ak_infer_opts *o, ak_translator *t)
{
    ak_err err = {{0}};
    ak_corpus corpus = {0};
    ak_idcorpus ids = AK_IDCORPUS_INIT;
    const ak_model_desc *d = ak_model_get_desc(t->model);
    int text = o->mode == AK_INFER_SCORE;
    if (text) {
        if (ak_translator_need_text(t, &err) != 0 || ak_corpus_read(&corpus, o->data, AK_MALFORMED_FAIL, &err) != 0 ||
            ak_idcorpus_encode(&ids, &corpus, NULL, 0, encode_side, t, &err) != 0) {
            ak_corpus_free(&corpus);
            ak_idcorpus_free(&ids);
            return fail(err.msg);
        }
    } else if (ak_idcorpus_read(&ids, o->data, (int32_t)d->src_vocab, (int32_t)d->tgt_vocab, &err) != 0) {
        ak_idcorpus_free(&ids);
        return fail(err.msg);
    }
    size_t *keep = malloc(sizeof(size_t) * (ids.n ? ids.n : 1)), nk = 0;
    double *nll = malloc(sizeof(double) * (ids.n ? ids.n : 1));
    int64_t *ntok = malloc(sizeof(int64_t) * (ids.n ? ids.n : 1));
    int rc = 0;
    if (!keep || !nll || !ntok) {
        rc = fail("out of memory");
        goto out;
    }
    for (size_t i = 0; i < ids.n; i++) {
        ak_err e = {{0}};
        if (ak_score_check(d, ids.pairs[i].ns, ids.pairs[i].nt, &e) == 0)
            keep[nk++] = i;
        else if (text)
            fprintf(stderr, "infer: warning: %s:%zu skipped: %s\n", o->data, corpus.pairs[i].line, e.msg);
        else
            fprintf(stderr, "infer: warning: %s: pair %zu skipped: %s\n", o->data, i + 1, e.msg);
    }
    if (nk == 0) {
        ak_errorf(&err, "%s: no pair to score", o->data);
        rc = fail(err.msg);
        goto out;
    }
    double total;
    int64_t toks;
    if (ak_score_pairs(&t->ctx, t->model, &ids, keep, nk, 0, nll, ntok, &total, &toks, &err) != 0) {
        rc = fail(err.msg);
        goto out;
    }
    if (o->verbose)
        for (size_t k = 0; k < nk; k++) {
            if (text)
                printf("line=%zu", corpus.pairs[keep[k]].line);
            else
                printf("pair=%zu", keep[k] + 1);
            printf(" tokens=%lld nll=%.6f nll_per_token=%.6f\n", (long long)ntok[k], nll[k], nll[k] / (double)ntok[k]);
        }
    double mean = total / (double)toks;
    printf("mean_nll_per_token=%.6f pairs=%zu tokens=%lld ppl=%.4f skipped=%zu\n", mean, nk, (long long)toks, exp(mean),
           ids.n - nk);
out:
    free(keep);
    free(nll);
    free(ntok);
    ak_idcorpus_free(&ids);
    ak_corpus_free(&corpus);
    return rc;
}

/* ------------------------------------------------------------ evaluation */

static int cmd_eval(const ak_infer_opts *o, ak_translator *t)
{
    ak_err err = {{0}};
    ak_search_cfg cfg = {.beam = o->beam, .nbest = 1, .max_len = o->max_len, .alpha = o->alpha, .batch = o->batch};
    if (ak_translator_need_text(t, &err) != 0 || ak_search_cfg_check(t, &cfg, &err) != 0)
        return fail(err.msg);
    const char *metric = o->metric ? o->metric : ak_translator_metric_hint(t);
    if (!metric) {
        fprintf(stderr, "infer: the checkpoint does not say which metric its run used: BLEU (--metric rouge "
                        "for summarization)\n");
        metric = "bleu";
    }
    ak_corpus corpus = {0};
    if (ak_corpus_read(&corpus, o->data, AK_MALFORMED_FAIL, &err) != 0)
        return fail(err.msg);
    size_t n = corpus.n;
    if (n == 0) {
        ak_errorf(&err, "%s: no pair to evaluate", o->data);
        ak_corpus_free(&corpus);
        return fail(err.msg);
    }
    int64_t max = o->max_len ? o->max_len : ak_translator_default_max_len(t);
    int glue = o->detok >= 0 ? o->detok : ak_translator_glue(t);
    ak_ids *srcs = calloc(n, sizeof *srcs);
    ak_hyps *hyps = calloc(n, sizeof *hyps);
    char **hyp_text = calloc(n, sizeof *hyp_text);
    char **refs = calloc(n, sizeof *refs);
    size_t cut = 0, empty = 0;
    int rc = 0, decoded = 0;
    FILE *hf = NULL;
    if (!srcs || !hyps || !hyp_text || !refs) {
        rc = fail("out of memory");
        goto out;
    }
    /* As the twin: sources cut to the maximum length, an empty one is [UNK];
     * sources and references lower-cased when the run did. */
    for (size_t i = 0; i < n; i++) {
        char *src = NULL;
        int bad = !(refs[i] = ak_translator_normalize(t, corpus.pairs[i].tgt, &err)) ||
                  !(src = ak_translator_normalize(t, corpus.pairs[i].src, &err)) ||
                  ak_tokenizer_encode(t->src_tok, src, &srcs[i], &err) != 0;
        free(src);
        if (bad) {
            ak_err_prefix(&err, "%s:%zu", o->data, corpus.pairs[i].line);
            rc = fail(err.msg);
            goto out;
        }
        if ((int64_t)srcs[i].n > max) {
            srcs[i].n = (size_t)max;
            cut++;
        }
        if (srcs[i].n == 0) {
            empty++;
            if (ak_ids_push(&srcs[i], AK_UNK, &err) != 0) {
                rc = fail(err.msg);
                goto out;
            }
        }
    }
    if (cut || empty)
        fprintf(stderr, "infer: warning: %zu sources cut to %lld tokens, %zu empty sources decoded as <unk>\n", cut,
                (long long)max, empty);
    if (ak_translator_decode(t, srcs, n, &cfg, hyps, &err) != 0) {
        rc = fail(err.msg);
        goto out;
    }
    decoded = 1;
    for (size_t i = 0; i < n; i++)
        if (!(hyp_text[i] = ak_translator_detok(t, &hyps[i].v[0], glue, &err))) {
            rc = fail(err.msg);
            goto out;
        }
    if (o->hyp_out) {
        hf = fopen(o->hyp_out, "w");
        if (!hf) {
            ak_errorf(&err, "%s: cannot create: %s", o->hyp_out, strerror(errno));
            rc = fail(err.msg);
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            fprintf(hf, "%s\n", hyp_text[i]);
        if (fclose(hf) != 0) {
            hf = NULL;
            ak_errorf(&err, "%s: write failed: %s", o->hyp_out, strerror(errno));
            rc = fail(err.msg);
            goto out;
        }
        hf = NULL;
    }
    if (!strcmp(metric, "bleu")) {
        ak_bleu b;
        if (ak_bleu13a((const char *const *)hyp_text, (const char *const *)refs, n, &b, &err) != 0) {
            rc = fail(err.msg);
            goto out;
        }
        printf("BLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %lld ref_len = %lld) pairs = %zu\n",
               b.score, b.precisions[0], b.precisions[1], b.precisions[2], b.precisions[3], b.bp, b.ratio,
               (long long)b.sys_len, (long long)b.ref_len, n);
    } else {
        ak_rouge_scores r;
        if (ak_rouge((const char *const *)hyp_text, (const char *const *)refs, n, &r, &err) != 0) {
            rc = fail(err.msg);
            goto out;
        }
        printf("ROUGE-1 = %.2f ROUGE-2 = %.2f ROUGE-L = %.2f (F1 x 100, mean over %zu pairs)\n", r.r1.f, r.r2.f, r.rl.f,
               r.n);
    }
out:
    if (hf)
        fclose(hf);
    for (size_t i = 0; i < n; i++) {
        if (srcs)
            ak_ids_free(&srcs[i]);
        if (hyps && decoded)
            ak_hyps_free(&hyps[i]);
        if (hyp_text)
            free(hyp_text[i]);
        if (refs)
            free(refs[i]);
    }
    free(srcs);
    free(hyps);
    free(hyp_text);
    free(refs);
    ak_corpus_free(&corpus);
    return rc;
}

int main(int argc, char **argv)
{
    ak_infer_opts o;
    ak_err err = {{0}};
    int p = ak_infer_parse(argc, argv, &o, &err);
    if (p != 0) {
        ak_infer_opts_free(&o);
        if (p == 1) {
            ak_infer_usage(stdout);
            return 0;
        }
        return fail(err.msg);
    }
    if (o.threads)
        ak_set_threads(o.threads);
    ak_translator t;
    if (ak_translator_open(&t, o.ckpt, &err) != 0) {
        ak_infer_opts_free(&o);
        return fail(err.msg);
    }
    if (t.cfg_note[0])
        fprintf(stderr, "infer: warning: %s\n", t.cfg_note);
    int rc;
    switch (o.mode) {
    case AK_INFER_SCORE:
    case AK_INFER_SCORE_IDS:
        rc = cmd_score(&o, &t);
        break;
    case AK_INFER_EVAL:
        rc = cmd_eval(&o, &t);
        break;
    default:
        rc = cmd_translate(&o, &t);
        break;
    }
    ak_translator_close(&t);
    ak_infer_opts_free(&o);
    return rc;
}
