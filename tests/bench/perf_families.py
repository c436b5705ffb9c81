#!/usr/bin/env python3
"""Time of a training step per op family, from `perf script` of bench_train.

    perf record -e cpu-clock -F 1999 -g -o P -- build/prof/bench_train --model t-small --threads 1
    perf script -i P | python3 tests/bench/perf_families.py [--functions N]

Needs call stacks: tests/bench/profile.sh builds with -g -fno-omit-frame-pointer and records dwarf call
graphs (frame pointers alone stop at libgomp's GOMP_parallel). Only samples taken inside a training step
count: a stack through one of bench_train.c's phase_* functions, or, once the first step has begun, one
from an OpenMP worker thread (its own "workers" column); model set-up is left out, and so are the first
--skip-steps steps (default 3, bench_train's warm-up). Each sample goes to the first frame, leaf
outwards, that names a known function, so expf under the cross-entropy counts as loss and a page fault
under ak_grad as memory. Prints TSV tables: families by phase (percent of the CPU samples: of the step
time at 1 thread) and the hottest functions.
"""
import collections
import re
import sys

# (regex on the symbol without its ._omp_fn.N suffix, family); first match wins, leaf outwards.
FAMILIES = [
    (r"^(wait_until|meet)$", "GEMM thread sync (wait/yield)"),
    (r"^(kernel_(avx512|avx2|generic)|gemm_.*|ak_sgemm.*|ak_gemm_.*|pack_.*|copy_avx.*|gather_avx.*|copy_generic.*)$",
     "matmul/GEMM"),
    (r"^(ak_linear|add_column_sums|linear_backward|linear_.*)$", "linear bias (fwd add, bwd column sums)"),
    (r"^(softmax_.*|log_softmax_.*|ak_softmax|ak_log_softmax)$", "softmax"),
    (r"^(ak_layernorm|layernorm_.*)$", "layernorm"),
    (r"^(ak_cross_entropy|cross_entropy_.*)$", "loss"),
    (r"^(ak_relu_dropout|relu_dropout_.*)$", "relu+dropout (fused, FFN)"),
    (r"^(ak_dropout|dropout_.*|ak_philox)$", "dropout (incl. Philox)"),  # philox16 & co: their caller's
    (r"^(ak_embedding|embedding_.*|ak_nn_posenc_forward)$", "embedding"),
    (r"^(ak_mask_.*)$", "attention masks"),
    (r"^(accumulate|forward|binary|binary_backward|ak_add|ak_sub|ak_mul|ak_div|ak_scale|scale_.*)$",
     "elementwise binary (add/mul/scale)"),
    (r"^(unary|unary_backward|ak_relu|ak_tanh|ak_sigmoid|ak_gelu|ak_exp|ak_log)$", "elementwise unary (relu/tanh/...)"),
    (r"^(permute_.*|reshape_.*|ak_permute|ak_reshape|ak_transpose|concat_.*|ak_concat|slice_.*|ak_slice|"
     r"split_heads|merge_heads|ak_nn_gather_rows|ak_detach)$",
     "shape copies (permute/reshape/concat/slice)"),
    (r"^(ak_optim_adam_update|ak_optim_step|adam_.*)$", "adam"),
    (r"^(ak_params_zero_grad)$", "zero_grad"),
    (r"^(ak_grad|ak_arena_.*|make|ak_tensor_new|ak_tensor_zeros|ak_tensor_from|make_block|ak_ctx_end_step)$",
     "memory (arena alloc/zero, page faults)"),
    (r"^(gomp_.*|GOMP_.*|omp_.*)$", "OpenMP runtime"),
    (r"^(start_thread)$", "OpenMP runtime"),
]
FAMILIES = [(re.compile(p), f) for p, f in FAMILIES]
# bench_train.c's phase_* frames; samples on OpenMP worker threads (stacks from start_thread, no phase
# frame) count as "workers" once the first step has begun.
PHASES = [("phase_forward", "forward+loss"), ("phase_backward", "backward"), ("phase_adam", "adam"),
          ("phase_zero_grad", "zero_grad"), ("phase_end_step", "end_step"), ("start_thread", "workers")]
