#!/usr/bin/env python
"""Speed of the Attention U-Net with deep supervision (lungseg_nb.models.unet).

CPU part: inference forward and train step (forward, deep-supervision CE, backward, AdamW step) at SIZE², batch
BATCH, fp32, for several implementation variants measured interleaved (round robin, medians), with FLOPs from
torch.utils.flop_counter and the achieved GFLOP/s as a share of a 2048x2048 fp32 matmul timed in the same run.
CUDA part (only when torch.cuda.is_available()): train-step slices/s at 512², batch 16, bf16 autocast,
channels_last, eager vs torch.compile.

    python benchmarks/bench_model.py [--size 256] [--batch 2] [--threads 2] [--repeats 7]
                                     [--variants plain,inplace,default,channels_last] [--no-cuda]
Variants: plain (no in-place ReLU, gate convolves upsampled g, unfused AdamW), inplace (in-place ReLU), default (the library:
in-place ReLU + gate W_g at the coarse resolution + fused AdamW), channels_last (default + channels_last), compile
(default + torch.compile), compile_cl (compile + channels_last).
"""
import argparse, statistics, sys, time, types
import torch, torch.nn as nn, torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from lungseg_nb.models.layers import AttentionGate
from lungseg_nb.models.unet import AttentionUNet
from lungseg_nb.core import TrainConfig
from lungseg_nb.train import build_optimizer

DS_WEIGHTS = (1.0, 0.4, 0.2, 0.1)

def _gate_upsample_first(self, g, x):
    "Reference gate: upsample g to x's size, then W_g (4x the multiply-adds of the library's order)."
    g = F.interpolate(g, size=x.shape[-2:], mode='bilinear', align_corners=True)
    alpha = self.psi(self.relu(self.W_g(g) + self.W_x(x)))
    self.attention = alpha.detach()
    return x * alpha

def make_model(variant, device='cpu', size_seed=0):
    torch.manual_seed(size_seed)
    m = AttentionUNet(deep_supervision=True).to(device)
    if variant in ('plain', 'inplace'):
        for mod in m.modules():
            if isinstance(mod, AttentionGate): mod.forward = types.MethodType(_gate_upsample_first, mod)
    if variant == 'plain':
        for mod in m.modules():
            if isinstance(mod, nn.ReLU): mod.inplace = False
    cl = variant in ('channels_last', 'compile_cl')
    if cl: m = m.to(memory_format=torch.channels_last)
    m.train()
    fwd = torch.compile(m) if variant.startswith('compile') else m
    return m, fwd, cl

def ds_loss(outs, y):
    return sum(w * F.cross_entropy(o.float(), y) for w, o in zip(DS_WEIGHTS, outs))

def train_step(fwd, opt, x, y):
    opt.zero_grad(set_to_none=True)
    ds_loss(fwd(x), y).backward()
    opt.step()

def forward_eval(model, fwd, x):
    model.eval()
    with torch.no_grad(): fwd(x)
    model.train()

