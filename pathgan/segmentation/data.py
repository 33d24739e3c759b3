"""Tiles for the segmenter: real pairs read from a dataset split, and the source tile each patch was cut from."""
from __future__ import annotations

import re

import numpy as np
from PIL import Image

from ..dataset import DatasetError, DatasetScan
from ..errors import ConfigError
from ..images import read_rgb
from ..masks import read_mask
from .segmenter import SegPair

# CoNSeP stems are <split>_<tile>_<patch>: patches of one tile share tissue, so fractions are drawn by tile.
SOURCE_PATTERN = re.compile(r"^(.+_\d+)_\d+$")


def source_tile(stem: str) -> str:
    """The source tile a patch came from (`train_10_003` -> `train_10`); a stem without a patch number is its own source."""
    m = SOURCE_PATTERN.match(stem)
    return m.group(1) if m else stem


def read_instances(path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            inst = np.asarray(im)
    except OSError as e:
        raise DatasetError(f"{path}: not a readable instance map ({e})") from None
    if inst.ndim != 2:
        raise DatasetError(f"{path}: an instance map has one channel (nucleus ids), this one has shape {inst.shape}")
    return inst.astype(np.int32)


def read_pairs(scan: DatasetScan, stems: set[str] | None = None) -> list[SegPair]:
    """The split's pairs (or those of `stems`) with their instance maps where the dataset has them."""
    scan.raise_if_problems()
    return [SegPair(read_rgb(p.image_path), read_mask(p.mask_path, scan.scheme),
                    read_instances(p.instance_path) if p.instance_path else None)
            for p in scan.pairs if stems is None or p.stem in stems]


def choose_sources(stems: list[str], fraction: float, seed: int) -> set[str]:
    """Stems of a `fraction` of the source tiles (at least one), drawn with `seed`. One permutation serves every
    fraction, so a smaller fraction's tiles are always inside a larger one's."""
    if not 0 < fraction <= 1:
        raise ConfigError(f"a fraction of the training tiles is in (0, 1], got {fraction}")
    sources = sorted({source_tile(s) for s in stems})
    order = [sources[i] for i in np.random.default_rng([seed, 0xF8AC]).permutation(len(sources))]
    chosen = set(order[: max(1, round(fraction * len(sources)))])
    return {s for s in stems if source_tile(s) in chosen}
