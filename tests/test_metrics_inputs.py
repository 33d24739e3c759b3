"""Image sets the metrics refuse or warn about, and the content-keyed feature cache."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pathgan.errors import ConfigError, PathGANError
from pathgan.metrics import (
    ImageSetError,
    MetricsError,
    SmallSampleWarning,
    check_image_set,
    image_set_features,
    list_image_set,
)
from pathgan.paths import cache_dir


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PATHGAN_CACHE", str(tmp_path / "cache"))


def _write(folder, n, size=(32, 40), start=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(start)
    for i in range(start, start + n):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / f"im_{i:03d}.png")
    return folder


class FakeExtractor:
    """Stands in for Inception so cache logic is tested without it: features are per-channel means."""

    def __init__(self, weights_sha256="w1"):
        self.calls, self.weights_sha256 = 0, weights_sha256

    def describe(self):
        return {"weights_sha256": self.weights_sha256, "preprocessing": "fake"}

    def features(self, images, total=None, desc="", progress=True):
        self.calls += 1
        return np.stack([np.r_[im.reshape(-1, 3).mean(0), im.std()] for im in images]).astype(np.float32)


def test_missing_empty_and_tiny_folders_are_clear_errors(tmp_path):
    with pytest.raises(ImageSetError, match="no such folder"):
        list_image_set(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    with pytest.raises(ImageSetError, match="no images"):
        list_image_set(tmp_path / "empty")
    one = list_image_set(_write(tmp_path / "one", 1))
    with pytest.raises(ImageSetError, match="1 image.*at least 2"):
        check_image_set(one, "folder one")
    assert issubclass(ImageSetError, ValueError) and issubclass(ImageSetError, MetricsError) and issubclass(ImageSetError, PathGANError)


def test_unreadable_files_are_all_named(tmp_path):
    folder = _write(tmp_path / "mixed", 3)
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    (folder / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageSetError, match="2 unreadable") as e:
        check_image_set(list_image_set(folder), "mixed")
    assert "broken.png" in str(e.value) and "empty.jpg" in str(e.value)


def test_small_sets_warn_that_fid_is_biased(tmp_path):
    files = list_image_set(_write(tmp_path / "few", 3))
    with pytest.warns(SmallSampleWarning, match="biased.*KID"):
        warns = check_image_set(files, "few")
    assert len(warns) == 1 and "3 images" in warns[0]


def test_features_are_cached_by_content_and_weights(tmp_path):
    folder = _write(tmp_path / "set", 4)
    files = list_image_set(folder)
    ext = FakeExtractor()
    with pytest.warns(SmallSampleWarning):
        first = image_set_features(files, ext, "set", progress=False)
    assert ext.calls == 1 and not first.from_cache and first.features.shape == (4, 4)
    assert first.mean.dtype == np.float64 and first.cov.shape == (4, 4)
    assert len(list((tmp_path / "cache" / "features").glob("*.npz"))) == 1
    with pytest.warns(SmallSampleWarning):
        again = image_set_features(files, ext, "set", progress=False)
    assert ext.calls == 1 and again.from_cache and again.names == [f.name for f in files]
    np.testing.assert_array_equal(again.features, first.features)
    np.testing.assert_array_equal(again.cov, first.cov)
    # New bytes in one file, or other weights, mean new features.
    Image.fromarray(np.zeros((32, 40, 3), np.uint8)).save(files[0])
    with pytest.warns(SmallSampleWarning):
        changed = image_set_features(files, ext, "set", progress=False)
    assert ext.calls == 2 and not changed.from_cache
    other = FakeExtractor("w2")
    with pytest.warns(SmallSampleWarning):
        image_set_features(files, other, "set", progress=False)
    assert other.calls == 1
    with pytest.warns(SmallSampleWarning):
        image_set_features(files, ext, "set", use_cache=False, progress=False)
    assert ext.calls == 3


def test_cache_folder_is_overridable_and_never_inside_the_data(tmp_path, monkeypatch):
    assert cache_dir() == tmp_path / "cache"
    monkeypatch.setenv("PATHGAN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("PATHGAN_CACHE", str(tmp_path / "data" / "cache"))
    with pytest.raises(ConfigError, match="read-only"):
        cache_dir()
    monkeypatch.delenv("PATHGAN_CACHE")
    assert cache_dir().parts[-2:] == (".cache", "pathgan")
