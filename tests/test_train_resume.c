/* Resuming is bitwise: 2 epochs + resume to 4 gives exactly the weights and
 * optimizer state of 4 epochs straight, also across a thread-count change
 * and from a Ctrl-C in the middle of an epoch (SIGINT raised in-process
 * from the step hook). A second SIGINT exits 130 at once and removes the
 * temporary of a file being written. */
#include <signal.h>
#include <sys/wait.h>

#include "helpers_train.h"
#include "train/interrupt.h"
#include "train/run_dir.h"

static void ckpt_path(char *buf, size_t n, const char *run, const char *name)
{
    snprintf(buf, n, "%s/ckpt/%s", run, name);
}

/* Asserts that two checkpoints hold bit-identical parameters and optimizer
 * state, and the same step count. */
static void expect_same_state(const char *a, const char *b)
{
    ak_container *ca, *cb;
    ak_model *ma = th_load(a, &ca), *mb = th_load(b, &cb);
    ak_params *pa = ak_model_params(ma), *pb = ak_model_params(mb);
    cr_assert_eq(pa->total, pb->total);
    cr_expect(memcmp(pa->data, pb->data, sizeof(float) * (size_t)pa->total) == 0, "weights differ: %s vs %s", a, b);
    static const char *const keys[] = {"optim/exp_avg", "optim/exp_avg_sq"};
    for (int k = 0; k < 2; k++) {
        const float *da, *db;
        int nd;
        int64_t sa[4], sb[4];
        ak_err err = {{0}};
        cr_assert_eq(ak_container_get_tensor(ca, keys[k], &nd, sa, &da, &err), 0, "%s", err.msg);
        cr_assert_eq(ak_container_get_tensor(cb, keys[k], &nd, sb, &db, &err), 0, "%s", err.msg);
        cr_assert_eq(sa[0], sb[0]);
        cr_expect(memcmp(da, db, sizeof(float) * (size_t)sa[0]) == 0, "%s differs", keys[k]);
    }
    int64_t s1, s2;
    cr_assert_eq(ak_container_get_i64(ca, "run/step", &s1, NULL), 0);
    cr_assert_eq(ak_container_get_i64(cb, "run/step", &s2, NULL), 0);
    cr_expect_eq(s1, s2);
    ak_model_free(ma);
    ak_model_free(mb);
    ak_container_close(ca);
    ak_container_close(cb);
}

/* The first 8 columns of the metrics rows (no timings). */
static void expect_same_metrics(const char *run_a, const char *run_b)
{
    char p[512];
    snprintf(p, sizeof p, "%s/metrics.tsv", run_a);
    char *a = th_read(p);
    snprintf(p, sizeof p, "%s/metrics.tsv", run_b);
    char *b = th_read(p);
    cr_assert(a && b);
    const char *x = a, *y = b;
    int rows = 0;
    while (*x && *y) {
        size_t lx = strcspn(x, "\n"), ly = strcspn(y, "\n");
        const char *cx = x, *cy = y;
        for (int k = 0; k < 8; k++) {
            cx += strcspn(cx, "\t") + (k < 7);
            cy += strcspn(cy, "\t") + (k < 7);
        }
        cr_expect_eq(cx - x, cy - y, "row %d differs", rows);
        cr_expect(!strncmp(x, y, (size_t)(cx - x)), "row %d: %.*s vs %.*s", rows, (int)lx, x, (int)ly, y);
        x += lx + (x[lx] != 0);
        y += ly + (y[ly] != 0);
        rows++;
    }
    cr_expect(!*x && !*y && rows == 5, "same number of rows (header + 4), got %d", rows);
    free(a);
    free(b);
}

static void setup_run(char *dir, size_t dn, char *cfg, size_t cn)
{
    th_tmpdir(dir, dn);
    th_make_corpus(dir, 160);
    th_make_config(dir, NULL, cfg, cn);
}

