"""python -m pathgan bench train: training images/s and peak memory of the real trainer.

It times `Trainer.train_step` itself (the optimisers, loss weights, discriminator factor, autocast and memory
format of a real run) on a small synthetic dataset, so the figures are those of `python -m pathgan train`.
"""
from __future__ import annotations

import platform
import resource
import tempfile
import time
from pathlib import Path

import torch

from ..devices import best_device, describe_device
from ..models import DISCRIMINATORS, DiscriminatorConfig, GeneratorConfig
from ..synthetic_data import write_synthetic_dataset
from ..training.config import TrainConfig


def add_arguments(p):
    p.add_argument("what", choices=["train"], help="what to benchmark (the app's latency under a fine-tuning job: "
                   "scripts/bench_finetune_latency.py)")
    p.add_argument("--batch-sizes", default="1,8", help="comma-separated (default: 1,8)")
    p.add_argument("--discs", default=",".join(sorted(DISCRIMINATORS)), help="discriminators to time, from the registry")
    p.add_argument("--ngf", type=int, default=GeneratorConfig.ngf, help="generator width (default: the paper's)")
    p.add_argument("--ndf", type=int, default=DiscriminatorConfig.ndf, help="discriminator width (default: the paper's)")
    p.add_argument("--diversity-weight", type=float, default=TrainConfig.diversity_weight, help="mode-seeking term (>0 doubles G work)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per setting, after 2 warm-up steps")
    p.add_argument("--device", default=None)


def _peak_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # process peak RSS (Linux reports KiB)


def bench_train(disc: str, batch: int, ngf: int, ndf: int, steps: int, device: torch.device, diversity_weight: float = 0.0) -> dict:
    """Time full training steps of the real Trainer (G and D, forward and backward) on synthetic 256x256 pairs."""
    from ..training.trainer import Trainer

    if disc not in DISCRIMINATORS:
        raise ValueError(f"unknown discriminator {disc!r}; choose from {', '.join(sorted(DISCRIMINATORS))}")
    with tempfile.TemporaryDirectory(prefix="pathgan-bench-") as tmp:
        data = write_synthetic_dataset(Path(tmp) / "data", pairs=batch, splits=("train",))
        cfg = TrainConfig(data=str(data), out=str(Path(tmp) / "run"), batch_size=batch, device=str(device), diversity_weight=diversity_weight,
                          generator=GeneratorConfig(ngf=ngf), discriminator=DiscriminatorConfig(arch=disc, ndf=ndf))
        trainer = Trainer(cfg)
        trainer.G_train.train()
        trainer.D_train.train()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        for _ in range(2):
            trainer.train_step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t = time.perf_counter()
        for _ in range(steps):
            trainer.train_step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        dt = time.perf_counter() - t
    return {"disc": disc, "batch": batch, "images_per_s": batch * steps / dt, "s_per_step": dt / steps, "peak_mib": _peak_bytes(device) / 2**20}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def run(args) -> int:
    device = best_device(args.device)
    where = describe_device(device) if device.type == "cuda" else f"{cpu_model()} ({torch.get_num_threads()} threads)"
    print(f"training throughput of Trainer.train_step, 256x256, ngf {args.ngf}, ndf {args.ndf}, diversity weight {args.diversity_weight}, "
          f"on {where}, torch {torch.__version__}")
    print(f"{'disc':<10}{'batch':>6}{'images/s':>12}{'s/step':>10}{'peak MiB':>12}")
    for disc in args.discs.split(","):
        for b in (int(v) for v in args.batch_sizes.split(",")):
            r = bench_train(disc.strip(), b, args.ngf, args.ndf, args.steps, device, args.diversity_weight)
            print(f"{r['disc']:<10}{r['batch']:>6}{r['images_per_s']:>12.2f}{r['s_per_step']:>10.2f}{r['peak_mib']:>12.0f}", flush=True)
    return 0
