/* The training run (trainer.h): set-up, the epoch loop, checkpoints. */
#include "train/trainer.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/threads.h"
#include "data/batch.h"
#include "io/checkpoint.h"
#include "io/ckpt_tokenizer.h"
#include "train/evaluate.h"
#include "train/interrupt.h"
#include "train/probe.h"
#include "train/run_dir.h"
#include "train/run_state.h"
#include "train/train_config.h"
#include "train/train_data.h"

#define PATH_BYTES 4400
#define DIVERGED_STEPS 50 /* consecutive non-finite steps that end the run */

typedef struct trainer {
    const ak_train_opts *o;
    ak_train_config conf;
    ak_train_cfg *cfg;
    char run_dir[4096];
    char *config_text;
    ak_train_data data;
    ak_model *model;
    ak_optim optim;
    int optim_ok;
    ak_sched sched;
    ak_batcher batcher;
    ak_batch_plan plan;
    ak_probes probes;
    ak_ctx ctx;
    int ctx_ok;
    ak_run_state st;
    ak_progress prog;
    double t_session, elapsed0;
    int64_t step0;     /* st.step when this session started */
    int64_t bad_run;   /* consecutive non-finite steps */
    int sel;
    ak_container *resume_ckpt;
    const volatile sig_atomic_t *stop; /* the Ctrl-C flag, or a zero that never changes */
    char resume_path[PATH_BYTES];
} trainer;

/* ------------------------------------------------------------------ set-up */

static int path_in(char *buf, size_t n, const char *dir, const char *name)
{
    int k = snprintf(buf, n, "%s/%s", dir, name);
    return k > 0 && (size_t)k < n ? 0 : -1;
}

/* runs/<config file name without directory and extension> */
static void default_run_dir(const char *config, char *buf, size_t n)
{
    const char *b = strrchr(config, '/');
    b = b ? b + 1 : config;
    size_t len = strlen(b);
    const char *dot = strrchr(b, '.');
    if (dot && dot != b)
        len = (size_t)(dot - b);
    snprintf(buf, n, "runs/%.*s", (int)len, b);
}

static int open_resume(trainer *T, char *run_dir_from, size_t n, ak_err *err)
{
    if (ak_ckpt_locate(T->o->resume, T->resume_path, sizeof T->resume_path, run_dir_from, n, err) != 0)
        return -1;
    if (!(T->resume_ckpt = ak_ckpt_open(T->resume_path, err)))
        return ak_err_prefix(err, "--resume");
    if (ak_run_state_get(T->resume_ckpt, &T->st, err) != 0)
        return ak_err_prefix(err, "--resume %s", T->resume_path);
    const char *text;
    ak_train_cfg theirs;
    if (ak_container_get_str(T->resume_ckpt, "run/config", &text, NULL, err) != 0 ||
        ak_train_cfg_parse_text(&theirs, T->resume_path, text, err) != 0)
        return ak_err_prefix(err, "--resume");
    const char *section, *key = ak_train_cfg_resume_diff(T->cfg, &theirs, &section);
    if (key) {
        char where[AK_CFG_STR_MAX + 64], mine[AK_CFG_STR_MAX + 8], old[AK_CFG_STR_MAX + 8];
        ak_train_config_where(&T->conf, section, key, where, sizeof where);
        ak_train_cfg_value_text(T->cfg, section, key, mine, sizeof mine);
        ak_train_cfg_value_text(&theirs, section, key, old, sizeof old);
        return ak_errorf(err,
                         "%s: key '%s' in [%s] is %s, but the checkpoint %s was trained with %s; resume with the "
                         "run's configuration (RUN_DIR/config.ini)",
                         where, key, section, mine, T->resume_path, old);
    }
    return 0;
}

static int check_fresh_run_dir(const char *run_dir, ak_err *err)
{
    int64_t *ep;
    size_t n;
    char p[PATH_BYTES];
    if (ak_ckpt_list(run_dir, &ep, &n, err) != 0)
        return -1;
    free(ep);
    struct stat st;
    snprintf(p, sizeof p, "%s/ckpt/interrupted.ckpt", run_dir);
    if (n || stat(p, &st) == 0)
        return ak_errorf(err, "%s already holds a run (checkpoints in %s/ckpt); continue it with --resume %s or "
                              "choose another --run-dir",
                         run_dir, run_dir, run_dir);
    return 0;
}

