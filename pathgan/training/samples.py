"""Sample grids written during training: per row mask | real | synthetic for several seeds."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..masks import ids_to_palette
from ..synthesis import Synthesizer


def sample_grid(synth: Synthesizer, masks: list[np.ndarray], reals: list[np.ndarray], seeds=(0, 1, 2, 3)) -> np.ndarray:
    rows = []
    for ids, real in zip(masks, reals):
        fakes = synth.generate(ids, list(seeds))
        rows.append(np.concatenate([ids_to_palette(ids, synth.scheme), real, *fakes], axis=1))
    return np.concatenate(rows, axis=0)


def write_sample_grid(path: Path, grid: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(path)
