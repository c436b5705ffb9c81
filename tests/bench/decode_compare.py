#!/usr/bin/env python3
"""Greedy decoding of a trained run's validation split, ours (decode_bench) against the PyTorch twin's
greedy decoder (TransformerRef.greedy in torch_train.py) holding the same weights, alternating in one run.

    python3 tests/bench/decode_compare.py --ours build/decode_bench --peer ../shared/peer
        [--ckpt runs/eng-deu-transformer/ckpt/best.ckpt] [--threads "1 2"] [--reps 3] [--nice -15]
    (make bench-decode [CKPT=path] [DECODE_ARGS="--reps 3 --nice -15"])

The checkpoint must be a Transformer trained by bin/train (for the issue's target: the best checkpoint of
configs/eng-deu-transformer.ini; make one with `bin/train configs/eng-deu-transformer.ini`). Its
parameters are loaded into the twin's TransformerRef (names as tests/crosscheck/torch_fixture.py maps
them, read with zlib as docs/formats.md describes), so both sides compute the same function and decode
the same hypotheses up to floating-point ties; the share of identical hypotheses is reported, since
output lengths drive the cost of decoding.

Sources: the validation pairs exactly as the trainer scores them (decode_bench prepares the run's data
from the config and tokenizers stored in the checkpoint: the twin's split and length filter). Each side
runs in its own process with the same thread count and the same max length (the run's [data] max_len)
and decodes as it does after every training epoch: ours sorted by length in batches of the run's
[train] decode_batch (default 100), the twin sorted by length in chunks of its --decode-batch (default
1000). Both decode one warm-up chunk (--warmup sentences) first, untimed; the timed part is the decoding
loop only (batching, model, unbatching), not loading or tokenizing.

For each repetition and thread count one run of ours and one of the twin go back to back (ours first in
odd repetitions); every run is echoed to stderr with the foreign load seen meanwhile (see compare.py,
whose helpers this reuses). stdout: one TSV row per thread count with medians and ratio ours/twin, the
issue's target (>= 3x) and the share of identical hypotheses.
"""
import argparse
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import loadavg, log, run_measured  # noqa: E402

TARGET = 3.0
PAD, EOS = 0, 3


# ------------------------------------------------------------------------------------ checkpoint reading
def read_checkpoint(path, want):
    """{key: value} of the records for which want(key) is true (docs/formats.md, container version 1);
    tensors come back as (shape, numpy float32 array)."""
    import numpy as np
    data = open(path, "rb").read()
    if data[:8] != b"AKCKPT01" or len(data) < 44:
        raise ValueError(f"{path}: not an attnkit checkpoint")
    version, flags, plen, clen, pcrc, ccrc, hcrc = struct.unpack_from("<IIQQIII", data, 8)
    if version != 1 or flags != 0 or zlib.crc32(data[:40]) != hcrc or len(data) != 44 + clen:
        raise ValueError(f"{path}: bad header or truncated")
    p = zlib.decompress(data[44:])
    if len(p) != plen or zlib.crc32(p) != pcrc:
        raise ValueError(f"{path}: corrupted payload")
    out, off = {}, 0
    while off < len(p):
        (klen,) = struct.unpack_from("<I", p, off)
        key = p[off + 4:off + 4 + klen].decode("utf-8")
        typ, vlen = struct.unpack_from("<BQ", p, off + 4 + klen)
        v0 = off + 13 + klen
        off = v0 + vlen
        if not want(key):
            continue
        if typ == 4:
            out[key] = p[v0:off].decode("utf-8")
        elif typ == 6:
            (ndim,) = struct.unpack_from("<I", p, v0)
            shape = struct.unpack_from(f"<{ndim}Q", p, v0 + 4)
            out[key] = (shape, np.frombuffer(p, "<f4", int(np.prod(shape)), v0 + 4 + 8 * ndim).reshape(shape))
        elif typ in (1, 2):
            out[key] = struct.unpack_from("<Qq"[typ - 1], p, v0)[0]
    return out


