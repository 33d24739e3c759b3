"""An evaluation report as one typed value, with one Markdown renderer.

`evaluate` builds it and writes report.json and report.md; the CLI prints its header and headline table; the
app's Model tab shows the same headline and folds the full report. Reports written by older PathGAN versions
(without the checkerboard or the post-processing) still load: what they lack renders as "not recorded".
"""
from __future__ import annotations

import json
import numbers
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .errors import PathGANError
from .metrics.image_sets import FID_UNBIASED_N

REPORT_KIND = "pathgan-evaluation"
REPORT_VERSION = 1


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
    diversity: dict = field(default_factory=dict)
    memorisation: dict = field(default_factory=dict)
    checkerboard: dict | None = None
    two_sample: dict = field(default_factory=dict)  # classifier two-sample test: synthetic vs real, and its real-vs-real floor
    mask_fidelity: dict = field(default_factory=dict)  # a segmenter's scores on the tiles against their masks, and on real tiles
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
        d.update(diversity=self.diversity, memorisation=self.memorisation, checkerboard=self.checkerboard,
                 **{k: v for k, v in (("two_sample", self.two_sample), ("mask_fidelity", self.mask_fidelity)) if v}, out=self.out,
                 images=self.images, config=self.config, warnings=self.warnings, timing_s=self.timing_s)
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
        plain = {f.name for f in fields(cls)} - {"scores", "floor", "floor_what"}
        return cls(scores=Scores.from_dict(d), floor=Scores.from_dict(floor) if floor and _number(floor.get("fid")) else None,
                   floor_what=(floor or {}).get("what"), **{k: d[k] for k in plain if d.get(k) is not None})

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
        s, f, d, m = self.scores, self.floor, self.diversity, self.memorisation
        rows = [("FID ↓", _f(s.fid, 2), _f(f.fid, 2) if f else ""),
                ("KID ↓", _pm(s.kid, s.kid_std, 5), _pm(f.kid, f.kid_std, 5) if f else ""),
                ("precision ↑", _f(s.precision, 3), _f(f.precision, 3) if f else ""),
                ("recall ↑", _f(s.recall, 3), _f(f.recall, 3) if f else "")]
        if _number(d.get("pixel_l1_ratio")):
            rows.append(("seed diversity: pixel L1 / real neighbours", _f(d["pixel_l1_ratio"], 3), ""))
        if _number(m.get("ratio")):
            rows.append(("memorisation: nearest-train distance / real's (≈1 is good)", _f(m["ratio"], 3), ""))
        c = self.checkerboard or {}
        if _number(_get(c, "synthetic", "db")):
            rows.append(("checkerboard: spectral peaks, dB ↓ (reference: the real tiles)", _f(c["synthetic"]["db"], 1), _f(_get(c, "real", "db"), 1)))
        mf = self.mask_fidelity or {}
        if _number(_get(mf, "synthetic", "mean_dice")):
            rows.append(("mask fidelity: segmenter Dice, tiles vs their masks ↑ (reference: the real tiles)",
                         _f(mf["synthetic"]["mean_dice"], 3), _f(_get(mf, "real", "mean_dice"), 3)))
            rows.append(("mask fidelity: segmenter PQ ↑ (reference: the real tiles)", _f(mf["synthetic"].get("mpq"), 3), _f(_get(mf, "real", "mpq"), 3)))
        t = self.two_sample or {}
        if _number(_get(t, "synthetic", "accuracy")):
            rows.append(("two-sample probe accuracy ↓ (0.5: indistinguishable)", _accuracy(t["synthetic"]), _accuracy(t.get("floor") or {})))
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
                 f"FID below {FID_UNBIASED_N} images per side is biased upward: compare only at equal N, and prefer KID.",
                 "", "## Seed diversity", "", *self._diversity_markdown(),
                 "", "## Memorisation", "", *self._memorisation_markdown(),
                 "", "## Checkerboard artefacts", "", *self._checkerboard_markdown(),
                 "", "## Classifier two-sample test", "", *self._two_sample_markdown(),
                 "", "## Mask fidelity", "", *self._mask_fidelity_markdown()]
        if self.warnings:
            lines += ["", "## Warnings", "", *[f"- {w}" for w in self.warnings]]
        lines += ["", f"Timing (s): {', '.join(f'{k} {v}' for k, v in self.timing_s.items()) or 'not recorded'}", ""]
        return "\n".join(lines)

    def _mask_fidelity_markdown(self) -> list[str]:
        mf = self.mask_fidelity or {}
        s, r = mf.get("synthetic") or {}, mf.get("real") or {}
        if not _number(s.get("mean_dice")):
            return [mf.get("note", "not recorded")]
        cfg = _get(mf, "segmenter", "config") or {}
        trained = _get(mf, "segmenter", "trained_on") or {}
        classes = list(s.get("dice", {}))
        return [
            f"A segmenter (MONAI UNet {cfg.get('seg_channels', '?')}, {cfg.get('seg_steps', '?')} steps) trained on the "
            f"{trained.get('pairs', '?')} real `{trained.get('split', '?')}` pairs segments every tile; scores are against the tile's own mask. "
            "The real tiles against their own masks are the reference: tiles that score like them show their masks as recognisably as "
            "real tissue shows its nuclei. Tiles can score above it, since a generator may draw a mask more plainly than tissue does.",
            "", "| tiles | mean Dice | PQ | AJI | " + " | ".join(f"Dice {c}" for c in classes) + " |", "|---|---|---|---|" + "---|" * len(classes),
            *[f"| {label} ({d.get('images')}) | {_f(d.get('mean_dice'), 3)} | {_f(d.get('mpq'), 3)} | {_f(d.get('aji'), 3)} | "
              + " | ".join(_f((d.get('dice') or {}).get(c), 3) for c in classes) + " |" for label, d in (("synthetic", s), ("real", r)) if d],
        ]

    def _two_sample_markdown(self) -> list[str]:
        t = self.two_sample or {}
        s, f = t.get("synthetic") or {}, t.get("floor") or {}
        if not _number(s.get("accuracy")):
            return [t.get("note", "not recorded")]
        return [
            f"{s.get('probe', 'a linear probe')}, {s.get('folds')}-fold cross-validation (seed {s.get('seed')}), "
            f"{s.get('n_per_set')} images per set; accuracy with its 95 % Wilson interval. 0.5 is chance.",
            "", "| sets | accuracy | per fold |", "|---|---|---|",
            f"| {t.get('what', 'synthetic vs real')} | {_accuracy(s)} | {', '.join(_f(v, 3) for v in s.get('per_fold', []))} |",
            *([f"| floor: {t.get('floor_what', 'real vs real')} | {_accuracy(f)} | {', '.join(_f(v, 3) for v in f.get('per_fold', []))} |"]
              if _number(f.get("accuracy")) else []),
            "", "The floor is what tiles from other slides score: synthetic tiles as close to the real ones as a new slide would get the same.",
        ]

    def _diversity_markdown(self) -> list[str]:
        d = self.diversity
        if not _number(d.get("pixel_l1")):
            return [d.get("note", "not recorded")]
        return [
            "| | between seeds of a mask | real neighbouring tiles | ratio |",
            "|---|---|---|---|",
            f"| mean pixel L1 ([0,1] pixels) | {_f(d['pixel_l1'])} (worst mask {_f(d.get('pixel_l1_min'))}) | {_f(d.get('real_pixel_l1'))} | {_f(d.get('pixel_l1_ratio'), 3)} |",
            f"| Inception feature distance | {_f(d.get('feature_distance'), 3)} | {_f(d.get('real_feature_distance'), 3)} | {_f(d.get('feature_ratio'), 3)} |",
            "",
            "A ratio of 0 means the generator ignores its noise; real tiles are paired with their neighbour in sorted stem order.",
        ]

    def _memorisation_markdown(self) -> list[str]:
        m = self.memorisation
        if not _number(m.get("ratio")):
            return ["not recorded"]
        lines = [f"Distance in feature space to the nearest `{self.train_split}` image: synthetic median {_f(m.get('synthetic_median'), 3)}, "
                 f"real `{self.split}` median {_f(m.get('real_median'), 3)}, ratio **{_f(m['ratio'], 3)}** "
                 "(about 1 = as far from the training set as unseen real tiles)."]
        if isinstance(m.get("real_range"), list) and isinstance(m.get("range_percentiles"), list):
            (lo, hi), (p_lo, p_hi) = m["real_range"], m["range_percentiles"]
            below = " (closer than real tiles: possible memorisation)" if m.get("position") == "below" else ""
            lines[0] += (f" Real {p_lo:g}th-{p_hi:g}th percentile: {_f(lo, 3)}-{_f(hi, 3)}; synthetic median {m.get('position')} it{below}; "
                         f"{100 * m.get('share_below_real_range', 0):.1f}% of synthetic images are closer than its low end.")
        pairs = [p for p in m.get("closest_pairs") or [] if isinstance(p, dict)]
        if pairs:
            lines += ["", "| synthetic | nearest training tile | distance |", "|---|---|---|",
                      *[f"| {p.get('synthetic', '?')} | {p.get('train', '?')} | {_f(p.get('distance'), 3)} |" for p in pairs]]
        return lines

    def _checkerboard_markdown(self) -> list[str]:
        c = self.checkerboard
        if not c:
            return ["not recorded (report from an older PathGAN)"]
        if "note" in c:
            return [c["note"]]
        peaks, real = c["synthetic"].get("peaks_db", {}), c["real"].get("peaks_db", {})
        rows = [f"| period {p} px, {d} | {_f(peaks[p][d], 1)} | {_f(_get(real, p, d), 1)} |" for p in peaks for d in peaks[p]]
        return [
            "Height of the mean power spectrum's peak at the periods a stride-2 upsampling leaves, in dB above the "
            "spectrum around it (about 0: no periodic pattern).",
            "",
            f"| peak | synthetic | real {self.split} |",
            "|---|---|---|",
            f"| **mean** | **{_f(c['synthetic']['db'], 1)}** | **{_f(c['real']['db'], 1)}** |",
            *rows,
        ]


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
