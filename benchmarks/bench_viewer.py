#!/usr/bin/env python
"""Redraw speed of the ipywidgets volume viewer (lungseg_nb.widgets) on a full-size CT volume.

Builds a synthetic 512x512x100 volume (HU noise on a body ellipse, a spherical tumor, a blurred probability map and
one full-resolution attention map), opens it in `VolumeViewer` and times what a user waits for: one slider move
(widget value change -> new PNG bytes in the Image widgets, statistics updated), with and without the attention heat
map, a threshold move (new outline overlay, per-volume Dice from ThresholdCounts), a window change, and the parts of a
redraw (render_layers, PNG encoding of the gray base, the palette overlay, and, for comparison, of a composed RGB
frame as a one-image design would send it, with our encoder and with cv2.imencode). Medians over --moves moves to distinct slices; no frontend is attached, so
this is the kernel-side cost (the browser decodes a ~100-300 KB PNG on top).

    python benchmarks/bench_viewer.py [--size 512] [--slices 100] [--moves 50]
"""
import argparse, os, statistics, time
import numpy as np
from scipy import ndimage


def make_volume(size, slices, seed=0):
    "Canonical (X,Y,Z) HU volume, tumor label, probability map and one attention map (display order)."
    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(np.linspace(-1, 1, size), np.linspace(-1, 1, size), indexing='ij')
    body = (x / .9) ** 2 + (y / .7) ** 2 < 1
    lungs = ((np.abs(x) - .4) / .3) ** 2 + (y / .45) ** 2 < 1
    base = np.where(body, np.where(lungs, -850, 40), -1000).astype(np.int16)
    img = (base[..., None] + rng.normal(0, 25, (size, size, slices))).astype(np.int16)
    zz = np.linspace(-1, 1, slices)
    lbl = ((x[..., None] - .4) ** 2 + y[..., None] ** 2 + (zz[None, None] * .6) ** 2) < .12 ** 2
    prob = np.clip(ndimage.gaussian_filter(lbl.astype(np.float32), 3) * 1.6 - .2, 0, 1).astype(np.float32)
    return img, lbl.astype(np.uint8), prob


def median_ms(fn, n):
    ts = []
    for i in range(n):
        t = time.perf_counter(); fn(i); ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts), max(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--slices', type=int, default=100)
    ap.add_argument('--moves', type=int, default=50)
    a = ap.parse_args()
    import cv2
    from lungseg_nb.widgets import VolumeViewer, render_layers, compose, png_bytes, OVERLAY_PALETTE
    from lungseg_nb.data.convert import volume_to_slices

    t = time.perf_counter()
    img, lbl, prob = make_volume(a.size, a.slices)
    att = {'up4 (1/1)': volume_to_slices(prob).copy()}
    t_make = time.perf_counter() - t
    t = time.perf_counter()
    v = VolumeViewer(img, lbl, prob, spacing=(0.7, 0.7, 2.5), attention=att, name='synthetic')
    t_open = (time.perf_counter() - t) * 1e3
    Z = v.case.n_slices
    ks = [(7 * i + 3) % Z for i in range(a.moves)]  # distinct consecutive slices, as a dragged slider gives

    def move(i):
        before = v.image.value
        v.slider.value = ks[i] if ks[i] != v.slider.value else (ks[i] + 1) % Z
        assert v.image.value is not before

    rows = []
    rows.append(('slider move (gray + outlines, stats, coronal)',) + median_ms(move, a.moves))
    v.show_attention.value = True
    rows.append(('slider move + attention heat map',) + median_ms(move, a.moves))
    v.show_attention.value = False
    ths = np.linspace(.1, .9, 17)
    rows.append(('threshold move (overlay + whole-volume Dice)',) + median_ms(lambda i: setattr(v.threshold, 'value', float(ths[i % 17])), 17))
    wins = ['mediastinum', 'lung']
    rows.append(('window preset change',) + median_ms(lambda i: setattr(v.window, 'value', wins[i % 2]), 10))
    c = v.case
    rows.append(('  render_layers, gray + both outlines',) + median_ms(
        lambda i: render_layers(c.image[ks[i]], 'lung', c.label[ks[i]], c.prob[ks[i]] > .5), a.moves))
    base, ov = v.layers()
    f = compose(base, ov)
    rows.append(('  png_bytes, gray base (sent on slice moves)',) + median_ms(lambda i: png_bytes(base), a.moves))
    rows.append(('  png_bytes, palette overlay',) + median_ms(lambda i: png_bytes(ov, OVERLAY_PALETTE), a.moves))
    rows.append(('  png_bytes, composed RGB frame (one-image design)',) + median_ms(lambda i: png_bytes(f), a.moves))
    rows.append(('  cv2.imencode PNG level 1, RGB frame',) + median_ms(
        lambda i: cv2.imencode('.png', f, [cv2.IMWRITE_PNG_COMPRESSION, 1]), a.moves))
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    print(f"viewer redraw, volume {a.size}x{a.size}x{a.slices}, {a.moves} moves, slice PNG {len(v.image.value) / 1e3:.0f} KB "
          f"+ overlay {len(v.overlay.value) / 1e3:.1f} KB, "
          f"{os.cpu_count()} CPUs, load average {load:.2f} (shared machine)")
    print(f"(setup: synthetic volume {t_make:.1f} s, viewer construction {t_open:.0f} ms)\n")
    w = max(len(r[0]) for r in rows)
    print(f"{'what':<{w}}  {'median ms':>9}  {'max ms':>7}")
    for name, med, mx in rows: print(f"{name:<{w}}  {med:9.1f}  {mx:7.1f}")


if __name__ == '__main__':
    main()
