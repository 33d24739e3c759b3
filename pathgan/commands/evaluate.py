"""python -m pathgan evaluate --checkpoint C --data DIR --split test --seeds 0-3 [--out DIR]"""
from __future__ import annotations

import warnings

from ..dataclass_cli import add_dataclass_arguments, dataclass_from_args
from ..evaluation import EvaluationConfig, MetricsConfig, command_line, evaluate_checkpoint
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
    for w in r["warnings"]:
        print(f"warning: {w}")
    fl, d, m = r["floor"], r["diversity"], r["memorisation"]
    kid = f"{r['kid']:.5f} ± {r['kid_std']:.5f}"
    print(f"post-processing: {r['post_processing']}")
    print(f"N: {r['n']['synthetic']} synthetic ({r['n']['masks']} masks x {r['n']['seeds']} seeds), {r['n']['real']} real {r['split']}, {r['n']['train']} real {r['train_split']}")
    print(f"FID {r['fid']:.2f}   KID {kid}   precision {_f(r['precision'])}   recall {_f(r['recall'])}")
    print(f"floor ({fl['what']}): FID {fl['fid']:.2f}   KID {fl['kid']:.5f} ± {fl['kid_std']:.5f}   precision {_f(fl['precision'])}   recall {_f(fl['recall'])}")
    if d["pixel_l1"] is not None:
        print(f"seed diversity: pixel L1 {d['pixel_l1']:.4f} (real neighbours {d['real_pixel_l1']:.4f}, ratio {_f(d['pixel_l1_ratio'])}), "
              f"feature ratio {_f(d['feature_ratio'])}")
    print(f"memorisation: NN-distance ratio {_f(m['ratio'])} (synthetic median {m['position']} the real test range)")
    c = r["checkerboard"]
    print(c["note"] if "note" in c else f"checkerboard: spectral peaks {c['synthetic']['db']:.1f} dB above their surroundings (real {r['split']}: {c['real']['db']:.1f} dB)")
    print(f"weights sha256 {r['weights_sha256']}, resize {r['resize_mode']} to {r['input_size']}")
    print(f"wrote {r['out']}/report.json, report.md and {r['n']['synthetic']} images in {r['images']}")
    return 0


def _f(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"
