"""Plot FID and KID against training step from scripts/curves.py output (needs matplotlib).

    python scripts/plot_curves.py runs/gpu2/curves.json checkpoints/fid_vs_step.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

report = json.load(open(sys.argv[1]))
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
for name, run in report["runs"].items():
    steps = [p["step"] for p in run["points"]]
    for ax, key in zip(axes, ("fid", "kid")):
        ax.plot(steps, [p[key] for p in run["points"]], marker="o", label=name)
for ax, key in zip(axes, ("FID", "KID")):
    ax.set_xlabel("training step (batch 8)")
    ax.set_ylabel(f"{key}, test split, 1 seed/mask")
    ax.grid(alpha=0.3)
axes[0].legend(fontsize=8)
fig.suptitle("CoNSeP test split (224 masks), fp16-rounded Inception weights", fontsize=9)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=90)
