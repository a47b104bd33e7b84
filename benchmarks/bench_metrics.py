"""Benchmark lungseg_nb.metrics: SegmentationMetrics.update vs a bare torch.bincount, and hd95 + nsd on 512x512x100.

Usage: python benchmarks/bench_metrics.py [--repeats 15] [--quick]
Prints markdown tables; every ratio is measured in this run, on this machine (medians of repeats).
"""
import argparse, os, platform, statistics, time
import numpy as np
import torch
from lungseg_nb.metrics import SegmentationMetrics, hd95, nsd, volume_metrics

def median_ms(fn, repeats, cpu=False):
    "Median wall-clock ms of `repeats` calls (and median process CPU ms if `cpu`)."
    fn()  # warm-up
    ts, cs = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter(); fn()
        ts.append(time.perf_counter() - t0); cs.append(time.process_time() - c0)
    return (statistics.median(ts) * 1e3, statistics.median(cs) * 1e3) if cpu else statistics.median(ts) * 1e3

def ellipsoid(shape, centre, radii_mm, spacing):
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    r = sum(((g - c) * s / rr) ** 2 for g, c, s, rr in zip(grids, centre, spacing, radii_mm))
    return r <= 1.0

def bench_confmat(repeats):
    g = torch.Generator().manual_seed(0)
    N, H, W = 16, 512, 512
    # ~0.4% tumor pixels, as in Task06 slices; predictions disagree on some of them
    target = (torch.rand(N, H, W, generator=g) < 0.004).long()
    pred = target.clone(); flip = torch.rand(N, H, W, generator=g) < 0.002; pred[flip] = 1 - pred[flip]
    logits = torch.randn(N, 2, H, W, generator=g)
    t8, p8 = target.to(torch.uint8), pred.to(torch.uint8)
    m = SegmentationMetrics(2)
    def upd(p, t):
        def f(): m.update(p, t)
        return f
    rows = [
        ('bare `torch.bincount(target)` (int64)', lambda: torch.bincount(target.flatten(), minlength=2)),
        ('naive `bincount(target*2+pred)` (int64)', lambda: torch.bincount((target * 2 + pred).flatten(), minlength=4)),
        ('`SegmentationMetrics.update(pred, target)` int64 indices', upd(pred, target)),
        ('bare `torch.bincount(target)` (uint8)', lambda: torch.bincount(t8.flatten(), minlength=2)),
        ('`SegmentationMetrics.update(pred, target)` uint8 indices', upd(p8, t8)),
        ('`SegmentationMetrics.update(logits, target)` (incl. argmax)', upd(logits, target)),
    ]
    threads = sorted({torch.get_num_threads(), 1}, reverse=True)
    times = {}
    for nt in threads:
        torch.set_num_threads(nt)
        times[nt] = [median_ms(fn, repeats) for _, fn in rows]
    torch.set_num_threads(threads[0])
    print(f"\n### Confusion matrix, {N}x{H}x{W}, ~0.4% tumor (median of {repeats})\n")
    print("| operation | " + " | ".join(f"ms ({nt} thr) | ratio to bare int64 ({nt} thr)" for nt in threads) + " |")
    print("|---|" + "---:|---:|" * len(threads))
    for i, (name, _) in enumerate(rows):
        print(f"| {name} | " + " | ".join(f"{times[nt][i]:.1f} | {times[nt][i] / times[nt][0]:.2f}x" for nt in threads) + " |")
    return times

def bench_surface(repeats):
    shape, sp = (512, 512, 100), (0.7, 0.7, 2.5)
    cases = {
        'typical tumor (r = 15 mm, pred shifted 3 mm, 10% smaller)':
            (ellipsoid(shape, (250, 260, 50), (13.5,) * 3, sp), ellipsoid(shape, (254, 260, 50), (15,) * 3, sp)),
        'large tumor (r = 50 mm)':
            (ellipsoid(shape, (250, 260, 50), (45,) * 3, sp), ellipsoid(shape, (255, 262, 51), (50,) * 3, sp)),
        'two distant lesions (r = 10 mm, 250 mm apart)':
            (ellipsoid(shape, (100, 100, 20), (9,) * 3, sp) | ellipsoid(shape, (420, 400, 80), (10,) * 3, sp),
             ellipsoid(shape, (102, 100, 20), (10,) * 3, sp) | ellipsoid(shape, (420, 400, 82), (10,) * 3, sp)),
        'missed tumor (prediction empty)':
            (np.zeros(shape, bool), ellipsoid(shape, (250, 260, 50), (15,) * 3, sp)),
    }
    print(f"\n### hd95 + nsd on {shape[0]}x{shape[1]}x{shape[2]}, spacing {sp} mm (median of {repeats}; "
          "CPU = process time, less sensitive to other workers' load)\n")
    print("| case | hd95 ms | nsd ms | hd95 + nsd ms (CPU ms) | volume_metrics ms (CPU ms) | HD95 mm | NSD@2mm |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    out = []
    for name, (p, t) in cases.items():
        th, ch = median_ms(lambda: hd95(p, t, sp), repeats, cpu=True)
        tn, cn = median_ms(lambda: nsd(p, t, sp, 2.0), repeats, cpu=True)
        tv, cv = median_ms(lambda: volume_metrics(p, t, sp, 2.0), repeats, cpu=True)
        print(f"| {name} | {th:.0f} | {tn:.0f} | {th + tn:.0f} ({ch + cn:.0f}) | {tv:.0f} ({cv:.0f}) | "
              f"{hd95(p, t, sp):.2f} | {nsd(p, t, sp, 2.0):.3f} |")
        out.append((name, th + tn))
    return out

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=15, help='timed repeats per row (median reported)')
    ap.add_argument('--quick', action='store_true', help='3 repeats, for a smoke run')
    a = ap.parse_args()
    reps = 3 if a.quick else a.repeats
    la0 = os.getloadavg()
    print(f"torch {torch.__version__}, numpy {np.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, load average at start {la0[0]:.2f}")
    bench_confmat(reps)
    bench_surface(max(3, reps // 3))
    print(f"\nload average at end {os.getloadavg()[0]:.2f} (machine shared with other workers: absolute times are noisy, "
          "ratios within a table are measured back to back)")
