"""Improved precision and recall (Kynkaanniemi et al. 2019) with k-nearest-neighbour balls on features."""
from __future__ import annotations

import numpy as np

from .distances import kth_neighbour_radius, pairwise_chunks
from .errors import ImageSetError, MetricsError


def _coverage(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> float:
    """Share of `points` that fall inside at least one ball (centre, radius)."""
    inside = 0
    for _, d in pairwise_chunks(points, centres):
        inside += int((d <= radii[None]).any(1).sum())
    return inside / len(points)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict:
    """Precision: share of fake samples inside the real manifold; recall: share of real inside the fake one.

    Each manifold is the union of balls around its samples reaching their k-th nearest neighbour.
    """
    if k < 1:
        raise MetricsError(f"k must be at least 1, got {k}")
    if min(len(real), len(fake)) <= k:
        raise ImageSetError(f"precision/recall with k={k} needs more than {k} images per side, got {len(real)} and {len(fake)}")
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    precision = _coverage(fake, real, kth_neighbour_radius(real, k))
    recall = _coverage(real, fake, kth_neighbour_radius(fake, k))
    return {"precision": precision, "recall": recall, "k": k}
