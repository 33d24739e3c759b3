"""The tile geometry shared by data, training and synthesis: networks see 256-pixel tiles; larger masks
are covered by overlapping tiles blended with a raised-cosine window."""
from __future__ import annotations

import numpy as np

TILE = 256  # the side of every network input and training crop
MIN_OVERLAP = 64  # tiles of a large mask overlap at least this much, and are blended across it


def tile_starts(size: int, tile: int = TILE, min_overlap: int = MIN_OVERLAP) -> list[int]:
    """Evenly spaced tile origins covering [0, size) with at least `min_overlap` between neighbours."""
    if size <= tile:
        return [0]
    n = int(np.ceil((size - min_overlap) / (tile - min_overlap)))
    return [int(round(v)) for v in np.linspace(0, size - tile, n)]


def blend_window(tile: int = TILE, ramp: int = MIN_OVERLAP) -> np.ndarray:
    """2-D weight: 1 in the middle, a raised-cosine fall over `ramp` pixels to a small floor at the edges."""
    w = np.ones(tile)
    r = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
    w[:ramp], w[-ramp:] = r, r[::-1]
    w = np.maximum(w, 1e-3)
    return np.outer(w, w).astype(np.float32)
