#!/usr/bin/env python
"""Data-pipeline throughput: augmented training samples per second per loader worker.

Writes 64 synthetic 512x512 CT-like PNG slices (body, lungs, noise, a tumor blob on half of them) in the
`lungseg_convert` layout, then times `SliceDataset` with the default `AugmentationConfig` in this process
(OpenCV and torch limited to one thread: what one DataLoader worker does) and reports how many workers
would feed a GPU that eats 150 slices/s. The per-worker rate is counted per CPU second of this process, so it
estimates a worker with a core to itself even on a busy machine; the wall-clock rate is printed beside it. `--loader N` also times a real DataLoader with N workers.
The last two rows compare a 7-channel (2.5D, k=3) item read from its 7 PNGs with the same item from the in-memory
cache (`cache_mb`).

    python benchmarks/bench_dataset.py [--seconds 4] [--loader 0]
"""
import argparse, csv, math, os, shutil, sys, tempfile, time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader

from lungseg_nb.core import AugmentationConfig, seed_worker
from lungseg_nb.data.convert import MANIFEST_COLUMNS
from lungseg_nb.data.dataset import SliceDataset, build_transforms

TARGET = 150  # slices/s a fast GPU trains on at 512x512


def write_slices(root: Path, n_cases=4, n_slices=16, size=512, seed=0):
    "64 CT-like uint8 slices with a manifest in the converter's format."
    rng = np.random.default_rng(seed)
    (root/'images').mkdir(parents=True); (root/'labels').mkdir()
    yy, xx = np.mgrid[:size, :size] / size
    rows = []
    for c in range(n_cases):
        case = f'lung_{c+1:03d}'
        for s in range(n_slices):
            img = np.where(((yy-.5)/.42)**2 + ((xx-.5)/.47)**2 < 1, 150., 0.)
            for cx in (.3, .7): img[((yy-.48)/.3)**2 + ((xx-cx)/.15)**2 < 1] = 40
            lab = np.zeros((size, size), np.uint8)
            if s % 2:
                ty, tx, r = rng.uniform(.35, .6), rng.uniform(.6, .8), rng.uniform(.02, .05)
                lab[(yy-ty)**2 + (xx-tx)**2 < r*r] = 255; img[lab > 0] = 170
            img = np.clip(cv2.GaussianBlur(img, (0, 0), 2) + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
            name = f'{case}_slice_{s:04d}.png'
            cv2.imwrite(str(root/'images'/name), img); cv2.imwrite(str(root/'labels'/name), lab)
            rows.append(dict(case=case, slice=s, n_slices=n_slices, image=f'images/{name}', label=f'labels/{name}',
                             tumor_pixels=int((lab > 0).sum()), keep=1, spacing_x=.8, spacing_y=.8, spacing_z=2.5,
                             source_image='', source_label=''))
    with open(root/'manifest.csv', 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS); w.writeheader(); w.writerows(rows)


def rate_in_process(ds, seconds):
    "Samples per wall-clock second and per CPU second of ds[i] in this process (after a short warm-up)."
    for i in range(4): ds[i]
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        ds[n % len(ds)]; n += 1
    return n / (time.perf_counter() - t0), n / (time.process_time() - c0)


def rate_loader(ds, workers, seconds, batch_size=4):
    g = torch.Generator(); g.manual_seed(0)
    dl = DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers, persistent_workers=True,
                    worker_init_fn=seed_worker, generator=g)
    it = iter(dl); next(it)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        try: x, _ = next(it)
        except StopIteration: it = iter(dl); continue
        n += len(x)
    return n / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seconds', type=float, default=4, help='timing window per row')
    ap.add_argument('--loader', type=int, nargs='*', default=[], help='also time a DataLoader with these worker counts')
    args = ap.parse_args()
    cv2.setNumThreads(1); torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix='bench_dataset_'))
    try:
        write_slices(tmp/'slices')
        aug = AugmentationConfig()
        cases = [  # (label, img_size, crop_size, context k, augment, cache_mb)
            ('512, resize only (validation)', 512, 0, 0, False, 0),
            ('512, augmented', 512, 0, 0, True, 0),
            ('512, augmented, 2.5D k=1', 512, 0, 1, True, 0),
            ('512 -> 256 crop, augmented', 512, 256, 0, True, 0),
            ('256, augmented', 256, 0, 0, True, 0),
            ('512 -> 160 crop, augmented, 2.5D k=3, PNGs', 512, 160, 3, True, 0),
            ('512 -> 160 crop, augmented, 2.5D k=3, cached', 512, 160, 3, True, 1024),
        ]
        load = os.getloadavg()
        print(f'# bench_dataset: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, '
              f'cv2/torch threads = 1, {args.seconds:.0f} s per row\n')
        print('| pipeline | network input | samples/s per worker (CPU time) | ms CPU/sample | samples/s wall (shared machine) | workers for 150 slices/s |')
        print('|---|---|---:|---:|---:|---:|')
        results = {}
        for label, size, crop, k, augment, cache_mb in cases:
            tf = build_transforms(aug, size, train=augment, crop_size=crop)
            ds = SliceDataset(tmp/'slices', transform=tf, context_slices=k, seed=0, cache_mb=cache_mb)
            wall, cpu = rate_in_process(ds, args.seconds); results[label] = ds
            side = crop or size
            print(f'| {label} | {2*k+1}x{side}x{side} | {cpu:.1f} | {1000/cpu:.1f} | {wall:.1f} | {math.ceil(TARGET/cpu)} |', flush=True)
        for w in args.loader:
            r = rate_loader(results['512, augmented'], w, args.seconds)
            print(f'\nDataLoader, 512 augmented, {w} workers: {r:.1f} samples/s', flush=True)
        load = os.getloadavg()
        print(f'\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
