"""Metric-vs-step curves of training runs: FID, KID and seed pixel L1 of the generator snapshots a run kept
(`train --keep-snapshots`), on the standard, hash-checked Inception features.

Curve points use few seeds per mask (fast); the last snapshot of each run is also scored with the full
seed list, and once more with BatchNorm running statistics instead of per-sample ones (unless `final_seeds`
is empty). The points are evenly spaced and end with the last snapshot, so one point scores the last.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .checkpoint import CheckpointConfig
from .dataset import checkpoint_data_scheme, scan_dataset
from .devices import PRECISION_HELP, PRECISIONS
from .errors import ConfigError
from .evaluation import MetricsConfig
from .masks import read_mask
from .metrics import FeatureSet, InceptionFeatures, fid_from_stats, image_set_features, kid, mean_pairwise_pixel_l1
from .models import use_running_stats
from .paths import dataset_folder
from .schemes import check_same_classes
from .seeds import parse_seeds
from .synthesis import Synthesizer


@dataclass
class CurvesConfig:
    data: str | None = field(default=None, metadata={"help": "dataset folder; None: $PATHGAN_DATA/consep"})
    split: str = field(default="test", metadata={"help": "split whose masks are rendered and whose real tiles are the reference"})
    point_seeds: str = field(default="0", metadata={"help": "seeds per mask for each curve point"})
    final_seeds: str = field(default="0-3", metadata={"help": "seeds per mask for the last snapshot of each run; empty: no final scores"})
    max_points: int = field(default=6, metadata={"help": "snapshots scored per run, evenly spaced, ending with the last"})
    precision: str = field(default="auto", metadata={"choices": PRECISIONS, "help": f"synthesis precision: {PRECISION_HELP}"})


def snapshots(run: str | Path) -> list[tuple[int, Path]]:
    """(step, file) of every generator-stepNNNNNN.safetensors in a run folder, by step."""
    found = [(int(re.findall(r"\d+", p.stem)[-1]), p) for p in Path(run).glob("generator-step*.safetensors")]
    return sorted(found)


def split_reference(data: str | Path | None, split: str, scheme, extractor: InceptionFeatures,
                    metrics: MetricsConfig) -> tuple[list[np.ndarray], FeatureSet]:
    """A split's masks, read in `scheme`, and its real tiles' features: what generators are scored against."""
    root = dataset_folder(data)
    scan = scan_dataset(root, split, checkpoint_data_scheme(root, scheme)).raise_if_problems()
    masks = [read_mask(p.mask_path, scan.scheme) for p in scan.pairs]
    return masks, image_set_features([p.image_path for p in scan.pairs], extractor, f"real {split}", metrics.cache, progress=False)


def score_generator(synth: Synthesizer, masks: list[np.ndarray], real: FeatureSet, extractor: InceptionFeatures, seeds: list[int],
                    metrics: MetricsConfig) -> dict:
    """FID and KID against `real`, and the mean pixel L1 between the seeds of a mask."""
    images, seed_l1 = [], []
    for ids in masks:
        tiles = synth.generate(ids, seeds)
        images += tiles
        if len(seeds) > 1:
            seed_l1.append(mean_pairwise_pixel_l1(tiles))
    fake = FeatureSet.from_features([str(i) for i in range(len(images))], extractor.features(images, progress=False))
    result = {"n_fake": len(fake), "fid": fid_from_stats(real.mean, real.cov, fake.mean, fake.cov),
              "kid": kid(real.features, fake.features, metrics.kid_subsets, metrics.kid_subset_size, metrics.kid_seed)["mean"]}
    if seed_l1:
        result["seed_pixel_l1"] = float(np.mean(seed_l1))
    return result


def metric_curves(runs: list[str | Path], config: CurvesConfig | None = None, metrics: MetricsConfig | None = None, log=print,
                  save: Callable[[dict], None] | None = None) -> dict:
    """Scores every run; `save` gets the report after each score, so a run cut short (a GPU lease) keeps what was done."""
    config, metrics = config or CurvesConfig(), metrics or MetricsConfig()
    save = save or (lambda report: None)
    extractor = InceptionFeatures(metrics.inception_weights, metrics.device, metrics.batch_size)
    found = {run: snapshots(run) for run in map(Path, runs)}
    first = next((snaps[0][1] for snaps in found.values() if snaps), None)
    if first is None:
        raise ConfigError("none of the runs holds generator-stepNNNNNN.safetensors snapshots; train with --keep-snapshots")
    scheme = CheckpointConfig.read(first).scheme  # the masks are read in the networks' scheme
    masks, real = split_reference(config.data, config.split, scheme, extractor, metrics)
    point_seeds = parse_seeds(config.point_seeds, unique=True)
    final_seeds = parse_seeds(config.final_seeds, unique=True) if config.final_seeds.strip() else None
    report = {"config": asdict(config), "metrics": asdict(metrics), "weights_sha256": extractor.weights_sha256,
              "n_real": len(real), "runs": {}}
    for run, snaps in found.items():
        if not snaps:
            log(f"{run}: no generator-step*.safetensors snapshots (train with --keep-snapshots); skipped")
            continue
        keep = sorted(set(np.linspace(len(snaps) - 1, 0, min(config.max_points, len(snaps))).round().astype(int)))
        entry = report["runs"][run.name] = {"points": [], "final_step": snaps[-1][0]}
        for i in keep:
            step, path = snaps[i]
            synth = Synthesizer.from_checkpoint(path, metrics.device, config.precision)
            check_same_classes(synth.scheme, scheme, str(path), str(first))
            entry["points"].append({"step": step, **score_generator(synth, masks, real, extractor, point_seeds, metrics)})
            save(report)
            log(f"{run.name} {entry['points'][-1]}")
        if final_seeds is None:
            continue
        final = Synthesizer.from_checkpoint(snaps[-1][1], metrics.device, config.precision)
        entry["final"] = score_generator(final, masks, real, extractor, final_seeds, metrics)
        use_running_stats(final.generator, True)
        entry["final_running_stats"] = score_generator(final, masks, real, extractor, final_seeds, metrics)
        save(report)
        log(f"{run.name} final {entry['final']} running-stats {entry['final_running_stats']}")
    return report


def write_curves(report: dict, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=2) + "\n")

