"""A small paired dataset made from a seed: procedural CoNSeP-like masks with H&E-coloured, textured images.

For what must run without real data: the training benchmark (it times the real trainer on it) and the fast
test tier. Images are saved as JPEG at libjpeg quality 75 with 4:2:0 chroma, like CoNSeP's tiles, so the
compression matching reads them as it reads the real ones.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from .layouts import random_layout
from .masks import write_mask
from .schemes import CONSEP, SCHEME_FILE, ClassScheme
from .tiling import TILE

STROMA_RGB = (196, 140, 182)  # eosin pink
NUCLEUS_RGB = {1: (120, 70, 140), 2: (60, 30, 110), 3: (110, 60, 150), 4: (90, 50, 130)}  # haematoxylin purples per class


def synthetic_image(ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An (H, W, 3) uint8 tile: stained colours per class, smoothed texture and grain."""
    h, w = ids.shape
    lut = np.array([STROMA_RGB] + [NUCLEUS_RGB.get(c, (100, 50, 130)) for c in range(1, int(ids.max()) + 1)], np.float32)
    rgb = lut[ids]
    texture = ndimage.gaussian_filter(rng.normal(0, 1, (h, w)), 3) * 150
    rgb = ndimage.gaussian_filter(rgb, (1, 1, 0)) + texture[..., None] + rng.normal(0, 6, (h, w, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def write_synthetic_dataset(root: str | Path, pairs: int = 6, splits: tuple[str, ...] = ("train", "test"), size: int = TILE,
                            seed: int = 0, scheme: ClassScheme = CONSEP) -> Path:
    """root/scheme.json, root/images/<split>/<split>_NNN.jpg and root/masks/<split>/<split>_NNN.png (ids in `scheme`);
    the same arguments give the same files."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    scheme.save(root / SCHEME_FILE)
    for s, split in enumerate(splits):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "masks" / split).mkdir(parents=True, exist_ok=True)
        for i in range(pairs):
            rng = np.random.default_rng([seed, s, i])
            ids = random_layout(size, int(rng.integers(2**31)), scheme)
            stem = f"{split}_{i:03d}"
            write_mask(root / "masks" / split / f"{stem}.png", ids)
            Image.fromarray(synthetic_image(ids, rng)).save(root / "images" / split / f"{stem}.jpg", quality=75)
    return root
