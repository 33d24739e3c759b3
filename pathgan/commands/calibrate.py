"""python -m pathgan calibrate --checkpoint C [--data DIR --split train --out C2 --colour auto|on|off --no-match-compression]"""
from __future__ import annotations

from ..calibrate import CalibrationConfig, calibrate_checkpoint
from ..dataclass_cli import add_dataclass_arguments, dataclass_from_args


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="generator .safetensors to calibrate (left unchanged)")
    add_dataclass_arguments(p, CalibrationConfig)


def run(args) -> int:
    config = dataclass_from_args(CalibrationConfig, args)
    result = calibrate_checkpoint(args.checkpoint, config)
    if result.selection:
        sel = result.selection
        print(f"colour map on {sel['images']} {sel['split']} tiles: FID {sel['without']['fid']:.2f} without, {sel['with']['fid']:.2f} with "
              f"(KID {sel['without']['kid']:.4f} / {sel['with']['kid']:.4f}): {'kept' if sel['kept'] else 'dropped'}")
    if result.colour:
        cal = result.colour
        rgb = ", ".join(f"{c} x{s:.3f} {o:+.1f}" for c, s, o in zip("RGB", cal.scale, cal.offset))
        print(f"colour calibration fitted on {cal.fitted_on['masks']} {cal.fitted_on['split']} masks: {rgb}")
    else:
        print("colour calibration: none")
    if result.compression:
        f = result.compression.fitted_on
        print(f"compression matched: {result.compression.description} ({f['matching_files']} of {f['files']} {f['split']} tiles)")
    else:
        print("compression: none (" + ("--no-match-compression" if not config.match_compression else "the training tiles are lossless") + ")")
    print(f"wrote {result.out}")
    return 0