def count_flops(model, x, y):
    with FlopCounterMode(display=False) as fc:
        model.eval()
        with torch.no_grad(): model(x)
        model.train()
    f_fwd = fc.get_total_flops()
    with FlopCounterMode(display=False) as fc:
        ds_loss(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    return f_fwd, fc.get_total_flops()

def timed(fn, sync=lambda: None):
    sync(); t = time.perf_counter(); fn(); sync(); return time.perf_counter() - t

def matmul_gflops(n=2048, reps=3, device='cpu', dtype=torch.float32, sync=lambda: None):
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    return max(2 * n**3 / timed(lambda: a @ b, sync) for _ in range(reps)) / 1e9

def bench_cpu(args):
    torch.set_num_threads(args.threads)
    x = torch.randn(args.batch, 1, args.size, args.size)
    y = (torch.rand(args.batch, args.size, args.size) < 0.01).long()
    variants = args.variants.split(',')
    runs = {}
    for v in variants:
        model, fwd, cl = make_model(v)
        xv = x.to(memory_format=torch.channels_last) if cl else x
        # the library's optimizer (fused AdamW, no decay on norms/biases); 'plain' keeps torch's default per-parameter loop
        opt = (torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=1e-3) if v == 'plain'
               else build_optimizer(model, TrainConfig(lr=5e-5, weight_decay=1e-3)))
        flops = count_flops(model, x, y)
        t0 = time.perf_counter()
        for _ in range(2): train_step(fwd, opt, xv, y); forward_eval(model, fwd, xv)  # warm-up (compiles)
        runs[v] = dict(model=model, fwd=fwd, x=xv, opt=opt, flops=flops, warm=time.perf_counter() - t0, fw=[], tr=[])
    mm = []
    for _ in range(args.repeats):  # round robin: load changes hit all variants alike
        mm.append(matmul_gflops())
        for v in variants:
            r = runs[v]
            r['fw'].append(timed(lambda: forward_eval(r['model'], r['fwd'], r['x'])))
            r['tr'].append(timed(lambda: train_step(r['fwd'], r['opt'], r['x'], y)))
        mm.append(matmul_gflops())
    mm_rate = statistics.median(mm)
    print(f"CPU {args.size}x{args.size}, batch {args.batch}, fp32, {torch.get_num_threads()} threads, "
          f"AttentionUNet(deep_supervision=True), {args.repeats} interleaved repeats, medians; "
          f"fp32 matmul 2048^2: {mm_rate:.1f} GFLOP/s (min {min(mm):.1f}, max {max(mm):.1f})\n")
    print("| variant | forward ms | train-step ms | fwd GFLOP | train GFLOP | fwd GFLOP/s | train GFLOP/s | fwd share | train share | train-step range ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for v in variants:
        r = runs[v]; tf, tt = statistics.median(r['fw']), statistics.median(r['tr'])
        gf, gt = r['flops'][0] / tf / 1e9, r['flops'][1] / tt / 1e9
        print(f"| {v} | {tf*1e3:.0f} | {tt*1e3:.0f} | {r['flops'][0]/1e9:.1f} | {r['flops'][1]/1e9:.1f} | "
              f"{gf:.1f} | {gt:.1f} | {gf/mm_rate:.0%} | {gt/mm_rate:.0%} | {min(r['tr'])*1e3:.0f}-{max(r['tr'])*1e3:.0f} |")
    if any(v.startswith('compile') for v in variants):
        print("\nwarm-up (2 steps, includes compilation): " + ", ".join(f"{v} {runs[v]['warm']:.0f} s" for v in variants))

def bench_cuda(args):
    dev, sync = 'cuda', torch.cuda.synchronize
    torch.backends.cudnn.benchmark = True
    n, s = args.cuda_batch, args.cuda_size
    x = torch.randn(n, 1, s, s, device=dev).to(memory_format=torch.channels_last)
    y = (torch.rand(n, s, s, device=dev) < 0.01).long()
    print(f"\nCUDA {torch.cuda.get_device_name()}: {s}x{s}, batch {n}, bf16 autocast, channels_last, "
          f"bf16 matmul 8192^2: {matmul_gflops(8192, 5, dev, torch.bfloat16, sync)/1e3:.0f} TFLOP/s\n")
    print("| variant | train-step ms | slices/s | warm-up s |")
    print("|---|---|---|---|")
    for v in ('channels_last', 'compile_cl'):
        model, fwd, _ = make_model(v, dev)
        opt = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=1e-3, fused=True)
        def step():
            opt.zero_grad(set_to_none=True)
            with torch.autocast('cuda', dtype=torch.bfloat16): outs = fwd(x)
            ds_loss(outs, y).backward(); opt.step()
        warm = sum(timed(step, sync) for _ in range(3))
        ts = sorted(timed(step, sync) for _ in range(args.cuda_steps))
        t = statistics.median(ts)
        print(f"| {'eager' if v == 'channels_last' else 'torch.compile'} | {t*1e3:.1f} | {n/t:.1f} | {warm:.0f} |")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--size', type=int, default=256); p.add_argument('--batch', type=int, default=2)
    p.add_argument('--threads', type=int, default=2); p.add_argument('--repeats', type=int, default=7)
    p.add_argument('--variants', default='plain,inplace,default,channels_last')
    p.add_argument('--no-cuda', action='store_true', help='skip the CUDA part even when a GPU is present')
    p.add_argument('--cuda-size', type=int, default=512); p.add_argument('--cuda-batch', type=int, default=16)
    p.add_argument('--cuda-steps', type=int, default=20)
    args = p.parse_args()
    bench_cpu(args)
    if torch.cuda.is_available() and not args.no_cuda: bench_cuda(args)
    else: print("\nCUDA part not run: no CUDA device.")
