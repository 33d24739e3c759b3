"""A target domain the shipped checkpoints have not seen: CoNSeP with a fixed stain change in HED space.

    python scripts/stain_shift.py --data ../shared/data/consep --out runs/stain/consep-hed --h 1.6 --e 0.5

Each tile is unmixed into haematoxylin, eosin and DAB optical densities with Ruifrok and Johnston's matrix,
H is scaled by --h and E by --e, and the tile is mixed back and saved as JPEG at quality 75 (like CoNSeP's
own tiles). Masks are copied unchanged, with a scheme.json stating CoNSeP's classes. The output goes under
runs/ (git-ignored): it is derived data, not part of the repository.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from pathgan.images import read_rgb
from pathgan.schemes import CONSEP

# Ruifrok & Johnston (2001): optical density of haematoxylin, eosin and DAB, one row each.
RGB_FROM_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]])
RGB_FROM_HED = RGB_FROM_HED / np.linalg.norm(RGB_FROM_HED, axis=1, keepdims=True)
HED_FROM_RGB = np.linalg.inv(RGB_FROM_HED)


def shift_stain(rgb: np.ndarray, h: float, e: float) -> np.ndarray:
    od = -np.log(np.maximum(rgb.astype(np.float64), 1.0) / 255.0)
    hed = od.reshape(-1, 3) @ HED_FROM_RGB
    hed[:, 0] *= h
    hed[:, 1] *= e
    out = 255.0 * np.exp(-(hed @ RGB_FROM_HED))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(rgb.shape)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--h", type=float, default=1.6, help="haematoxylin scale")
    p.add_argument("--e", type=float, default=0.5, help="eosin scale")
    args = p.parse_args()
    src, out = Path(args.data), Path(args.out)
    for split in ("train", "test"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        shutil.copytree(src / "masks" / split, out / "masks" / split, dirs_exist_ok=True)
        for path in sorted((src / "images" / split).iterdir()):
            Image.fromarray(shift_stain(read_rgb(path), args.h, args.e)).save(out / "images" / split / f"{path.stem}.jpg", quality=75)
    CONSEP.save(out / "scheme.json")
    print(f"wrote {out}: H x{args.h}, E x{args.e}")


if __name__ == "__main__":
    main()
