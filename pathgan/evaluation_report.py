"""An evaluation report as one typed value, with one Markdown renderer.

`evaluate` builds it and writes report.json and report.md; the CLI prints its header and headline table; the
app's Model tab shows the same headline and folds the full report. Each metric section is its own small value
with its JSON and its Markdown; a section the evaluation skipped is `NotMeasured`, with the reason. Reports
written by older PathGAN versions (without the checkerboard or the post-processing) still load: a section they
lack is None and renders as "not recorded".
"""
from __future__ import annotations

import json
import numbers
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import ClassVar

from .errors import PathGANError
from .metrics.image_sets import FID_UNBIASED_N

REPORT_KIND = "pathgan-evaluation"
REPORT_VERSION = 1
NOT_RECORDED = "not recorded (report from an older PathGAN)"


class ReportError(PathGANError, ValueError):
    """A file that is not a readable PathGAN evaluation report."""


@dataclass
class Scores:
    """One set against a reference: FID, KID (mean and spread over subsets), precision and recall."""
    fid: float
    kid: float | None = None
    kid_std: float | None = None
    kid_subsets: int | None = None
    kid_subset_size: int | None = None
    kid_seed: int | None = None
    precision: float | None = None
    recall: float | None = None
    nearest_k: int | None = None
    n_real: int | None = None
    n_fake: int | None = None

    @classmethod
    def from_dict(cls, d: dict) -> "Scores":
        return cls(**{f.name: d.get(f.name) for f in fields(cls)})


@dataclass(frozen=True)
class NotMeasured:
    """A section the evaluation did not measure, and why: too few images, tiles it cannot measure, a flag."""
    because: str

    @classmethod
    def from_note(cls, note: str) -> "NotMeasured":
        # Notes are written "not measured: <reason>"; older reports also wrote "not measured (<reason>)" or the bare reason.
        m = re.fullmatch(r"not measured(?::\s*(.+)|\s*\((.+)\))", str(note), re.S)
        return cls(next(g for g in m.groups() if g) if m else str(note))

    def to_dict(self) -> dict:
        return {"note": self.markdown()}

    def markdown(self, split: str | None = None, train_split: str | None = None) -> str:
        return f"not measured: {self.because}"

    def headline_rows(self) -> list[tuple[str, str, str]]:
        return []


class _Section:
    """A metric section's JSON: its fields as a flat object, or {"note": ...} when it was not measured."""

    @classmethod
    def from_dict(cls, d, key: str):
        """The section, NotMeasured, or None where the report predates it. Fields a report lacks are None."""
        if d is None or d == {}:
            return None
        if not isinstance(d, dict):
            raise ReportError(f"{key} is a JSON object, not {type(d).__name__}")
        if "note" in d:
            return NotMeasured.from_note(d["note"])
        return cls(**{f.name: d.get(f.name) for f in fields(cls)})

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DiversityResult(_Section):
    """Pixel and feature distance between the seeds of one mask, against neighbouring real tiles' (`seed_diversity`)."""
    seeds_per_mask: int | None = None
    masks: int | None = None
    pixel_l1: float | None = None  # mean over masks of the mean pixel L1 between that mask's seeds
    pixel_l1_min: float | None = None
    feature_distance: float | None = None
    real_pixel_l1: float | None = None
    real_feature_distance: float | None = None
    pixel_l1_ratio: float | None = None
    feature_ratio: float | None = None
    real_reference: str | None = None
    TITLE: ClassVar[str] = "Seed diversity"

    def headline_rows(self) -> list[tuple[str, str, str]]:
        return [("seed diversity: pixel L1 / real neighbours", _f(self.pixel_l1_ratio, 3), "")] if _number(self.pixel_l1_ratio) else []

    def markdown(self, split: str | None = None, train_split: str | None = None) -> str:
        return "\n".join([
            "| | between seeds of a mask | real neighbouring tiles | ratio |",
            "|---|---|---|---|",
            f"| mean pixel L1 ([0,1] pixels) | {_f(self.pixel_l1)} (worst mask {_f(self.pixel_l1_min)}) | {_f(self.real_pixel_l1)} | {_f(self.pixel_l1_ratio, 3)} |",
            f"| Inception feature distance | {_f(self.feature_distance, 3)} | {_f(self.real_feature_distance, 3)} | {_f(self.feature_ratio, 3)} |",
            "",
            "A ratio of 0 means the generator ignores its noise; real tiles are paired with their neighbour in sorted stem order.",
        ])


