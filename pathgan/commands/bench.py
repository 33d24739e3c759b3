"""python -m pathgan bench train: training images/s and peak memory of the paper's networks."""
from __future__ import annotations

import resource
import time

import torch

from ..models import DiscriminatorConfig, GeneratorConfig
from ..synthesis import best_device


def add_arguments(p):
    p.add_argument("what", choices=["train"], help="what to benchmark")
    p.add_argument("--batch-sizes", default="1,8", help="comma-separated (default: 1,8)")
    p.add_argument("--discs", default="patchgan,vanilla", help="discriminators to time")
    p.add_argument("--ngf", type=int, default=GeneratorConfig.ngf, help="generator width (default: the paper's)")
    p.add_argument("--ndf", type=int, default=DiscriminatorConfig.ndf, help="discriminator width (default: the paper's)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per setting, after 2 warm-up steps")
    p.add_argument("--device", default=None)


def _peak_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # process peak RSS (Linux reports KiB)


def bench_train(disc: str, batch: int, ngf: int, ndf: int, steps: int, device: torch.device) -> dict:
    """Time full training steps (G and D, forward and backward) on synthetic 256x256 data."""
    from ..training.losses import gan_loss
    from ..models import build_discriminator, build_generator

    G = build_generator(GeneratorConfig(ngf=ngf)).to(device)
    D = build_discriminator(DiscriminatorConfig(arch=disc, ndf=ndf)).to(device)
    g_opt, d_opt = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999)), torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    onehot = (torch.rand(batch, 4, 256, 256, device=device) > 0.8).float()
    real = torch.rand(batch, 3, 256, 256, device=device) * 2 - 1
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step():
        with amp:
            fake = G(onehot)
            d_opt.zero_grad(set_to_none=True)
            logits = D(torch.cat([onehot, onehot]), torch.cat([real, fake.detach()]))
        (gan_loss(logits[:batch], True) + gan_loss(logits[batch:], False)).backward()
        d_opt.step()
        g_opt.zero_grad(set_to_none=True)
        with amp:
            loss = gan_loss(D(onehot, fake), True) + 100 * (fake.float() - real).abs().mean()
        loss.backward()
        g_opt.step()

    for _ in range(2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    dt = time.perf_counter() - t
    return {"disc": disc, "batch": batch, "images_per_s": batch * steps / dt, "peak_mib": _peak_bytes(device) / 2**20}


def run(args) -> int:
    device = best_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"training throughput, 256x256, ngf {args.ngf}, ndf {args.ndf}, on {name}, torch {torch.__version__}")
    print(f"{'disc':<10}{'batch':>6}{'images/s':>12}{'peak MiB':>12}")
    for disc in args.discs.split(","):
        for b in (int(v) for v in args.batch_sizes.split(",")):
            r = bench_train(disc.strip(), b, args.ngf, args.ndf, args.steps, device)
            print(f"{r['disc']:<10}{r['batch']:>6}{r['images_per_s']:>12.2f}{r['peak_mib']:>12.0f}", flush=True)
    return 0
