#!/usr/bin/env python
"""End-to-end speed of `lungseg_predict` (lungseg_nb.inference.predict) on NIfTI volumes.

For each case (a phantom volume written as .nii.gz) three things are timed in the same process, interleaved per repeat
(medians reported):
  bare       the model's forward passes alone over the same slices, already preprocessed, batched, under inference_mode;
  end-to-end `predict(weights, volume, output)`: load the checkpoint, read the NIfTI, canonical orientation, HU window,
             slicing, validation resize + preprocess, batched inference, resize back, threshold, back to the original
             orientation, write the gzipped mask;
  seed-style the seed's way: one slice at a time through PIL round trips (uint8 -> PIL resize -> float -> batch of 1 ->
             softmax -> PIL resize of the mask back), then stack and write the mask.
overhead % = (end-to-end - bare) / bare; ratio = seed-style / end-to-end.

The model is a randomly initialised Attention U-Net of the default architecture (deep-supervision heads, bilinear) with
`--base-features` (default 16: base 64 on a CPU takes minutes per 512x512x100 volume; the overhead ratio is what matters,
and a narrower model makes it *harder* to hide the pipeline's cost). The checkpoint's img_size is the volume's in-plane
size, as in training on those volumes.

    python benchmarks/bench_inference.py [--cases 256x48,512x100] [--base-features 16] [--batch-size 0]
                                         [--threads N] [--repeats 1] [--device cpu]
"""
import argparse, os, statistics, sys, tempfile, time
from pathlib import Path
import numpy as np, nibabel as nib, torch, torch.nn.functional as F
from PIL import Image
from lungseg_nb.core import validate_config
from lungseg_nb.models.unet import build_model
from lungseg_nb.data.phantom import make_phantom_volume
from lungseg_nb.data.convert import to_canonical, hu_window, volume_to_slices, slices_to_volume
from lungseg_nb.data.dataset import preprocess, build_transforms
from lungseg_nb.inference import predict, load_model, from_canonical, save_nifti, auto_batch_size, _like, _volume_data


def make_case(tmp:Path, size:int, slices:int, base:int, seed:int=0):
    "Write a phantom volume and a random-initialised checkpoint for it; return (volume path, checkpoint path)."
    img, _ = make_phantom_volume(seed, size, slices).to_nifti()
    vol = tmp/f'phantom_{size}x{size}x{slices}.nii.gz'; nib.save(img, vol)
    cfg = validate_config(dict(model=dict(base_features=base), data=dict(img_size=size)))
    torch.manual_seed(seed)
    model = build_model(cfg.model)
    ckpt = tmp/f'base{base}_{size}.pt'
    torch.save(dict(format='lungseg_nb/1', model=model.state_dict(), config=cfg.model_dump(mode='json'), epoch=0,
                    best_score=0.0), ckpt)
    return vol, ckpt


def bare_forward(model, x:torch.Tensor, batch_size:int, device)->float:
    "Seconds for the forward passes alone (inputs already preprocessed)."
    t = time.perf_counter()
    with torch.inference_mode():
        for s in range(0, len(x), batch_size): model(x[s:s + batch_size].to(device)).softmax(1)[:, 1].cpu()
    if device.type == 'cuda': torch.cuda.synchronize()
    return time.perf_counter() - t


def seed_style(model, vol:Path, out:Path, cfg, device)->float:
    "Seconds for the seed's per-slice PIL loop over the same volume, reading and writing included."
    t = time.perf_counter()
    img = nib.load(vol); can = to_canonical(img)
    slices = volume_to_slices(hu_window(_volume_data(can), cfg.data.window_level, cfg.data.window_width))
    S, masks = cfg.data.img_size, []
    with torch.no_grad():
        for sl in slices:
            pil = Image.fromarray(sl).convert('L').resize((S, S), Image.BILINEAR)
            x = torch.from_numpy(np.asarray(pil, np.float32) / 255.0)[None, None].to(device)
            prob = model(x).softmax(1)[0, 1].cpu().numpy()
            m = Image.fromarray(((prob > 0.5) * 255).astype(np.uint8)).resize(sl.shape[::-1], Image.NEAREST)
            masks.append(np.asarray(m) > 0)
    mask = from_canonical(slices_to_volume(np.stack(masks)), can, img)
    save_nifti(_like(img, mask, np.uint8, 'seed-style mask'), out)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--cases', default='256x48,512x100', help='comma-separated SIZExSLICES volumes')
    ap.add_argument('--base-features', type=int, default=16)
    ap.add_argument('--batch-size', type=int, default=0, help='0 = automatic, as lungseg_predict: 16 on a GPU, 1 on a CPU')
    ap.add_argument('--threads', type=int, default=0, help='torch threads (0 = torch default)')
    ap.add_argument('--repeats', type=int, default=1)
    ap.add_argument('--device', default='cpu')
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    a.batch_size = a.batch_size or auto_batch_size(device)
    load0 = os.getloadavg()
    print(f"# bench_inference: torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cpus, base_features {a.base_features}, batch {a.batch_size}, repeats {a.repeats}; "
          f"load average at start {load0[0]:.2f}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for case in a.cases.split(','):
            size, slices = map(int, case.lower().split('x'))
            vol, ckpt = make_case(tmp, size, slices, a.base_features)
            model, cfg = load_model(ckpt, device)
            # the bare inputs: exactly what predict feeds the model, prepared outside the timing
            img = nib.load(vol); can = to_canonical(img)
            sl = volume_to_slices(hu_window(_volume_data(can), cfg.data.window_level, cfg.data.window_width))
            tf = build_transforms(None, cfg.data.img_size, train=False)
            x = torch.stack([preprocess(tf(image=s)['image']) for s in sl])
            bare_forward(model, x[:2], a.batch_size, device)  # warm-up
            bare, e2e, seed = [], [], []
            for r in range(a.repeats):
                bare.append(bare_forward(model, x, a.batch_size, device))
                t = time.perf_counter()
                predict(ckpt, vol, tmp/'out', batch_size=a.batch_size, device=a.device, progress=False, verbose=False)
                e2e.append(time.perf_counter() - t)
                seed.append(seed_style(model, vol, tmp/'seed_mask.nii.gz', cfg, device))
                print(f"  {case} repeat {r}: bare {bare[-1]:.2f}s, end-to-end {e2e[-1]:.2f}s, seed-style {seed[-1]:.2f}s, "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)
            b, e, s = (statistics.median(v) for v in (bare, e2e, seed))
            rows.append((f"{size}x{size}x{slices}", slices, b, e, 100 * (e - b) / b, s, s / e))
    print(f"\n| case | slices | bare forward s | end-to-end s | overhead % | seed-style loop s | seed-style / end-to-end |")
    print("|---|---|---|---|---|---|---|")
    for c, n, b, e, o, s, r in rows: print(f"| {c} | {n} | {b:.2f} | {e:.2f} | {o:.1f} | {s:.2f} | {r:.2f}x |")
    print(f"\nload average (1 min) at start {load0[0]:.2f}, at end {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")


if __name__ == '__main__': main()
