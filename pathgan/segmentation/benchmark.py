"""Do synthetic pairs help a segmenter trained on few real pairs? (`python -m pathgan segbench`)

For each fraction of the real training tiles (chosen by source tile, so neighbouring patches never straddle
the line), the same segmenter, steps and augmentation are trained under three conditions, once per seed:
- real: the chosen real pairs only;
- real+resampled: plus synthetic tiles the checkpoint draws for the chosen real masks with new seeds;
- real+layouts: plus synthetic pairs from new procedural masks (pathgan.layouts).
Synthetic pairs number `synthetic_ratio` times the chosen real pairs, and training draws uniformly from the
pooled set. Every model is scored on the real test split. The real-only runs do not depend on a checkpoint,
so one benchmark of several checkpoints trains them once.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from ..checkpoint import CheckpointConfig
from ..dataset import DatasetError, checkpoint_data_scheme, scan_dataset
from ..errors import ConfigError
from ..hashing import file_sha256
from ..layouts import random_layout_with_instances
from ..paths import RUNS_DIR, dataset_folder
from ..schemes import check_same_classes
from ..seeds import parse_seeds
from ..synthesis import Synthesizer
from ..tiling import TILE
from .chart import bar_chart
from .data import choose_sources, read_pairs, source_tile
from .scores import SegmentationScores
from .segmenter import SegmenterConfig, SegPair, predict_classes, train_segmenter

CONDITIONS = {
    "real": "real pairs only",
    "real+resampled": "real pairs plus synthetic tiles drawn for the chosen real masks with new seeds",
    "real+layouts": "real pairs plus synthetic pairs from new procedural masks (pathgan.layouts)",
}
SYNTHETIC_SEED0 = 1000  # generator seeds of the synthetic tiles: clear of the 0-3 that evaluate and the sheets use
HEADLINE = ("mean_dice", "mpq", "aji")


@dataclass
class BenchmarkConfig:
    data: str | None = field(default=None, metadata={"help": "dataset folder; None: $PATHGAN_DATA/consep"})
    split: str = field(default="train", metadata={"help": "split the real fractions are drawn from"})
    test_split: str = field(default="test", metadata={"help": "split every segmenter is scored on (checkpoints must not have trained on it)"})
    fractions: str = field(default="0.1,0.25", metadata={"help": "fractions of the training split's source tiles, comma-separated"})
    seeds: str = field(default="0-2", metadata={"help": "segmenter seeds per condition, e.g. 0-2"})
    synthetic_ratio: float = field(default=1.0, metadata={"help": "synthetic pairs per chosen real pair"})
    tile_seed: int = field(default=0, metadata={"help": "seed of the choice of source tiles"})
    out: str | None = field(default=None, metadata={"help": "output folder; None: runs/segbench"})
    device: str | None = field(default=None, metadata={"help": "device of the generators; the segmenter trains on the CPU"})

    def fraction_list(self) -> list[float]:
        try:
            fractions = sorted({float(f) for f in self.fractions.split(",") if f.strip()})
        except ValueError:
            fractions = []
        if not fractions or not all(0 < f <= 1 for f in fractions):
            raise ConfigError(f"--fractions takes fractions in (0, 1], comma-separated, e.g. 0.1,0.25; got {self.fractions!r}")
        return fractions


def synthetic_pairs(synth: Synthesizer, condition: str, real: list[SegPair], count: int, scheme) -> list[SegPair]:
    """`count` synthetic pairs for a condition: the real masks cycled with new seeds, or new procedural layouts."""
    out = []
    for i in range(count):
        seed = SYNTHETIC_SEED0 + i
        if condition == "real+resampled":
            src = real[i % len(real)]
            out.append(SegPair(synth.generate(src.ids, [seed])[0], src.ids, src.instances))
        else:
            ids, instances = random_layout_with_instances(TILE, seed, scheme)
            out.append(SegPair(synth.generate(ids, [seed])[0], ids, instances))
    return out


def score_segmenter(model, test: list[SegPair], class_names: list[str]) -> dict:
    scores = SegmentationScores(class_names)
    for pair, pred in zip(test, predict_classes(model, [p.image for p in test])):
        scores.add(pred, pair.ids, pair.instances)
    return scores.result()


def checkpoint_record(path: Path, test_split: str) -> dict:
    """What the report keeps of a checkpoint: file hash and provenance. One trained on the test split is refused."""
    prov = CheckpointConfig.read(path).provenance
    if prov.get("split") == test_split or (prov.get("dataset") or {}).get("split") == test_split:
        raise ConfigError(f"{path} was trained on the '{test_split}' split, which the benchmark scores on; "
                          f"benchmark a checkpoint trained on other data")
    return {"path": str(path), "sha256": file_sha256(path),
            "provenance": {k: prov.get(k) for k in ("data", "dataset", "split", "steps", "disc", "commit", "device", "base_checkpoint") if k in prov}}


def run_benchmark(checkpoints: list[str | Path], cfg: BenchmarkConfig, seg: SegmenterConfig, command: str | None = None, log=print) -> dict:
    if not checkpoints:
        raise ConfigError("name at least one checkpoint (--checkpoints A.safetensors [B.safetensors ...])")
    t_all = time.perf_counter()
    fractions, seeds = cfg.fraction_list(), parse_seeds(cfg.seeds, unique=True)
    if cfg.synthetic_ratio <= 0:
        raise ConfigError(f"--synthetic-ratio must be positive, got {cfg.synthetic_ratio}")
    seg.widths()  # a bad --seg-channels fails here, before any synthesis or training
    paths = [Path(c) for c in checkpoints]
    records = {p.stem: checkpoint_record(p, cfg.test_split) for p in paths}
    synths = {p.stem: Synthesizer.from_checkpoint(p, cfg.device) for p in paths}
    first = next(iter(synths.values()))
    for name, s in synths.items():
        check_same_classes(s.scheme, first.scheme, name, paths[0].stem)
    root = dataset_folder(cfg.data)
    scheme = checkpoint_data_scheme(root, first.scheme)
    train_scan = scan_dataset(root, cfg.split, scheme).raise_if_problems()
    test = read_pairs(scan_dataset(root, cfg.test_split, scheme).raise_if_problems())
    if not test:
        raise DatasetError(f"{root}: split '{cfg.test_split}' has no pairs to score on")
    names = list(first.scheme.names[1:])
    stems = [p.stem for p in train_scan.pairs]
    runs, sizes = [], {}

    def train_and_score(pairs, checkpoint, condition, fraction, seed):
        t = time.perf_counter()
        model = train_segmenter(pairs, len(names), seg, seed)
        result = score_segmenter(model, test, names)
        runs.append({"checkpoint": checkpoint, "condition": condition, "fraction": fraction, "seed": seed, **result,
                     "seconds": round(time.perf_counter() - t, 1)})
        log(f"{checkpoint or '-'} {condition} {fraction:g} seed {seed}: Dice {result['mean_dice']:.4f} PQ {result['mpq']:.4f} "
            f"AJI {result['aji']:.4f} ({runs[-1]['seconds']} s)")

    for fraction in fractions:
        chosen = choose_sources(stems, fraction, cfg.tile_seed)
        real = read_pairs(train_scan, chosen)
        n_synthetic = max(1, round(cfg.synthetic_ratio * len(real)))
        sizes[f"{fraction:g}"] = {"real_pairs": len(real), "source_tiles": len({source_tile(s) for s in chosen}),
                                  "synthetic_pairs": n_synthetic, "stems": sorted(chosen)}
        for seed in seeds:
            train_and_score(real, None, "real", fraction, seed)
        for name, synth in synths.items():
            for condition in ("real+resampled", "real+layouts"):
                t = time.perf_counter()
                extra = synthetic_pairs(synth, condition, real, n_synthetic, first.scheme)
                log(f"{name} {condition} {fraction:g}: {len(extra)} synthetic pairs in {time.perf_counter() - t:.0f} s")
                for seed in seeds:
                    train_and_score(real + extra, name, condition, fraction, seed)

    report = {
        "kind": "pathgan-segbench", "version": 1, "command": command,
        "config": asdict(cfg), "segmenter": {**seg.to_dict(), "network": f"monai UNet {seg.seg_channels}, 1 residual unit, batch norm",
                                             "loss": "monai DiceCELoss (softmax)", "optimizer": "Adam, cosine schedule"},
        "data": str(root), "classes": names, "test_pairs": len(test), "sizes": sizes,
        "conditions": CONDITIONS, "checkpoints": records, "runs": runs, "summary": summarise(runs),
        "seconds": round(time.perf_counter() - t_all, 1),
    }
    out = Path(cfg.out) if cfg.out else RUNS_DIR / "segbench"
    write_report(report, out)
    return report


def summarise(runs: list[dict]) -> list[dict]:
    """Mean and std over seeds per (checkpoint, condition, fraction), and the gain over real-only with a paired t-test."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["checkpoint"], r["condition"], r["fraction"]), []).append(r)
    rows = []
    for (checkpoint, condition, fraction), rs in groups.items():
        row = {"checkpoint": checkpoint, "condition": condition, "fraction": fraction, "seeds": [r["seed"] for r in rs]}
        for metric in HEADLINE:
            v = np.array([r[metric] for r in rs], float)
            row[metric] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else None}
        row["dice"] = {c: float(np.nanmean([r["dice"][c] for r in rs])) for c in rs[0]["dice"]}
        base = {r["seed"]: r for r in groups.get((None, "real", fraction), [])}
        if condition != "real" and base:
            paired = [(r, base[r["seed"]]) for r in rs if r["seed"] in base]
            row["gain"] = {}
            for metric in HEADLINE:
                d = np.array([a[metric] - b[metric] for a, b in paired], float)
                p = float(stats.ttest_rel([a[metric] for a, _ in paired], [b[metric] for _, b in paired]).pvalue) if len(d) > 1 and d.std() > 0 else None
                row["gain"][metric] = {"mean": float(d.mean()), "p_paired_t": p, "pairs": len(d)}
        rows.append(row)
    return rows


