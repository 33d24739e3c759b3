"""Memorisation: are synthetic images closer to their nearest training image than unseen real images are?"""
from __future__ import annotations

import numpy as np

from .distances import nearest
from .errors import ImageSetError

RANGE_PERCENTILES = (5.0, 95.0)


def memorisation(synthetic: np.ndarray, synthetic_names: list[str], train: np.ndarray, train_names: list[str],
                 real_test: np.ndarray, top: int = 5) -> dict:
    """Nearest-train-image distances in feature space for synthetic and for real test images.

    ratio = median synthetic NN distance / median real-test NN distance: about 1 means synthetic images are
    as far from the training set as unseen real tiles; well below 1 (or a median under the real range) hints at copies.
    """
    if len(train) < 1 or len(synthetic) < 1 or len(real_test) < 2:
        raise ImageSetError(f"memorisation needs training, synthetic and >= 2 real test images, got {len(train)}, {len(synthetic)}, {len(real_test)}")
    s_dist, s_idx = nearest(synthetic, train)
    r_dist, _ = nearest(real_test, train)
    s_med, r_med = float(np.median(s_dist)), float(np.median(r_dist))
    lo, hi = (float(v) for v in np.percentile(r_dist, RANGE_PERCENTILES))
    order = np.argsort(s_dist, kind="stable")[:top]
    return {
        "ratio": s_med / r_med if r_med > 0 else None,
        "synthetic_median": s_med,
        "real_median": r_med,
        "real_range": [lo, hi],
        "range_percentiles": list(RANGE_PERCENTILES),
        "inside_real_range": bool(lo <= s_med <= hi),
        # below the range hints at copies; above means farther from the training set than real tiles (poor, not memorised)
        "position": "below" if s_med < lo else "above" if s_med > hi else "inside",
        "share_below_real_range": float((s_dist < lo).mean()),
        "closest_pairs": [{"synthetic": synthetic_names[i], "train": train_names[s_idx[i]], "distance": float(s_dist[i])} for i in order],
        "n_synthetic": len(synthetic), "n_real": len(real_test), "n_train": len(train),
    }
