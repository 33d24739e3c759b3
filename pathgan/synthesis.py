"""Mask + seeds -> synthetic H&E tiles, deterministic per seed, seamless for large masks."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .checkpoint import load_generator, read_calibration, read_compression_match
from .colour_calibration import ColourCalibration
from .compression_matching import CompressionMatch
from .masks import check_ids
from .schemes import ClassScheme
from .seeds import torch_generator
from .tensors import mask_to_onehot, tensor_to_images

TILE = 256
MIN_OVERLAP = 64  # tiles of a large mask overlap at least this much, and are blended across it


def best_device(requested: str | None = None) -> torch.device:
    if requested and requested != "auto":
        dev = torch.device(requested)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but no CUDA GPU is visible; use --device cpu")
        return dev
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def tile_starts(size: int, tile: int = TILE, min_overlap: int = MIN_OVERLAP) -> list[int]:
    """Evenly spaced tile origins covering [0, size) with at least `min_overlap` between neighbours."""
    if size <= tile:
        return [0]
    n = int(np.ceil((size - min_overlap) / (tile - min_overlap)))
    return [int(round(v)) for v in np.linspace(0, size - tile, n)]


def blend_window(tile: int = TILE, ramp: int = MIN_OVERLAP) -> np.ndarray:
    """2-D weight: 1 in the middle, a raised-cosine fall over `ramp` pixels to a small floor at the edges."""
    w = np.ones(tile)
    r = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
    w[:ramp], w[-ramp:] = r, r[::-1]
    w = np.maximum(w, 1e-3)
    return np.outer(w, w).astype(np.float32)


def post_process(images: list[np.ndarray], calibration: ColourCalibration | None, compression: CompressionMatch | None) -> list[np.ndarray]:
    """What a checkpoint's config asks for after the network: the colour map, then the JPEG matching.

    Both act on the whole image, after tiles are blended; JPEG comes last, one encode as a scanner would.
    """
    if calibration:
        images = calibration.apply(images)
    return compression.apply(images) if compression else images


class Synthesizer:
    """Turns id masks into RGB tiles with a generator.

    The same (checkpoint, mask, seed) gives a bit-identical image whether generated alone or in a batch:
    each sample is normalised with its own statistics and draws its noise and dropout from its own seed.
    """

    def __init__(self, generator: torch.nn.Module, scheme: ClassScheme, device: str | torch.device | None = None, config: dict | None = None):
        self.device = best_device(str(device) if device is not None else None)
        self.generator = generator.to(self.device).eval()
        self.scheme = scheme
        self.config = config or {}
        self.calibration = read_calibration("checkpoint config", self.config)
        self.compression = read_compression_match("checkpoint config", self.config)  # None: lossless tiles

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | None = None) -> "Synthesizer":
        dev = best_device(device)
        generator, scheme, config = load_generator(path, device=dev)
        return cls(generator, scheme, dev, config)

    @property
    def post_processing(self) -> str:
        """What happens to tiles after the network, in words, so every quoted number can say it."""
        steps = []
        if self.calibration:
            steps.append(f"colour map fitted on {self.calibration.fitted_on.get('split', 'unknown')}")
        if self.compression:
            steps.append(f"{self.compression.description}, as the {self.compression.fitted_on.get('split', 'training')} tiles")
        return "; then ".join(steps) if steps else "none (lossless network output)"

    @torch.no_grad()
    def _run(self, onehot: torch.Tensor, rngs: list[torch.Generator]) -> torch.Tensor:
        # Each sample runs on its own: convolution kernels may pick other algorithms for other
        # batch sizes, and bit-identity alone vs in a batch is a promise.
        outs = [self.generator(onehot[i : i + 1].to(self.device), [g]) for i, g in enumerate(rngs)]
        return torch.cat(outs).float().cpu()

    def generate(self, ids: np.ndarray, seeds: list[int]) -> list[np.ndarray]:
        """(H, W) id mask and seeds -> one (H, W, 3) uint8 image per seed, at the mask's size."""
        ids = check_ids(np.asarray(ids), self.scheme)
        h, w = ids.shape
        # Masks smaller than a tile are mirrored out to it, then the result is cropped back.
        ph, pw = max(TILE - h, 0), max(TILE - w, 0)
        padded = np.pad(ids, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)), mode="symmetric") if ph or pw else ids
        out = self._generate_tiled(padded, seeds)
        out = out[:, :, ph // 2 : ph // 2 + h, pw // 2 : pw // 2 + w]
        return post_process(tensor_to_images(out), self.calibration, self.compression)

    def _generate_tiled(self, ids: np.ndarray, seeds: list[int]) -> torch.Tensor:
        H, W = ids.shape
        onehot = mask_to_onehot(ids, self.scheme.num_classes)
        ys, xs = tile_starts(H), tile_starts(W)
        if len(ys) == 1 and len(xs) == 1:
            return self._run(onehot[None].expand(len(seeds), -1, -1, -1), [torch_generator(s, 0, 0) for s in seeds])
        window = torch.from_numpy(blend_window())
        acc = torch.zeros(len(seeds), 3, H, W)
        weight = torch.zeros(1, 1, H, W)
        for y in ys:
            for x in xs:
                tile = onehot[:, y : y + TILE, x : x + TILE][None].expand(len(seeds), -1, -1, -1)
                out = self._run(tile, [torch_generator(s, y, x) for s in seeds])  # each tile's randomness is its own
                acc[:, :, y : y + TILE, x : x + TILE] += out * window
                weight[:, :, y : y + TILE, x : x + TILE] += window
        return acc / weight
