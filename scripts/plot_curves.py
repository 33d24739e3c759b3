"""Plot FID and KID against training step (needs matplotlib) from one or more score files, the output of
`python -m pathgan curves` ({"runs": {name: {"points": [...]}}}). A run named in several files is drawn as one
line, its points sorted by step.

    python scripts/plot_curves.py docs/fid_vs_step.json checkpoints/fid_vs_step.png
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("scores", nargs="+", help="score files, then the PNG to write")
ap.add_argument("--title", default="CoNSeP test split, 224 masks at seed 0 vs 224 real tiles, lossless network output")
args = ap.parse_args()
*inputs, out = args.scores
runs: dict[str, list[dict]] = {}
for path in inputs:
    for name, run in json.load(open(path))["runs"].items():
        runs.setdefault(name, []).extend(run["points"])
fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
for name, points in runs.items():
    points = sorted((p for p in points if p.get("step") is not None), key=lambda p: p["step"])
    for ax, key in zip(axes, ("fid", "kid")):
        ax.plot([p["step"] for p in points], [p[key] for p in points], marker="o", label=name)
for ax, key in zip(axes, ("FID", "KID")):
    ax.set_xlabel("training step (batch 8)")
    ax.set_ylabel(f"{key} ↓")
    ax.grid(alpha=0.3)
axes[0].legend(fontsize=7)
fig.suptitle(args.title, fontsize=9)
fig.tight_layout()
fig.savefig(out, dpi=90)
