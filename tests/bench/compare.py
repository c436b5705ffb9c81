#!/usr/bin/env python3
"""Training steps, ours (bench_train) against the PyTorch twin (torch_ref.py), alternating in one run.

    python3 tests/bench/compare.py --ours build/bench_train --twin ../shared/peer/torch_ref.py
        [--models "t-tiny t-small r-small"] [--threads "1 2"] [--reps 3] [--idle 85] ...
    (make bench-compare [PEER=dir] [COMPARE_ARGS="--reps 3 --idle 85"])

For each repetition and each (model, threads) it runs one process of ours and one of the twin back to
back (ours first in odd repetitions, the twin first in even ones), so that both see the same machine.
Every run is echoed to stderr with the "foreign load" seen while it ran: the share of all CPUs busy
with other processes (/proc/stat busy time minus the CPU time of our child, over wall time x CPUs),
and the part of it that competed for our cores: contention = foreign load - (CPUs - threads) / CPUs,
at least 0 (at 1 thread of 2 CPUs, others may use one CPU without competing). A run with more than
--foreign-max contention is repeated (--tries in all); the worst contention is reported with the
result. --nice N runs both sides at that niceness (negative needs root), so that on a shared box the
other jobs yield the CPUs to the measurement: each run starts a session of its own, and with the
kernel's autogroup scheduling on (/proc/sys/kernel/sched_autogroup_enabled) its autogroup gets the
niceness too, since between sessions only the autogroup's niceness counts. stdout gets one TSV row per (model, threads): medians over the repetitions, the ratios
ours/twin against the targets of the performance issue (tokens/s >= 2.0x the twin for t-tiny and
r-small, 1.5x for t-small; peak RSS <= 1/3 of the twin's), and the worst foreign load of those runs.

The twin's BLAS: Debian's torch loads whichever OpenBLAS the libblas.so.3 alternative names.
libopenblas-dev (for bench-gemm) pulls in the pthread build, which outranks the OpenMP one; under
torch's own OpenMP threads it oversubscribes the cores (t-tiny at 2 threads: 420 tok/s against
10,100 with the OpenMP build, measured side by side). The twin's README specifies libopenblas0-openmp,
so the twin runs with LD_LIBRARY_PATH=--twin-blas-dir (default that build's directory; "" keeps the
system's choice); the library it loaded is reported.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

TARGET_SPEED = {"t-tiny": 2.0, "t-small": 1.5, "r-small": 2.0}
TARGET_RSS = 1 / 3


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def loadavg():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds():
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(v) - v[3] - v[4]) / hz, sum(v) / hz


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def idle_share(seconds=2.0):
    b0, t0 = cpu_seconds()
    time.sleep(seconds)
    b1, t1 = cpu_seconds()
    return 1.0 - (b1 - b0) / (t1 - t0) if t1 > t0 else 1.0


def wait_quiet(goal, limit):
    """Waits, at most `limit` seconds, until the CPUs were `goal` idle over 2 s."""
    if goal <= 0:
        return
    start = time.monotonic()
    while True:
        idle = idle_share()
        waited = time.monotonic() - start
        if idle >= goal:
            log(f"# idle {100 * idle:.0f}% (waited {waited:.0f} s)")
            return
        if waited >= limit:
            log(f"# still busy (idle {100 * idle:.0f}%) after {waited:.0f} s: running anyway")
            return
        time.sleep(3)


def run_measured(cmd, env, nice):
    """Runs cmd (at niceness `nice` unless None); returns (stdout, share of all CPUs used by other
    processes while it ran)."""
    b0, t0 = cpu_seconds()
    c0 = children_cpu()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=nice is not None)
    if nice is not None:
        os.setpriority(os.PRIO_PROCESS, p.pid, nice)
        try:
            with open(f"/proc/{p.pid}/autogroup", "w") as f:
                f.write(str(nice))
        except OSError:
            pass  # no autogroups: the process niceness is what counts
    out, err = p.communicate()
    b1, t1 = cpu_seconds()
    c1 = children_cpu()
    if p.returncode != 0:
        sys.exit(f"compare.py: {' '.join(cmd)} failed ({p.returncode}): {err.strip()[-500:]}")
    foreign = max(0.0, (b1 - b0) - (c1 - c0)) / (t1 - t0) if t1 > t0 else 0.0
    return out, foreign


def ours_once(a, model, threads):
    out, foreign = run_measured([a.ours, "--model", model, "--threads", str(threads), "--steps", str(a.steps)],
                                os.environ.copy(), a.nice)
    f = out.strip().splitlines()[-1].split("\t")  # model threads tokens_per_s step_ms_median peak_rss_mib
    return float(f[2]), float(f[4]), foreign


def twin_env(a):
    env = os.environ.copy()
    if a.twin_blas_dir:
        env["LD_LIBRARY_PATH"] = a.twin_blas_dir + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def twin_once(a, model, threads):
    out, foreign = run_measured([a.python, a.twin, "--model", model, "--threads", str(threads), "--steps",
                                 str(a.steps), "--json"], twin_env(a), a.nice)
    r = json.loads(out.strip().splitlines()[-1])
    return float(r["tgt_tokens_per_s"]), float(r["peak_rss_mib"]), foreign


def measure(a, side, model, threads):
    fn = ours_once if side == "ours" else twin_once
    ncpu = os.cpu_count() or 1
    for attempt in range(1, a.tries + 1):
        wait_quiet(a.idle, a.idle_wait)
        tps, rss, foreign = fn(a, model, threads)
        contention = max(0.0, foreign - max(0, ncpu - threads) / ncpu)
        log(f"{side}\t{model}\t{threads}\t{tps:.1f} tok/s\t{rss:.1f} MiB\tforeign load {100 * foreign:.0f}%"
            f"\tcontention {100 * contention:.0f}%" + (f"\t(try {attempt})" if attempt > 1 else ""))
        if contention <= a.foreign_max or attempt == a.tries:
            return tps, rss, contention
        log(f"# {100 * contention:.0f}% contention during that run: again")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ours", required=True, help="the bench_train binary")
    ap.add_argument("--twin", required=True, help="torch_ref.py")
    ap.add_argument("--models", default="t-tiny t-small r-small")
    ap.add_argument("--threads", default="1 2")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per run (after 3 warm-up steps)")
    ap.add_argument("--idle", type=float, default=0, help="percent idle to wait for before each run (0: none)")
    ap.add_argument("--idle-wait", type=float, default=180, help="longest wait for --idle, seconds")
    ap.add_argument("--foreign-max", type=float, default=10, help="percent contention above which a run is redone")
    ap.add_argument("--nice", type=int, default=None, help="niceness of both sides' processes")
    ap.add_argument("--tries", type=int, default=2, help="runs at most per measurement")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--twin-blas-dir", default="/usr/lib/x86_64-linux-gnu/openblas-openmp")
    a = ap.parse_args()
    a.idle /= 100
    a.foreign_max /= 100
    if not os.access(a.ours, os.X_OK):
        sys.exit(f"compare.py: {a.ours} is not an executable (make it first)")
    if not os.path.isfile(a.twin):
        sys.exit(f"compare.py: no twin at {a.twin} (make bench-compare PEER=dir holding torch_ref.py)")
    models, threads = a.models.split(), [int(t) for t in a.threads.split()]

    log(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {loadavg()}; "
        f"niceness of the runs {a.nice if a.nice is not None else 'unchanged'}")
    probe = subprocess.run([a.python, "-c", "import torch; print(torch.__version__, sorted({l.split()[-1] for l in "
                            "open('/proc/self/maps') if 'blas' in l}))"], env=twin_env(a),
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    log(f"# twin: torch {probe.stdout.strip()}")

    res = {}  # (side, model, threads) -> [(tps, rss, foreign)]
    for rep in range(1, a.reps + 1):
        for m in models:
            for t in threads:
                for side in (("ours", "twin") if rep % 2 else ("twin", "ours")):
                    res.setdefault((side, m, t), []).append(measure(a, side, m, t))
    log(f"# done; load average {loadavg()}")

    print("model\tthreads\tours_tokens_per_s\ttwin_tokens_per_s\tspeed_ratio\tspeed_target\tours_peak_rss_mib"
          "\ttwin_peak_rss_mib\trss_ratio\trss_target\tmax_contention_pct")
    for m in models:
        for t in threads:
            o, w = res["ours", m, t], res["twin", m, t]
            ot, wt = statistics.median(x[0] for x in o), statistics.median(x[0] for x in w)
            orss, wrss = statistics.median(x[1] for x in o), statistics.median(x[1] for x in w)
            sg = TARGET_SPEED[m]
            foreign = max(x[2] for x in o + w)  # contention
            print(f"{m}\t{t}\t{ot:.0f}\t{wt:.0f}\t{ot / wt:.2f}\t>={sg:.1f} {'met' if ot / wt >= sg else 'MISSED'}"
                  f"\t{orss:.1f}\t{wrss:.1f}\t{orss / wrss:.3f}\t<=0.333 {'met' if orss / wrss <= TARGET_RSS else 'MISSED'}"
                  f"\t{100 * foreign:.0f}")


if __name__ == "__main__":
    main()
