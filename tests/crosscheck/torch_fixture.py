#!/usr/bin/env python3
"""Writes tests/fixtures/*.txt: tiny reference models with random weights, a padded batch, and the
logits and losses the PyTorch twin (../shared/peer/torch_train.py) computes on it, so the C suite can
check that our models compute the same function without needing PyTorch at test time.

  /usr/bin/python3 tests/crosscheck/torch_fixture.py [--peer ../shared/peer] [--out tests/fixtures]

Fixture format (text, whitespace-separated): lines "desc KEY VALUE" (our model description),
"param NAME NDIM D0 .. Dn-1" followed by the values on the next line (our names and layouts, see
docs/formats.md), "ids NAME B L" + values (src, tgt_in, tgt_out), "logits B L V" + values,
"loss SMOOTHING VALUE".
"""
import argparse, os, sys

import torch
import torch.nn.functional as F

PAD, BOS, EOS = 0, 2, 3


def put(f, name, t):
    t = t.detach().contiguous().float()
    f.write(f"param {name} {t.dim()} {' '.join(map(str, t.shape))}\n")
    f.write(" ".join(f"{v:.9g}" for v in t.flatten().tolist()) + "\n")


def ids(f, name, t):
    f.write(f"ids {name} {t.shape[0]} {t.shape[1]}\n" + " ".join(map(str, t.flatten().tolist())) + "\n")


def linear(f, name, m):
    put(f, name + ".weight", m.weight)
    if m.bias is not None:
        put(f, name + ".bias", m.bias)


def mha(f, name, m):
    d = m.embed_dim
    W, b = m.in_proj_weight, m.in_proj_bias  # rows: q, k, v stacked
    for i, part in enumerate("qkv"):
        put(f, f"{name}.{part}.weight", W[i * d:(i + 1) * d])
        put(f, f"{name}.{part}.bias", b[i * d:(i + 1) * d])
    linear(f, name + ".o", m.out_proj)


def batch(g, B, Ls, Lt, Vs, Vt, pad_src=True):
    src = torch.randint(4, Vs, (B, Ls), generator=g)
    y = torch.randint(4, Vt, (B, Lt + 1), generator=g)
    y[:, 0] = BOS
    for i in range(B):
        k = i % 3
        if k and pad_src:
            src[i, Ls - k:] = PAD
        if k:
            y[i, Lt + 1 - k:] = PAD
            y[i, Lt - k] = EOS
    return src, y[:, :-1].contiguous(), y[:, 1:].contiguous()


def finish(f, model, src, tin, tout, Vt):
    with torch.no_grad():
        lo = model(src, tin)
    ids(f, "src", src)
    ids(f, "tgt_in", tin)
    ids(f, "tgt_out", tout)
    f.write(f"logits {lo.shape[0]} {lo.shape[1]} {lo.shape[2]}\n")
    f.write(" ".join(f"{v:.9g}" for v in lo.flatten().tolist()) + "\n")
    for eps in (0.0, 0.1):
        loss = F.cross_entropy(lo.reshape(-1, Vt), tout.reshape(-1), ignore_index=PAD, label_smoothing=eps)
        f.write(f"loss {eps} {loss.item():.9g}\n")


def transformer(peer, path):
    T = peer.TransformerRef
    Vs, Vt, d, h, dff, L = 13, 11, 16, 4, 24, 2
    torch.manual_seed(5)
    m = T(Vs, Vt, d, h, dff, L, max_len=32, p=0.1)
    # Non-trivial layer-norm affines, so a swapped gamma/beta would show.
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "norm" in n:
                p.add_(0.1 * torch.randn_like(p))
    m.eval()
    with open(path, "w") as f:
        for k, v in dict(kind="transformer", src_vocab=Vs, tgt_vocab=Vt, d_model=d, heads=h, d_ff=dff,
                         enc_layers=L, dec_layers=L, max_len=32, dropout=0.1).items():
            f.write(f"desc {k} {v}\n")
        put(f, "src_emb.weight", m.src_emb.weight)
        put(f, "tgt_emb.weight", m.tgt_emb.weight)
        for i, l in enumerate(m.tf.encoder.layers):
            p = f"enc.{i}"
            linear(f, p + ".ln1", l.norm1)
            mha(f, p + ".self_attn", l.self_attn)
            linear(f, p + ".ln2", l.norm2)
            linear(f, p + ".ff1", l.linear1)
            linear(f, p + ".ff2", l.linear2)
        linear(f, "enc_norm", m.tf.encoder.norm)
        for i, l in enumerate(m.tf.decoder.layers):
            p = f"dec.{i}"
            linear(f, p + ".ln1", l.norm1)
            mha(f, p + ".self_attn", l.self_attn)
            linear(f, p + ".ln2", l.norm2)
            mha(f, p + ".cross_attn", l.multihead_attn)
            linear(f, p + ".ln3", l.norm3)
            linear(f, p + ".ff1", l.linear1)
            linear(f, p + ".ff2", l.linear2)
        linear(f, "dec_norm", m.tf.decoder.norm)
        linear(f, "gen", m.gen)
        src, tin, tout = batch(torch.Generator().manual_seed(9), 5, 7, 6, Vs, Vt)
        finish(f, m, src, tin, tout, Vt)


def gru(f, name, g):
    # PyTorch gate order r, z, n in the stacked [3H, in] matrices; we keep it.
    put(f, name + ".weight_ih", g.weight_ih_l0)
    put(f, name + ".weight_hh", g.weight_hh_l0)
    put(f, name + ".bias_ih", g.bias_ih_l0)
    put(f, name + ".bias_hh", g.bias_hh_l0)


def rnn(peer, path):
    Vs, Vt, H = 13, 11, 12
    torch.manual_seed(6)
    m = peer.GRUAttnRef(Vs, Vt, H, p=0.1)
    m.eval()
    with open(path, "w") as f:
        for k, v in dict(kind="rnn", src_vocab=Vs, tgt_vocab=Vt, d_model=H, enc_layers=1, dec_layers=1,
                         max_len=32, dropout=0.1, cell="gru", attention="additive").items():
            f.write(f"desc {k} {v}\n")
        put(f, "enc_emb.weight", m.enc_emb.weight)
        gru(f, "enc.0.fw", m.enc_gru)
        put(f, "dec_emb.weight", m.dec_emb.weight)
        gru(f, "dec.0", m.dec_gru)
        linear(f, "attn.W", m.Wa)
        linear(f, "attn.U", m.Ua)
        linear(f, "attn.v", m.Va)
        linear(f, "out", m.out)
        # The twin runs its encoder GRU over PAD positions; ours leaves the state unchanged there.
        # With no source padding the two must agree exactly.
        src, tin, tout = batch(torch.Generator().manual_seed(10), 5, 7, 6, Vs, Vt, pad_src=False)
        finish(f, m, src, tin, tout, Vt)


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--peer", default=os.path.join(here, "../../../shared/peer"))
    ap.add_argument("--out", default=os.path.join(here, "../fixtures"))
    a = ap.parse_args()
    sys.path.insert(0, a.peer)
    import torch_train as peer
    torch.set_num_threads(1)
    transformer(peer, os.path.join(a.out, "torch_transformer.txt"))
    rnn(peer, os.path.join(a.out, "torch_rnn.txt"))


if __name__ == "__main__":
    main()
