"""Procedural nucleus layouts: seeded, CoNSeP-like shares and sizes, separate nuclei, never a dataset copy."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from pathgan.layouts import CONSEP_SHARES, EPITHELIAL, INFLAMMATORY, MISC, SPINDLE, random_layout, random_layout_with_instances
from pathgan.masks import read_mask
from pathgan.schemes import BINARY, CONSEP, ClassScheme

SEEDS = range(24)


@pytest.fixture(scope="module")
def layouts():
    return [random_layout_with_instances(256, s) for s in SEEDS]


def test_same_seed_same_layout_and_seeds_differ():
    a, b, c = random_layout(256, 3), random_layout(256, 3), random_layout(256, 4)
    assert a.dtype == np.uint8 and a.shape == (256, 256)
    assert np.array_equal(a, b)
    assert (a != c).mean() > 0.1


def test_sizes_and_rectangles():
    assert random_layout((200, 320), 0).shape == (200, 320)
    big = random_layout(1024, 0)
    share = np.bincount(big.ravel(), minlength=5) / big.size
    assert 0.75 < share[0] < 0.9 and share[EPITHELIAL] > 0.04 and share[SPINDLE] > 0.02  # large canvases get glands too
    with pytest.raises(ValueError, match="between 16 and"):
        random_layout(8, 0)



def test_layouts_for_any_class_count():
    consep = random_layout(256, 3)
    one = random_layout(256, 3, BINARY)  # nuclei only: the same outlines, one class
    assert np.array_equal(one, (consep > 0).astype(np.uint8))
    two = random_layout(512, 3, ClassScheme(("bg", "a", "b"), ((0, 0, 0), (255, 0, 0), (0, 0, 255))))
    assert set(np.unique(two)) == {0, 1, 2} and np.array_equal(two > 0, random_layout(512, 3) > 0)
    seven = random_layout(256, 3, ClassScheme(tuple("bgabcdefg"[i] + str(i) for i in range(8)), tuple((i, i, i) for i in range(8))))
    assert seven.max() <= 7 and np.array_equal(seven, consep)  # ids 1-4 exist in a 7-class scheme: types kept


def test_mean_class_shares_match_consep(layouts):
    shares = np.array([np.bincount(ids.ravel(), minlength=5) / ids.size for ids, _ in layouts])
    mean = shares.mean(0)
    # Tolerances: a few standard errors of the 24-layout mean.
    assert abs(mean[0] - CONSEP_SHARES[0]) < 0.03, mean
    assert abs(mean[EPITHELIAL] - CONSEP_SHARES[EPITHELIAL]) < 0.025, mean
    assert abs(mean[SPINDLE] - CONSEP_SHARES[SPINDLE]) < 0.015, mean
    assert abs(mean[INFLAMMATORY] - CONSEP_SHARES[INFLAMMATORY]) < 0.008, mean
    assert mean[MISC] < 0.008
    # Every layout is a mixture, not a single-class tile.
    assert all((s[[EPITHELIAL, SPINDLE, INFLAMMATORY]] > 0.005).all() for s in shares)


def _nuclei(layouts, cls):
    """(equivalent radius, axis ratio) of whole nuclei of a class (those touching the border are cut, so skipped)."""
    out = []
    for ids, inst in layouts:
        for i in np.unique(inst[ids == cls]):
            ys, xs = np.nonzero(inst == i)
            if ys.min() == 0 or xs.min() == 0 or ys.max() == 255 or xs.max() == 255:
                continue
            ev = np.sort(np.linalg.eigvalsh(np.cov(np.stack([ys, xs]).astype(float))))
            out.append((np.sqrt(len(ys) / np.pi), np.sqrt(ev[1] / max(ev[0], 1e-6))))
    return np.array(out)


def test_nucleus_sizes_and_shapes(layouts):
    infl, epi, spin = (_nuclei(layouts, c) for c in (INFLAMMATORY, EPITHELIAL, SPINDLE))
    assert len(infl) > 50 and len(epi) > 100 and len(spin) > 100
    # Inflammatory: small and round, radius about 6-8 px.
    assert 5.5 < np.median(infl[:, 0]) < 8.5 and np.median(infl[:, 1]) < 1.4
    # Epithelial: the largest, radius about 8-12 px.
    assert 8 < np.median(epi[:, 0]) < 12.5 and np.median(epi[:, 0]) > np.median(infl[:, 0]) + 1.5
    # Spindle: thin and elongated.
    assert np.median(spin[:, 1]) > 2.5 and np.median(spin[:, 0]) < 8


def test_spindles_align_in_streams(layouts):
    """Spindle nuclei of one layout point mostly the same way (a circular variance well below random's 1)."""
    ids, inst = layouts[0]
    angles = []
    for i in np.unique(inst[ids == SPINDLE]):
        ys, xs = np.nonzero(inst == i)
        w, v = np.linalg.eigh(np.cov(np.stack([ys, xs]).astype(float)))
        angles.append(np.arctan2(v[0, 1], v[1, 1]))
    resultant = np.abs(np.mean(np.exp(2j * np.array(angles))))
    assert resultant > 0.5, resultant


def test_nuclei_never_touch(layouts):
    for ids, inst in layouts:
        assert np.array_equal(ids > 0, inst > 0)
        _, pieces = ndimage.label(ids > 0, structure=np.ones((3, 3)))
        assert pieces == len(np.unique(inst)) - 1  # 8-connected blobs = nuclei: none merge
        grown = ndimage.grey_dilation(inst, size=(3, 3))
        touching = (inst > 0) & (grown != inst)
        assert not touching.any(), "two nuclei share a border"
        for i in np.unique(inst)[1:]:
            assert len(np.unique(ids[inst == i])) == 1  # one class per nucleus


def test_layouts_are_not_dataset_copies(consep_root, layouts):
    """Foreground IoU with every CoNSeP mask, in all 8 orientations, stays far from a copy (1.0)."""
    masks = np.stack([read_mask(p, CONSEP) > 0 for split in ("train", "test")
                      for p in sorted((consep_root / "masks" / split).glob("*.png"))])
    flat = masks.reshape(len(masks), -1).astype(np.float32)
    worst = 0.0
    for ids, _ in layouts[:8]:
        fg = ids > 0
        for k in range(4):
            for f in (fg, fg[:, ::-1]):
                v = np.rot90(f, k).reshape(-1).astype(np.float32)
                inter = flat @ v
                union = flat.sum(1) + v.sum() - inter
                worst = max(worst, float((inter / np.maximum(union, 1)).max()))
    assert worst < 0.35, worst
