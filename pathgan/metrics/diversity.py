"""Seed diversity: how different the images of one mask are across seeds, relative to real neighbouring tiles.

A ratio of 0 means the generator ignores its noise; real neighbouring tiles define 1.
"""
from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations

import numpy as np


def _centre_crop(a: np.ndarray, h: int, w: int) -> np.ndarray:
    y, x = (a.shape[0] - h) // 2, (a.shape[1] - w) // 2
    return a[y : y + h, x : x + w]


def pixel_l1(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of [0, 1]-scaled pixels (centre crops to the common size if sizes differ)."""
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    a, b = _centre_crop(a, h, w).astype(np.float32), _centre_crop(b, h, w).astype(np.float32)
    return float(np.abs(a - b).mean() / 255.0)


def mean_pairwise_pixel_l1(images: list[np.ndarray]) -> float:
    """Mean pixel L1 over all pairs of images (e.g. the seeds of one mask)."""
    pairs = list(combinations(range(len(images)), 2))
    if not pairs:
        raise ValueError("pairwise distances need at least 2 images")
    return float(np.mean([pixel_l1(images[i], images[j]) for i, j in pairs]))


def mean_pairwise_feature_distance(features: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs of feature vectors."""
    f = np.asarray(features, np.float64)
    pairs = list(combinations(range(len(f)), 2))
    if not pairs:
        raise ValueError("pairwise distances need at least 2 feature vectors")
    return float(np.mean([np.linalg.norm(f[i] - f[j]) for i, j in pairs]))


def neighbour_pixel_l1(images: Iterable[np.ndarray]) -> float:
    """Mean pixel L1 between each image and the next one (real tiles in sorted stem order)."""
    prev, values = None, []
    for im in images:
        if prev is not None:
            values.append(pixel_l1(prev, im))
        prev = im
    if not values:
        raise ValueError("neighbour distances need at least 2 images")
    return float(np.mean(values))


def neighbour_feature_distance(features: np.ndarray) -> float:
    f = np.asarray(features, np.float64)
    if len(f) < 2:
        raise ValueError("neighbour distances need at least 2 feature vectors")
    return float(np.linalg.norm(f[1:] - f[:-1], axis=1).mean())


def seed_diversity(mask_pixel_l1: list[float], mask_feature_distance: list[float], seeds_per_mask: int,
                   real_pixel_l1: float, real_feature_distance: float) -> dict:
    """Summarise per-mask seed distances and relate them to the real neighbour distances."""
    if seeds_per_mask < 2 or not mask_pixel_l1:
        return {"seeds_per_mask": seeds_per_mask, "masks": len(mask_pixel_l1), "pixel_l1": None, "feature_distance": None,
                "pixel_l1_ratio": None, "feature_ratio": None, "real_pixel_l1": real_pixel_l1,
                "real_feature_distance": real_feature_distance, "note": "seed diversity needs at least 2 seeds"}
    px, ft = float(np.mean(mask_pixel_l1)), float(np.mean(mask_feature_distance))
    return {
        "seeds_per_mask": seeds_per_mask,
        "masks": len(mask_pixel_l1),
        "pixel_l1": px,  # absolute: mean over masks of the mean pixel L1 between that mask's seeds
        "pixel_l1_min": float(np.min(mask_pixel_l1)),
        "feature_distance": ft,
        "real_pixel_l1": real_pixel_l1,
        "real_feature_distance": real_feature_distance,
        "pixel_l1_ratio": px / real_pixel_l1 if real_pixel_l1 > 0 else None,
        "feature_ratio": ft / real_feature_distance if real_feature_distance > 0 else None,
        "real_reference": "real tiles of the split, each against its neighbour in sorted stem order",
    }