@dataclass
class MemorisationResult(_Section):
    """Nearest-training-image distances of synthetic tiles against those of unseen real tiles (`memorisation`)."""
    ratio: float | None = None
    synthetic_median: float | None = None
    real_median: float | None = None
    real_range: list[float] | None = None
    range_percentiles: list[float] | None = None
    inside_real_range: bool | None = None
    position: str | None = None  # of the synthetic median: below, inside or above the real range
    share_below_real_range: float | None = None
    closest_pairs: list[dict] | None = None
    n_synthetic: int | None = None
    n_real: int | None = None
    n_train: int | None = None
    TITLE: ClassVar[str] = "Memorisation"

    def headline_rows(self) -> list[tuple[str, str, str]]:
        return [("memorisation: nearest-train distance / real's (≈1 is good)", _f(self.ratio, 3), "")] if _number(self.ratio) else []

    def markdown(self, split: str | None = None, train_split: str | None = None) -> str:
        text = (f"Distance in feature space to the nearest `{train_split}` image: synthetic median {_f(self.synthetic_median, 3)}, "
                f"real `{split}` median {_f(self.real_median, 3)}, ratio **{_f(self.ratio, 3)}** "
                "(about 1 = as far from the training set as unseen real tiles).")
        if isinstance(self.real_range, list) and isinstance(self.range_percentiles, list):
            (lo, hi), (p_lo, p_hi) = self.real_range, self.range_percentiles
            below = " (closer than real tiles: possible memorisation)" if self.position == "below" else ""
            text += (f" Real {p_lo:g}th-{p_hi:g}th percentile: {_f(lo, 3)}-{_f(hi, 3)}; synthetic median {self.position} it{below}; "
                     f"{100 * (self.share_below_real_range or 0):.1f}% of synthetic images are closer than its low end.")
        pairs = [p for p in self.closest_pairs or [] if isinstance(p, dict)]
        if not pairs:
            return text
        return "\n".join([text, "", "| synthetic | nearest training tile | distance |", "|---|---|---|",
                          *[f"| {p.get('synthetic', '?')} | {p.get('train', '?')} | {_f(p.get('distance'), 3)} |" for p in pairs]])


@dataclass
class CheckerboardResult(_Section):
    """Spectral peaks at the periods a stride-2 upsampling leaves, for the synthetic and the real tiles (`checkerboard`)."""
    synthetic: dict | None = None  # {"db": mean peak, "peaks_db": {period: {direction: dB}}, "images": N}
    real: dict | None = None
    TITLE: ClassVar[str] = "Checkerboard artefacts"

    def headline_rows(self) -> list[tuple[str, str, str]]:
        db = _get(self.synthetic, "db")
        return [("checkerboard: spectral peaks, dB ↓ (reference: the real tiles)", _f(db, 1), _f(_get(self.real, "db"), 1))] if _number(db) else []

    def markdown(self, split: str | None = None, train_split: str | None = None) -> str:
        synthetic, real = self.synthetic or {}, self.real or {}
        peaks, real_peaks = synthetic.get("peaks_db", {}), real.get("peaks_db", {})
        rows = [f"| period {p} px, {d} | {_f(peaks[p][d], 1)} | {_f(_get(real_peaks, p, d), 1)} |" for p in peaks for d in peaks[p]]
        return "\n".join([
            "Height of the mean power spectrum's peak at the periods a stride-2 upsampling leaves, in dB above the "
            "spectrum around it (about 0: no periodic pattern).",
            "",
            f"| peak | synthetic | real {split} |",
            "|---|---|---|",
            f"| **mean** | **{_f(synthetic.get('db'), 1)}** | **{_f(real.get('db'), 1)}** |",
            *rows,
        ])


