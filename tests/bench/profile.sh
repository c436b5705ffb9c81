#!/bin/sh
# Where a training step spends its time, per op family and per function.
#
#   sh tests/bench/profile.sh [MODEL [THREADS [STEPS]]]     (defaults t-small 1 20)
#   BENCH_NICE=-15 sh tests/bench/profile.sh ...            on a shared box (bench_train --nice)
#
# Builds the library and bench_train with -O2 -g -fno-omit-frame-pointer into
# build/prof, samples a run with perf (cpu-clock: this VM has no hardware
# counters) with dwarf call graphs, and sums the samples of the timed steps by
# op family (tests/bench/perf_families.py; the 3 warm-up steps are left out).
# For backward time by tape op, without perf:
#   make bench BENCH_MODELS=t-small BENCH_THREADS=1 BENCH_TRAIN_ARGS=--profile
set -eu
model=${1:-t-small}
threads=${2:-1}
steps=${3:-20}
out=build/prof
make --no-print-directory BUILD=$out OPT="-O2 -g -fno-omit-frame-pointer" $out/bench_train >&2
perf record -q -e cpu-clock -F 499 --call-graph dwarf,8192 -o $out/perf.data -- \
    $out/bench_train --model "$model" --threads "$threads" --steps "$steps" --warmup 3 ${BENCH_NICE:+--nice "$BENCH_NICE"}
perf script -i $out/perf.data 2>/dev/null | python3 tests/bench/perf_families.py --skip-steps 3
