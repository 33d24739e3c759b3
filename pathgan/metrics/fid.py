"""Frechet Inception Distance between two Gaussians fitted to features."""
from __future__ import annotations

import numpy as np

from .features_cache import feature_statistics


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def trace_sqrt_product(s1: np.ndarray, s2: np.ndarray) -> float:
    """Tr (S1 S2)^1/2 as the sum of sqrt eigenvalues of S1^1/2 S2 S1^1/2.

    That matrix is symmetric PSD and has the eigenvalues of S1 S2, so eigvalsh is stable even when
    the covariances are rank-deficient (N < 2048), where scipy's sqrtm can go complex or inaccurate.
    """
    r = _psd_sqrt(np.asarray(s1, np.float64))
    m = r @ np.asarray(s2, np.float64) @ r
    ev = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sqrt(np.clip(ev, 0, None)).sum())


def fid_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + Tr S1 + Tr S2 - 2 Tr (S1 S2)^1/2."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(f"mismatched statistics: means {mu1.shape} vs {mu2.shape}, covariances {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(sigma1, sigma2)
    return max(float(value), 0.0)  # the true value is >= 0; only rounding can take it below


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """FID between two (N, D) feature arrays."""
    return fid_from_stats(*feature_statistics(features_a), *feature_statistics(features_b))
