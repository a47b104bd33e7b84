#!/usr/bin/env python
"""Benchmark of `lungseg_nb.data.convert`: slices/s converting 512x512 volumes with 1 worker and with all
workers, against the bare read + HU window + PNG encode of the same slices (no reorientation, no checks,
no manifest, no temp-dir/rename). Prints a markdown table.

    python benchmarks/bench_convert.py [--n 4] [--slices 64] [--size 512] [--workers N] [--repeat 1]

Targets (issue 03): >= 1.7x speedup with 2 workers on 2 idle cores; conversion <= 1.3x the bare time.
"""
import argparse, os, shutil, tempfile, time
from pathlib import Path
import numpy as np, nibabel as nib, cv2
from lungseg_nb.data.convert import convert_dataset, hu_window, PNG_COMPRESSION
from lungseg_nb.data.download import list_cases, MSD_TASK
from lungseg_nb.testing import write_msd_folder


def synthetic_volume(seed, size, slices):
    "Smooth CT-like volume (air, body, two lungs, one tumor) stored LPS like MSD, if the phantom module is missing."
    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(np.linspace(-1, 1, size), np.linspace(-1, 1, size), indexing='ij')
    body = (x / 0.9) ** 2 + (y / 0.7) ** 2 < 1
    lungs = (((x - 0.4) / 0.3) ** 2 + (y / 0.45) ** 2 < 1) | (((x + 0.4) / 0.3) ** 2 + (y / 0.45) ** 2 < 1)
    plane = np.where(body, 40, -1000).astype(np.int16)
    plane[lungs] = -850
    img = np.repeat(plane[:, :, None], slices, axis=2)
    img += rng.normal(0, 15, img.shape).astype(np.int16)
    z = np.arange(slices)
    c = (0.4 + rng.uniform(-0.1, 0.1), rng.uniform(-0.2, 0.2), slices / 2)
    r = 0.08
    lbl = (((x[..., None] - c[0]) ** 2 + (y[..., None] - c[1]) ** 2) / r ** 2 + ((z - c[2]) / (slices / 8)) ** 2 < 1).astype(np.uint8)
    img[lbl == 1] = 30
    aff = np.diag([-0.7, -0.7, 2.5, 1.0])
    return np.asfortranarray(img), np.asfortranarray(lbl), aff


def make_data(dest, n, size, slices):
    try:
        from lungseg_nb.data.phantom import make_phantom_dataset
        return Path(make_phantom_dataset(dest, n=n, seed=0, size=size, slices=slices)), 'phantom (make_phantom_dataset)'
    except ImportError:
        vols = {f'lung_{i:03d}': synthetic_volume(i, size, slices) for i in range(n)}
        return write_msd_folder(Path(dest) / MSD_TASK, vols), 'synthetic fallback (phantom module not exported yet)'


def bare(src, out, level):
    "Read each volume and encode every slice as PNG: the floor any converter pays."
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for c in list_cases(src):
        img = np.asanyarray(nib.load(c.image_path).dataobj)
        lbl = np.asanyarray(nib.load(c.label_path).dataobj)
        for k in range(img.shape[2]):
            cv2.imwrite(str(out / f'i{c.case_id}_{k}.png'), np.ascontiguousarray(hu_window(img[:, :, k])), [cv2.IMWRITE_PNG_COMPRESSION, level])
            cv2.imwrite(str(out / f'l{c.case_id}_{k}.png'), np.ascontiguousarray(lbl[:, :, k] * np.uint8(255)), [cv2.IMWRITE_PNG_COMPRESSION, level])
            n += 1
    return n


def timed(fn, repeat):
    "Best wall time over `repeat` runs, this process's CPU time of that run, and the result."
    best = None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time(); res = fn()
        dt, dc = time.perf_counter() - t, time.process_time() - c
        if best is None or dt < best[0]: best = (dt, dc)
    return best[0], best[1], res


def dir_mb(p): return sum(f.stat().st_size for f in Path(p).rglob('*.png')) / 2**20


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--n', type=int, default=4, help='volumes')
    ap.add_argument('--slices', type=int, default=64, help='slices per volume')
    ap.add_argument('--size', type=int, default=512, help='in-plane size')
    ap.add_argument('--workers', type=int, default=os.cpu_count(), help='parallel workers (default: all cores)')
    ap.add_argument('--repeat', type=int, default=1, help='repeats per row (best time is reported)')
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='bench_convert-'))
    try:
        src, kind = make_data(tmp / 'src', a.n, a.size, a.slices)
        for f in src.rglob('*.nii.gz'): f.read_bytes()                      # warm the page cache
        load0 = os.getloadavg()
        rows = []
        def conv(workers, level):
            def run():
                shutil.rmtree(tmp / 'out', ignore_errors=True)
                s = convert_dataset(src, tmp / 'out', workers=workers, progress=False, png_compression=level)
                assert s.ok, s
                return s.slices
            return run
        def bare_run(level):
            def run():
                shutil.rmtree(tmp / 'bare', ignore_errors=True); return bare(src, tmp / 'bare', level)
            return run
        t_bare, c_bare, n = timed(bare_run(PNG_COMPRESSION), a.repeat); mb_bare = dir_mb(tmp / 'bare')
        rows.append((f'bare read + window + PNG encode (level {PNG_COMPRESSION})', n, t_bare, c_bare))
        t1, c1, n1 = timed(conv(1, PNG_COMPRESSION), a.repeat)
        rows.append((f'convert_dataset, 1 worker (level {PNG_COMPRESSION})', n1, t1, c1))
        tw, _, nw = timed(conv(a.workers, PNG_COMPRESSION), a.repeat)
        rows.append((f'convert_dataset, {a.workers} workers (level {PNG_COMPRESSION})', nw, tw, None))
        t3, c3, n3 = timed(bare_run(3), a.repeat); mb3 = dir_mb(tmp / 'bare')
        rows.append(('bare read + window + PNG encode (level 3)', n3, t3, c3))
        load1 = os.getloadavg()
        print(f"data: {a.n} volumes x {a.slices} slices, {a.size}x{a.size} ({kind}); cpu_count={os.cpu_count()}; "
              f"load average (1 min) before {load0[0]:.2f}, after {load1[0]:.2f}\n")
        print('| setup | slices | seconds | slices/s | ratio to bare (level %d) | CPU s (this process) |' % PNG_COMPRESSION)
        print('|---|---:|---:|---:|---:|---:|')
        for name, n_, t, c in rows:
            print(f'| {name} | {n_} | {t:.2f} | {n_ / t:.1f} | {t / t_bare:.2f} | {"-" if c is None else f"{c:.2f}"} |')
        print(f"\nspeedup {a.workers} workers vs 1: {t1 / tw:.2f}x (target >= 1.7x on 2 idle cores); "
              f"convert / bare: {t1 / t_bare:.2f}x wall, {c1 / c_bare:.2f}x CPU (target <= 1.3x)")
        print(f"PNG size (images + labels): level {PNG_COMPRESSION} {mb_bare:.1f} MB, level 3 {mb3:.1f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
