"""Mask + seeds -> synthetic H&E tiles, deterministic per seed, seamless for large masks."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .checkpoint import load_generator, read_class_map, read_post_processing
from .devices import best_device
from .masks import check_ids
from .schemes import ClassScheme
from .seeds import torch_generator
from .tensors import mask_to_onehot, tensor_to_images
from .tiling import TILE, blend_window, tile_starts


class Synthesizer:
    """Turns id masks into RGB tiles with a generator.

    The same (checkpoint, mask, seed) gives a bit-identical image whether generated alone or with other seeds:
    each sample is normalised with its own statistics and draws its noise and dropout from its own seed.
    """

    def __init__(self, generator: torch.nn.Module, scheme: ClassScheme, device: str | torch.device | None = None, config: dict | None = None):
        self.device = best_device(device)
        self.generator = generator.to(self.device).eval()
        self.scheme = scheme
        self.config = config or {}
        self.post_processing = read_post_processing("checkpoint config", self.config)
        self.class_map = read_class_map("checkpoint config", self.config, scheme)  # None: masks feed the network as they are

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | None = None) -> "Synthesizer":
        dev = best_device(device)
        generator, scheme, config = load_generator(path, device=dev)
        return cls(generator, scheme, dev, config)

    @torch.no_grad()
    def _run(self, onehot: torch.Tensor, rngs: list[torch.Generator]) -> torch.Tensor:
        # Each sample runs on its own: convolution kernels may pick other algorithms for other
        # batch sizes, and a seed giving the same tile whatever else is asked for with it is a promise.
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
        return self.post_processing.apply(tensor_to_images(out))

    def _generate_tiled(self, ids: np.ndarray, seeds: list[int]) -> torch.Tensor:
        H, W = ids.shape
        if self.class_map is not None:
            ids = self.class_map.apply(ids)
        onehot = mask_to_onehot(ids, self.class_map.target.num_classes if self.class_map else self.scheme.num_classes)
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
