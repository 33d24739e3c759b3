"""python -m pathgan fid DIR_A DIR_B: FID, KID and precision/recall between two folders of images (any size)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

from ..dataclass_cli import add_dataclass_arguments, command_line, dataclass_from_args
from ..evaluation import MetricsConfig, compare_folders
from ..metrics import SmallSampleWarning


def add_arguments(p):
    p.add_argument("dir_a", help="reference folder (e.g. real images)")
    p.add_argument("dir_b", help="folder to compare (e.g. synthetic images)")
    p.add_argument("--json", default=None, help="also write the result to this JSON file")
    add_dataclass_arguments(p, MetricsConfig)


def run(args) -> int:
    cfg = dataclass_from_args(MetricsConfig, args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)  # printed once below
        r = compare_folders(args.dir_a, args.dir_b, cfg)
    r["command"] = command_line("fid", [args.dir_a, args.dir_b], cfg)
    for w in r["warnings"]:
        print(f"warning: {w}")
    pr = "n/a" if r["precision"] is None else f"{r['precision']:.3f} (B inside A's manifold, k={r['nearest_k']})"
    rc = "n/a" if r["recall"] is None else f"{r['recall']:.3f} (A inside B's manifold)"
    for side in ("a", "b"):
        views = f", {r['n_' + side]} views: {r['views']}" if r[f"n_{side}"] != r[f"images_{side}"] else ""
        print(f"{side.upper()}: {r['folder_' + side]} ({r['images_' + side]} images{views})")
    print(f"FID        {r['fid']:.3f}")
    if r["kid_std"] is None:
        print(f"KID        {r['kid']:.5f} (both sets whole: {r['kid_subset_size']} images each, so no spread)")
    else:
        print(f"KID        {r['kid']:.5f} ± {r['kid_std']:.5f} ({r['kid_subsets']} subsets of {r['kid_subset_size']}, seed {r['kid_seed']})")
    print(f"precision  {pr}")
    print(f"recall     {rc}")
    print(f"weights sha256 {r['weights_sha256']}; resize {r['resize_mode']} to {r['input_size']}x{r['input_size']}, align_corners=False; {r['seconds']} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(r, indent=2) + "\n")
    return 0
