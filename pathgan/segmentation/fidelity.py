"""Mask fidelity: do synthetic tiles show the nuclei their masks asked for?

A segmenter trained once on all real training pairs (and cached, keyed by the data's content hash and its
settings) segments each synthetic tile; Dice, PQ and AJI against the input mask say how much of the mask a
segmenter finds again. The same segmenter on the real test tiles against their own masks is the upper
reference. FID asks whether tiles look real; this asks whether they show the requested layout.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from safetensors.torch import load_file, save_file

from ..dataset import DatasetScan, dataset_fingerprint
from ..paths import cache_dir
from .data import read_pairs
from .scores import SegmentationScores
from .segmenter import SegmenterConfig, build_segmenter, predict_classes, train_segmenter

CACHE_VERSION = 1
SEGMENTER_SEED = 0


def segmenter_key(scan: DatasetScan, cfg: SegmenterConfig) -> tuple[str, dict]:
    described = {"v": CACHE_VERSION, "data": dataset_fingerprint(scan), "classes": list(scan.scheme.names), "config": cfg.to_dict(),
                 "seed": SEGMENTER_SEED}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:20], described


def cached_segmenter(scan: DatasetScan, cfg: SegmenterConfig, log=None):
    """(model, description): loaded from the cache when this data and config trained one before, else trained and stored."""
    key, described = segmenter_key(scan, cfg)
    path = cache_dir() / "segmenter" / f"{key}.safetensors"
    model = build_segmenter(scan.scheme.num_classes, cfg)
    if path.is_file():
        model.load_state_dict(load_file(str(path)))
        return model.eval(), {**described, "key": key, "cached": True}
    if log:
        log(f"training the mask-fidelity segmenter on {len(scan.pairs)} {scan.split} pairs (cached afterwards as {path.name})")
    model = train_segmenter(read_pairs(scan), scan.scheme.num_classes, cfg, SEGMENTER_SEED, log)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    tmp.replace(path)
    return model, {**described, "key": key, "cached": False}


class MaskFidelity:
    """Scores synthetic tiles against their input masks, and real tiles against theirs (the reference)."""

    def __init__(self, model, class_names: list[str], described: dict):
        self.model, self.described = model, described
        self.synthetic, self.real = SegmentationScores(class_names), SegmentationScores(class_names)

    def add_synthetic(self, image: np.ndarray, ids: np.ndarray, instances: np.ndarray | None) -> None:
        self.synthetic.add(predict_classes(self.model, [image])[0], ids, instances)

    def add_real(self, image: np.ndarray, ids: np.ndarray, instances: np.ndarray | None) -> None:
        self.real.add(predict_classes(self.model, [image])[0], ids, instances)

    def result(self) -> dict:
        d = self.described
        return {"synthetic": self.synthetic.result(), "real": self.real.result(),
                "segmenter": {"config": d["config"], "trained_on": d["data"], "key": d["key"], "seed": d["seed"]}}
