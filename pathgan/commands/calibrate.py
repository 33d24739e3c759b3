"""python -m pathgan calibrate --checkpoint C [--data DIR --split train --out C2]"""
from __future__ import annotations

from ..calibrate import CalibrationConfig, calibrate_checkpoint
from ..dataclass_cli import add_dataclass_arguments, dataclass_from_args


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="generator .safetensors to calibrate (left unchanged)")
    add_dataclass_arguments(p, CalibrationConfig)


def run(args) -> int:
    out, cal = calibrate_checkpoint(args.checkpoint, dataclass_from_args(CalibrationConfig, args))
    rgb = ", ".join(f"{c} x{s:.3f} {o:+.1f}" for c, s, o in zip("RGB", cal.scale, cal.offset))
    print(f"colour calibration fitted on {cal.fitted_on['masks']} {cal.fitted_on['split']} masks: {rgb}")
    print(f"wrote {out}")
    return 0
