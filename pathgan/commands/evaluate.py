"""python -m pathgan evaluate --checkpoint C --data DIR --split test --seeds 0-3 [--out DIR]"""
from __future__ import annotations

import warnings

from ..dataclass_cli import add_dataclass_arguments, command_line, dataclass_from_args
from ..evaluation import EvaluationConfig, MetricsConfig, evaluate_checkpoint
from ..metrics import SmallSampleWarning
from ..segmentation.segmenter import SegmenterConfig


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="generator .safetensors")
    add_dataclass_arguments(p, EvaluationConfig)
    add_dataclass_arguments(p, MetricsConfig)
    add_dataclass_arguments(p, SegmenterConfig)


def run(args) -> int:
    config, metrics, segmenter = (dataclass_from_args(c, args) for c in (EvaluationConfig, MetricsConfig, SegmenterConfig))
    command = command_line("evaluate", ["--checkpoint", args.checkpoint], config, metrics, *([segmenter] if config.mask_fidelity else []))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)  # they are printed once below and kept in the report
        r = evaluate_checkpoint(args.checkpoint, config, metrics, command=command, segmenter=segmenter)
    for w in r.warnings:
        print(f"warning: {w}")
    print("\n".join(r.header_markdown()))
    print()
    print(r.headline_markdown())
    print()
    print(f"wrote {r.out}/report.json, report.md and {r.n['synthetic']} images in {r.images}")
    return 0