@dataclass
class TwoSampleResult(_Section):
    """A linear probe telling synthetic from real tiles, and the same probe on real tiles of other slides (`classifier_two_sample_test`)."""
    what: str | None = None
    floor_what: str | None = None
    synthetic: dict | None = None  # {"accuracy", "ci95", "per_fold", "n_per_set", "folds", "seed", "c", "probe"}
    floor: dict | None = None
    TITLE: ClassVar[str] = "Classifier two-sample test"

    def headline_rows(self) -> list[tuple[str, str, str]]:
        if not _number(_get(self.synthetic, "accuracy")):
            return []
        return [("two-sample probe accuracy ↓ (0.5: indistinguishable)", _accuracy(self.synthetic), _accuracy(self.floor or {}))]

    def markdown(self, split: str | None = None, train_split: str | None = None) -> str:
        s, f = self.synthetic or {}, self.floor or {}
        return "\n".join([
            f"{s.get('probe', 'a linear probe')}, {s.get('folds')}-fold cross-validation (seed {s.get('seed')}), "
            f"{s.get('n_per_set')} images per set; accuracy with its 95 % Wilson interval. 0.5 is chance.",
            "", "| sets | accuracy | per fold |", "|---|---|---|",
            f"| {self.what or 'synthetic vs real'} | {_accuracy(s)} | {', '.join(_f(v, 3) for v in s.get('per_fold', []))} |",
            *([f"| floor: {self.floor_what or 'real vs real'} | {_accuracy(f)} | {', '.join(_f(v, 3) for v in f.get('per_fold', []))} |"]
              if _number(f.get("accuracy")) else []),
            "", "The floor is what tiles from other slides score: synthetic tiles as close to the real ones as a new slide would get the same.",
        ])


@dataclass
class MaskFidelityResult(_Section):
    """A segmenter's scores on the tiles against their own masks, and on the real tiles (`MaskFidelity.result`)."""
    synthetic: dict | None = None  # {"images", "dice": {class: Dice}, "mean_dice", "pq": {class: PQ}, "mpq", "aji"}
    real: dict | None = None
    segmenter: dict | None = None  # {"config", "trained_on", "key", "seed"}
    TITLE: ClassVar[str] = "Mask fidelity"

    def headline_rows(self) -> list[tuple[str, str, str]]:
        s = self.synthetic or {}
        if not _number(s.get("mean_dice")):
            return []
        return [("mask fidelity: segmenter Dice, tiles vs their masks ↑ (reference: the real tiles)",
                 _f(s["mean_dice"], 3), _f(_get(self.real, "mean_dice"), 3)),
                ("mask fidelity: segmenter PQ ↑ (reference: the real tiles)", _f(s.get("mpq"), 3), _f(_get(self.real, "mpq"), 3))]

    def markdown(self, split: str | None = None, train_split: str | None = None) -> str:
        s, r = self.synthetic or {}, self.real or {}
        cfg = _get(self.segmenter, "config") or {}
        trained = _get(self.segmenter, "trained_on") or {}
        classes = list(s.get("dice", {}))
        return "\n".join([
            f"A segmenter (MONAI UNet {cfg.get('seg_channels', '?')}, {cfg.get('seg_steps', '?')} steps) trained on the "
            f"{trained.get('pairs', '?')} real `{trained.get('split', '?')}` pairs segments every tile; scores are against the tile's own mask. "
            "The real tiles against their own masks are the reference: tiles that score like them show their masks as recognisably as "
            "real tissue shows its nuclei. Tiles can score above it, since a generator may draw a mask more plainly than tissue does.",
            "", "| tiles | mean Dice | PQ | AJI | " + " | ".join(f"Dice {c}" for c in classes) + " |", "|---|---|---|---|" + "---|" * len(classes),
            *[f"| {label} ({d.get('images')}) | {_f(d.get('mean_dice'), 3)} | {_f(d.get('mpq'), 3)} | {_f(d.get('aji'), 3)} | "
              + " | ".join(_f((d.get('dice') or {}).get(c), 3) for c in classes) + " |" for label, d in (("synthetic", s), ("real", r)) if d],
        ])


# The sections in report order: (report field and JSON key, type). The headline lists mask fidelity before the probe.
SECTIONS = (("diversity", DiversityResult), ("memorisation", MemorisationResult), ("checkerboard", CheckerboardResult),
            ("two_sample", TwoSampleResult), ("mask_fidelity", MaskFidelityResult))


