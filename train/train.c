/* bin/train: train a seq2seq model from a config file (lib/train/trainer.h
 * does the work; this file parses the command line). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/train_config.h"
#include "train/trainer.h"

static const char USAGE[] =
    "usage: bin/train CONFIG [--run-dir DIR] [--set section.key=value ...] [--resume DIR|CKPT]\n"
    "                 [--threads N] [--epochs N] [--quiet]\n"
    "       bin/train --help | --config-doc\n"
    "\n"
    "Trains the model CONFIG describes (INI: [data] [model] [train] [attention]; every key in\n"
    "docs/configs.md) and writes, under RUN_DIR (default runs/<config name>):\n"
    "  metrics.tsv            per epoch: losses, perplexity, BLEU or ROUGE, tokens/s, wall time\n"
    "  ckpt/epoch-NNN.ckpt    weights, optimizer, run state, config and vocabularies (last N kept)\n"
    "  ckpt/best.ckpt         the best epoch by [train] select (a hard link)\n"
    "  attn/epoch-NNN.attn    every attention map of the probe pairs (epoch 0 = before training)\n"
    "  attn_stats.tsv         entropy, diagonality, head divergence and AER per head and epoch\n"
    "  config.ini, vocab.*, valid.hyp\n"
    "\n"
    "  --run-dir DIR      where the run lives\n"
    "  --set S.K=V        override one config key (repeatable; later wins)\n"
    "  --resume DIR|CKPT  continue a run (its newest checkpoint, or the one named) bit for bit\n"
    "  --threads N        OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  --epochs N         total epochs of the run (overrides [train] epochs; with --resume,\n"
    "                     training continues until epoch N)\n"
    "  --quiet            print nothing but errors\n"
    "  --config-doc       print the configuration reference (docs/configs.md) and exit\n"
    "\n"
    "Exit status: 0 done, 2 bad usage or input, 130 interrupted. Ctrl-C finishes the current step,\n"
    "saves RUN_DIR/ckpt/interrupted.ckpt and exits; a second Ctrl-C exits at once.\n";

#define MAX_SETS 256

static int usage_error(const char *fmt, const char *a, const char *b)
{
    fputs("train: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputs(" (see bin/train --help)\n", stderr);
    return AK_EXIT_USAGE;
}

static int parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    ak_train_opts o = {0};
    const char *sets[MAX_SETS];
    size_t n_sets = 0;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(USAGE, stdout);
            return AK_EXIT_OK;
        }
        if (!strcmp(a, "--config-doc"))
            return ak_train_cfg_markdown(stdout) == 0 ? AK_EXIT_OK : AK_EXIT_FAILED;
        if (!strcmp(a, "--quiet")) {
            quiet = 1;
            continue;
        }
        int takes = !strcmp(a, "--run-dir") || !strcmp(a, "--set") || !strcmp(a, "--resume") ||
                    !strcmp(a, "--threads") || !strcmp(a, "--epochs");
        if (takes && i + 1 >= argc)
            return usage_error("%s: expected a value after it%s", a, "");
        const char *v = takes ? argv[++i] : NULL;
        long long n;
        if (!strcmp(a, "--run-dir")) {
            if (!*v)
                return usage_error("%s: expected a directory, got '%s'", a, v);
            o.run_dir = v;
        } else if (!strcmp(a, "--set")) {
            if (!strchr(v, '=') || !strchr(v, '.'))
                return usage_error("--set: expected section.key=value, got '%s'%s", v, "");
            if (n_sets == MAX_SETS)
                return usage_error("--set: at most 256 overrides%s%s", "", "");
            sets[n_sets++] = v;
        } else if (!strcmp(a, "--resume")) {
            o.resume = v;
        } else if (!strcmp(a, "--threads")) {
            if (parse_int(v, 1, 1024, &n))
                return usage_error("--threads: expected an integer in [1, 1024], got '%s'%s", v, "");
            o.threads = (int)n;
        } else if (!strcmp(a, "--epochs")) {
            if (parse_int(v, 1, 1000000, &n))
                return usage_error("--epochs: expected an integer in [1, 1000000], got '%s'%s", v, "");
            o.epochs = n;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'%s", a, "");
        } else if (o.config) {
            return usage_error("expected one CONFIG file, got a second one '%s' after '%s'", a, o.config);
        } else {
            o.config = a;
        }
    }
    if (!o.config)
        return usage_error("expected a CONFIG file%s%s", "", "");
    o.sets = sets;
    o.n_sets = n_sets;
    o.log_mode = quiet ? AK_LOG_QUIET : isatty(STDERR_FILENO) ? AK_LOG_TTY : AK_LOG_PLAIN;
    o.log = stderr;
    o.handle_signals = 1;
    ak_err err = {{0}};
    int status = ak_train_main(&o, &err);
    if (status != AK_EXIT_OK && status != AK_EXIT_INTERRUPTED)
        fprintf(stderr, "train: %s\n", err.msg);
    return status;
}
