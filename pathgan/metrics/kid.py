"""Kernel Inception Distance: unbiased MMD^2 with the cubic polynomial kernel, averaged over subsets."""
from __future__ import annotations

import numpy as np

from .errors import ImageSetError, MetricsError


def _kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between samples x (m, d) and y (n, d) with k(a, b) = (a.b / d + 1)^3."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = _kernel(x, x), _kernel(y, y), _kernel(x, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean())


def kid(features_a: np.ndarray, features_b: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> dict:
    """KID as mean and std over `subsets` random subsets of size min(N_a, N_b, subset_size), drawn with a fixed seed.

    When both sets are no larger than the subset size and equally large, every subset is the whole of both:
    KID is then computed once and has no spread (std None).
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    m = min(len(a), len(b), subset_size)
    if m < 2:
        raise ImageSetError(f"KID needs at least 2 images per side, got {len(a)} and {len(b)}")
    if subsets < 1:
        raise MetricsError(f"KID needs at least one subset, got {subsets}")
    rng = np.random.default_rng(seed)
    if m == len(a) == len(b):  # every subset would be both whole sets: one value, and no spread to report
        return {"mean": mmd2_unbiased(a, b), "std": None, "subsets": 1, "subset_size": m, "seed": seed, "whole_sets": True}
    values = np.array([
        mmd2_unbiased(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)])
        for _ in range(subsets)
    ])
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if subsets > 1 else 0.0,
            "subsets": subsets, "subset_size": m, "seed": seed, "whole_sets": False}