@dataclass
class EvaluationReport:
    scores: Scores  # synthetic vs the real tiles of `split`
    checkpoint: str | None = None
    floor: Scores | None = None  # real `train_split` vs real `split`: the best a generator could do
    floor_what: str | None = None
    command: str | None = None
    post_processing: str | None = None
    data: str | None = None
    split: str | None = None
    train_split: str | None = None
    seeds: list[int] = field(default_factory=list)
    n: dict = field(default_factory=dict)
    feature_extractor: dict = field(default_factory=dict)
    weights_sha256: str | None = None
    resize_mode: str | None = None
    input_size: int | None = None
    # The metric sections (SECTIONS); None: the report predates the metric.
    diversity: DiversityResult | NotMeasured | None = None
    memorisation: MemorisationResult | NotMeasured | None = None
    checkerboard: CheckerboardResult | NotMeasured | None = None
    two_sample: TwoSampleResult | NotMeasured | None = None  # classifier two-sample test: synthetic vs real, and its real-vs-real floor
    mask_fidelity: MaskFidelityResult | NotMeasured | None = None  # a segmenter's scores on the tiles against their masks, and on real tiles
    out: str | None = None
    images: str | None = None
    config: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    timing_s: dict = field(default_factory=dict)
    created: str | None = None
    pathgan: str | None = None

    # -- JSON ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = {"kind": REPORT_KIND, "version": REPORT_VERSION, "pathgan": self.pathgan, "created": self.created, "command": self.command,
             "checkpoint": self.checkpoint, "post_processing": self.post_processing, "data": self.data, "split": self.split,
             "train_split": self.train_split, "seeds": self.seeds, "n": self.n, "feature_extractor": self.feature_extractor,
             "weights_sha256": self.weights_sha256, "resize_mode": self.resize_mode, "input_size": self.input_size,
             **asdict(self.scores)}
        if self.floor is not None:
            d["floor"] = {"what": self.floor_what, **asdict(self.floor)}
        d.update({key: getattr(self, key).to_dict() for key, _ in SECTIONS if getattr(self, key) is not None})
        d.update(out=self.out, images=self.images, config=self.config, warnings=self.warnings, timing_s=self.timing_s)
        return d

    @classmethod
    def from_dict(cls, d) -> "EvaluationReport":
        if not isinstance(d, dict):
            raise ReportError(f"a report is a JSON object, not {type(d).__name__}")
        if d.get("kind", REPORT_KIND) != REPORT_KIND:
            raise ReportError(f"kind {d.get('kind')!r} is not {REPORT_KIND!r}")
        if d.get("version", 0) > REPORT_VERSION:
            raise ReportError(f"report version {d['version']} is newer than this PathGAN reads ({REPORT_VERSION}); upgrade PathGAN")
        if not _number(d.get("fid")):
            raise ReportError("no FID in it, so not an evaluation report")
        floor = d.get("floor") if isinstance(d.get("floor"), dict) else None
        sections = {key: kind.from_dict(d.get(key), key) for key, kind in SECTIONS}
        plain = {f.name for f in fields(cls)} - {"scores", "floor", "floor_what", *sections}
        return cls(scores=Scores.from_dict(d), floor=Scores.from_dict(floor) if floor and _number(floor.get("fid")) else None,
                   floor_what=(floor or {}).get("what"), **sections, **{k: d[k] for k in plain if d.get(k) is not None})

    @classmethod
    def load(cls, path: str | Path) -> "EvaluationReport":
        path = Path(path)
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError) as e:  # JSON errors and ReportError are ValueErrors
            raise ReportError(f"{path.name} is not a readable evaluation report ({e})") from None

    def write(self, out: str | Path) -> None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        (out / "report.md").write_text(self.markdown())

    # -- Markdown --------------------------------------------------------------------------------------
    def headline_rows(self) -> list[tuple[str, str, str]]:
        """(metric, value, reference) for the numbers a reader looks at first."""
        s, f = self.scores, self.floor
        rows = [("FID ↓", _f(s.fid, 2), _f(f.fid, 2) if f else ""),
                ("KID ↓", _pm(s.kid, s.kid_std, 5), _pm(f.kid, f.kid_std, 5) if f else ""),
                ("precision ↑", _f(s.precision, 3), _f(f.precision, 3) if f else ""),
                ("recall ↑", _f(s.recall, 3), _f(f.recall, 3) if f else "")]
        for section in (self.diversity, self.memorisation, self.checkerboard, self.mask_fidelity, self.two_sample):
            rows += section.headline_rows() if section is not None else []
        return rows

    def context(self) -> str:
        """Which output was scored, against what, with how many images."""
        parts = [f"split `{self.split}`" if self.split else None,
                 f"{self.n['masks']} masks × {self.n['seeds']} seeds" if {"masks", "seeds"} <= set(self.n) else None,
                 f"post-processing: {self.post_processing}" if self.post_processing else None,
                 f"created {self.created}" if self.created else None]
        return " · ".join(p for p in parts if p)

    def headline_markdown(self) -> str:
        reference = f"floor: {self.floor_what}" if self.floor_what else "floor (real vs real)"
        lines = [f"| metric | synthetic vs real {self.split or 'tiles'} | {reference} |", "|---|---|---|"]
        lines += [f"| {label} | {value} | {ref} |" for label, value, ref in self.headline_rows()]
        return "\n".join(lines)

    def header_markdown(self) -> list[str]:
        n, fe = self.n, self.feature_extractor
        return [
            f"- checkpoint: `{self.checkpoint}`; post-processing: {self.post_processing or 'not recorded'}",
            f"- data: `{self.data}`, masks and reference images of split `{self.split}`, training split `{self.train_split}`",
            f"- N: {n.get('masks', '?')} masks x {n.get('seeds', '?')} seeds = {n.get('synthetic', '?')} synthetic; "
            f"{n.get('real', '?')} real {self.split}; {n.get('train', '?')} real {self.train_split}",
            *self._views_line(),
            f"- seeds: {', '.join(map(str, self.seeds)) or 'not recorded'}",
            f"- features: {fe.get('extractor', 'not recorded')}, weights SHA256 `{self.weights_sha256}`",
            f"- preprocessing: {fe.get('preprocessing', 'not recorded')}",
            f"- created: {self.created} (PathGAN {self.pathgan}, torch {fe.get('torch', '?')}, {fe.get('device', '?')})",
        ]

    def _views_line(self) -> list[str]:
        v = self.n.get("views")
        if not isinstance(v, dict):
            return []
        counts = [f"{v.get(k)} {k} from {self.n.get(k)} images" for k in ("synthetic", "real", "train") if v.get(k) != self.n.get(k)]
        return [f"- Inception input: {v.get('large_images', '?')}" + (f"; {', '.join(counts)}" if counts else "; every image fits one tile")]

    def markdown(self) -> str:
        """The whole report: what report.md holds and the Model tab folds out."""
        s, f = self.scores, self.floor
        lines = [f"# PathGAN evaluation: {Path(self.checkpoint or 'unnamed checkpoint').name}", "", "```", self.command or "(called from Python)", "```", "",
                 *self.header_markdown(), "", "## Headline", "", self.headline_markdown(), "",
                 f"N (real / other): {s.n_real} / {s.n_fake}" + (f"; floor {f.n_real} / {f.n_fake}" if f else "") +
                 f". Precision and recall use k={s.nearest_k}. KID: {s.kid_subsets} subsets of {s.kid_subset_size} (seed {s.kid_seed}). "
                 f"FID below {FID_UNBIASED_N} images per side is biased upward: compare only at equal N, and prefer KID."]
        for key, kind in SECTIONS:
            section = getattr(self, key)
            lines += ["", f"## {kind.TITLE}", "", section.markdown(self.split, self.train_split) if section is not None else NOT_RECORDED]
        if self.warnings:
            lines += ["", "## Warnings", "", *[f"- {w}" for w in self.warnings]]
        lines += ["", f"Timing (s): {', '.join(f'{k} {v}' for k, v in self.timing_s.items()) or 'not recorded'}", ""]
        return "\n".join(lines)


def _number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _f(v, digits: int = 4) -> str:
    return f"{v:.{digits}f}" if _number(v) else "n/a"


def _pm(value, spread, digits: int) -> str:
    return _f(value, digits) + (f" ± {_f(spread, digits)}" if _number(spread) else "")


def _accuracy(result: dict) -> str:
    if not _number(result.get("accuracy")):
        return ""
    lo, hi = (result.get("ci95") or [None, None])[:2]
    return _f(result["accuracy"], 3) + (f" [{_f(lo, 3)}, {_f(hi, 3)}]" if _number(lo) and _number(hi) else "")
