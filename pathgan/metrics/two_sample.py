"""Classifier two-sample test (Lopez-Paz & Oquab 2017): how well a linear probe tells two image sets apart
on their Inception pool features. 0.5 means indistinguishable; the same probe on real tiles from other
slides (train vs test) is the floor that synthetic tiles can hope for.

The probe is an L2-regularised logistic regression (sklearn's default objective, C = 1, on standardised
features), scored by k-fold cross-validation. Folds and the balancing subsample come from a fixed seed, and
L-BFGS on float64 is deterministic on the CPU, so a report reproduces exactly.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .errors import ImageSetError

PROBE = "L2-regularised logistic regression (C=1) on standardised Inception pool features"


def _fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, c: float) -> np.ndarray:
    mean, std = x_train.mean(0), x_train.std(0) + 1e-8
    xt = torch.from_numpy((x_train - mean) / std)
    yt = torch.from_numpy(y_train.astype(np.float64))
    w = torch.zeros(xt.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=500, tolerance_grad=1e-7, tolerance_change=1e-10, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        # sklearn's objective divided by n: mean log-loss + ||w||^2 / (2 C n)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w + b, yt) + (w @ w) / (2 * c * len(yt))
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return ((torch.from_numpy((x_test - mean) / std) @ w + b) > 0).numpy()


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def classifier_two_sample_test(a: np.ndarray, b: np.ndarray, folds: int = 5, seed: int = 0, c: float = 1.0) -> dict:
    """Out-of-fold accuracy of the probe telling `a` from `b` (feature rows). The larger set is subsampled to
    the smaller with `seed`, so chance is exactly 0.5; folds are stratified and drawn with the same seed."""
    n = min(len(a), len(b))
    if n < folds:
        raise ImageSetError(f"the two-sample test needs at least {folds} images per set ({folds}-fold cross-validation); got {n}")
    rng = np.random.default_rng(seed)
    a = np.asarray(a, np.float64)[np.sort(rng.choice(len(a), n, replace=False))]
    b = np.asarray(b, np.float64)[np.sort(rng.choice(len(b), n, replace=False))]
    x, y = np.concatenate([a, b]), np.concatenate([np.zeros(n, bool), np.ones(n, bool)])
    fold_of = np.empty(2 * n, int)
    for cls in (0, 1):  # stratified: each fold holds the same share of both sets
        idx = np.flatnonzero(y == cls)
        fold_of[rng.permutation(idx)] = np.arange(n) % folds
    correct = np.zeros(2 * n, bool)
    for k in range(folds):
        test = fold_of == k
        correct[test] = _fit_predict(x[~test], y[~test], x[test], c) == y[test]
    hits = int(correct.sum())
    lo, hi = wilson_interval(hits, 2 * n)
    return {"accuracy": hits / (2 * n), "ci95": [lo, hi], "per_fold": [float(correct[fold_of == k].mean()) for k in range(folds)],
            "n_per_set": n, "folds": folds, "seed": seed, "c": c, "probe": PROBE}
