"""python -m pathgan bench synth|train: speed of the real synthesis and training paths, in one run (docs/performance.md).

synth times `Synthesizer.generate` (fp32 path and fast path) beside a plain eager fp32 forward of the same network,
and reads each against the machine's measured matrix rate; train times `Trainer.train_step`, fast path and fp32.
"""
from __future__ import annotations

import shlex

import torch

from ..benchmarks import bench_synth_network, bench_train, machine_rates, synth_networks
from ..devices import best_device, describe_hardware
from ..models import DISCRIMINATORS, DiscriminatorConfig, GeneratorConfig
from ..paths import PROJECT_ROOT
from ..tiling import tile_starts
from ..training.config import TrainConfig

SHIPPED = [str(PROJECT_ROOT / "checkpoints" / f"consep-{d}.safetensors") for d in ("vanilla", "patchgan")]


def add_arguments(p):
    p.add_argument("what", choices=["synth", "train"], help="what to benchmark (the app's latency under a fine-tuning job: "
                   "scripts/bench_finetune_latency.py)")
    p.add_argument("--device", default=None)
    s = p.add_argument_group("synth")
    s.add_argument("--checkpoints", nargs="*", default=SHIPPED, help="generators to time (default: the shipped ones)")
    s.add_argument("--no-paper", dest="paper", action="store_false", help="skip the paper's full-size generator (ngf 64)")
    s.add_argument("--repeats", type=int, default=10, help="batch-1 timings per path; batch 8 gets a quarter (at least 2)")
    s.add_argument("--large", type=int, default=1024, help="side of the large mask timed end to end")
    t = p.add_argument_group("train")
    t.add_argument("--batch-sizes", default="1,8", help="comma-separated (default: 1,8)")
    t.add_argument("--discs", default=",".join(sorted(DISCRIMINATORS)), help="discriminators to time, from the registry")
    t.add_argument("--ngf", type=int, default=GeneratorConfig.ngf, help="generator width (default: the paper's)")
    t.add_argument("--ndf", type=int, default=DiscriminatorConfig.ndf, help="discriminator width (default: the paper's)")
    t.add_argument("--diversity-weight", type=float, default=TrainConfig.diversity_weight, help="mode-seeking term (>0 doubles G work)")
    t.add_argument("--steps", type=int, default=5, help="timed steps per setting, after 2 warm-up steps")


def run(args) -> int:
    device = best_device(args.device)
    print(f"$ {reproducing_command(args, device)}")
    print(f"on {describe_hardware(device)}, torch {torch.__version__}")
    return run_synth(args, device) if args.what == "synth" else run_train(args, device)


def reproducing_command(args, device: torch.device) -> str:
    """The command with every option spelled out, printed above the figures."""
    if args.what == "synth":
        opts = ["--checkpoints", *args.checkpoints, *([] if args.paper else ["--no-paper"]), "--repeats", str(args.repeats), "--large", str(args.large)]
    else:
        opts = ["--batch-sizes", args.batch_sizes, "--discs", args.discs, "--ngf", str(args.ngf), "--ndf", str(args.ndf),
                "--diversity-weight", str(args.diversity_weight), "--steps", str(args.steps)]
    return shlex.join(["python", "-m", "pathgan", "bench", args.what, *opts, "--device", str(device)])


def run_synth(args, device: torch.device) -> int:
    rates = machine_rates(device)
    print("measured matrix rate (2048x2048 product): " + ", ".join(f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in rates.items()))
    print(f"tile 256 px; batch 1: median and p90 of {args.repeats}; batch 8: best per tile; ratios are to the plain forward at batch 1 "
          f"in this run; matrix share: batch-8 forward FLOPs/s over the measured rate of its precision")
    for name, generator, config in synth_networks(args.checkpoints, args.paper, device):
        rows, alone = bench_synth_network(generator, config, device, args.repeats, rates, args.large)
        base = rows[0].b1_median_ms
        print(f"\n{name}: {rows[0].flops / 1e9:.2f} GFLOP per tile")
        print(f"  {'path':<62}{'b1 median':>10}{'b1 p90':>9}{'ratio':>7}{'b8 /tile':>10}{'ratio':>7}{'matrix':>8}")
        for r in rows:
            path = f"{r.label}: {r.how}" if r.how else r.label
            print(f"  {path:<62}{r.b1_median_ms:>8.0f}ms{r.b1_p90_ms:>7.0f}ms{r.b1_median_ms / base:>7.2f}"
                  f"{r.b8_ms_per_tile:>8.0f}ms{r.b8_ms_per_tile / base:>7.2f}{100 * r.matrix_fraction:>7.0f}%")
        tiles = len(tile_starts(args.large)) ** 2
        print(f"  {args.large}x{args.large} mask, 1 seed, end to end: " + ", ".join(f"{r.label} {r.large_mask_s:.2f} s" for r in rows[1:])
              + f"; one tile at a time in fp32 (the path before batching) {alone:.2f} s; "
              + f"plain forward x tiles {rows[0].b1_median_ms * tiles / 1000:.2f} s")
    return 0


def run_train(args, device: torch.device) -> int:
    print(f"training throughput of Trainer.train_step, 256x256, ngf {args.ngf}, ndf {args.ndf}, diversity weight {args.diversity_weight}")
    print(f"{'disc':<10}{'batch':>6}  {'path':<26}{'images/s':>10}{'s/step':>9}{'data ms':>9}{'peak MiB':>10}")
    for disc in args.discs.split(","):
        for b in (int(v) for v in args.batch_sizes.split(",")):
            for fast in (False, True):
                r = bench_train(disc.strip(), b, args.ngf, args.ndf, args.steps, device, args.diversity_weight, fast)
                print(f"{r['disc']:<10}{r['batch']:>6}  {r['path']:<26}{r['images_per_s']:>10.2f}{r['s_per_step']:>9.2f}"
                      f"{r['data_ms']:>9.1f}{r['peak_mib']:>10.0f}", flush=True)
    return 0