Test(train_resume, two_epochs_then_resume_to_four_equals_four_straight)
{
    char dir[64], cfg[256], a[256], b[256], pa[512], pb[512];
    setup_run(dir, sizeof dir, cfg, sizeof cfg);
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    ak_err err = {{0}};
    cr_assert_eq(th_train(cfg, a, NULL, 4, NULL, 0, &err), AK_EXIT_OK, "%s", err.msg);
    cr_assert_eq(th_train(cfg, b, NULL, 2, NULL, 0, &err), AK_EXIT_OK, "%s", err.msg);
    ckpt_path(pb, sizeof pb, b, "epoch-003.ckpt");
    cr_assert(!th_exists(pb));
    /* Resume from the run directory, on two threads this time. */
    ak_train_opts o = {.config = cfg, .resume = b, .epochs = 4, .threads = 2, .log_mode = AK_LOG_QUIET};
    cr_assert_eq(ak_train_main(&o, &err), AK_EXIT_OK, "%s", err.msg);
    ckpt_path(pa, sizeof pa, a, "epoch-004.ckpt");
    ckpt_path(pb, sizeof pb, b, "epoch-004.ckpt");
    expect_same_state(pa, pb);
    expect_same_metrics(a, b);
    /* The attention statistics of the resumed run match too. */
    snprintf(pa, sizeof pa, "%s/attn_stats.tsv", a);
    snprintf(pb, sizeof pb, "%s/attn_stats.tsv", b);
    char *sa = th_read(pa), *sb = th_read(pb);
    cr_assert(sa && sb);
    cr_expect_str_eq(sa, sb);
    free(sa);
    free(sb);
}

typedef struct hook {
    int64_t at_step;
    int raised;
} hook;

static void raise_at(void *arg, int64_t epoch, int64_t step)
{
    (void)epoch;
    hook *h = arg;
    if (step == h->at_step && !h->raised) {
        h->raised = 1;
        raise(SIGINT);
    }
}

Test(train_resume, ctrl_c_mid_epoch_saves_a_checkpoint_and_resumes_bitwise)
{
    char dir[64], cfg[256], a[256], b[256], pa[512], pb[512];
    setup_run(dir, sizeof dir, cfg, sizeof cfg);
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    ak_err err = {{0}};
    cr_assert_eq(th_train(cfg, a, NULL, 4, NULL, 0, &err), AK_EXIT_OK, "%s", err.msg);
    ak_container *c;
    ckpt_path(pa, sizeof pa, a, "epoch-004.ckpt");
    ak_model *m = th_load(pa, &c);
    int64_t per_epoch;
    cr_assert_eq(ak_container_get_i64(c, "run/batches", &per_epoch, NULL), 0);
    ak_model_free(m);
    ak_container_close(c);
    cr_assert(per_epoch >= 3, "need a few batches per epoch, got %lld", (long long)per_epoch);

    /* SIGINT after the second step of epoch 2: that step completes, then the
     * run saves interrupted.ckpt and returns 130. */
    hook h = {.at_step = per_epoch + 2};
    ak_train_opts o = {.config = cfg, .run_dir = b, .epochs = 4, .threads = 1, .log_mode = AK_LOG_QUIET,
                       .handle_signals = 1, .on_step = raise_at, .hook_arg = &h};
    cr_assert_eq(ak_train_main(&o, &err), AK_EXIT_INTERRUPTED, "%s", err.msg);
    cr_assert(h.raised);
    ckpt_path(pb, sizeof pb, b, "interrupted.ckpt");
    cr_assert(th_exists(pb));
    m = th_load(pb, &c);
    int64_t epoch, batch, step;
    cr_assert_eq(ak_container_get_i64(c, "run/epoch", &epoch, NULL), 0);
    cr_assert_eq(ak_container_get_i64(c, "run/batch", &batch, NULL), 0);
    cr_assert_eq(ak_container_get_i64(c, "run/step", &step, NULL), 0);
    cr_expect_eq(epoch, 2);
    cr_expect_eq(batch, 2);
    cr_expect_eq(step, per_epoch + 2);
    ak_model_free(m);
    ak_container_close(c);
    ckpt_path(pb, sizeof pb, b, "epoch-002.ckpt");
    cr_expect(!th_exists(pb));
    cr_expect_eq(signal(SIGINT, SIG_DFL), SIG_DFL, "the handler was uninstalled");

    /* Resume (the run directory picks interrupted.ckpt) and finish. */
    cr_assert_eq(th_train(cfg, NULL, b, 4, NULL, 0, &err), AK_EXIT_OK, "%s", err.msg);
    ckpt_path(pb, sizeof pb, b, "interrupted.ckpt");
    cr_expect(!th_exists(pb), "the next epoch checkpoint replaces interrupted.ckpt");
    ckpt_path(pa, sizeof pa, a, "epoch-004.ckpt");
    ckpt_path(pb, sizeof pb, b, "epoch-004.ckpt");
    expect_same_state(pa, pb);
    expect_same_metrics(a, b);
}

