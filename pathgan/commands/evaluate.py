"""python -m pathgan evaluate --checkpoint C --data DIR --split test --seeds 0-3 [--out DIR]"""
from __future__ import annotations

import warnings

from ..dataclass_cli import add_dataclass_arguments, command_line, dataclass_from_args
from ..evaluation import EvaluationConfig, MetricsConfig, evaluate_checkpoint
from ..metrics import SmallSampleWarning


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="generator .safetensors")
    add_dataclass_arguments(p, EvaluationConfig)
    add_dataclass_arguments(p, MetricsConfig)


def run(args) -> int:
    config, metrics = dataclass_from_args(EvaluationConfig, args), dataclass_from_args(MetricsConfig, args)
    command = command_line("evaluate", ["--checkpoint", args.checkpoint], config, metrics)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)  # they are printed once below and kept in the report
        r = evaluate_checkpoint(args.checkpoint, config, metrics, command=command)
    for w in r.warnings:
        print(f"warning: {w}")
    print("\n".join(r.header_markdown()))
    print()
    print(r.headline_markdown())
    print()
    print(f"wrote {r.out}/report.json, report.md and {r.n['synthetic']} images in {r.images}")
    return 0
