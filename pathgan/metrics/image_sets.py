"""Checking the image sets that metrics are computed on: enough images, all of them readable."""
from __future__ import annotations

import warnings
from pathlib import Path

from ..images import ImageError, list_images, read_rgb
from .errors import ImageSetError, SmallSampleWarning

MIN_IMAGES = 2  # a covariance matrix needs N - 1 >= 1
FID_UNBIASED_N = 2048  # below the feature dimension the covariance is rank-deficient and FID is biased upward


def list_image_set(folder: str | Path) -> list[Path]:
    """Image files directly inside `folder` (sorted), or an ImageSetError saying why there are none."""
    folder = Path(folder)
    if not folder.exists():
        raise ImageSetError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise ImageSetError(f"{folder}: not a folder")
    files = list_images(folder)
    if not files:
        raise ImageSetError(f"{folder}: no images (.png, .jpg, .jpeg, .tif, .tiff) in this folder")
    return files


def check_image_set(paths: list[Path], what: str) -> list[str]:
    """Raise for sets that cannot be scored; return warnings (also issued) for sets too small for FID."""
    if len(paths) < MIN_IMAGES:
        raise ImageSetError(f"{what}: {len(paths)} image(s); FID, KID and precision/recall need at least {MIN_IMAGES}")
    bad = []
    for p in paths:
        try:
            read_rgb(p)
        except ImageError as e:
            bad.append(str(e))
    if bad:
        listing = "\n  - ".join(bad)
        raise ImageSetError(f"{what}: {len(bad)} unreadable file(s):\n  - {listing}")
    return small_sample_warnings(len(paths), what)


def small_sample_warnings(n: int, what: str) -> list[str]:
    if n >= FID_UNBIASED_N:
        return []
    msg = (f"{what}: only {n} images; FID is biased upward below {FID_UNBIASED_N} images "
           f"(compare FIDs only at equal N, and lean on KID, which is unbiased)")
    warnings.warn(msg, SmallSampleWarning, stacklevel=3)
    return [msg]
