"""The Model tab's card for one checkpoint: a compact summary first (headline numbers against the floor, the
sample sheet, the metric-vs-step plot), then the details folded (architecture, provenance, post-processing,
the full evaluation report)."""
from __future__ import annotations

import numbers
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import PathGANError
from ..evaluation_report import EvaluationReport, ReportError
from ..models import GeneratorConfig
from ..post_processing import PostProcessing
from .checkpoints_index import CheckpointCatalog, CheckpointEntry
from .errors import UserError
from .exports import ExportFolders

TRAIN_HIGHLIGHTS = ("batch_size", "lr", "l1_weight", "diversity_weight")
# Figures shown with a checkpoint, looked for beside it: <stem>.samples.jpg (mask | real | synthetic rows, from
# scripts/sample_sheet.py), and <stem>.curve.png or the folder's fid_vs_step.png (metrics against training step).
SAMPLE_SHEET_NAMES = ("{stem}.samples.jpg", "{stem}.samples.png")
CURVE_NAMES = ("{stem}.curve.png", "fid_vs_step.png")


@dataclass
class ModelCard:
    summary: str  # Markdown, shown open
    details: str  # Markdown, shown folded
    sample_sheet: Path | None = None
    curve: Path | None = None

    @property
    def text(self) -> str:
        return self.summary + "\n\n" + self.details


def count_generator_parameters(config: GeneratorConfig) -> tuple[int, int]:
    """(Keras-style count incl. BatchNorm running statistics, trainable count), built on the meta device (no memory)."""
    import torch

    from ..models import build_generator, count_parameters

    with torch.device("meta"):
        g = build_generator(config)
    return count_parameters(g), sum(p.numel() for p in g.parameters())


def figure_beside(checkpoint: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        path = checkpoint.with_name(name.format(stem=checkpoint.stem))
        if path.is_file():
            return path
    return None


def _fmt(v) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, numbers.Integral):
        return f"{v:,}"
    if isinstance(v, numbers.Real):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        text = ", ".join(_fmt(x) for x in v[:8]) + (", …" if len(v) > 8 else "")
        return f"[{text}]"
    text = str(v).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 160 else text[:157] + "…"


def flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    """Nested dicts -> ('a.b', value) rows, so any shape renders as a table."""
    rows = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            rows += flatten(v, key + ".")
        else:
            rows.append((key, v))
    return rows


def _table(rows: list[tuple[str, object]], head=("", "")) -> str:
    if not rows:
        return "_none recorded_"
    lines = [f"| {head[0]} | {head[1]} |", "| --- | --- |"]
    lines += [f"| {_fmt(k)} | {_fmt(v)} |" for k, v in rows]
    return "\n".join(lines)


def describe_dataset(prov: dict) -> str:
    """Which data a checkpoint was trained on: name and content hash when recorded, else the folder's name."""
    d = prov.get("dataset")
    if isinstance(d, dict) and d.get("sha256"):
        return f"{d.get('name', '?')}, split {d.get('split', '?')} ({_fmt(d.get('pairs'))} pairs, content SHA256 `{str(d['sha256'])[:16]}…`)"
    data = prov.get("data")
    return f"{Path(str(data)).name} (content hash not recorded)" if data else "not recorded"


def describe_commit(prov: dict) -> str:
    commit = str(prov.get("commit") or "")
    if re.fullmatch(r"[0-9a-f]{40}(\+changes)?", commit):
        return f"`{commit[:12]}`" + (" with uncommitted changes" if commit.endswith("+changes") else "")
    return "not recorded (the run's checkout had no git history)"


def render_model_card(entry: CheckpointEntry, report: dict | None) -> ModelCard:
    cfg = entry.config
    gen, prov, post = cfg.generator, cfg.provenance, cfg.post_processing
    steps = f" · {entry.steps:,} steps" if entry.steps is not None else ""
    summary = [f"### {entry.name}",
               f"`{entry.shown_path}` · {entry.path.stat().st_size / 2**20:.1f} MB · trained against the **{entry.disc}** discriminator{steps} · "
               f"data: {describe_dataset(prov)}",
               f"Classes: {', '.join(cfg.scheme.names[1:])} · post-processing: {post.description}",
               render_report(report, entry.report_path.name)]

    try:
        keras, trainable = count_generator_parameters(gen)
        params = f"{keras:,} ({trainable:,} trainable; the rest are BatchNorm running statistics)"
    except PathGANError as e:  # an architecture this PathGAN does not have still gets a card
        params = f"unknown ({e})"
    details = [
        "#### Architecture",
        f"- Generator: **{gen.arch}** U-Net (pix2pix), width ngf={gen.ngf}, "
        f"{gen.num_classes} class channels + {gen.noise_channels} noise channel(s), "
        f"noise injected in {gen.deep_noise} decoder block(s), upsampling: {gen.upsample}, dropout {gen.dropout}",
        f"- Discriminator used in training: **{entry.disc}**",
        f"- Parameters: {params}; weights {cfg.dtype}",
        "- Classes: " + ", ".join(f"{i} {n}" for i, n in enumerate(cfg.scheme.names)),
    ]
    details += ["#### Training", *_training_lines(prov), "#### Post-processing", *_post_processing_lines(post)]
    evaluation = _evaluation(report)
    if evaluation is not None:
        details += ["#### Evaluation report", evaluation.markdown().split("\n", 1)[1]]  # its title repeats the name above
    return ModelCard("\n\n".join(summary), "\n\n".join(details), figure_beside(entry.path, SAMPLE_SHEET_NAMES),
                     figure_beside(entry.path, CURVE_NAMES))


