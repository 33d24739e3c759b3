"""Metric-vs-step curves for training runs: FID, KID and seed L1 of every kept generator snapshot.

    python scripts/curves.py --data DIR --runs runs/a runs/b --out curves.json [--inception FILE]

Curve points use one seed per test mask (fast); the last snapshot of each run is also scored under the
full protocol (4 seeds per mask). With --inception pointing at a non-standard copy (e.g. the fp16-rounded
copy used on a lent GPU), the numbers are marked approximate.
"""
from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import sys

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from pathgan.dataset import scan_dataset
from pathgan.images import read_rgb
from pathgan.masks import read_mask
from pathgan.metrics.fid import fid
from pathgan.metrics.inception import preprocess
from pathgan.metrics.kid import kid
from pathgan.models import use_running_stats
from pathgan.synthesis import Synthesizer, best_device


def load_extractor(path: str | None, device):
    if path:  # a local copy, used as is
        module = torch.jit.load(path, map_location=device).float().eval()
        return (lambda x: module(x).float()), {"weights": path, "approximate": True}
    from pathgan.metrics.inception import InceptionFeatures

    ext = InceptionFeatures(device=device)
    return ext.pool3, {"weights_sha256": ext.weights_sha256, "approximate": False}


@torch.no_grad()
def features(pool3, images, device, batch=64):
    out = []
    for i in range(0, len(images), batch):
        out.append(pool3(preprocess(images[i : i + batch], device)).cpu().numpy())
    return np.concatenate(out)


def score(synth, masks, real_feats, pool3, device, seeds) -> dict:
    fakes = {s: [] for s in seeds}
    for m in masks:
        for s, im in zip(seeds, synth.generate(m, seeds)):
            fakes[s].append(im)
    flat = [im for s in seeds for im in fakes[s]]
    f = features(pool3, flat, device)
    result = {"n_fake": len(flat), "fid": fid(f, real_feats), "kid": kid(f, real_feats)["mean"]}
    if len(seeds) > 1:
        l1 = [np.abs(fakes[a][i].astype(np.float32) - fakes[b][i]).mean() / 255 for i in range(len(masks)) for a in seeds for b in seeds if a < b]
        result["seed_pixel_l1"] = float(np.mean(l1))
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--runs", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--inception", default=None)
    p.add_argument("--max-points", type=int, default=6)
    p.add_argument("--device", default=None)
    args = p.parse_args()
    device = best_device(args.device)
    pool3, weights = load_extractor(args.inception, device)
    scan = scan_dataset(args.data, args.split).raise_if_problems()
    masks = [read_mask(pr.mask_path, scan.scheme) for pr in scan.pairs]
    real_feats = features(pool3, [read_rgb(pr.image_path) for pr in scan.pairs], device)
    report = {"weights": weights, "split": args.split, "n_real": len(masks), "runs": {}}
    for run in map(Path, args.runs):
        snaps = sorted(run.glob("generator-step*.safetensors"), key=lambda s: int(re.findall(r"\d+", s.stem)[-1]))
        if not snaps:
            continue
        keep = sorted(set(np.linspace(0, len(snaps) - 1, min(args.max_points, len(snaps))).round().astype(int)))
        points = []
        for i in keep:
            t = time.time()
            synth = Synthesizer.from_checkpoint(snaps[i], str(device))
            step = int(re.findall(r"\d+", snaps[i].stem)[-1])
            points.append({"step": step, **score(synth, masks, real_feats, pool3, device, [0])})
            print(run.name, points[-1], f"{time.time() - t:.1f}s", flush=True)
        final = Synthesizer.from_checkpoint(snaps[-1], str(device))
        full = score(final, masks, real_feats, pool3, device, [0, 1, 2, 3])
        use_running_stats(final.generator, True)
        running = score(final, masks, real_feats, pool3, device, [0, 1, 2, 3])
        report["runs"][run.name] = {"points": points, "final_step": points[-1]["step"], "final": full, "final_running_stats": running}
        print(run.name, "final", full, "running-stats", running, flush=True)
        Path(args.out).write_text(json.dumps(report, indent=2))
    Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