PHASE_NAMES = ["forward+loss", "backward", "adam", "zero_grad", "end_step", "workers"]


def base(sym):
    return re.sub(r"\._omp_fn\.\d+$", "", re.sub(r"\+0x[0-9a-f]+$", "", sym))


def family(stack, fn):
    """The family of the first known frame, leaf outwards, stopping at the OpenMP runtime's frame that
    called an outlined parallel body (an unknown body is "other", not "OpenMP runtime")."""
    for k, s in enumerate(stack):
        b = base(s)
        for rx, f in FAMILIES:
            if rx.match(b):
                if f == "OpenMP runtime" and k > 0:
                    return "other (" + base(fn) + ")"
                return f
    return "other (" + base(fn) + ")"


def samples(lines):
    """Yields (stack, function): every frame's symbol, leaf first, and the first frame that is a real
    function (not one inlined into it: a dwarf call graph lists intrinsics such as _mm512_fmadd_ps)."""
    stack, fn = [], None
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if stack:
                yield stack, fn or stack[0]
            stack, fn = [], None
        elif line.startswith((" ", "\t")):
            parts = line.split()
            if len(parts) >= 2:
                if parts[1] == "[unknown]" and "libgomp" in line:
                    parts[1] = "gomp_unknown"  # libgomp's internals carry no symbols
                stack.append(parts[1])
                if fn is None and "(inlined)" not in parts[2:]:
                    fn = parts[1]
    if stack:
        yield stack, fn or stack[0]


def main():
    nfun, skip = 25, 3
    if "--functions" in sys.argv:
        nfun = int(sys.argv[sys.argv.index("--functions") + 1])
    if "--skip-steps" in sys.argv:
        skip = int(sys.argv[sys.argv.index("--skip-steps") + 1])
    by = collections.Counter()      # (phase, family)
    fam = collections.Counter()
    fun = collections.Counter()     # (leaf function, family)
    total = outside = skipped = 0
    step, last = 0, None
    for st, fn in samples(sys.stdin):
        syms = [base(s) for s in st]
        phase = next((p for s in syms for name, p in PHASES if s == name), None)
        if phase is None or (phase == "workers" and step == 0):
            outside += 1
            continue
        # Samples come in time order: a step starts where forward follows another phase.
        if phase == "forward+loss" and last != "forward+loss":
            step += 1
        if phase != "workers":
            last = phase
        if step <= skip:
            skipped += 1
            continue
        f = family(st, fn)
        if f.startswith("other") and phase in ("adam", "zero_grad", "end_step"):
            f = phase  # e.g. the memset that ak_params_zero_grad tail-calls
        total += 1
        by[phase, f] += 1
        fam[f] += 1
        fun[base(fn), f] += 1
    if not total:
        sys.exit("perf_families: no sample inside a training step (stacks missing? build with frame pointers)")
    print(f"# {total} samples in {step - skip} training steps; left out: {skipped} in the first {skip} "
          f"(warm-up) steps, {outside} outside steps (set-up)")
    print("\nfamily\tpct_cpu\t" + "\t".join(PHASE_NAMES))
    for f, n in fam.most_common():
        print(f"{f}\t{100 * n / total:.1f}\t" + "\t".join(f"{100 * by[p, f] / total:.1f}" for p in PHASE_NAMES))
    ph = collections.Counter()
    for (p, _), n in by.items():
        ph[p] += n
    print("all\t100.0\t" + "\t".join(f"{100 * ph[p] / total:.1f}" for p in PHASE_NAMES))
    print("\nfunction\tfamily\tpct_cpu")
    for (s, f), n in fun.most_common(nfun):
        print(f"{s}\t{f}\t{100 * n / total:.1f}")


if __name__ == "__main__":
    main()
