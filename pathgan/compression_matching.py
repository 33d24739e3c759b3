"""Re-encode generated tiles the way the real training tiles were encoded (JPEG tables and chroma subsampling).

The CoNSeP tiles are baseline JPEG (the IJG quality-75 tables, 4:2:0 chroma): their fine texture and colour
edges carry that codec's losses, while a generator's output does not. Inception features, and with them FID
and KID, are known to react strongly to exactly this difference (Parmar et al., "On Aliased Resizing and
Surprising Subtleties in GAN Evaluation", CVPR 2022). A segmentation model meant for such tiles should also
train on tiles with the same losses. The tables are read from the real files, never guessed. They are stored
in the checkpoint's config, and the Synthesizer applies them last, after the colour calibration.
"""
from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image, JpegImagePlugin

KIND = "jpeg"
SUBSAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}  # Pillow's codes


@dataclass(frozen=True)
class CompressionMatch:
    qtables: tuple[tuple[int, ...], ...]  # as Pillow reads and writes them: 64 values per table
    subsampling: int
    fitted_on: dict = field(default_factory=dict)

    def apply(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Each (H, W, 3) uint8 image through one JPEG encode and decode with the stored tables."""
        return [_decode(self.encode(im)) for im in images]

    def encode(self, image: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, "JPEG", qtables=[list(t) for t in self.qtables], subsampling=self.subsampling)
        return buf.getvalue()

    @property
    def description(self) -> str:
        q = self.fitted_on.get("ijg_quality")
        tables = f"the IJG quality-{q} tables" if q else "custom quantisation tables"
        return f"JPEG with {tables}, {SUBSAMPLING[self.subsampling]} chroma"

    def to_dict(self) -> dict:
        return {"kind": KIND, "qtables": [list(t) for t in self.qtables], "subsampling": self.subsampling, "fitted_on": self.fitted_on}

    @classmethod
    def from_dict(cls, d: dict) -> "CompressionMatch":
        """Checks what a config file says; a ValueError names the bad field."""
        if not isinstance(d, dict) or d.get("kind") != KIND:
            raise ValueError(f"compression must be a {KIND!r} entry, got {d!r:.80}")
        tables = d.get("qtables")
        if not (isinstance(tables, list) and 1 <= len(tables) <= 4 and all(_is_table(t) for t in tables)):
            raise ValueError("compression qtables must be 1 to 4 lists of 64 integers in 1..255")
        if d.get("subsampling") not in SUBSAMPLING:
            raise ValueError(f"compression subsampling must be one of {sorted(SUBSAMPLING)} ({', '.join(SUBSAMPLING.values())}), "
                             f"got {d.get('subsampling')!r:.40}")
        return cls(tuple(tuple(int(v) for v in t) for t in tables), int(d["subsampling"]), dict(d.get("fitted_on") or {}))


def _is_table(t) -> bool:
    return isinstance(t, list) and len(t) == 64 and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 255 for v in t)


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def _tables(im: Image.Image) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(v) for v in im.quantization[k]) for k in sorted(im.quantization))


def _encoding(path: Path) -> tuple | None:
    """(tables, subsampling) of a JPEG file whose encoding we can reproduce; None for anything else."""
    with Image.open(path) as im:
        if im.format != "JPEG" or im.mode != "RGB":
            return None
        sampling = JpegImagePlugin.get_sampling(im)
        if sampling not in SUBSAMPLING:
            return None
        return _tables(im), sampling


def ijg_quality(qtables: tuple[tuple[int, ...], ...]) -> int | None:
    """The libjpeg quality setting that produces exactly these tables, if any."""
    for q in range(1, 101):
        buf = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buf, "JPEG", quality=q)
        with Image.open(buf) as im:
            if _tables(im) == qtables:
                return q
    return None


def read_compression(image_paths: Iterable[str | Path], fitted_on: dict | None = None) -> CompressionMatch | None:
    """The most common encoding among the real tiles; None when most of them are lossless (nothing to match)."""
    counts: Counter = Counter()
    for p in image_paths:
        counts[_encoding(Path(p))] += 1
    if not counts:
        raise ValueError("reading the training tiles' compression needs at least one image")
    key, n = counts.most_common(1)[0]
    if key is None:
        return None
    tables, sampling = key
    info = dict(fitted_on or {}, files=sum(counts.values()), matching_files=n, ijg_quality=ijg_quality(tables))
    return CompressionMatch(tables, sampling, info)
