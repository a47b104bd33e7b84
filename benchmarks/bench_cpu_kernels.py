#!/usr/bin/env python
"""Two CPU choices of the library, measured on this machine: the memory format of training convolutions and the
AdamW implementation.

1. A 3x3 convolution (bias-free, as in DoubleConv) at the widths and sizes of the U-Net's stages at 256² input,
   batch 2: forward, and backward (grad input + grad weight), in NCHW and channels_last (oneDNN), best of `--reps`.
2. One AdamW step over the full model's parameters (AttentionUNet base 64 with deep supervision, 17.6 M), with
   torch's default per-parameter loop, `foreach=True` and `fused=True` (what `build_optimizer` uses).

Prints markdown tables; ratios are within one run. `--threads` sets torch's threads (default 2).

    python benchmarks/bench_cpu_kernels.py [--threads 2] [--reps 3]
"""
import argparse, os, time
import torch, torch.nn as nn
from lungseg_nb.models.unet import AttentionUNet

STAGES = [(64, 256), (128, 128), (256, 64), (512, 32)]   # (channels, side) of the encoder at 256² input


def conv_times(c, side, channels_last, reps):
    "Best forward and backward seconds of a c->c 3x3 conv on a (2, c, side, side) input that needs its gradient."
    conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
    x = torch.randn(2, c, side, side)
    if channels_last: conv, x = conv.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)
    x.requires_grad_()
    y = conv(x); g = torch.randn_like(y); y.backward(g)          # warm-up: oneDNN creates its primitives
    fw, bw = [], []
    for _ in range(reps):
        t = time.perf_counter(); y = conv(x); t1 = time.perf_counter(); y.backward(g); t2 = time.perf_counter()
        fw.append(t1 - t); bw.append(t2 - t1)
    return min(fw), min(bw)


def adamw_ms(params, reps, **kw):
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=1e-3, **kw)
    opt.step(); opt.step()
    t = time.perf_counter()
    for _ in range(reps): opt.step()
    return (time.perf_counter() - t) / reps * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--threads', type=int, default=2); ap.add_argument('--reps', type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"# bench_cpu_kernels: torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.2f}\n")
    print("| 3x3 conv, batch 2 | NCHW fwd ms | NCHW bwd ms | channels_last fwd ms | channels_last bwd ms | "
          "fwd+bwd channels_last / NCHW |")
    print("|---|---:|---:|---:|---:|---:|")
    for c, side in STAGES:
        (f0, b0), (f1, b1) = conv_times(c, side, False, a.reps), conv_times(c, side, True, a.reps)
        print(f"| {c}->{c} @ {side}² | {f0*1e3:.0f} | {b0*1e3:.0f} | {f1*1e3:.0f} | {b1*1e3:.0f} | {(f1 + b1)/(f0 + b0):.2f}x |")
    m = AttentionUNet(deep_supervision=True)
    for p in m.parameters(): p.grad = torch.randn_like(p)
    n = sum(p.numel() for p in m.parameters())
    t = {name: adamw_ms(list(m.parameters()), 5, **kw) for name, kw in
         (('per-parameter loop (default on CPU)', {}), ('foreach=True', dict(foreach=True)), ('fused=True', dict(fused=True)))}
    print(f"\n| AdamW step, {n/1e6:.1f} M parameters | ms | ratio to fused |\n|---|---:|---:|")
    for name, ms in t.items(): print(f"| {name} | {ms:.1f} | {ms/t['fused=True']:.1f}x |")


if __name__ == '__main__': main()