static int save_tokenizers(trainer *T, ak_err *err)
{
    char v[PATH_BYTES], m[PATH_BYTES];
    const ak_tokenizer *tk[2] = {T->data.src_tok, T->data.tgt_tok};
    const char *side[2] = {"src", "tgt"};
    for (int i = 0; i < 2; i++) {
        snprintf(v, sizeof v, "%s/vocab.%s", T->run_dir, side[i]);
        snprintf(m, sizeof m, "%s/merges.%s", T->run_dir, side[i]);
        if (ak_tokenizer_save(tk[i], v, m, err) != 0)
            return -1;
    }
    return 0;
}

/* Resuming from an older checkpoint abandons what came after it: epoch
 * checkpoints from the resumed epoch on and a later interrupted.ckpt are
 * removed (else pruning and a later --resume DIR would pick them up), and
 * best.ckpt is pointed back at the resumed state's best epoch when its
 * checkpoint is still there. */
static int drop_abandoned(trainer *T, ak_err *err)
{
    char p[PATH_BYTES];
    int64_t *ep;
    size_t n;
    if (ak_ckpt_list(T->run_dir, &ep, &n, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (ep[i] < T->st.epoch)
            continue;
        ak_ckpt_epoch_path(p, sizeof p, T->run_dir, ep[i]);
        struct stat a, b;
        if (stat(p, &a) == 0 && stat(T->resume_path, &b) == 0 && a.st_ino == b.st_ino)
            continue; /* cannot happen for a consistent run; never remove what we resume from */
        ak_logf(&T->prog, "removing %s (after the resumed checkpoint)", p);
        if (unlink(p) != 0 && errno != ENOENT)
            rc = ak_errorf(err, "%s: cannot remove: %s", p, strerror(errno));
    }
    free(ep);
    path_in(p, sizeof p, T->run_dir, "ckpt/interrupted.ckpt");
    struct stat a, b;
    if (!rc && stat(p, &a) == 0 && (stat(T->resume_path, &b) != 0 || a.st_ino != b.st_ino)) {
        ak_logf(&T->prog, "removing %s (after the resumed checkpoint)", p);
        if (unlink(p) != 0)
            rc = ak_errorf(err, "%s: cannot remove: %s", p, strerror(errno));
    }
    if (!rc && T->st.best_epoch > 0) {
        ak_ckpt_epoch_path(p, sizeof p, T->run_dir, T->st.best_epoch);
        if (stat(p, &a) == 0)
            rc = ak_ckpt_set_best(T->run_dir, p, err);
    }
    return rc ? -1 : 0;
}

static const char *metrics_header(const ak_train_cfg *c)
{
    return c->metric == AK_TC_METRIC_ROUGE
               ? "epoch\tstep\tlr\ttrain_loss\tvalid_loss\tvalid_nll\tvalid_ppl\tbleu\trouge1\trouge2\trougeL\thyp_len\t"
                 "tok_per_s\tepoch_s\ttrain_s\teval_s\telapsed_s"
               : "epoch\tstep\tlr\ttrain_loss\tvalid_loss\tvalid_nll\tvalid_ppl\tbleu\thyp_len\ttok_per_s\tepoch_s\t"
                 "train_s\teval_s\telapsed_s";
}

/* Returns an exit status (AK_EXIT_OK to go on). */
static int setup(trainer *T, ak_err *err)
{
    const ak_train_opts *o = T->o;
    if (ak_train_config_load(&T->conf, o->config, o->sets, o->n_sets, err) != 0)
        return AK_EXIT_USAGE;
    T->cfg = &T->conf.v;
    T->prog.log_every = T->cfg->log_every;
    if (o->epochs > 0)
        T->cfg->epochs = o->epochs;
    char run_dir_from[4096] = "";
    ak_tokenizer *ts = NULL, *tt = NULL;
    if (o->resume) {
        if (open_resume(T, run_dir_from, sizeof run_dir_from, err) != 0 ||
            ak_ckpt_get_tokenizer(T->resume_ckpt, "src", &ts, err) != 0 ||
            ak_ckpt_get_tokenizer(T->resume_ckpt, "tgt", &tt, err) != 0) {
            ak_tokenizer_free(ts);
            return AK_EXIT_USAGE;
        }
    } else {
        T->st = ak_run_state_new(T->cfg->seed, 0);
    }
    if (o->run_dir)
        snprintf(T->run_dir, sizeof T->run_dir, "%s", o->run_dir);
    else if (o->resume && *run_dir_from)
        snprintf(T->run_dir, sizeof T->run_dir, "%s", run_dir_from);
    else if (o->resume)
        return ak_errorf(err, "--resume %s: the checkpoint is not inside a run's ckpt/ folder; name the run "
                              "directory with --run-dir",
                         o->resume),
               AK_EXIT_USAGE;
    else
        default_run_dir(o->config, T->run_dir, sizeof T->run_dir);
    if (o->threads > 0)
        ak_set_threads(o->threads);

    /* data */
    double t0 = ak_now();
    if (ak_train_data_prepare(&T->data, T->cfg, ts, tt, err) != 0)
        return AK_EXIT_USAGE;
    if (o->resume && T->data.crc != T->st.data_crc)
        return ak_errorf(err, "--resume %s: the training data differs from the data the checkpoint was trained on "
                              "(%s)",
                         T->resume_path, T->cfg->train),
               AK_EXIT_USAGE;
    T->st.data_crc = T->data.crc;
    double t_data = ak_now() - t0;

    /* model and optimizer */
    int64_t Vs = (int64_t)ak_vocab_size(ak_tokenizer_vocab(T->data.src_tok));
    int64_t Vt = (int64_t)ak_vocab_size(ak_tokenizer_vocab(T->data.tgt_tok));
    ak_model_desc desc = ak_train_cfg_model_desc(T->cfg, Vs, Vt);
    if (o->resume) {
        if (!(T->model = ak_ckpt_load_model(T->resume_ckpt, err)))
            return AK_EXIT_USAGE;
        char *a = ak_model_desc_to_text(&desc), *b = ak_model_desc_to_text(ak_model_get_desc(T->model));
        int same = a && b && !strcmp(a, b);
        free(a);
        free(b);
        if (!same)
            return ak_errorf(err, "--resume %s: the checkpoint's model does not match the configuration",
                             T->resume_path),
                   AK_EXIT_USAGE;
    } else if (!(T->model = ak_model_create(&desc, (uint64_t)T->cfg->seed, err))) {
        char where[AK_CFG_STR_MAX + 64];
        ak_train_config_where(&T->conf, "model", "kind", where, sizeof where);
        return ak_err_prefix(err, "%s: [model]", where), AK_EXIT_USAGE;
    }
    ak_optim_cfg oc = ak_train_cfg_optim(T->cfg);
    if (ak_optim_init(&T->optim, ak_model_params(T->model), &oc, err) != 0)
        return ak_err_prefix(err, "[train] optimizer"), AK_EXIT_USAGE;
    T->optim_ok = 1;
    if (o->resume && ak_ckpt_load_optim(T->resume_ckpt, &T->optim, err) != 0)
        return AK_EXIT_USAGE;
    ak_container_close(T->resume_ckpt);
    T->resume_ckpt = NULL;

    /* batches and schedule */
    if (ak_batcher_init(&T->batcher, &T->data.train, T->cfg->batch_tokens, T->cfg->seed, 1, err) != 0 ||
        ak_batcher_plan(&T->batcher, T->st.epoch, &T->plan, err) != 0)
        return AK_EXIT_USAGE;
    if (o->resume && (size_t)T->st.batches != T->plan.n_batches)
        return ak_errorf(err, "--resume %s: the checkpoint's epochs have %lld batches, this data gives %zu",
                         T->resume_path, (long long)T->st.batches, T->plan.n_batches),
               AK_EXIT_USAGE;
    T->st.batches = (int64_t)T->plan.n_batches;
    T->sched = ak_train_cfg_sched(T->cfg, T->st.batches);
    if (ak_sched_check(&T->sched, err) != 0)
        return ak_err_prefix(err, "[train] schedule"), AK_EXIT_USAGE;
    T->sel = ak_train_cfg_select(T->cfg);

    /* probes */
    if (T->cfg->attn_enabled && ak_probes_prepare(&T->probes, T->cfg, &T->data, err) != 0)
        return AK_EXIT_USAGE;

    /* run directory */
    char p[PATH_BYTES];
    if (!o->resume && check_fresh_run_dir(T->run_dir, err) != 0)
        return AK_EXIT_USAGE;
    snprintf(p, sizeof p, "%s/ckpt", T->run_dir);
    if (ak_mkdirs(p, err) != 0)
        return AK_EXIT_FAILED;
    if (!(T->config_text = ak_train_cfg_dump_text(T->cfg)))
        return ak_errorf(err, "out of memory"), AK_EXIT_FAILED;
    path_in(p, sizeof p, T->run_dir, "config.ini");
    if (ak_write_text(p, T->config_text, err) != 0 || save_tokenizers(T, err) != 0)
        return AK_EXIT_FAILED;
    if (o->resume) {
        if (drop_abandoned(T, err) != 0)
            return AK_EXIT_FAILED;
        char q[PATH_BYTES];
        path_in(p, sizeof p, T->run_dir, "metrics.tsv");
        path_in(q, sizeof q, T->run_dir, "attn_stats.tsv");
        if (ak_tsv_truncate(p, T->st.epoch, err) != 0 || ak_tsv_truncate(q, T->st.epoch, err) != 0)
            return AK_EXIT_FAILED;
    }

    ak_ctx_init(&T->ctx, 0, (uint64_t)T->cfg->seed);
    T->ctx_ok = 1;

    ak_progress *pr = &T->prog;
    ak_params *pa = ak_model_params(T->model);
    ak_logf(pr, "run %s: %s %s", T->run_dir, o->resume ? "resuming from" : "config", o->resume ? T->resume_path : o->config);
    ak_logf(pr,
            "data: %zu training pairs (%zu over max_len %lld dropped), %zu validation (%zu dropped); vocab %lld/%lld "
            "(%s%s); %.1f s",
            T->data.train.n, T->data.n_train_dropped, (long long)T->cfg->max_len, T->data.valid.n,
            T->data.n_valid_dropped, (long long)Vs, (long long)Vt, ak_tok_kind_name(ak_tokenizer_kind(T->data.src_tok)),
            T->cfg->shared_vocab ? ", shared" : "", t_data);
    ak_logf(pr, "model: %s, %lld parameters; %zu batches per epoch; threads: %d",
            T->cfg->kind == AK_TC_KIND_RNN ? "rnn" : "transformer", (long long)pa->total, T->plan.n_batches,
            ak_threads());
    if (T->cfg->attn_enabled && T->probes.n_gold_dropped)
        ak_logf(pr, "probes: %zu, %zu of them with gold alignments (the others' words do not line up with the gold "
                    "tokens)",
                T->probes.n, T->probes.n - T->probes.n_gold_dropped);
    else if (T->cfg->attn_enabled)
        ak_logf(pr, "probes: %zu%s", T->probes.n, T->probes.has_gold ? " with gold alignments" : "");
    return AK_EXIT_OK;
}

static void teardown(trainer *T)
{
    if (T->ctx_ok)
        ak_ctx_free(&T->ctx);
    ak_probes_free(&T->probes);
    ak_batch_plan_free(&T->plan);
    if (T->optim_ok)
        ak_optim_free(&T->optim);
    ak_model_free(T->model);
    ak_train_data_free(&T->data);
    ak_container_close(T->resume_ckpt);
    free(T->config_text);
    ak_train_config_free(&T->conf);
}

/* ------------------------------------------------------------ checkpoints */

static double elapsed(const trainer *T) { return T->elapsed0 + (ak_now() - T->t_session); }

static int save_ckpt(trainer *T, const char *path, ak_err *err)
{
    T->st.elapsed = elapsed(T);
    ak_interrupt_guard(path);
    ak_container_writer *w = ak_ckpt_begin(path, T->model, &T->optim, err);
    int rc = !w || ak_run_state_put(w, &T->st, T->config_text, err) ||
             ak_ckpt_put_tokenizer(w, "src", T->data.src_tok, err) ||
             ak_ckpt_put_tokenizer(w, "tgt", T->data.tgt_tok, err);
    if (w)
        rc = ak_ckpt_commit(w, err) || rc; /* commit frees w; after a failed put it fails too */
    ak_interrupt_unguard();
    return rc ? -1 : 0;
}

static int interrupted(trainer *T, ak_err *err)
{
    ak_progress_end(&T->prog);
    if (T->st.step == T->step0 && T->o->resume) {
        ak_logf(&T->prog, "interrupted: nothing new since %s", T->resume_path);
        return AK_EXIT_INTERRUPTED;
    }
    char p[PATH_BYTES];
    path_in(p, sizeof p, T->run_dir, "ckpt/interrupted.ckpt");
    if (save_ckpt(T, p, err) != 0)
        return AK_EXIT_FAILED;
    ak_logf(&T->prog, "interrupted in epoch %lld after step %lld: saved %s; continue with --resume %s",
            (long long)T->st.epoch, (long long)T->st.step, p, T->run_dir);
    return AK_EXIT_INTERRUPTED;
}

/* After an epoch: epoch checkpoint, best link, pruning. */
static int epoch_ckpt(trainer *T, int64_t epoch, int improved, ak_err *err)
{
    char p[PATH_BYTES], q[PATH_BYTES];
    ak_ckpt_epoch_path(p, sizeof p, T->run_dir, epoch);
    if (save_ckpt(T, p, err) != 0)
        return -1;
    if (improved && ak_ckpt_set_best(T->run_dir, p, err) != 0)
        return -1;
    path_in(q, sizeof q, T->run_dir, "ckpt/interrupted.ckpt");
    if (unlink(q) != 0 && errno != ENOENT)
        return ak_errorf(err, "%s: cannot remove: %s", q, strerror(errno));
    return ak_ckpt_prune(T->run_dir, (size_t)T->cfg->keep_last, err);
}

/* ------------------------------------------------------------- the epoch */

/* One optimizer step on batch b; -1 on a model error or a diverged run. */
static int train_step(trainer *T, const ak_batch *b, ak_err *err)
{
    ak_ctx *ctx = &T->ctx;
    ak_params *pa = ak_model_params(T->model);
    ctx->step = (uint64_t)T->st.step; /* dropout masks depend on (seed, step) only */
    ctx->training = 1;
    T->st.step++;
    ak_optim_set_lr(&T->optim, ak_sched_lr(&T->sched, T->st.step), NULL);
    ak_params_zero_grad(pa);
    int64_t ntok = 0;
    ak_tensor *loss = ak_model_loss(ctx, T->model, b->src, b->rows, b->src_cols, b->dec_in, b->dec_out, b->tgt_cols,
                                    (float)T->cfg->label_smoothing, &ntok, NULL);
    int rc = 0;
    if (!loss || ak_ctx_failed(ctx))
        rc = ak_errorf(err, "step %lld: %s", (long long)T->st.step, ctx->err.msg);
    else if (ak_backward(ctx, loss, err) != 0)
        rc = ak_err_prefix(err, "step %lld", (long long)T->st.step);
    if (!rc) {
        double lv = loss->data[0];
        double norm = ak_clip_grad_norm(pa, T->cfg->clip);
        if (!isfinite(lv) || !isfinite(norm)) {
            T->st.skipped++;
            if (++T->bad_run == 1)
                ak_logf(&T->prog, "step %lld: non-finite %s, update skipped", (long long)T->st.step,
                        isfinite(lv) ? "gradient" : "loss");
            if (T->bad_run >= DIVERGED_STEPS)
                rc = ak_errorf(err, "training diverged: %d consecutive steps with a non-finite loss or gradient "
                                    "(lower [train] lr or raise warmup)",
                               DIVERGED_STEPS);
        } else {
            T->bad_run = 0;
            ak_optim_step(&T->optim);
            T->st.loss_sum += lv * (double)b->n_dec_tokens;
            T->st.tokens += b->n_dec_tokens;
        }
    }
    ak_ctx_end_step(ctx);
    return rc;
}

static void sample_lines(trainer *T, const ak_eval_hyps *h)
{
    for (size_t i = 0; i < 2 && i < h->n; i++)
        ak_logf(&T->prog, "  %s\n    => %s\n    ref %s", T->data.valid_src[i], h->text[i], T->data.valid_ref[i]);
}

static int write_hyps(trainer *T, const ak_eval_hyps *h, ak_err *err)
{
    size_t total = 1;
    for (size_t i = 0; i < h->n; i++)
        total += strlen(h->text[i]) + 1;
    char *s = malloc(total), *q = s;
    if (!s)
        return ak_errorf(err, "out of memory");
    for (size_t i = 0; i < h->n; i++) {
        size_t l = strlen(h->text[i]);
        memcpy(q, h->text[i], l);
        q[l] = '\n';
        q += l + 1;
    }
    *q = 0;
    char p[PATH_BYTES];
    path_in(p, sizeof p, T->run_dir, "valid.hyp");
    int rc = ak_write_text(p, s, err);
    free(s);
    return rc;
}

static int metrics_row(trainer *T, int64_t epoch, double train_loss, const ak_eval_result *r, double tps,
                       double train_s, double eval_s, ak_err *err)
{
    char row[1024], p[PATH_BYTES];
    double lr = ak_sched_lr(&T->sched, T->st.step);
    int n = snprintf(row, sizeof row, "%lld\t%lld\t%.6g\t%.4f\t%.4f\t%.4f\t%.3f\t%.2f", (long long)epoch,
                     (long long)T->st.step, lr, train_loss, r->loss, r->nll, r->ppl, r->bleu);
    if (T->cfg->metric == AK_TC_METRIC_ROUGE)
        n += snprintf(row + n, sizeof row - (size_t)n, "\t%.2f\t%.2f\t%.2f", r->rouge1, r->rouge2, r->rougeL);
    snprintf(row + n, sizeof row - (size_t)n, "\t%.2f\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f", r->hyp_len, tps,
             train_s + eval_s, train_s, eval_s, elapsed(T));
    path_in(p, sizeof p, T->run_dir, "metrics.tsv");
    return ak_tsv_append(p, metrics_header(T->cfg), row, err);
}

static int run_probes(trainer *T, int64_t epoch, ak_probe_digest *d, ak_err *err)
{
    d->best_aer = d->cross_entropy = NAN;
    if (!T->cfg->attn_enabled || T->probes.n == 0)
        return 0;
    if (ak_probes_run(&T->probes, &T->ctx, T->model, T->run_dir, epoch, d, err) != 0)
        return ak_err_prefix(err, "attention probes, epoch %lld", (long long)epoch);
    return 0;
}

static void log_probes(trainer *T, int64_t epoch, const ak_probe_digest *d)
{
    if (isnan(d->cross_entropy))
        return;
    if (!isnan(d->best_aer))
        ak_logf(&T->prog, "  attention %lld: cross entropy %.3f nats; best cross head AER %.3f (layer %d head %d)",
                (long long)epoch, d->cross_entropy, d->best_aer, d->aer_layer, d->aer_head);
    else
        ak_logf(&T->prog, "  attention %lld: cross entropy %.3f nats", (long long)epoch, d->cross_entropy);
}

static const char *metric_label(int sel)
{
    switch (sel) {
    case AK_TC_SEL_ROUGE1: return "ROUGE-1";
    case AK_TC_SEL_ROUGE2: return "ROUGE-2";
    case AK_TC_SEL_ROUGEL: return "ROUGE-L";
    case AK_TC_SEL_VALID_LOSS: return "valid loss";
    default: return "BLEU";
    }
}

/* One epoch from st.batch on; returns an exit status, or -1 to go on. */
static int run_epoch(trainer *T, int *stop, ak_err *err)
{
    const int64_t e = T->st.epoch;
    if (ak_batcher_plan(&T->batcher, e, &T->plan, err) != 0)
        return AK_EXIT_FAILED;
    if (T->st.batch == 0) {
        T->st.loss_sum = 0;
        T->st.tokens = 0;
        T->st.train_s = 0;
    }
    int64_t total = 0, done = 0;
    for (size_t i = 0; i < T->plan.n_batches; i++) {
        total += T->plan.batches[i].n_dec_tokens;
        if ((int64_t)i < T->st.batch)
            done += T->plan.batches[i].n_dec_tokens;
    }
    ak_progress_begin(&T->prog, e, T->cfg->epochs, total, done);
    double t0 = ak_now();
    for (int64_t i = T->st.batch; i < (int64_t)T->plan.n_batches; i++) {
        if (*T->stop) {
            T->st.train_s += ak_now() - t0;
            return interrupted(T, err);
        }
        const ak_batch *b = &T->plan.batches[i];
        if (train_step(T, b, err) != 0)
            return AK_EXIT_FAILED;
        T->st.batch = i + 1;
        done += b->n_dec_tokens;
        if (T->o->on_step)
            T->o->on_step(T->o->hook_arg, e, T->st.step);
        ak_progress_update(&T->prog, done, T->st.tokens ? T->st.loss_sum / (double)T->st.tokens : 0,
                           T->optim.cfg.lr);
    }
    T->st.train_s += ak_now() - t0;
    ak_progress_end(&T->prog);
    if (*T->stop)
        return interrupted(T, err);

    /* validation */
    ak_progress_note(&T->prog, "epoch %lld/%lld: validation (loss, greedy decoding of %zu pairs, probes)...",
                     (long long)e, (long long)T->cfg->epochs, T->data.valid.n);
    double t1 = ak_now();
    ak_eval_result r = {0};
    ak_eval_hyps hyps = {0};
    int rc = ak_eval_loss(&T->ctx, T->model, &T->data.valid, T->cfg->batch_tokens, (float)T->cfg->label_smoothing,
                          &r, T->stop, err);
    if (rc == 0)
        rc = ak_eval_decode(&T->ctx, T->model, &T->data, T->cfg, &r, &hyps, T->stop, err);
    if (rc == 0 && *T->stop)
        rc = 1;
    ak_probe_digest dg;
    if (rc == 0 && run_probes(T, e, &dg, err) != 0)
        rc = -1;
    if (rc != 0) {
        ak_eval_hyps_free(&hyps);
        return rc == 1 ? interrupted(T, err) : AK_EXIT_FAILED;
    }
    double eval_s = ak_now() - t1;
    double train_loss = T->st.tokens ? T->st.loss_sum / (double)T->st.tokens : NAN;
    double tps = T->st.train_s > 0 ? (double)T->st.tokens / T->st.train_s : 0;
    double value = ak_eval_select_value(&r, T->sel);
    int improved = T->st.best_epoch == 0 || value > T->st.best;
    if (improved) {
        T->st.best = value;
        T->st.best_epoch = e;
        T->st.bad_epochs = 0;
    } else {
        T->st.bad_epochs++;
    }
    if (metrics_row(T, e, train_loss, &r, tps, T->st.train_s, eval_s, err) != 0 || write_hyps(T, &hyps, err) != 0) {
        ak_eval_hyps_free(&hyps);
        return AK_EXIT_FAILED;
    }
    char score[96];
    if (T->cfg->metric == AK_TC_METRIC_ROUGE)
        snprintf(score, sizeof score, "ROUGE-1/2/L %.2f/%.2f/%.2f", r.rouge1, r.rouge2, r.rougeL);
    else
        snprintf(score, sizeof score, "BLEU %.2f", r.bleu);
    ak_logf(&T->prog, "epoch %lld/%lld: train loss %.4f, valid loss %.4f ppl %.2f, %s; %.0f tok/s, train %.0f s, eval %.0f s%s",
            (long long)e, (long long)T->cfg->epochs, train_loss, r.loss, r.ppl, score, tps, T->st.train_s, eval_s,
            improved ? " (best)" : "");
    log_probes(T, e, &dg);
    sample_lines(T, &hyps);
    ak_eval_hyps_free(&hyps);

    T->st.epoch = e + 1;
    T->st.batch = 0;
    T->st.loss_sum = 0;
    T->st.tokens = 0;
    T->st.train_s = 0;
    if (epoch_ckpt(T, e, improved, err) != 0)
        return AK_EXIT_FAILED;
    if (*T->stop) {
        ak_logf(&T->prog, "interrupted after epoch %lld (checkpoint written); continue with --resume %s",
                (long long)e, T->run_dir);
        return AK_EXIT_INTERRUPTED;
    }
    if (T->cfg->patience > 0 && T->st.bad_epochs >= T->cfg->patience) {
        ak_logf(&T->prog, "early stop: %s has not improved for %lld epochs (best %.4g at epoch %lld)",
                metric_label(T->sel), (long long)T->st.bad_epochs,
                T->sel == AK_TC_SEL_VALID_LOSS ? -T->st.best : T->st.best, (long long)T->st.best_epoch);
        *stop = 1;
    }
    return -1;
}

/* ---------------------------------------------------------------- driver */

static int run(trainer *T, ak_err *err)
{
    int status = setup(T, err);
    if (status != AK_EXIT_OK)
        return status;
    T->t_session = ak_now();
    T->elapsed0 = T->st.elapsed;
    T->step0 = T->st.step;
    if (T->cfg->patience > 0 && T->st.bad_epochs >= T->cfg->patience) {
        ak_logf(&T->prog, "the run stopped early at epoch %lld (patience %lld); nothing to do",
                (long long)T->st.epoch - 1, (long long)T->cfg->patience);
        return AK_EXIT_OK;
    }
    if (T->st.epoch > T->cfg->epochs) {
        ak_logf(&T->prog, "the run has done %lld epochs already; nothing to do (raise --epochs to continue)",
                (long long)T->st.epoch - 1);
        return AK_EXIT_OK;
    }
    if (!T->o->resume) {
        ak_probe_digest dg;
        if (run_probes(T, 0, &dg, err) != 0)
            return AK_EXIT_FAILED;
        log_probes(T, 0, &dg);
    }
    int stop = 0;
    while (!stop && T->st.epoch <= T->cfg->epochs) {
        status = run_epoch(T, &stop, err);
        if (status >= 0)
            return status;
    }
    if (T->st.best_epoch > 0)
        ak_logf(&T->prog, "done: best %s %.4g at epoch %lld (%s/ckpt/best.ckpt), %.0f s in all", metric_label(T->sel),
                T->sel == AK_TC_SEL_VALID_LOSS ? -T->st.best : T->st.best, (long long)T->st.best_epoch, T->run_dir,
                elapsed(T));
    return AK_EXIT_OK;
}

int ak_train_main(const ak_train_opts *o, ak_err *err)
{
    trainer *T = calloc(1, sizeof *T);
    if (!T)
        return ak_errorf(err, "out of memory"), AK_EXIT_FAILED;
    static const volatile sig_atomic_t never = 0;
    T->o = o;
    T->stop = o->handle_signals ? &ak_interrupt_flag : &never;
    ak_progress_init(&T->prog, o->log_mode, o->log ? o->log : stderr, 30);
    if (o->handle_signals && ak_interrupt_install() != 0) {
        free(T);
        return ak_errorf(err, "cannot install the SIGINT handler: %s", strerror(errno)), AK_EXIT_FAILED;
    }
    int status = run(T, err);
    teardown(T);
    if (o->handle_signals)
        ak_interrupt_uninstall();
    free(T);
    return status;
}