def _training_lines(prov: dict) -> list[str]:
    if not prov:
        return ["_no provenance recorded in this checkpoint_"]
    shown = {"data", "dataset", "commit", "train_config"}
    scalars = [("dataset", describe_dataset(prov)), ("commit", describe_commit(prov))]
    scalars += [(k, v) for k, v in prov.items() if k not in shown and not isinstance(v, dict)]
    cfg_rows = flatten(prov.get("train_config") or {})
    notable = [(f"train_config.{k}", v) for k, v in cfg_rows if k in TRAIN_HIGHLIGHTS]
    lines = [_table(scalars + notable, ("field", "value"))]
    if cfg_rows:
        lines.append("Full training configuration:\n\n" + _table([(f"train_config.{k}", v) for k, v in cfg_rows], ("field", "value")))
    return lines


def _post_processing_lines(post: PostProcessing) -> list[str]:
    if post.colour is None and post.compression is None and post.colour_selection is None:
        return [f"- {post.description}"]
    lines = []
    if post.colour:
        per_channel = ", ".join(f"{c} ×{_fmt(s)} {_fmt(o)}" for c, s, o in zip("RGB", post.colour.scale, post.colour.offset))
        fitted = post.colour.fitted_on
        lines.append(f"- Colour calibration (per-channel affine): {per_channel}; fitted on {fitted.get('masks', '?')} {fitted.get('split', '?')} masks")
    sel = post.colour_selection
    if sel and isinstance(sel.get("with"), dict) and isinstance(sel.get("without"), dict):
        lines.append(f"- Colour map {'kept' if sel.get('kept') else 'not applied'}: on {sel.get('images', '?')} {sel.get('split', '?')} tiles "
                     f"it gave FID {_fmt(sel['with'].get('fid'))} against {_fmt(sel['without'].get('fid'))} without it")
    if post.compression:
        fitted = post.compression.fitted_on
        lines.append(f"- Compression matching: every tile is passed through {post.compression.description}, as "
                     f"{fitted.get('matching_files', '?')} of the {fitted.get('files', '?')} {fitted.get('split', '?')} tiles were encoded")
    return lines


def _evaluation(report: dict | None) -> EvaluationReport | None:
    try:
        return EvaluationReport.from_dict(report) if report is not None and set(report) != {"error"} else None
    except ReportError:
        return None


def render_report(report: dict | None, expected_name: str) -> str:
    """The headline numbers against the floor, as the evaluation report renders them."""
    if report is None:
        return f"_no report yet: run `python -m pathgan evaluate` and put its report.json beside the checkpoint as `{expected_name}`_"
    if set(report) == {"error"}:
        return f"⚠️ {report['error']}"
    try:
        r = EvaluationReport.from_dict(report)
    except ReportError as e:  # another tool's file: say so, and still show its numbers
        numbers_in_it = [(k, v) for k, v in flatten(report) if isinstance(v, numbers.Number) and not isinstance(v, bool)]
        return f"`{expected_name}` is not a PathGAN evaluation report ({e}). Its numbers:\n\n" + _table(numbers_in_it, ("field", "value"))
    parts = ["From the evaluation report: " + r.context() if r.context() else "", r.headline_markdown()]
    if r.warnings:
        parts.append("Warnings:\n" + "\n".join(f"- {_fmt(w)}" for w in r.warnings[:5]))
    return "\n\n".join(p for p in parts if p)


class ModelCards:
    """The Model tab: a checkpoint's card, its figures served from an export folder like every file the app hands out."""

    def __init__(self, catalog: CheckpointCatalog, exports: ExportFolders):
        self.catalog, self.exports = catalog, exports

    def card(self, checkpoint: str | None) -> ModelCard:
        """Summary and figures first, details (and the folder's README.md model card) folded."""
        readme = self.catalog.readme_for(checkpoint)
        readme = f"\n\n---\n\n{_strip_front_matter(readme)}" if readme else ""
        if not self.catalog.entries:
            return ModelCard("### No checkpoint\n\n" + self.catalog.missing_message(), readme.lstrip("\n-"))
        try:
            entry = self.catalog.entry(checkpoint)
        except UserError as e:
            return ModelCard(f"### Checkpoint unusable\n\n{e}", "")
        card = render_model_card(entry, entry.report)
        card.details += readme
        if card.sample_sheet or card.curve:
            folder = self.exports.new()
            card.sample_sheet, card.curve = (Path(shutil.copy(f, folder)) if f else None for f in (card.sample_sheet, card.curve))
        return card


def _strip_front_matter(text: str) -> str:
    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end != -1:
            return text[end + 4:].lstrip()
    return text
