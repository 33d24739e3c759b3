"""FID, KID, precision/recall, seed diversity, memorisation and checkerboards on inputs with known answers."""
from __future__ import annotations

from itertools import product

import numpy as np
import pytest
import scipy.linalg

from pathgan.metrics import (
    ImageSetError,
    PowerSpectrum,
    checkerboard,
    feature_statistics,
    fid,
    fid_from_stats,
    kid,
    mean_pairwise_feature_distance,
    mean_pairwise_pixel_l1,
    memorisation,
    mmd2_unbiased,
    neighbour_feature_distance,
    neighbour_pixel_l1,
    pixel_l1,
    precision_recall,
    seed_diversity,
)


def _random_cov(rng, d, rank=None):
    a = rng.normal(size=(d, rank or d))
    return a @ a.T / d


# ---- FID -------------------------------------------------------------------------------------------

def test_fid_of_diagonal_gaussians_is_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    expect = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert fid_from_stats(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expect, rel=1e-10)


def test_fid_of_commuting_covariances_is_closed_form():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    la, lb = rng.uniform(0.1, 5, 6), rng.uniform(0.1, 5, 6)
    s1, s2 = q @ np.diag(la) @ q.T, q @ np.diag(lb) @ q.T
    expect = ((np.sqrt(la) - np.sqrt(lb)) ** 2).sum()
    assert fid_from_stats(np.zeros(6), s1, np.zeros(6), s2) == pytest.approx(expect, rel=1e-8)
    # Scaling one covariance by c^2 gives (1 - c)^2 Tr S.
    assert fid_from_stats(np.zeros(6), s1, np.zeros(6), 9 * s1) == pytest.approx(4 * np.trace(s1), rel=1e-8)


def test_fid_matches_scipy_sqrtm_on_a_general_full_rank_pair():
    rng = np.random.default_rng(1)
    s1, s2 = _random_cov(rng, 20), _random_cov(rng, 20)
    mu1, mu2 = rng.normal(size=20), rng.normal(size=20)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expect = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)
    assert fid_from_stats(mu1, s1, mu2, s2) == pytest.approx(expect, rel=1e-7)


def test_fid_of_a_set_with_itself_is_zero_even_when_rank_deficient():
    feats = np.random.default_rng(2).normal(size=(30, 256)).astype(np.float32)  # N < D, as with few images
    assert fid(feats, feats) == pytest.approx(0.0, abs=1e-6)


def test_fid_of_a_shifted_set_is_the_squared_shift():
    feats = np.random.default_rng(3).normal(size=(50, 64))
    shift = np.linspace(-1, 1, 64)
    assert fid(feats, feats + shift) == pytest.approx((shift**2).sum(), rel=1e-6)


def test_statistics_use_float64_and_n_minus_1():
    x = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]], dtype=np.float32)
    mu, cov = feature_statistics(x)
    assert cov.dtype == np.float64
    assert cov[0, 0] == pytest.approx(4.0)  # var of 0, 2, 4 with N - 1
    with pytest.raises(ImageSetError, match="at least 2"):
        feature_statistics(x[:1])


# ---- KID -------------------------------------------------------------------------------------------

def _naive_mmd2(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i, j in product(range(m), range(m)) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in product(range(n), range(n)) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i, j in product(range(m), range(n))) / (m * n)
    return xx + yy - 2 * xy


def test_kid_is_the_unbiased_polynomial_mmd():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(7, 5)), rng.normal(0.5, 1, size=(7, 5))
    assert mmd2_unbiased(x, y) == pytest.approx(_naive_mmd2(x, y), rel=1e-10)
    # Subsets as large as both sets are the whole sets every time: the mean is exact, and there is no spread to report.
    r = kid(x, y, subsets=5, subset_size=1000)
    assert r["mean"] == pytest.approx(_naive_mmd2(x, y), rel=1e-10)
    assert r["std"] is None and r["whole_sets"] and r["subset_size"] == 7 and r["subsets"] == 1
    r = kid(x, np.concatenate([y, y[:2] + 0.1]), subsets=5, subset_size=1000)  # one set larger: subsets differ
    assert r["std"] > 0 and not r["whole_sets"]


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(5)
    a, b, c = rng.normal(size=(200, 16)), rng.normal(size=(150, 16)), rng.normal(0.7, 1, size=(150, 16))
    same, other = kid(a, b, subsets=20), kid(a, c, subsets=20)
    assert abs(same["mean"]) < 3 * same["std"] + 1e-3
    assert other["mean"] > 10 * max(same["std"], 1e-4)
    assert same["subset_size"] == 150 and same["std"] > 0
    assert kid(a, c, subsets=20, seed=7) == kid(a, c, subsets=20, seed=7)  # fixed seed, same draws
    with pytest.raises(ImageSetError):
        kid(a[:1], b)


