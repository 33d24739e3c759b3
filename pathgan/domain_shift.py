"""Target domains made from CoNSeP, for measuring whether fine-tuning adapts a checkpoint to a lab's own data.

- `write_stain_shifted`: every tile with a fixed stain change in HED space, saved as JPEG like CoNSeP's own.
- `write_binary_mosaics`: a lab's binary dataset as users bring it: the 16 patches of each CoNSeP tile laid out
  4 x 4 and cut to 1000 x 1000, stain-shifted, saved as lossless TIFF, masks 0/1 (nucleus or not) as TIFF,
  with no scheme.json unless asked for.

Both are derived data: they go under runs/ (git-ignored), never into the repository.
"""
from __future__ import annotations

import re
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import ConfigError
from .images import list_images, read_rgb
from .masks import read_mask
from .schemes import BINARY, CONSEP, SCHEME_FILE
from .tiling import TILE

# Ruifrok & Johnston (2001): optical density of haematoxylin, eosin and DAB, one row each.
RGB_FROM_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]])
RGB_FROM_HED = RGB_FROM_HED / np.linalg.norm(RGB_FROM_HED, axis=1, keepdims=True)
HED_FROM_RGB = np.linalg.inv(RGB_FROM_HED)
SPLITS = ("train", "test")
MOSAIC_GRID = 4  # CoNSeP's 16 patches of one tile, 4 x 4
MOSAIC_SIZE = 1000  # the size of CoNSeP's (and many labs') whole tiles


def shift_stain(rgb: np.ndarray, h: float, e: float) -> np.ndarray:
    """Scale the haematoxylin and eosin optical densities of an (H, W, 3) uint8 tile by h and e."""
    od = -np.log(np.maximum(rgb.astype(np.float64), 1.0) / 255.0)
    hed = od.reshape(-1, 3) @ HED_FROM_RGB
    hed[:, 0] *= h
    hed[:, 1] *= e
    out = 255.0 * np.exp(-(hed @ RGB_FROM_HED))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(rgb.shape)


def write_stain_shifted(src: str | Path, out: str | Path, h: float = 1.6, e: float = 0.5) -> Path:
    """CoNSeP with a stain change: tiles as JPEG at quality 75, masks copied, CoNSeP's scheme.json."""
    src, out = Path(src), Path(out)
    for split in SPLITS:
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        shutil.copytree(src / "masks" / split, out / "masks" / split, dirs_exist_ok=True)
        for path in list_images(src / "images" / split):
            Image.fromarray(shift_stain(read_rgb(path), h, e)).save(out / "images" / split / f"{path.stem}.jpg", quality=75)
    CONSEP.save(out / SCHEME_FILE)
    return out


def tile_patches(folder: Path) -> dict[str, list[Path]]:
    """CoNSeP's patch files grouped by their tile (`<split>_<tile>_<patch>`), patches in order."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for path in list_images(folder):
        m = re.fullmatch(r"(.+)_(\d+)", path.stem)
        if m:
            groups[m.group(1)].append(path)
    return {tile: sorted(paths) for tile, paths in sorted(groups.items())}


def _mosaic(parts: list[np.ndarray], size: int) -> np.ndarray:
    rows = [np.concatenate(parts[r * MOSAIC_GRID:(r + 1) * MOSAIC_GRID], axis=1) for r in range(MOSAIC_GRID)]
    return np.concatenate(rows, axis=0)[:size, :size]


def write_binary_mosaics(src: str | Path, out: str | Path, h: float = 1.6, e: float = 0.5, size: int = MOSAIC_SIZE,
                         with_scheme: bool = False, splits: tuple[str, ...] = SPLITS, limit: int | None = None) -> Path:
    """out/images/<split>/<tile>.tif (stain-shifted, lossless) and out/masks/<split>/<tile>.tif (0 background, 1 nucleus).

    `limit` keeps the first tiles of each split (small copies for tests); `with_scheme` writes the binary scheme.json."""
    src, out = Path(src), Path(out)
    if not (MOSAIC_GRID - 1) * TILE < size <= MOSAIC_GRID * TILE:  # every patch shows in the mosaic
        raise ConfigError(f"a mosaic of {MOSAIC_GRID} x {MOSAIC_GRID} patches is {(MOSAIC_GRID - 1) * TILE + 1} to {MOSAIC_GRID * TILE} px")
    for split in splits:
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "masks" / split).mkdir(parents=True, exist_ok=True)
        tiles = [(t, p) for t, p in tile_patches(src / "images" / split).items() if len(p) == MOSAIC_GRID**2][:limit]
        for tile, paths in tiles:
            image = _mosaic([read_rgb(p) for p in paths], size)
            ids = _mosaic([read_mask(src / "masks" / split / f"{p.stem}.png", CONSEP) for p in paths], size)
            Image.fromarray(shift_stain(image, h, e)).save(out / "images" / split / f"{tile}.tif", compression="tiff_lzw")
            Image.fromarray((ids > 0).astype(np.uint8)).save(out / "masks" / split / f"{tile}.tif", compression="tiff_lzw")
    if with_scheme:
        BINARY.save(out / SCHEME_FILE)
    return out
