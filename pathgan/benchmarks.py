"""Speed figures of the real code paths: `Synthesizer.generate` and `Trainer.train_step`, beside a plain eager fp32
forward of the same network and the machine's own measured matrix rate, all in one run (docs/performance.md).

Figures are quoted as ratios within one run, since shared machines are noisy.
"""
from __future__ import annotations

import contextlib
import copy
import io
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from .checkpoint import CheckpointConfig, load_generator
from .devices import bf16_units
from .errors import ConfigError
from .layouts import random_layout
from .models import DISCRIMINATORS, DiscriminatorConfig, GeneratorConfig, build_generator
from .schemes import CONSEP
from .synthesis import SYNTH_BATCH, Synthesizer
from .synthetic_data import write_synthetic_dataset
from .tensors import mask_to_onehot
from .tiling import TILE
from .training.config import TrainConfig


# ---- the machine ----------------------------------------------------------------------------
def matrix_rate(dtype: torch.dtype, device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    """Measured FLOP/s of an n x n matrix product in `dtype`: the ceiling the networks' figures are read against."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        _sync(device)
        t = time.perf_counter()
        torch.mm(a, b)
        _sync(device)
        times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times)


def forward_flops(generator: torch.nn.Module, num_classes: int, device: torch.device) -> int:
    """FLOPs of one 256-px tile through `generator` (convolutions and matrix products, as torch counts them)."""
    x = torch.zeros(1, num_classes, TILE, TILE, device=device)
    # Frozen weights instead of no_grad: the counter's module tracker expects grad functions wherever grads are on.
    frozen = copy.deepcopy(generator).requires_grad_(False)
    with FlopCounterMode(display=False) as counter:
        frozen(x)
    return counter.get_total_flops()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _times(fn, repeats: int, device: torch.device) -> list[float]:
    fn()  # warm-up: first calls pick kernels and allocate
    out = []
    for _ in range(repeats):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        out.append(time.perf_counter() - t)
    return out


# ---- synthesis ------------------------------------------------------------------------------
@dataclass
class SynthRow:
    label: str  # "plain eager fp32 forward", "fp32 path" or "fast path"
    how: str  # what ran, in words ("" for the plain forward)
    b1_median_ms: float
    b1_p90_ms: float
    b8_ms_per_tile: float
    flops: int
    rate: float  # the matrix rate this path is read against (FLOP/s)
    large_mask_s: float | None = None  # the large mask end to end, one seed

    @property
    def matrix_fraction(self) -> float:
        """Share of the measured matrix rate that the batch-8 forward reaches."""
        return self.flops / (self.b8_ms_per_tile / 1000) / self.rate


def bench_synth_network(generator: torch.nn.Module, config: CheckpointConfig | None, device: torch.device, repeats: int,
                        rates: dict[str, float], large: int = 1024) -> tuple[list[SynthRow], float]:
    """One network: a plain eager fp32 forward, the fp32 path and the fast path, at batch 1 and 8, and a large mask.
    Returns the rows and the large mask's time one tile at a time in fp32 (the path before batching)."""
    rng = np.random.default_rng(0)
    ids = random_layout(TILE, 0, CONSEP)
    flops = forward_flops(generator.to(device, memory_format=torch.contiguous_format).eval(), generator.cfg.num_classes, device)

    x1 = mask_to_onehot(ids, generator.cfg.num_classes)[None].to(device)
    x8 = x1.expand(SYNTH_BATCH, -1, -1, -1).contiguous()

    def plain(x):
        with torch.no_grad():
            generator(x)

    b1 = _times(lambda: plain(x1), repeats, device)
    b8 = _times(lambda: plain(x8), max(2, repeats // 4), device)
    rows = [SynthRow("plain eager fp32 forward", "", *_b1(b1), 1000 * min(b8) / SYNTH_BATCH, flops, rates["fp32"])]

    big = random_layout(large, 1, CONSEP)
    post = (config.post_processing, config.class_map) if config else ()
    for label, precision in (("fp32 path", "fp32"), ("fast path", "auto")):
        synth = Synthesizer(generator, CONSEP, device, *post, precision=precision)
        b1 = _times(lambda: synth.generate(ids, [int(rng.integers(1 << 30))]), repeats, device)
        b8 = _times(lambda: synth.generate(ids, list(range(SYNTH_BATCH))), max(2, repeats // 4), device)
        t_big = min(_times(lambda: synth.generate(big, [0]), 1, device))
        rows.append(SynthRow(label, synth.describe(), *_b1(b1), 1000 * min(b8) / SYNTH_BATCH, flops, rates[synth.precision], t_big))
    one_by_one = Synthesizer(generator, CONSEP, device, *post, precision="fp32", batch_size=1)
    return rows, min(_times(lambda: one_by_one.generate(big, [0]), 1, device))


def _b1(times: list[float]) -> tuple[float, float]:
    ms = np.asarray(times) * 1000
    return float(np.median(ms)), float(np.percentile(ms, 90))


def synth_networks(checkpoints: list[str], paper: bool, device: torch.device) -> list[tuple[str, torch.nn.Module, CheckpointConfig | None]]:
    """The shipped (or named) checkpoints, and the paper's full-size generator (Table 1: ngf 64, no deep noise) with
    fresh weights, whose speed does not depend on training."""
    nets = []
    for path in checkpoints:
        generator, config = load_generator(path, device=device)
        if config.scheme.num_classes != CONSEP.num_classes:
            raise ConfigError(f"{path}: bench synth draws CoNSeP layouts; this checkpoint has {config.scheme.num_classes} classes")
        nets.append((Path(path).stem, generator, config))
    if paper:
        torch.manual_seed(0)
        nets.append(("paper U-Net (ngf 64)", build_generator(GeneratorConfig(ngf=64, deep_noise=0, num_classes=CONSEP.num_classes)), None))
    return nets


def machine_rates(device: torch.device) -> dict[str, float]:
    rates = {"fp32": matrix_rate(torch.float32, device)}
    if bf16_units(device):  # emulated bf16 has no rate worth quoting
        rates["bf16"] = matrix_rate(torch.bfloat16, device)
    return rates


# ---- training -------------------------------------------------------------------------------
def bench_train(disc: str, batch: int, ngf: int, ndf: int, steps: int, device: torch.device, diversity_weight: float = 0.0,
                fast: bool = True) -> dict:
    """Time full training steps of the real Trainer (G and D, forward and backward) on synthetic 256x256 pairs.

    fast: the defaults (bf16 autocast and channels_last where the device gains from them); off: fp32, plain layout.
    `data_ms` is the part of a step spent building its batch (crops, one-hot, stacking) from the in-memory pairs.
    """
    from .training.trainer import Trainer

    if disc not in DISCRIMINATORS:
        raise ConfigError(f"unknown discriminator {disc!r}; choose from {', '.join(sorted(DISCRIMINATORS))}")
    with tempfile.TemporaryDirectory(prefix="pathgan-bench-") as tmp:
        data = write_synthetic_dataset(Path(tmp) / "data", pairs=batch, splits=("train",))
        cfg = TrainConfig(data=str(data), out=str(Path(tmp) / "run"), batch_size=batch, device=str(device), diversity_weight=diversity_weight,
                          bf16=fast, channels_last=fast, generator=GeneratorConfig(ngf=ngf), discriminator=DiscriminatorConfig(arch=disc, ndf=ndf))
        with contextlib.redirect_stdout(io.StringIO()):  # the dataset summary of a synthetic dataset says nothing here
            trainer = Trainer(cfg)
        trainer.G_train.train()
        trainer.D_train.train()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        for _ in range(2):
            trainer.train_step()
        _sync(device)
        t = time.perf_counter()
        for _ in range(steps):
            trainer.train_step()
        _sync(device)
        dt = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(steps):
            trainer._batch()
        data_s = time.perf_counter() - t
        path = f"{trainer.precision}, {'channels_last' if trainer.fmt == torch.channels_last else 'contiguous'}"
    return {"disc": disc, "batch": batch, "path": path, "images_per_s": batch * steps / dt, "s_per_step": dt / steps,
            "data_ms": 1000 * data_s / steps, "peak_mib": _peak_bytes(device) / 2**20}


def _peak_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # process peak RSS (Linux reports KiB)
