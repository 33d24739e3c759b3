"""A reading session's trials, and the tiles a reader sees.

The trials come from the study's seed and the reader's name alone, so a session can be replayed exactly.
Real and synthetic tiles are balanced; every synthetic tile is made from the mask of a real tile that this
reader does not see in the session, so no pair gives the answer away. Every tile, real or synthetic, leaves
through one identical final encode (`blind_encode`): same size, same JPEG settings, no metadata.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..dataset import Pair
from ..errors import ConfigError
from ..images import read_rgb
from ..masks import read_mask
from ..schemes import ClassScheme
from ..tiling import TILE

MODES = ("side-by-side", "single")
ANSWERS = {"side-by-side": ("left", "right"), "single": ("real", "synthetic")}
FINAL_JPEG = {"quality": 92, "subsampling": 0, "optimize": False}  # 4:4:4, so the final encode adds no chroma loss of its own
MAX_TRIALS = 200


def pairs_needed(mode: str, trials: int) -> int:
    """Distinct real pairs a session uses: side by side, one real tile and one other tile's mask per trial."""
    return 2 * trials if mode == "side-by-side" else trials


def reader_rng(seed: int, reader: str) -> np.random.Generator:
    digest = hashlib.sha256(reader.strip().casefold().encode()).digest()
    return np.random.default_rng([int(seed), *np.frombuffer(digest[:16], np.uint32).tolist()])


def plan_session(mode: str, stems: list[str], checkpoints: list[str], trials: int, seed: int, reader: str) -> list[dict]:
    """One dict per trial; what the server keeps about it, truth included (never sent before the answer)."""
    if len(stems) < pairs_needed(mode, trials):
        raise ConfigError(f"{trials} trials in {mode} mode need {pairs_needed(mode, trials)} distinct pairs; the data has {len(stems)}")
    rng = reader_rng(seed, reader)
    order = [stems[i] for i in rng.permutation(len(stems))]
    models = [checkpoints[i % len(checkpoints)] for i in range(trials)]  # each checkpoint equally often
    models = [models[i] for i in rng.permutation(trials)]
    tile_seeds = rng.integers(0, 2**31 - 1, trials).tolist()
    if mode == "side-by-side":
        sides = ["left"] * (trials // 2) + ["right"] * (trials - trials // 2)
        sides = [sides[i] for i in rng.permutation(trials)]
        return [{"mode": mode, "real": order[i], "mask": order[trials + i], "checkpoint": models[i], "seed": tile_seeds[i],
                 "synthetic": sides[i]} for i in range(trials)]
    truths = ["synthetic"] * (trials // 2) + ["real"] * (trials - trials // 2)
    truths = [truths[i] for i in rng.permutation(trials)]
    # Real tiles and masks come from disjoint stems: a real tile is never the source of a synthetic one.
    return [{"mode": mode, "real": order[i] if truths[i] == "real" else None, "mask": order[i] if truths[i] == "synthetic" else None,
             "checkpoint": models[i], "seed": tile_seeds[i], "truth": truths[i]} for i in range(trials)]


def truth(plan: dict) -> str:
    """The correct answer: the side of the synthetic tile, or whether the single tile is real."""
    return plan["synthetic"] if plan["mode"] == "side-by-side" else plan["truth"]


def centre_tile(array: np.ndarray) -> np.ndarray:
    """Readers see training-sized tiles: the centre TILE x TILE of anything larger."""
    h, w = array.shape[:2]
    y, x = max(0, (h - TILE) // 2), max(0, (w - TILE) // 2)
    return array[y : y + TILE, x : x + TILE]


def blind_encode(rgb: np.ndarray) -> bytes:
    """The one final encode every tile gets: baseline JPEG with fixed settings and no metadata."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buf, "JPEG", **FINAL_JPEG)
    return buf.getvalue()


@dataclass
class TileSource:
    """Where a study's tiles come from: real pairs by stem, and a synthesizer per checkpoint."""
    pairs: dict[str, Pair]
    scheme: ClassScheme
    synthesizer: object  # callable: checkpoint name -> Synthesizer

    def real(self, stem: str) -> np.ndarray:
        return centre_tile(read_rgb(self.pairs[stem].image_path))

    def synthetic(self, stem: str, checkpoint: str, seed: int) -> np.ndarray:
        ids = centre_tile(read_mask(self.pairs[stem].mask_path, self.scheme))
        return self.synthesizer(checkpoint).generate(ids, [int(seed)])[0]

    def tiles(self, plan: dict) -> list[bytes]:
        """The encoded tiles of a trial in display order (left, right; or the single tile)."""
        if plan["mode"] == "side-by-side":
            real, fake = self.real(plan["real"]), self.synthetic(plan["mask"], plan["checkpoint"], plan["seed"])
            shown = [fake, real] if plan["synthetic"] == "left" else [real, fake]
        else:
            shown = [self.real(plan["real"]) if plan["truth"] == "real" else self.synthetic(plan["mask"], plan["checkpoint"], plan["seed"])]
        return [blind_encode(t) for t in shown]
