"""Sample sheet like the paper's figures: per row mask | real | synthetic for 3 seeds, on test masks. The app's
Model tab shows <stem>.samples.jpg beside a checkpoint.

    python scripts/sample_sheet.py --checkpoint checkpoints/consep-vanilla.safetensors --out checkpoints/consep-vanilla.samples.jpg
"""
from __future__ import annotations

import argparse

import numpy as np
from PIL import Image

from pathgan.dataset import scan_dataset
from pathgan.images import read_rgb
from pathgan.masks import read_mask
from pathgan.paths import dataset_folder
from pathgan.seeds import parse_seeds
from pathgan.synthesis import Synthesizer
from pathgan.training.samples import sample_grid


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", default=None, help="dataset folder (default: $PATHGAN_DATA/consep)")
    p.add_argument("--split", default="test", help="masks the model never trained on")
    p.add_argument("--rows", type=int, default=4, help="masks, evenly spaced through the split")
    p.add_argument("--seeds", default="0-2")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    synth = Synthesizer.from_checkpoint(args.checkpoint)
    pairs = scan_dataset(dataset_folder(args.data), args.split, synth.scheme).raise_if_problems().pairs
    picked = [pairs[i] for i in np.linspace(0, len(pairs) - 1, args.rows).round().astype(int)]
    grid = sample_grid(synth, [read_mask(pr.mask_path, synth.scheme) for pr in picked], [read_rgb(pr.image_path) for pr in picked],
                       parse_seeds(args.seeds))
    Image.fromarray(grid).save(args.out, quality=88)
    print(f"wrote {args.out}: {', '.join(pr.stem for pr in picked)}")


if __name__ == "__main__":
    main()
