"""python -m pathgan segbench --checkpoints A.safetensors [B ...] [--fractions 0.1,0.25] [--seeds 0-2] [--synthetic-ratio 1]"""
from __future__ import annotations

from ..dataclass_cli import add_dataclass_arguments, command_line, dataclass_from_args
from ..segmentation.benchmark import BenchmarkConfig, run_benchmark
from ..segmentation.segmenter import SegmenterConfig


def add_arguments(p):
    p.add_argument("--checkpoints", nargs="+", required=True, help="generator .safetensors files to benchmark (one report for all)")
    add_dataclass_arguments(p, BenchmarkConfig)
    add_dataclass_arguments(p, SegmenterConfig)


def run(args) -> int:
    cfg, seg = dataclass_from_args(BenchmarkConfig, args), dataclass_from_args(SegmenterConfig, args)
    command = command_line("segbench", ["--checkpoints", *args.checkpoints], cfg, seg)
    report = run_benchmark(args.checkpoints, cfg, seg, command=command)
    out = cfg.out or "runs/segbench"
    print(f"wrote {out}/report.json, report.md and dice.png ({len(report['runs'])} segmenters, {report['seconds'] / 60:.1f} min)")
    return 0