def twin_model(peer, ckpt):
    """The twin's TransformerRef with the checkpoint's parameters; returns (model, desc)."""
    import torch
    sys.path.insert(0, peer)
    import torch_train
    rec = read_checkpoint(ckpt, lambda k: k == "model/desc" or k.startswith("param/"))
    desc = {}
    for line in rec["model/desc"].splitlines():
        if "=" in line:
            k, v = (s.strip() for s in line.split("=", 1))
            desc[k] = v
    if desc.get("kind") != "transformer" or desc.get("positions", "sinusoidal") != "sinusoidal":
        sys.exit(f"decode_compare.py: {ckpt}: a Transformer with sinusoidal positions is needed "
                 f"(kind {desc.get('kind')})")
    i = lambda k: int(desc[k])  # noqa: E731
    if i("enc_layers") != i("dec_layers"):
        sys.exit("decode_compare.py: the twin's Transformer has as many encoder as decoder layers")
    m = torch_train.TransformerRef(i("src_vocab"), i("tgt_vocab"), i("d_model"), i("heads"), i("d_ff"),
                                   i("enc_layers"), max_len=max(512, i("max_len") + 2), p=float(desc["dropout"]))
    P = {k[len("param/"):]: torch.from_numpy(v[1].copy()) for k, v in rec.items() if k.startswith("param/")}
    sd = {"pe": m.pe, "src_emb.weight": P.pop("src_emb.weight"), "tgt_emb.weight": P.pop("tgt_emb.weight")}

    def lin(dst, src):
        sd[dst + ".weight"] = P.pop(src + ".weight")
        sd[dst + ".bias"] = P.pop(src + ".bias")

    def mha(dst, src):
        sd[dst + ".in_proj_weight"] = torch.cat([P.pop(f"{src}.{x}.weight") for x in "qkv"])
        sd[dst + ".in_proj_bias"] = torch.cat([P.pop(f"{src}.{x}.bias") for x in "qkv"])
        lin(dst + ".out_proj", src + ".o")

    for side, n in (("enc", i("enc_layers")), ("dec", i("dec_layers"))):
        stack = "tf.encoder" if side == "enc" else "tf.decoder"
        for k in range(n):
            d, s = f"{stack}.layers.{k}", f"{side}.{k}"
            lin(d + ".norm1", s + ".ln1")
            mha(d + ".self_attn", s + ".self_attn")
            lin(d + ".norm2", s + ".ln2")
            if side == "dec":
                mha(d + ".multihead_attn", s + ".cross_attn")
                lin(d + ".norm3", s + ".ln3")
            lin(d + ".linear1", s + ".ff1")
            lin(d + ".linear2", s + ".ff2")
        lin(stack + ".norm", side + "_norm")
    lin("gen", "gen")
    if P:
        sys.exit(f"decode_compare.py: parameters the twin has no place for: {sorted(P)[:5]}")
    m.load_state_dict(sd, strict=True)
    m.eval()
    return m, desc


# ------------------------------------------------------------------------------------------ twin worker
def read_ids(path):
    with open(path) as f:
        return [[int(x) for x in line.split()] for line in f]


def twin_worker(a):
    """One timed greedy decode by the twin (torch_train.py's decode loop of the test set)."""
    import torch
    torch.set_num_threads(a.threads)
    model, _ = twin_model(a.peer, a.ckpt)
    src = read_ids(a.src)
    order = sorted(range(len(src)), key=lambda i: len(src[i]))
    hyp = [None] * len(src)

    def decode(idx, chunk):
        with torch.no_grad():
            for k in range(0, len(idx), chunk):
                ch = idx[k:k + chunk]
                Ls = max(len(src[i]) for i in ch)
                x = torch.tensor([src[i] + [PAD] * (Ls - len(src[i])) for i in ch])
                out = model.greedy(x, a.max_len).tolist()
                for i, row in zip(ch, out):
                    ids = []
                    for t in row:
                        if t == EOS or t == PAD:
                            break
                        ids.append(t)
                    hyp[i] = ids

    if a.warmup:
        decode(order[:a.warmup], a.twin_batch)
    t0 = time.perf_counter()
    decode(order, a.twin_batch)
    sec = time.perf_counter() - t0
    with open(a.hyp_out, "w") as f:
        f.write("".join(" ".join(map(str, h)) + "\n" for h in hyp))
    n = len(src)
    print(f"{n}\t{a.threads}\t{a.twin_batch}\t{a.max_len}\t{sec:.4f}\t{n / sec:.1f}\t{sum(map(len, hyp))}")


