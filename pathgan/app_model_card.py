"""The Model tab's card for one checkpoint: architecture, size, training provenance, evaluation numbers."""
from __future__ import annotations

import numbers

from .checkpoint import CheckpointError, read_compression_match
from .checkpoints_index import CheckpointEntry

# Shown first, in this order, when a report has them; everything else follows alphabetically.
METRIC_ORDER = ("fid", "kid", "kid_std", "precision", "recall", "density", "coverage", "lpips_diversity", "memorisation")
# (label, key, key of its spread, key of the real reference): the headline rows of `python -m pathgan
# evaluate`'s report.json. The reference defaults to the same key in the floor (real train vs real test).
HEADLINE_METRICS = (
    ("FID ↓", "fid", None, None),
    ("KID ↓", "kid", "kid_std", None),
    ("precision ↑", "precision", None, None),
    ("recall ↑", "recall", None, None),
    ("seed diversity: pixel L1 / real neighbours", "diversity.pixel_l1_ratio", None, None),
    ("memorisation: nearest-train distance / real's (≈1 is good)", "memorisation.ratio", None, None),
    ("checkerboard: spectral peaks, dB ↓ (reference: the real tiles)", "checkerboard.synthetic.db", None, "checkerboard.real.db"),
)
TRAIN_HIGHLIGHTS = ("batch_size", "lr", "l1_weight", "diversity_weight")


def count_generator_parameters(generator_config: dict) -> tuple[int, int]:
    """(Keras-style count incl. BatchNorm running statistics, trainable count), built on the meta device (no memory)."""
    import torch

    from .models import build_generator, count_parameters, generator_config as to_config

    with torch.device("meta"):
        g = build_generator(to_config(generator_config))
    return count_parameters(g), sum(p.numel() for p in g.parameters())


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
    """Nested dicts -> ('a.b', value) rows, so any report shape renders as a table."""
    rows = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            rows += flatten(v, key + ".")
        else:
            rows.append((key, v))
    return rows


def _metric_rank(key: str):
    leaf = key.rsplit(".", 1)[-1].lower()
    return (METRIC_ORDER.index(leaf) if leaf in METRIC_ORDER else len(METRIC_ORDER), key)


def _table(rows: list[tuple[str, object]], head=("", "")) -> str:
    if not rows:
        return "_none recorded_"
    lines = [f"| {head[0]} | {head[1]} |", "| --- | --- |"]
    lines += [f"| {_fmt(k)} | {_fmt(v)} |" for k, v in rows]
    return "\n".join(lines)


