/* bin/synth: writes a synthetic task with known alignments (data/synthetic.h,
 * docs/synthetic.md): PREFIX.tsv training pairs and PREFIX.gold.tsv probes.
 * Exit 0 on success, 1 when writing fails, 2 on bad arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/synthetic.h"

int main(int argc, char **argv)
{
    ak_synth_opts o;
    const char *prefix;
    int help;
    ak_err err = {{0}};
    if (ak_synth_parse_args(argc, argv, &o, &prefix, &help, &err)) {
        fprintf(stderr, "synth: %s\n", err.msg);
        return 2;
    }
    if (help) {
        fputs(ak_synth_usage, stdout);
        return 0;
    }
    size_t n = strlen(prefix) + 16;
    char *tsv = malloc(n), *gold = malloc(n);
    if (!tsv || !gold) {
        fprintf(stderr, "synth: out of memory\n");
        return 1;
    }
    snprintf(tsv, n, "%s.tsv", prefix);
    snprintf(gold, n, "%s.gold.tsv", prefix);
    int rc = ak_synth_write(&o, tsv, gold, &err);
    if (rc)
        fprintf(stderr, "synth: %s\n", err.msg);
    else
        printf("synth %s: wrote %s (%lld pairs) and %s (%lld probes), seed %llu\n", ak_synth_task_name(o.task), tsv,
               (long long)o.n, gold, (long long)o.probes, (unsigned long long)o.seed);
    free(tsv);
    free(gold);
    return rc ? 1 : 0;
}
