"""Per-channel colour calibration: match the RGB mean and spread of a generator's tiles to the real training tiles.

Briefly trained generators render the stain with too little contrast (CoNSeP train: real per-channel spread
41/51/33, the shipped generators 32/40/23). An affine map per channel, fitted on the training split only,
corrects that. It lives in the checkpoint's config and the Synthesizer applies it after the network, so
every tile from the app, the CLI and the evaluation gets it. Being pointwise, it keeps tiling seamless.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from .errors import PathGANError

KIND = "per-channel affine"
MAX_SCALE = 10.0  # anything steeper is a broken fit or a hand-edited config, not a colour correction


class CalibrationError(PathGANError, ValueError):
    """A generator whose tiles a colour map cannot calibrate; the message says what to do."""


@dataclass(frozen=True)
class ColourCalibration:
    scale: tuple[float, float, float]
    offset: tuple[float, float, float]  # in 0-255 intensity units
    fitted_on: dict = field(default_factory=dict)

    def apply(self, images: list[np.ndarray]) -> list[np.ndarray]:
        scale = np.asarray(self.scale, np.float32)
        offset = np.asarray(self.offset, np.float32)
        return [np.clip(np.rint(im.astype(np.float32) * scale + offset), 0, 255).astype(np.uint8) for im in images]

    def to_dict(self) -> dict:
        return {"kind": KIND, "scale": list(self.scale), "offset": list(self.offset), "fitted_on": self.fitted_on}

    @classmethod
    def from_dict(cls, d: dict) -> "ColourCalibration":
        """Checks what a config file says; a ValueError names the bad field."""
        if not isinstance(d, dict) or d.get("kind") != KIND:
            raise ValueError(f"calibration must be a {KIND!r} entry, got {d!r:.80}")
        values = {}
        for key in ("scale", "offset"):
            v = d.get(key)
            if not (isinstance(v, list) and len(v) == 3 and all(isinstance(x, (int, float)) and math.isfinite(x) for x in v)):
                raise ValueError(f"calibration {key} must be 3 finite numbers (R, G, B), got {v!r:.80}")
            values[key] = tuple(float(x) for x in v)
        if not all(0 < s <= MAX_SCALE for s in values["scale"]):
            raise ValueError(f"calibration scale {values['scale']} must lie in (0, {MAX_SCALE}]")
        return cls(values["scale"], values["offset"], dict(d.get("fitted_on") or {}))


class _ChannelMoments:
    """Streaming per-channel mean and standard deviation over many uint8 RGB images."""

    def __init__(self):
        self.n, self.sum, self.sumsq = 0, np.zeros(3), np.zeros(3)

    def add(self, image: np.ndarray) -> None:
        px = image.reshape(-1, 3).astype(np.float64)
        self.n += len(px)
        self.sum += px.sum(0)
        self.sumsq += (px * px).sum(0)

    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        mean = self.sum / self.n
        return mean, np.sqrt(np.maximum(self.sumsq / self.n - mean * mean, 0.0))


def fit_colour_calibration(synthetic: Iterable[np.ndarray], real: Iterable[np.ndarray], fitted_on: dict | None = None) -> ColourCalibration:
    """The per-channel affine map that gives `synthetic` the mean and standard deviation of `real`."""
    s, r = _ChannelMoments(), _ChannelMoments()
    for im in synthetic:
        s.add(im)
    for im in real:
        r.add(im)
    if not s.n or not r.n:
        raise ValueError("calibration needs at least one synthetic and one real image")
    (ms, ss), (mr, sr) = s.mean_std(), r.mean_std()
    if (ss < 1.0).any():
        raise CalibrationError(f"the generator's tiles are nearly flat (per-channel spread {np.round(ss, 2).tolist()}); "
                               "a colour calibration cannot fix that, train the generator further")
    scale = sr / ss
    offset = mr - scale * ms
    return ColourCalibration(tuple(float(x) for x in scale), tuple(float(x) for x in offset), dict(fitted_on or {}))


def calibrated_path(checkpoint: str | Path) -> Path:
    p = Path(checkpoint)
    return p.with_name(f"{p.stem}-calibrated{p.suffix}")