# ---- precision / recall -----------------------------------------------------------------------------

def test_precision_recall_on_a_hand_checked_line():
    real = np.arange(6, dtype=float)[:, None]  # k=1 balls of radius 1 around 0..5
    fake = np.array([0.5, 2.5, 10.0, 20.0])[:, None]
    r = precision_recall(real, fake, k=1)
    assert r["precision"] == 0.5  # 0.5 and 2.5 are inside, 10 and 20 are not
    # Fake radii: 2, 2, 7.5, 10 -> the ball around 10 reaches 2.5..17.5, so every real point is covered.
    assert r["recall"] == 1.0


def test_precision_recall_of_identical_and_disjoint_sets():
    rng = np.random.default_rng(6)
    a = rng.normal(size=(40, 8))
    assert precision_recall(a, a, k=3) == {"precision": 1.0, "recall": 1.0, "k": 3}
    far = precision_recall(a, a + 100, k=3)
    assert far["precision"] == 0.0 and far["recall"] == 0.0
    with pytest.raises(ImageSetError, match="k=3"):
        precision_recall(a[:3], a, k=3)


# ---- seed diversity --------------------------------------------------------------------------------

def test_pixel_l1_is_the_mean_absolute_difference_of_unit_pixels():
    black, white = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 255, np.uint8)
    assert pixel_l1(black, white) == pytest.approx(1.0)
    grey = np.full((6, 8, 3), 51, np.uint8)
    assert pixel_l1(black, grey) == pytest.approx(0.2)  # sizes differ: centre crops are compared
    assert mean_pairwise_pixel_l1([black, white, black]) == pytest.approx(2 / 3)
    assert neighbour_pixel_l1([black, white, white]) == pytest.approx(0.5)


def test_seed_diversity_ratio_is_zero_when_seeds_are_ignored_and_one_for_real_spread():
    f = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    assert mean_pairwise_feature_distance(f) == pytest.approx(10 / 3)
    assert neighbour_feature_distance(f) == pytest.approx(5.0)
    ignored = seed_diversity([0.0, 0.0], [0.0, 0.0], 4, real_pixel_l1=0.15, real_feature_distance=20.0)
    assert ignored["pixel_l1_ratio"] == 0.0 and ignored["feature_ratio"] == 0.0
    like_real = seed_diversity([0.1, 0.2], [10.0, 30.0], 4, 0.15, 20.0)
    assert like_real["pixel_l1"] == pytest.approx(0.15) and like_real["pixel_l1_ratio"] == pytest.approx(1.0)
    assert like_real["pixel_l1_min"] == pytest.approx(0.1) and like_real["feature_ratio"] == pytest.approx(1.0)
    assert seed_diversity([], [], 1, 0.15, 20.0)["pixel_l1"] is None


# ---- memorisation ----------------------------------------------------------------------------------

def test_memorisation_flags_copies_of_training_images():
    rng = np.random.default_rng(7)
    train, test = rng.normal(size=(60, 16)), rng.normal(size=(40, 16))
    names = [f"train_{i}" for i in range(60)]
    copies = train[[3, 5, 8, 13]]
    r = memorisation(copies, ["a", "b", "c", "d"], train, names, test, top=2)
    assert r["ratio"] == pytest.approx(0.0, abs=1e-6) and not r["inside_real_range"] and r["position"] == "below"
    assert r["share_below_real_range"] == 1.0
    assert {p["train"] for p in r["closest_pairs"]} <= {"train_3", "train_5", "train_8", "train_13"}
    assert len(r["closest_pairs"]) == 2 and r["closest_pairs"][0]["distance"] == pytest.approx(0.0, abs=1e-6)