Test(train_resume, resume_from_a_named_checkpoint_continues_from_it)
{
    char dir[64], cfg[256], a[256], pa[512];
    setup_run(dir, sizeof dir, cfg, sizeof cfg);
    snprintf(a, sizeof a, "%s/a", dir);
    ak_err err = {{0}};
    cr_assert_eq(th_train(cfg, a, NULL, 2, NULL, 0, &err), AK_EXIT_OK, "%s", err.msg);
    ckpt_path(pa, sizeof pa, a, "epoch-001.ckpt");
    cr_assert_eq(th_train(cfg, NULL, pa, 3, NULL, 0, &err), AK_EXIT_OK, "%s", err.msg);
    snprintf(pa, sizeof pa, "%s/metrics.tsv", a);
    char *m = th_read(pa);
    cr_assert(m);
    int lines = 0;
    for (const char *p = m; *p; p++)
        lines += *p == '\n';
    cr_expect_eq(lines, 4, "epochs 2 and 3 re-run after epoch 1, no duplicate rows:\n%s", m);
    free(m);
    /* Going back to epoch 1 again for a 2-epoch run abandons epoch 3: its
     * checkpoint goes, so that --resume DIR later finds epoch 2. */
    ckpt_path(pa, sizeof pa, a, "epoch-001.ckpt");
    cr_assert_eq(th_train(cfg, NULL, pa, 2, NULL, 0, &err), AK_EXIT_OK, "%s", err.msg);
    ckpt_path(pa, sizeof pa, a, "epoch-003.ckpt");
    cr_expect(!th_exists(pa), "the abandoned epoch 3 is removed");
    char found[512], rd[512];
    cr_assert_eq(ak_ckpt_locate(a, found, sizeof found, rd, sizeof rd, &err), 0, "%s", err.msg);
    cr_expect(strstr(found, "epoch-002.ckpt"), "%s", found);
    cr_expect_str_eq(rd, a);
    /* Done already: nothing to do, exit 0. */
    cr_assert_eq(th_train(cfg, NULL, a, 3, NULL, 0, &err), AK_EXIT_OK, "%s", err.msg);
}

Test(train_resume, second_sigint_removes_the_temporary_and_exits_130)
{
    char dir[64], dest[256], tmp[320];
    th_tmpdir(dir, sizeof dir);
    snprintf(dest, sizeof dest, "%s/ckpt.bin", dir);
    th_write(dest, "old");
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (ak_interrupt_install() != 0)
            _exit(3);
        ak_interrupt_guard(dest);
        char t[320];
        snprintf(t, sizeof t, "%s.tmp.%ld", dest, (long)getpid());
        FILE *f = fopen(t, "wb"); /* a write in progress */
        if (!f)
            _exit(4);
        fputs("partial", f);
        fflush(f);
        raise(SIGINT);
        if (!ak_interrupt_flag)
            _exit(5);
        raise(SIGINT); /* does not return */
        _exit(6);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "child did not exit normally");
    cr_expect_eq(WEXITSTATUS(status), 130);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", dest, (long)pid);
    cr_expect(!th_exists(tmp), "the temporary was removed");
    char *s = th_read(dest);
    cr_expect_str_eq(s, "old", "the destination is untouched");
    free(s);
}