def render_model_card(entry: CheckpointEntry, report: dict | None) -> str:
    cfg = entry.config or {}
    gen = cfg.get("generator") or {}
    prov = entry.provenance
    out = [f"### {entry.name}", f"`{entry.path}` · {entry.path.stat().st_size / 2**20:.1f} MB · weights {cfg.get('dtype', 'float32')}"]

    try:
        keras, trainable = count_generator_parameters(gen)
        params = f"{keras:,} ({trainable:,} trainable; the rest are BatchNorm running statistics)"
    except Exception as e:  # an unknown architecture still gets a card
        params = f"unknown ({e})"
    arch = gen.get("arch", "?")
    out += [
        "#### Architecture",
        f"- Generator: **{arch}** U-Net (pix2pix), width ngf={gen.get('ngf', '?')}, "
        f"{gen.get('num_classes', '?')} class channels + {gen.get('noise_channels', '?')} noise channel(s), "
        f"noise injected in {gen.get('deep_noise', '?')} decoder block(s), upsampling: {gen.get('upsample', '?')}, dropout {gen.get('dropout', '?')}",
        f"- Discriminator used in training: **{entry.disc}**",
        f"- Parameters: {params}",
    ]
    scheme = cfg.get("scheme") or {}
    if scheme.get("names"):
        out.append("- Classes: " + ", ".join(f"{i} {n}" for i, n in enumerate(scheme["names"])))

    out.append("#### Training")
    if prov:
        scalars = [(k, v) for k, v in prov.items() if not isinstance(v, dict)]
        cfg_rows = flatten(prov.get("train_config") or {})
        notable = [(f"train_config.{k}", v) for k, v in cfg_rows if k in TRAIN_HIGHLIGHTS]
        out.append(_table(scalars + notable, ("field", "value")))
        nested = [(k, v) for k, v in flatten(prov) if "." in k]
        if nested:
            out.append(_details("Full training configuration", _table(nested, ("field", "value"))))
    else:
        out.append("_no provenance recorded in this checkpoint_")

    cal = cfg.get("calibration")
    if isinstance(cal, dict):
        per_channel = ", ".join(f"{c} ×{_fmt(s)} {_fmt(o)}" for c, s, o in zip("RGB", cal.get("scale") or [], cal.get("offset") or []))
        fitted = cal.get("fitted_on") or {}
        out.append(f"- Colour calibration ({cal.get('kind', '?')}): {per_channel}; fitted on {fitted.get('masks', '?')} "
                   f"{fitted.get('split', '?')} masks")
    sel = cfg.get("colour_selection")
    if isinstance(sel, dict) and isinstance(sel.get("with"), dict) and isinstance(sel.get("without"), dict):
        out.append(f"- Colour map {'kept' if sel.get('kept') else 'not applied'}: on {sel.get('images', '?')} {sel.get('split', '?')} tiles "
                   f"it gave FID {_fmt(sel['with'].get('fid'))} against {_fmt(sel['without'].get('fid'))} without it")
    try:
        compression = read_compression_match(entry.path, cfg)
    except CheckpointError as e:
        compression, out = None, out + [f"- Compression matching: unreadable ({e})"]
    if compression:
        fitted = compression.fitted_on
        out.append(f"- Compression matching: every tile is passed through {compression.description}, as "
                   f"{fitted.get('matching_files', '?')} of the {fitted.get('files', '?')} {fitted.get('split', '?')} tiles were encoded")

    out.append("#### Evaluation")
    out.append(render_report(report, entry.report_path.name))
    return "\n\n".join(out)


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>"


def render_report(report: dict | None, expected_name: str) -> str:
    """Headline metrics (with the real-vs-real floor beside them when present), then every number in a fold-out."""
    if report is None:
        return f"_no report yet: run `python -m pathgan evaluate` and put its report.json beside the checkpoint as `{expected_name}`_"
    if set(report) == {"error"}:
        return f"⚠️ {report['error']}"
    parts = []
    context = [f"{k} {_fmt(v)}" for k, v in (("split", report.get("split")), ("created", report.get("created"))) if v is not None]
    n = report.get("n")
    if isinstance(n, dict) and {"masks", "seeds"} <= set(n):
        context.append(f"{n['masks']} masks × {n['seeds']} seeds")
    if context:
        parts.append("From the evaluation report: " + " · ".join(context))
    floor = report.get("floor") if isinstance(report.get("floor"), dict) else {}
    rows = []
    for label, key, spread, reference in HEADLINE_METRICS:
        value = _get(report, key)
        if not isinstance(value, numbers.Number) or isinstance(value, bool):
            continue
        text = _fmt(value) + (f" ± {_fmt(_get(report, spread))}" if spread and isinstance(_get(report, spread), numbers.Number) else "")
        ref = _get(report, reference) if reference else (_get(floor, key) if floor else None)
        ref_text = (_fmt(ref) + (f" ± {_fmt(_get(floor, spread))}" if spread and isinstance(_get(floor, spread), numbers.Number) else "")) \
            if isinstance(ref, numbers.Number) else ""
        rows.append(f"| {label} | {text} | {ref_text} |")
    if rows:
        what = _fmt(floor.get("what")) if floor.get("what") else "real vs real"
        parts.append("\n".join([f"| metric | value | floor ({what}) |", "| --- | --- | --- |", *rows]))
    everything = [(k, v) for k, v in flatten(report) if isinstance(v, numbers.Number) and not isinstance(v, bool)]
    if everything:
        table = _table(sorted(everything, key=lambda r: _metric_rank(r[0])), ("metric", "value"))
        parts.append(_details("All numbers in the report", table) if rows else table)
    warnings = report.get("warnings")
    if isinstance(warnings, list) and warnings:
        parts.append("Warnings:\n" + "\n".join(f"- {_fmt(w)}" for w in warnings[:5]))
    return "\n\n".join(parts) if parts else "_the report holds no numbers_"
