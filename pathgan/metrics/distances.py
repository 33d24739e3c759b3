"""Pairwise Euclidean distances in row chunks, so large sets fit in memory."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

CHUNK = 1024


def pairwise_chunks(x: np.ndarray, y: np.ndarray, chunk: int = CHUNK) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (row offset, distances of x[offset:offset+chunk] to all of y) in float64."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    yy = (y * y).sum(1)
    for i in range(0, len(x), chunk):
        xs = x[i : i + chunk]
        d2 = (xs * xs).sum(1)[:, None] - 2 * xs @ y.T + yy[None]
        yield i, np.sqrt(np.clip(d2, 0, None))


def nearest(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of x: distance to and index of its nearest row of y."""
    dist, idx = np.empty(len(x)), np.empty(len(x), np.int64)
    for i, d in pairwise_chunks(x, y):
        j = d.argmin(1)
        idx[i : i + len(d)], dist[i : i + len(d)] = j, d[np.arange(len(d)), j]
    return dist, idx


def kth_neighbour_radius(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of x to its k-th nearest other row (itself excluded)."""
    out = np.empty(len(x))
    for i, d in pairwise_chunks(x, x):
        out[i : i + len(d)] = np.partition(d, k, axis=1)[:, k]  # column 0 of the sorted row is the point itself
    return out