# ------------------------------------------------------------------------------------------------- main
def twin_env(a):
    env = os.environ.copy()
    if a.twin_blas_dir:
        env["LD_LIBRARY_PATH"] = a.twin_blas_dir + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def row(out):
    f = out.strip().splitlines()[-1].split("\t")  # sentences threads batch max_len seconds sent_per_s hyp_tokens
    return float(f[5]), int(f[2]), int(f[3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ours", default="build/decode_bench", help="the decode_bench binary")
    ap.add_argument("--peer", default=os.path.join(HERE, "../../../shared/peer"), help="folder of torch_train.py")
    ap.add_argument("--ckpt", default="runs/eng-deu-transformer/ckpt/best.ckpt")
    ap.add_argument("--threads", default="1 2")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=0, help="ours: sentences per batch (0: the run's decode_batch)")
    ap.add_argument("--twin-batch", type=int, default=1000, help="twin: sentences per chunk (its --decode-batch)")
    ap.add_argument("--max-len", type=int, default=0, help="0: the run's [data] max_len")
    ap.add_argument("--warmup", type=int, default=100, help="sentences decoded untimed first by each side")
    ap.add_argument("--nice", type=int, default=None, help="niceness of both sides' processes")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--twin-blas-dir", default="/usr/lib/x86_64-linux-gnu/openblas-openmp")
    ap.add_argument("--twin-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--src", help=argparse.SUPPRESS)
    ap.add_argument("--hyp-out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.twin_worker:
        a.threads = int(a.threads)
        return twin_worker(a)

    if not os.path.isfile(a.ckpt):
        sys.exit(f"decode_compare.py: no checkpoint at {a.ckpt}.\n  Train one first (about an hour on 2 cores): "
                 f"bin/train configs/eng-deu-transformer.ini\n  (its best checkpoint is then "
                 f"runs/eng-deu-transformer/ckpt/best.ckpt), or pass --ckpt PATH / make bench-decode CKPT=PATH")
    if not os.access(a.ours, os.X_OK):
        sys.exit(f"decode_compare.py: {a.ours} is not an executable (make {a.ours} first)")
    if not os.path.isfile(os.path.join(a.peer, "torch_train.py")):
        sys.exit(f"decode_compare.py: no torch_train.py in {a.peer} (--peer DIR)")
    threads = [int(t) for t in a.threads.split()]
    log(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {loadavg()}; "
        f"niceness of the runs {a.nice if a.nice is not None else 'unchanged'}; checkpoint {a.ckpt}")

    tmp = tempfile.mkdtemp(prefix="decode_compare.")
    src = os.path.join(tmp, "src.ids")
    ours_cmd = [a.ours, "--ckpt", a.ckpt, "--batch", str(a.batch), "--max-len", str(a.max_len),
                "--warmup", "1" if a.warmup else "0"]
    # A first, untimed run of ours writes the validation sources and fixes max_len and the batch.
    out, _ = run_measured(ours_cmd + ["--threads", "1", "--src-out", src], os.environ.copy(), None)
    _, ours_batch, max_len = row(out)
    n = sum(1 for _ in open(src))
    log(f"# {n} validation sentences; ours: batches of {ours_batch}; twin: chunks of {a.twin_batch}; "
        f"max_len {max_len}")

    res = {}  # (side, threads) -> [(sent_per_s, foreign)]
    identical = {}
    for rep in range(1, a.reps + 1):
        for t in threads:
            hyps = {}
            for side in (("ours", "twin") if rep % 2 else ("twin", "ours")):
                hyps[side] = os.path.join(tmp, f"{side}.{t}.hyp")
                if side == "ours":
                    cmd, env = ours_cmd + ["--threads", str(t), "--hyp-out", hyps[side]], os.environ.copy()
                else:
                    cmd = [a.python, os.path.abspath(__file__), "--twin-worker", "--peer", a.peer, "--ckpt", a.ckpt,
                           "--threads", str(t), "--src", src, "--hyp-out", hyps[side], "--twin-batch",
                           str(a.twin_batch), "--max-len", str(max_len), "--warmup", str(a.warmup)]
                    env = twin_env(a)
                    env["OMP_NUM_THREADS"] = str(t)
                out, foreign = run_measured(cmd, env, a.nice)
                sps = row(out)[0]
                log(f"{side}\t{t}\t{sps:.1f} sent/s\tforeign load {100 * foreign:.0f}%")
                res.setdefault((side, t), []).append((sps, foreign))
            ho, ht = read_ids(hyps["ours"]), read_ids(hyps["twin"])
            identical[t] = sum(x == y for x, y in zip(ho, ht)) / max(1, len(ho))
    log(f"# done; load average {loadavg()}")

    print("threads\tours_sent_per_s\ttwin_sent_per_s\tratio\tidentical_pct\ttarget\tours_batch\ttwin_batch"
          "\tmax_len\tmax_foreign_pct")
    for t in threads:
        o, w = res["ours", t], res["twin", t]
        os_, ws = statistics.median(x[0] for x in o), statistics.median(x[0] for x in w)
        r = os_ / ws
        print(f"{t}\t{os_:.1f}\t{ws:.1f}\t{r:.2f}\t{100 * identical[t]:.1f}\t>={TARGET:.0f} "
              f"{'met' if r >= TARGET else 'MISSED'}\t{ours_batch}\t{a.twin_batch}\t{max_len}"
              f"\t{100 * max(x[1] for x in o + w):.0f}")


if __name__ == "__main__":
    main()
