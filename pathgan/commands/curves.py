"""python -m pathgan curves --runs runs/a runs/b --out curves.json [--data DIR --split test --max-points 6]

The JSON is rewritten after every score, so a run stopped by a timeout keeps the points it scored."""
from __future__ import annotations

import warnings

from ..curves import CurvesConfig, metric_curves, write_curves
from ..dataclass_cli import add_dataclass_arguments, command_line, dataclass_from_args
from ..evaluation import MetricsConfig
from ..metrics import SmallSampleWarning


def add_arguments(p):
    p.add_argument("--runs", nargs="+", required=True, help="run folders holding generator-stepNNNNNN.safetensors (train --keep-snapshots)")
    p.add_argument("--out", required=True, help="JSON file to write")
    add_dataclass_arguments(p, CurvesConfig)
    add_dataclass_arguments(p, MetricsConfig)


def run(args) -> int:
    config, metrics = dataclass_from_args(CurvesConfig, args), dataclass_from_args(MetricsConfig, args)
    command = command_line("curves", ["--runs", *args.runs, "--out", args.out], config, metrics)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)  # curve points compare at equal N
        report = metric_curves(args.runs, config, metrics, save=lambda r: write_curves({**r, "command": command}, args.out))
    print(f"wrote {args.out}: {len(report['runs'])} run(s)")
    return 0