def _pm(stat: dict) -> str:
    return f"{stat['mean']:.4f}" + (f" ± {stat['std']:.4f}" if stat.get("std") is not None else "")


def markdown(report: dict) -> str:
    lines = ["# Segmentation benchmark: do synthetic pairs help?", "", "```", report.get("command") or "(called from Python)", "```", "",
             f"- data: `{report['data']}`; scored on {report['test_pairs']} real `{report['config']['test_split']}` tiles; classes: {', '.join(report['classes'])}",
             f"- segmenter: {report['segmenter']['network']}, {report['segmenter']['loss']}, {report['segmenter']['seg_steps']} steps of "
             f"{report['segmenter']['seg_batch_size']} random {report['segmenter']['seg_crop']}-px crops, lr {report['segmenter']['seg_lr']}",
             f"- synthetic pairs per real pair: {report['config']['synthetic_ratio']}; segmenter seeds: {report['config']['seeds']}; "
             f"tiles chosen with seed {report['config']['tile_seed']}", ""]
    lines += ["| fraction | real pairs (source tiles) | synthetic pairs |", "|---|---|---|"]
    lines += [f"| {f} | {s['real_pairs']} ({s['source_tiles']}) | {s['synthetic_pairs']} |" for f, s in report["sizes"].items()]
    lines += ["", "## Conditions", "", *[f"- `{k}`: {v}" for k, v in report["conditions"].items()], "", "## Checkpoints", ""]
    for name, rec in report["checkpoints"].items():
        p = rec["provenance"]
        lines.append(f"- `{name}`: trained on split `{p.get('split')}` of {((p.get('dataset') or {}).get('name')) or p.get('data')}, "
                     f"{p.get('steps')} steps, {p.get('disc')} discriminator; SHA256 `{rec['sha256'][:16]}…`")
    lines += ["", "## Results (mean ± std over seeds; gain over real-only, paired t-test across seeds)", "",
              "| fraction | checkpoint | condition | Dice | PQ | AJI | Dice gain (p) | PQ gain (p) |", "|---|---|---|---|---|---|---|---|"]
    for r in sorted(report["summary"], key=lambda r: (r["fraction"], r["checkpoint"] or "", r["condition"])):
        g = r.get("gain") or {}
        gains = [f"{g[m]['mean']:+.4f} ({g[m]['p_paired_t']:.3f})" if m in g and g[m]["p_paired_t"] is not None
                 else (f"{g[m]['mean']:+.4f}" if m in g else "") for m in ("mean_dice", "mpq")]
        lines.append(f"| {r['fraction']:g} | {r['checkpoint'] or '—'} | {r['condition']} | {_pm(r['mean_dice'])} | {_pm(r['mpq'])} | "
                     f"{_pm(r['aji'])} | {gains[0]} | {gains[1]} |")
    lines += ["", "Per-class Dice (mean over seeds):", "", "| fraction | checkpoint | condition | " + " | ".join(report["classes"]) + " |",
              "|---|---|---|" + "---|" * len(report["classes"])]
    for r in sorted(report["summary"], key=lambda r: (r["fraction"], r["checkpoint"] or "", r["condition"])):
        lines.append(f"| {r['fraction']:g} | {r['checkpoint'] or '—'} | {r['condition']} | " + " | ".join(f"{r['dice'][c]:.4f}" for c in report["classes"]) + " |")
    lines += ["", f"PQ is CoNIC's multi-class PQ (matches at IoU > 0.5 pooled over the test set, per class, then averaged). "
              f"AJI is class-agnostic. {len(report['runs'])} segmenters in {report['seconds'] / 60:.1f} min.", ""]
    return "\n".join(lines)


def write_report(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(markdown(report))
    bar_chart(report["summary"], "mean_dice", "mean Dice on the real test split (± std over seeds)").save(out / "dice.png")
