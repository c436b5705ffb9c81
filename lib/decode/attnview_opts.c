/* bin/attnview's command line (decode/attnview_opts.h). */
#include "decode/cli_opt.h"
#include "decode/attnview_opts.h"

#include "decode/infer_opts.h"
#include "decode/stats_tsv.h"

#include <string.h>

void ak_attnview_usage(FILE *f)
{
    fputs("usage: attnview RUN_DIR [options]\n"
          "\n"
          "Shows the attention a training run saved in RUN_DIR/attn/epoch-NNN.attn (probe pairs, every map, per\n"
          "epoch) and the per-head statistics of RUN_DIR/attn_stats.tsv. Rows of a map are the tokens the\n"
          "queries predict (decoder side: target tokens then </s>), columns the keys (source tokens for cross).\n"
          "\n"
          "what:\n"
          "  --list            epochs, model summary and probes of the run\n"
          "  --probe N         probe, 0-based in file order (default 0)\n"
          "  --kind K          cross, enc-self or dec-self (default cross)\n"
          "  --mode M          tf (teacher-forced on the reference, default) or greedy (as decoded)\n"
          "  --layer L         0-based (default: the last)\n"
          "  --head H          0-based, avg (mean of the heads, default) or all (every head)\n"
          "  --epoch E         N, A-B (inclusive; A- and -B too), last or all (default last; --stats: all)\n"
          "\n"
          "how (default: ASCII maps on stdout, one after the other, titled with epoch and head):\n"
          "  --ansi            ANSI 256-colour shading\n"
          "  --width N         line width (default: $COLUMNS, else 100)\n"
          "  --png FILE, --ppm FILE   one image: a grid of all heads of the layer (--head all), an evolution\n"
          "                    strip across epochs (several epochs), or both (a row per epoch), one colour bar\n"
          "  --cell N          image cell size in pixels (default 16)\n"
          "\n"
          "statistics:\n"
          "  --stats           attn_stats.tsv across epochs: the mean over the selected heads (--kind, --layer,\n"
          "                    --head) as a table, and every selected head as ASCII sparklines (ramp \"_.:-=+*#%@\",\n"
          "                    low to high, one scale per statistic)\n"
          "  --stat NAME       only entropy, max_weight, diagonality, js_div or aer\n"
          "\n"
          "comparing two runs (e.g. additive vs scaled dot-product attention on the same probes):\n"
          "  --compare RUN2    the same map from each run side by side (image: a row per run), each run's own\n"
          "                    last layer unless --layer is given; with --stats the statistics of both and\n"
          "                    their difference\n"
          "\n"
          "  --help            this text\n"
          "Exit status: 0 done; 2 bad arguments, a missing or corrupt attention or statistics file, a choice\n"
          "out of range.\n",
          f);
}

static const char *const VALUED[] = {"--probe", "--kind", "--mode", "--layer", "--head",    "--epoch", "--width",
                                     "--png",   "--ppm",  "--cell", "--stat",  "--compare", NULL};
static const char *const FLAGS[] = {"--list", "--stats", "--ansi", "--help", "-h", NULL};

int ak_attnview_parse(int argc, char **argv, ak_attnview_opts *o, ak_err *err)
{
    memset(o, 0, sizeof *o);
    o->role = AK_ROLE_CROSS;
    o->mode = AK_ATTN_TF;
    o->layer = -1;
    o->head = AK_HEAD_AVG;
    o->stat = -1;
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (o->run)
                return ak_errorf(err, "one RUN_DIR expected, got '%.200s' and '%.200s' (use --compare RUN2)", o->run,
                                 a);
            o->run = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        char name[AK_OPT_NAME_MAX];
        const char *v;
        if (ak_cli_option(argc, argv, &i, VALUED, FLAGS, name, &v, err) != 0)
            return -1;
        int64_t iv;
        if (!strcmp(name, "--help") || !strcmp(name, "-h"))
            return 1;
        else if (!strcmp(name, "--list"))
            o->list = 1;
        else if (!strcmp(name, "--stats"))
            o->stats = 1;
        else if (!strcmp(name, "--ansi"))
            o->ansi = 1;
        else if (!strcmp(name, "--png"))
            o->png = v;
        else if (!strcmp(name, "--ppm"))
            o->ppm = v;
        else if (!strcmp(name, "--compare"))
            o->compare = v;
        else if (!strcmp(name, "--epoch"))
            o->epoch = v;
        else if (!strcmp(name, "--probe")) {
            if (ak_parse_int(v, 0, 1L << 30, &iv))
                return ak_errorf(err, "--probe: expected a probe number >= 0 (0-based), got '%.64s'", v);
            o->probe = (long)iv;
        } else if (!strcmp(name, "--kind")) {
            int r = ak_attn_role_parse(v);
            if (r < 0)
                return ak_errorf(err, "--kind: expected cross, enc-self or dec-self, got '%.64s'", v);
            o->role = (ak_attn_role)r;
        } else if (!strcmp(name, "--mode")) {
            int m = ak_attn_mode_parse(v);
            if (m < 0)
                return ak_errorf(err, "--mode: expected tf or greedy, got '%.64s'", v);
            o->mode = (ak_attn_mode)m;
        } else if (!strcmp(name, "--layer")) {
            if (ak_parse_int(v, 0, AK_ATTN_MAX_LAYERS - 1, &iv))
                return ak_errorf(err, "--layer: expected a layer number in [0, %d] (0-based), got '%.64s'",
                                 AK_ATTN_MAX_LAYERS - 1, v);
            o->layer = (int)iv;
        } else if (!strcmp(name, "--head")) {
            if (!strcmp(v, "avg"))
                o->head = AK_HEAD_AVG;
            else if (!strcmp(v, "all"))
                o->head = AK_HEAD_ALL;
            else if (ak_parse_int(v, 0, AK_ATTN_MAX_HEADS - 1, &iv))
                return ak_errorf(err, "--head: expected a head number (0-based), avg or all, got '%.64s'", v);
            else
                o->head = (int)iv;
        } else if (!strcmp(name, "--width")) {
            if (ak_parse_int(v, 20, 100000, &iv))
                return ak_errorf(err, "--width: expected an integer in [20, 100000], got '%.64s'", v);
            o->width = (int)iv;
        } else if (!strcmp(name, "--cell")) {
            if (ak_parse_int(v, 1, 256, &iv))
                return ak_errorf(err, "--cell: expected an integer in [1, 256], got '%.64s'", v);
            o->cell = (int)iv;
        } else if (!strcmp(name, "--stat")) {
            o->stat = ak_stat_parse(v);
            if (o->stat < 0)
                return ak_errorf(err, "--stat: expected entropy, max_weight, diagonality, js_div or aer, got '%.64s'",
                                 v);
        }
    }
    if (!o->run)
        return ak_errorf(err, "RUN_DIR is required (see --help)");
    if (o->list && (o->stats || o->compare || o->png || o->ppm))
        return ak_errorf(err, "--list cannot be combined with --stats, --compare or images");
    if (o->stats && (o->png || o->ppm))
        return ak_errorf(err, "--png and --ppm draw maps, not --stats");
    if (o->stat >= 0 && !o->stats)
        return ak_errorf(err, "--stat applies to --stats only");
    if (o->compare && o->head == AK_HEAD_ALL && !o->stats)
        return ak_errorf(err, "--compare shows one map per run: give --head H or avg, not all");
    return 0;
}
