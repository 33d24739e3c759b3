"""Periodic upsampling artefacts (checkerboards), read off the mean power spectrum of a set of tiles.

A stride-2 transposed convolution leaves a pattern that repeats every 2 pixels, and the layer before it one
that repeats every 4. In the spectrum these are sharp peaks at 1/2 and 1/4 of the sampling rate, along the
rows, the columns and the diagonal. Natural tissue has a smooth spectrum there, so each peak is measured
in dB above the median of the spectrum around it; about 0 dB means no periodic pattern.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

PERIODS = (2, 4)
DIRECTIONS = ("vertical", "horizontal", "diagonal")  # the way the pattern repeats
_RING = (2, 4)  # neighbourhood in frequency bins, beyond the Hann window's main lobe (±1 bin)
LUMA = np.array([0.299, 0.587, 0.114])


class PowerSpectrum:
    """Running mean of the Hann-windowed luminance power spectrum of equal-sized RGB images."""

    def __init__(self):
        self.total: np.ndarray | None = None
        self.count = 0
        self._window: np.ndarray | None = None

    def add(self, image: np.ndarray) -> None:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {image.shape}")
        h, w = image.shape[:2]
        if self.total is None:
            smallest = max(PERIODS) * (2 * _RING[1] + 1)
            if h % max(PERIODS) or w % max(PERIODS) or min(h, w) < smallest:
                raise ValueError(f"checkerboard measurement needs sides that are multiples of {max(PERIODS)} "
                                 f"and at least {smallest} pixels, got {h}x{w}")
            self.total = np.zeros((h, w))
            self._window = np.outer(np.hanning(h), np.hanning(w))
        elif self.total.shape != (h, w):
            raise ValueError(f"all images must share one size: got {h}x{w} after {self.total.shape[0]}x{self.total.shape[1]}")
        luma = image.astype(np.float64) @ LUMA / 255.0
        self.total += np.abs(np.fft.fft2((luma - luma.mean()) * self._window)) ** 2
        self.count += 1

    @property
    def mean(self) -> np.ndarray:
        if not self.count:
            raise ValueError("no images were added to the spectrum")
        return self.total / self.count


def _peak_db(power: np.ndarray, u: int, v: int) -> float:
    h, w = power.shape
    ring = [power[(u + a) % h, (v + b) % w] for a in range(-_RING[1], _RING[1] + 1) for b in range(-_RING[1], _RING[1] + 1)
            if max(abs(a), abs(b)) >= _RING[0]]
    return float(10 * np.log10(power[u, v] / max(float(np.median(ring)), 1e-30)))


def checkerboard(images: Iterable[np.ndarray] | PowerSpectrum) -> dict:
    """Peak height in dB for each period and direction, and their mean ('db'), the single number to compare."""
    spectrum = images
    if not isinstance(spectrum, PowerSpectrum):
        spectrum = PowerSpectrum()
        for im in images:
            spectrum.add(im)
    power = spectrum.mean
    h, w = power.shape
    peaks = {}
    for p in PERIODS:
        bins = {"vertical": (h // p, 0), "horizontal": (0, w // p), "diagonal": (h // p, w // p)}
        peaks[str(p)] = {d: round(_peak_db(power, *bins[d]), 2) for d in DIRECTIONS}
    mean_db = float(np.mean([v for per in peaks.values() for v in per.values()]))
    return {"db": round(mean_db, 2), "peaks_db": peaks, "images": spectrum.count}
