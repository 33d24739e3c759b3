"""Inception features of image sets, cached as .npz keyed by file contents, preprocessing and weights hash,
in `paths.cache_dir()`."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..hashing import files_sha256
from ..images import read_rgb
from ..paths import cache_dir
from .errors import ImageSetError
from .image_sets import MIN_IMAGES, check_image_set, small_sample_warnings
from .views import image_views

CACHE_VERSION = 1


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance in float64, covariance with N - 1."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < MIN_IMAGES:
        raise ImageSetError(f"a covariance needs at least {MIN_IMAGES} feature vectors, got shape {x.shape}")
    return x.mean(0), np.cov(x, rowvar=False, ddof=1)


@dataclass
class FeatureSet:
    """Features of one image set and their statistics; `names` are the file names in order, one per view
    (`name#k` for the k-th crop of an image larger than a tile), and `images` counts the files."""
    names: list[str]
    features: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    source: str = ""
    key: str | None = None
    from_cache: bool = False
    warnings: list[str] = field(default_factory=list)
    images: int | None = None  # None: one view per image

    @classmethod
    def from_features(cls, names: list[str], features: np.ndarray, source: str = "", images: int | None = None) -> "FeatureSet":
        mean, cov = feature_statistics(features)
        return cls(list(names), np.asarray(features, np.float32), mean, cov, source, images=images)

    @property
    def image_count(self) -> int:
        return len(self.names) if self.images is None else self.images

    def __len__(self) -> int:
        return len(self.names)


def view_names(name: str, count: int) -> list[str]:
    return [name] if count == 1 else [f"{name}#{k}" for k in range(count)]


def content_key(paths: list[Path], descriptor: dict, views: str = "crop") -> str:
    """Hash of every file's name and bytes (as `dataset.dataset_fingerprint` hashes a split) after how the features are
    made (views, preprocessing and weights): any image list, and a new extractor or view misses the cache."""
    return files_sha256(paths, json.dumps({"v": CACHE_VERSION, "weights": descriptor["weights_sha256"],
                                           "prep": descriptor["preprocessing"], "views": views}).encode())


def _cache_file(key: str) -> Path:
    return cache_dir() / "features" / f"{key[:40]}.npz"


def _load(path: Path, key: str) -> FeatureSet | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("key") != key:
                return None
            return FeatureSet(list(meta["names"]), z["features"], z["mean"], z["cov"], meta.get("source", ""), key, True, images=meta.get("images"))
    except (OSError, ValueError, KeyError):
        return None  # a damaged cache entry is recomputed


def _save(path: Path, fs: FeatureSet, descriptor: dict) -> None:
    meta = {"key": fs.key, "names": fs.names, "source": fs.source, "n": len(fs), "images": fs.images,
            "weights_sha256": descriptor["weights_sha256"], "preprocessing": descriptor["preprocessing"]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.savez(f, features=fs.features, mean=fs.mean, cov=fs.cov, meta=np.array(json.dumps(meta)))
        os.replace(tmp, path)
    except OSError:
        pass  # caching is a speed-up only


def image_set_features(paths: list[Path], extractor, what: str, use_cache: bool = True, progress: bool = True,
                       views: str = "crop") -> FeatureSet:
    """Features and statistics of the images at `paths` (of their views, for images larger than a tile: see
    views.py), from the cache when the same files were seen before.

    Raises ImageSetError for fewer than 2 images or unreadable files (all named); small sets add a warning.
    """
    paths = [Path(p) for p in paths]
    if len(paths) < MIN_IMAGES:
        raise ImageSetError(f"{what}: {len(paths)} image(s); FID, KID and precision/recall need at least {MIN_IMAGES}")
    descriptor = extractor.describe()
    key = content_key(paths, descriptor, views) if use_cache else None
    if key is not None:
        cached = _load(_cache_file(key), key)
        if cached is not None:
            cached.source = what
            cached.warnings = small_sample_warnings(len(cached), what)
            return cached
    check_image_set(paths, what)
    names: list[str] = []

    def all_views():
        for p in paths:
            vs = image_views(read_rgb(p), views)
            names.extend(view_names(p.name, len(vs)))
            yield from vs

    feats = extractor.features(all_views(), total=len(paths), desc=f"features: {what}", progress=progress)
    fs = FeatureSet.from_features(names, feats, what, images=len(paths) if len(names) != len(paths) else None)
    fs.key, fs.warnings = key, small_sample_warnings(len(fs), what)
    if key is not None:
        _save(_cache_file(key), fs, descriptor)
    return fs
