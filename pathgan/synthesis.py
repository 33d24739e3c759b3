"""Mask + seeds -> synthetic H&E tiles, deterministic per seed, seamless for large masks, in batches."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

from .checkpoint import load_generator
from .devices import autocast, best_device, bf16_units, fast_memory_format, resolve_precision
from .masks import check_ids
from .post_processing import PostProcessing
from .schemes import ClassMap, ClassScheme, unmapped_classes
from .seeds import torch_generator
from .tensors import mask_to_onehot, tensor_to_images
from .tiling import TILE, blend_window, tile_starts

SYNTH_BATCH = 8  # most tiles per forward pass: seeds and tiles of one request share batches


class Synthesizer:
    """Turns id masks into RGB tiles with a generator.

    The same (checkpoint, mask, seed) gives a bit-identical image whether generated alone, with other seeds, or at
    any position of a batch: each sample is normalised with its own statistics and draws its noise and dropout from
    its own seed, and batches run only where they are exact. Kernels are chosen by shape, and some are not exact
    across batch sizes (a 4-wide test network on an AVX2 CPU moved a pixel by one level at batch 3), so on the CPU
    batches are 8, 4, 2 or 1 tiles, and the first time a size is wanted it is checked, on random masks, that every
    position of it gives the bits of the tile alone; a size that does not is never used. On CUDA every batch is
    padded to `batch_size`, so every tile meets the same kernels.

    `precision`: "auto" (bf16 autocast where the hardware has bf16 units, else fp32), "fp32" (the exact path) or "bf16".
    """

    def __init__(self, generator: torch.nn.Module, scheme: ClassScheme, device: str | torch.device | None = None,
                 post_processing: PostProcessing | None = None, class_map: ClassMap | None = None, precision: str = "auto",
                 batch_size: int = SYNTH_BATCH, memory_format: torch.memory_format | None = None):
        self.device = best_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.memory_format = memory_format or fast_memory_format(self.device, self.precision)
        self.generator = generator.to(self.device, memory_format=self.memory_format).eval()
        self.scheme = scheme
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.batch_size = batch_size
        self.pad_batches = self.device.type == "cuda"
        self.exact_sizes: dict[int, bool] = {}  # CPU: batch size -> checked bit-exact, filled as sizes are first wanted
        self._probe_alone: list[torch.Tensor] = []  # the probe's tiles computed one at a time
        self._probe_lock = threading.Lock()  # the app may synthesize from several threads
        self.post_processing = post_processing or PostProcessing()
        self.class_map = class_map  # None: masks feed the network as they are

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | None = None, precision: str = "auto") -> "Synthesizer":
        dev = best_device(device)
        generator, config = load_generator(path, device=dev)
        return cls(generator, config.scheme, dev, config.post_processing, config.class_map, precision)

    def read_as(self, scheme: ClassScheme, class_map: str = "") -> "Synthesizer":
        """Take masks in `scheme`, fed to the network through `class_map` (your classes onto the checkpoint's, e.g.
        nucleus=epithelial), chained with any map the checkpoint already carries. Returns self."""
        if scheme.names == self.scheme.names and not class_map:
            return self
        if not class_map:
            raise unmapped_classes(self.scheme, scheme, "your masks")
        mapped = ClassMap.parse(class_map, scheme, self.scheme).then(self.class_map)
        self.scheme, self.class_map = scheme, mapped
        return self

    def describe(self) -> str:
        """How tiles are computed, for reports and the app."""
        if self.precision == "fp32":
            how = "fp32"
        else:
            how = f"bf16 autocast ({bf16_units(self.device) or 'emulated: no bf16 units'})"
        layout = "channels_last" if self.memory_format == torch.channels_last else "contiguous"
        exact, inexact = ([s for s, ok in sorted(self.exact_sizes.items()) if ok is want] for want in (True, False))
        if self.pad_batches:
            batches = f"batches padded to {self.batch_size}"
        elif inexact and not exact:
            batches = "one tile at a time (batches were not bit-exact here)"
        else:
            batches = (f"batches of up to {self.batch_size}" + (f", checked bit-exact at {exact}" if exact else "")
                       + (f", not at {inexact}" if inexact else ""))
        return f"{how}, {layout}, {batches} on {self.device.type}"

    def _forward(self, x: torch.Tensor, gens: list[torch.Generator]) -> torch.Tensor:
        x = x.to(self.device).contiguous(memory_format=self.memory_format)
        with autocast(self.device, self.precision):
            return self.generator(x, gens).float().cpu()

    def _batch_sizes(self, n: int) -> list[int]:
        """How n tiles are split into batches: the largest allowed size first."""
        if self.pad_batches:
            return [min(self.batch_size, n - lo) for lo in range(0, n, self.batch_size)]
        allowed = sorted({s for s in (self.batch_size, 8, 4, 2) if s <= self.batch_size}, reverse=True)
        sizes = []
        while n:
            size = next((s for s in allowed if s <= n and self._is_exact(s)), 1)
            sizes.append(size)
            n -= size
        return sizes

    def _probe(self, i: int) -> tuple[torch.Tensor, torch.Generator]:
        """The i-th probe tile: a random one-hot mask and its noise generator, the same every time."""
        classes = self.generator.cfg.num_classes
        ids = np.random.default_rng(i).integers(0, classes + 1, (TILE, TILE), dtype=np.uint8)
        return mask_to_onehot(ids, classes)[None], torch.Generator().manual_seed(1000 + i)

    def _is_exact(self, size: int) -> bool:
        """Whether every position of a batch of `size` gives the bits of its tile alone, on this path and machine (checked once)."""
        with self._probe_lock:
            if size in self.exact_sizes:
                return self.exact_sizes[size]
            while len(self._probe_alone) < size:
                x, g = self._probe(len(self._probe_alone))
                self._probe_alone.append(self._forward(x, [g]))
            probes = [self._probe(i) for i in range(size)]  # fresh generators: the batch draws the same noise as each tile alone did
            batch = self._forward(torch.cat([x for x, _ in probes]), [g for _, g in probes])
            self.exact_sizes[size] = torch.equal(batch, torch.cat(self._probe_alone[:size]))
            return self.exact_sizes[size]

    @torch.inference_mode()
    def _run(self, onehot: torch.Tensor, rngs: list[torch.Generator]) -> torch.Tensor:
        """(N, K, 256, 256) one-hot tiles with one generator each -> (N, 3, 256, 256) float CPU, in batches."""
        outs, lo = [], 0
        for size in self._batch_sizes(len(rngs)):
            x, gens = onehot[lo : lo + size], list(rngs[lo : lo + size])
            lo += size
            if self.pad_batches and size < self.batch_size:  # fixed shapes, so every sample meets the same kernels
                x = torch.cat([x, x[:1].expand(self.batch_size - size, -1, -1, -1)])
                gens += [torch.Generator().manual_seed(0) for _ in range(self.batch_size - size)]
            outs.append(self._forward(x, gens)[:size])
        return torch.cat(outs)

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
        origins = [(y, x) for y in tile_starts(H) for x in tile_starts(W)]
        single = len(origins) == 1
        window = torch.from_numpy(blend_window())
        acc = torch.zeros(len(seeds), 3, H, W)
        # Whole batches of (tile, seed) jobs, so a large mask with one seed batches as well as many seeds do.
        jobs = [(y, x, s) for y, x in origins for s in range(len(seeds))]
        step = self.batch_size * max(1, 64 // self.batch_size)  # bounds the one-hot inputs held at once
        for lo in range(0, len(jobs), step):
            chunk = jobs[lo : lo + step]
            tiles = torch.stack([onehot[:, y : y + TILE, x : x + TILE] for y, x, _ in chunk])
            out = self._run(tiles, [torch_generator(seeds[s], y, x) for y, x, s in chunk])  # each tile's randomness is its own
            for (y, x, s), o in zip(chunk, out):
                if single:
                    acc[s] = o
                else:
                    acc[s, :, y : y + TILE, x : x + TILE] += o * window
        if single:
            return acc
        weight = torch.zeros(1, 1, H, W)
        for y, x in origins:
            weight[:, :, y : y + TILE, x : x + TILE] += window
        return acc / weight
