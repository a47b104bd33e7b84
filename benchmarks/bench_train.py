#!/usr/bin/env python
"""Training throughput of the full-size recipe (configs/lung_tumor.yaml) on 512x512 phantom data.

Runs one training epoch and one validation pass per precision (fp32, then bf16 autocast; fp16 + GradScaler
where bf16 is unsupported) with the real `Trainer` pieces, and prints slices/s, peak GPU memory and the
mixed-precision speed-up measured in the same run. Needs a CUDA GPU; without one it says so and exits
(`--device cpu --quick` runs a tiny smoke version of the same code on the CPU).

    python benchmarks/bench_train.py                 # CUDA: 6 phantom volumes of 512x512x32
    python benchmarks/bench_train.py --device cpu --quick
"""
import argparse, sys, tempfile, time
from pathlib import Path

import torch

from lungseg_nb.core import load_config
from lungseg_nb.train import Trainer, epoch_loader, epoch_seed, train_one_epoch, validate


def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)


def bench(cfg_path, data_dir, device, n, size, slices, base_features, quick):
    sets = [f'data.source=phantom', f'data.root={data_dir}/raw', f'data.dataset={data_dir}/slices',
            f'data.phantom_n={n}', f'data.phantom_size={size}', f'data.phantom_slices={slices}', f'data.img_size={size}',
            f'device={device}', f'output.project={data_dir}/runs', 'data.val_ratio=0.34', 'data.test_ratio=0']
    if quick: sets += [f'model.base_features={base_features}', 'data.num_workers=0', 'train.batch_size=2',
                       'train.accumulation_steps=2']
    dev = torch.device(device)
    precisions = ['off'] + (['bf16' if torch.cuda.is_bf16_supported() else 'fp16'] if dev.type == 'cuda' else ['bf16'])
    rows = []
    for amp in precisions:
        cfg = load_config(cfg_path, sets + [f'train.amp={amp}', f'output.name=bench_{amp}_{time.time_ns()}'])
        t = Trainer(cfg, progress=False, log=lambda s: None)
        if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
        loader = epoch_loader(t.train_dl, epoch_seed(cfg.seed, 0))
        _sync(dev); t0 = time.perf_counter()
        train_one_epoch(t.forward_model, loader, t.loss_fn, t.optimizer, t.device, cfg.train.accumulation_steps,
                        cfg.train.grad_clip, t.scaler, t.amp_dtype, None, t.ema, t.channels_last)
        _sync(dev); tt = time.perf_counter() - t0
        t0 = time.perf_counter()
        validate(t.eval_model, t.val_dl, t.loss_fn, t.device, t.amp_dtype, t.channels_last)
        _sync(dev); tv = time.perf_counter() - t0
        peak = torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == 'cuda' else float('nan')
        rows.append((amp, len(loader.dataset) / tt, len(t.val_dl.dataset) / tv, peak))
    print(f"device: {torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'}; {n} phantom volumes "
          f"{size}x{size}x{slices}; config {cfg_path}{' (quick)' if quick else ''}")
    print(f"{'precision':<10}{'train sl/s':>12}{'val sl/s':>10}{'peak GiB':>10}")
    for amp, tr, va, pk in rows: print(f"{amp:<10}{tr:>12.1f}{va:>10.1f}{pk:>10.2f}")
    if len(rows) == 2:
        print(f"{rows[1][0]} / fp32 speed-up: train {rows[1][1] / rows[0][1]:.2f}x, validation {rows[1][2] / rows[0][2]:.2f}x")


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', default='configs/lung_tumor.yaml')
    p.add_argument('--data', default=None, help='folder for the phantom data and runs (default: a temporary folder)')
    p.add_argument('--device', default='cuda')
    p.add_argument('--n', type=int, default=6, help='phantom volumes')
    p.add_argument('--slices', type=int, default=32, help='slices per phantom volume')
    p.add_argument('--quick', action='store_true', help='tiny sizes, for a CPU smoke test of this script')
    a = p.parse_args()
    if a.device.startswith('cuda') and not torch.cuda.is_available():
        print("bench_train: no CUDA GPU here; this benchmark measures the GPU recipe (use --device cpu --quick for a smoke test)")
        sys.exit(0)
    size, slices, n = (64, 8, 3) if a.quick else (512, a.slices, a.n)
    data = Path(a.data) if a.data else Path(tempfile.mkdtemp(prefix='lungseg_bench_'))
    bench(a.config, data, a.device, n, size, slices, 4, a.quick)
