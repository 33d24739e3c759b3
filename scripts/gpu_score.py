"""Scores training runs' generator snapshots in one process, for a lent GPU's short lease: FID, KID (and the seed
pixel L1 with several seeds) against one split's real tiles, with the standard hash-checked Inception features.

Unlike `python -m pathgan curves`, it writes the JSON after every score, so a timeout keeps what was done, and it
scores only the snapshots asked for: the last one (`--points 1`) or N evenly spaced ones ending with the last.

    python scripts/gpu_score.py --runs runs/a runs/b --data DIR --split train --points 1 --out scores.json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from pathgan.curves import score_generator, snapshots, split_reference
from pathgan.evaluation import MetricsConfig
from pathgan.metrics import InceptionFeatures
from pathgan.schemes import named_scheme
from pathgan.post_processing import PostProcessing
from pathgan.seeds import parse_seeds
from pathgan.synthesis import Synthesizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="*", default=[], help="run folders, scored at their generator-stepNNNNNN snapshots")
    ap.add_argument("--checkpoints", nargs="*", default=[], help="generator files, each scored as it is")
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="train")
    ap.add_argument("--scheme", default="consep")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--points", type=int, default=1, help="snapshots per run, evenly spaced, the last always among them")
    ap.add_argument("--inception-weights", default=None)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--network-only", action="store_true", help="score the raw network output, without the checkpoint's post-processing")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    metrics = MetricsConfig(inception_weights=args.inception_weights)
    extractor = InceptionFeatures(metrics.inception_weights, metrics.device, metrics.batch_size)
    masks, real = split_reference(args.data, args.split, named_scheme(args.scheme), extractor, metrics)
    seeds = parse_seeds(args.seeds, unique=True)
    report = {"split": args.split, "seeds": args.seeds, "network_only": args.network_only, "n_real": len(real), "precision": args.precision,
              "weights_sha256": extractor.weights_sha256, "runs": {}}
    jobs = [(Path(c).name.removesuffix(".safetensors"), None, Path(c)) for c in args.checkpoints]
    for run in map(Path, args.runs):
        snaps = snapshots(run)
        if not snaps:
            print(f"{run}: no snapshots", flush=True)
        picks = sorted({snaps[i] for i in np.linspace(len(snaps) - 1, 0, min(args.points, len(snaps))).round().astype(int)}) if snaps else []
        jobs += [(run.name, step, path) for step, path in picks]
    for name, step, path in jobs:
        t0 = time.perf_counter()
        synth = Synthesizer.from_checkpoint(path, metrics.device, precision=args.precision)
        if args.network_only:
            synth.post_processing = PostProcessing()
        score = {"step": step, **score_generator(synth, masks, real, extractor, seeds, metrics), "seconds": round(time.perf_counter() - t0, 1)}
        report["runs"].setdefault(name, []).append(score)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
        print(f"{name} {score}", flush=True)


if __name__ == "__main__":
    main()
