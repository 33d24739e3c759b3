"""Browsing a paired dataset for side-by-side real vs synthetic comparison."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dataset import Pair, scan_dataset, stated_scheme
from ..errors import PathGANError
from ..images import ImageError, read_rgb
from ..masks import MaskError, read_mask
from ..schemes import ClassScheme


class CompareError(PathGANError, ValueError):
    """A dataset or stem that cannot be browsed; the message says what to do."""


HOW_TO_POINT = (
    "No paired dataset is set. Start the app with `python app.py --data ../shared/data/consep` "
    "(or set PATHGAN_COMPARE_DATA): a folder holding `images/<split>/` and `masks/<split>/` with matching stems."
)


@dataclass
class PairedFolder:
    """The pairs of one split, listed by file name only (files are read when shown)."""

    root: Path
    split: str
    scheme: ClassScheme
    pairs: list[Pair]

    @property
    def stems(self) -> list[str]:
        return [p.stem for p in self.pairs]

    def pair(self, stem: str) -> Pair:
        for p in self.pairs:
            if p.stem == stem:
                return p
        raise CompareError(f"no pair {stem!r} in {self.root} split '{self.split}'")

    def load(self, stem: str) -> tuple[np.ndarray, np.ndarray]:
        """(real RGB image, id mask) of a stem; unreadable or mismatched files raise CompareError."""
        p = self.pair(stem)
        try:
            image = read_rgb(p.image_path)
            ids = read_mask(p.mask_path, self.scheme)
        except (ImageError, MaskError) as e:
            raise CompareError(str(e)) from None
        if image.shape[:2] != ids.shape:
            raise CompareError(f"{p.mask_path}: mask is {ids.shape[1]}x{ids.shape[0]} but its image is {image.shape[1]}x{image.shape[0]}")
        return image, ids


def list_splits(root: str | Path) -> list[str]:
    """Splits present as both images/<split> and masks/<split>, 'test' first since that is what to compare on."""
    root = Path(root)
    if not (root / "images").is_dir():
        return []
    splits = sorted(d.name for d in (root / "images").iterdir() if d.is_dir() and (root / "masks" / d.name).is_dir())
    return sorted(splits, key=lambda s: (s != "test", s))


def open_paired_folder(root: str | Path | None, split: str | None = None, scheme: ClassScheme | None = None) -> PairedFolder:
    """A dataset's split for browsing, in the classes its scheme.json states, else in `scheme` (the checkpoint's)."""
    if not root:
        raise CompareError(HOW_TO_POINT)
    root = Path(root)
    if not root.is_dir():
        raise CompareError(f"dataset folder {root} does not exist. {HOW_TO_POINT}")
    splits = list_splits(root)
    if not splits:
        raise CompareError(f"{root} holds no images/<split>/ with a matching masks/<split>/. {HOW_TO_POINT}")
    split = split or splits[0]
    if split not in splits:
        raise CompareError(f"{root} has no split {split!r}; it has {', '.join(splits)}")
    # Names only: opening every file up front would make the tab slow on big folders.
    scan = scan_dataset(root, split, stated_scheme(root) or scheme, check_content=False)
    if not scan.pairs:
        raise CompareError(f"{root} split '{split}' has no image/mask pairs with matching stems")
    return PairedFolder(root, split, scan.scheme, scan.pairs)


def step_stem(stems: list[str], current: str | None, step: int) -> str:
    """The stem `step` places after `current` (negative: before), wrapping around."""
    if not stems:
        raise CompareError("the dataset has no pairs")
    if current not in stems:
        return stems[0] if step >= 0 else stems[-1]
    return stems[(stems.index(current) + step) % len(stems)]


def random_stem(stems: list[str], current: str | None, seed: int | None = None) -> str:
    """A random stem other than the current one (when there is another)."""
    if not stems:
        raise CompareError("the dataset has no pairs")
    rng = np.random.default_rng(seed)
    others = [s for s in stems if s != current] or stems
    return others[int(rng.integers(len(others)))]


def find_stem(stems: list[str], query: str) -> str:
    """Exact stem, else the only stem containing `query`; otherwise a message listing candidates."""
    query = (query or "").strip()
    if query.lower().endswith((".png", ".jpg", ".jpeg", ".tif", ".tiff")):
        query = query.rsplit(".", 1)[0]
    if not query:
        raise CompareError("type a stem to jump to, e.g. " + (stems[0] if stems else "test_1_000"))
    if query in stems:
        return query
    hits = [s for s in stems if query.lower() in s.lower()]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise CompareError(f"no pair matches {query!r}; stems look like {', '.join(stems[:3])}")
    raise CompareError(f"{len(hits)} pairs match {query!r} ({', '.join(hits[:5])}{', ...' if len(hits) > 5 else ''}); be more specific")