def test_memorisation_of_fresh_samples_is_like_real_test_images():
    rng = np.random.default_rng(8)
    train, test, fresh = rng.normal(size=(300, 16)), rng.normal(size=(200, 16)), rng.normal(size=(200, 16))
    r = memorisation(fresh, [str(i) for i in range(200)], train, [str(i) for i in range(300)], test)
    assert 0.9 < r["ratio"] < 1.1 and r["inside_real_range"] and r["position"] == "inside"
    far = memorisation(fresh + 10, [str(i) for i in range(200)], train, [str(i) for i in range(300)], test)
    assert far["ratio"] > 1 and far["position"] == "above"
    lo, hi = r["real_range"]
    assert lo < r["real_median"] < hi and r["n_train"] == 300


# ---- checkerboard artefacts ------------------------------------------------------------------------

def _smooth_tiles(rng, n=6, size=64):
    """Low-pass noise: a smooth, tissue-like spectrum with nothing periodic in it."""
    import cv2
    return [np.clip(128 + 40 * cv2.GaussianBlur(rng.normal(size=(size, size, 3)), (0, 0), 1.5), 0, 255).astype(np.uint8) for _ in range(n)]


def test_checkerboard_is_near_zero_db_for_smooth_tiles_and_high_for_a_period_2_pattern():
    rng = np.random.default_rng(0)
    smooth = _smooth_tiles(rng)
    clean = checkerboard(smooth)
    assert clean["images"] == 6 and abs(clean["db"]) < 3
    y, x = np.mgrid[:64, :64]
    pattern = 6 * (-1.0) ** (x + y)  # the diagonal checkerboard a stride-2 transposed convolution leaves
    dirty = checkerboard(np.clip(t + pattern[..., None], 0, 255).astype(np.uint8) for t in smooth)
    assert dirty["peaks_db"]["2"]["diagonal"] > 20 + clean["peaks_db"]["2"]["diagonal"]
    # The other peaks stay where they were: the measurement tells the directions and periods apart.
    for p, d in (("2", "vertical"), ("2", "horizontal"), ("4", "diagonal")):
        assert dirty["peaks_db"][p][d] == pytest.approx(clean["peaks_db"][p][d], abs=1.0), (p, d)
    stripes = checkerboard(np.clip(t + 6 * np.cos(np.pi * y / 2)[..., None], 0, 255).astype(np.uint8) for t in smooth)
    assert stripes["peaks_db"]["4"]["vertical"] > 20 and stripes["peaks_db"]["4"]["horizontal"] < 3


def test_checkerboard_accumulates_like_the_one_shot_call_and_refuses_bad_sizes():
    rng = np.random.default_rng(1)
    tiles = _smooth_tiles(rng, 3)
    spectrum = PowerSpectrum()
    for t in tiles:
        spectrum.add(t)
    assert checkerboard(spectrum) == checkerboard(tiles)
    with pytest.raises(ValueError, match="one size"):
        spectrum.add(tiles[0][:60, :60])
    with pytest.raises(ValueError, match="multiples of 4"):
        PowerSpectrum().add(np.zeros((66, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="RGB"):
        PowerSpectrum().add(np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError, match="no images"):
        checkerboard([])


def test_two_sample_probe_is_at_chance_on_one_distribution_and_perfect_on_two():
    from pathgan.metrics import ImageSetError, classifier_two_sample_test

    rng = np.random.default_rng(3)
    same_a, same_b = rng.normal(size=(120, 64)), rng.normal(size=(200, 64))
    result = classifier_two_sample_test(same_a, same_b)
    assert result["n_per_set"] == 120 and len(result["per_fold"]) == 5
    assert result["ci95"][0] < 0.5 < result["ci95"][1]  # the larger set is subsampled, so chance is exactly one half
    assert classifier_two_sample_test(same_a, same_b) == result  # fixed folds and seed: reproducible to the bit
    shifted = classifier_two_sample_test(same_a, rng.normal(size=(120, 64)) + 1.0)
    assert shifted["accuracy"] > 0.95 and shifted["ci95"][0] > 0.9
    with pytest.raises(ImageSetError, match="at least 5 images"):
        classifier_two_sample_test(same_a[:4], same_b)
