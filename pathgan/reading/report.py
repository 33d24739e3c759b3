"""A study's results as files and as text: answers.csv, summary.json, Markdown tables and the accuracy plot."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .stats import Answer, breakdown
from .store import Study, StudyStore

CSV_FIELDS = ("reader", "trial", "mode", "checkpoint", "real", "mask", "seed", "truth", "choice", "correct", "confidence",
              "response_time_s", "answered")


def study_answers(rows: list[dict]) -> list[Answer]:
    out = []
    for r in rows:
        single = r["mode"] == "single"
        out.append(Answer(r["reader"], r["checkpoint"], r["correct"], (r["choice"] == "synthetic") if single else None,
                          (r["truth"] == "synthetic") if single else None, r["confidence"]))
    return out


def study_summary(store: StudyStore, study: Study) -> dict:
    rows = store.answers(study.code)
    sessions = store.sessions(study.code)
    return {"study": {"code": study.code, "name": study.name, "mode": study.mode, "checkpoints": list(study.checkpoints),
                      "data": study.data, "split": study.split, "trials_per_reader": study.trials, "seed": study.seed},
            "sessions": {"started": len(sessions), "finished": sum(s.finished is not None for s in sessions)},
            **breakdown(study_answers(rows))}


def export_study(store: StudyStore, study: Study, out: str | Path) -> tuple[Path, Path]:
    """answers.csv (one row per answer, truth included) and summary.json (the statistics the tab shows)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = store.answers(study.code)
    with open(out / "answers.csv", "w", newline="") as f:
        w = csv.DictWriter(f, CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({**r, "truth": r.get("synthetic") or r.get("truth")})
    (out / "summary.json").write_text(json.dumps(study_summary(store, study), indent=2) + "\n")
    return out / "answers.csv", out / "summary.json"


def _row(name: str, s: dict) -> str:
    if not s["n"]:
        return f"| {name} | 0 | – | – | – |"
    return f"| {name} | {s['n']} | {s['accuracy']:.2f} | {s['ci_low']:.2f}–{s['ci_high']:.2f} | {s['p_value']:.2g} |"


def summary_markdown(summary: dict) -> str:
    st, pooled = summary["study"], summary["pooled"]
    lines = [f"### {st['name']} ({st['mode']}, {len(st['checkpoints'])} checkpoint(s), {st['trials_per_reader']} trials per reader)",
             f"Readers: {summary['sessions']['started']} started, {summary['sessions']['finished']} finished.", "",
             f"**{pooled['conclusion']}**", "",
             "| | answers | accuracy | 95 % CI (Wilson) | p (exact, vs 0.5) |", "|---|---|---|---|---|",
             _row("all readers", pooled)]
    lines += [_row(f"checkpoint {c}", s) for c, s in summary["checkpoints"].items()]
    lines += [_row(f"reader {r}", s) for r, s in summary["readers"].items()]
    conf = [f"mean confidence when right {pooled['mean_confidence_correct']:.2f}" if pooled["mean_confidence_correct"] else None,
            f"when wrong {pooled['mean_confidence_wrong']:.2f}" if pooled["mean_confidence_wrong"] else None]
    if any(conf):
        lines += ["", "Confidence (1–5): " + ", ".join(c for c in conf if c) + "."]
    if pooled.get("sensitivity") is not None or pooled.get("specificity") is not None:
        f = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
        lines += ["", f"Single tiles: sensitivity for 'synthetic' {f(pooled['sensitivity'])}, specificity {f(pooled['specificity'])}, "
                      f"d′ {f(pooled['d_prime'])}."]
    return "\n".join(lines)


def accuracy_plot(summary: dict, path: str | Path, width: int = 640) -> Path:
    """Accuracy per reader with its 95 % interval, the pooled value, and the chance line at 0.5."""
    rows = [(r, s) for r, s in summary["readers"].items() if s["n"]] + [("all readers", summary["pooled"])]
    row_h, left, right, top = 28, 150, 30, 30
    height = top + row_h * len(rows) + 40
    im = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default()
    x = lambda v: left + v * (width - left - right)  # noqa: E731
    for v in np.linspace(0, 1, 11):
        d.line([(x(v), top - 5), (x(v), height - 35)], fill=(225, 225, 225))
        d.text((x(v) - 8, height - 30), f"{v:.1f}", fill="black", font=font)
    d.line([(x(0.5), top - 10), (x(0.5), height - 35)], fill=(200, 0, 0), width=2)
    d.text((x(0.5) + 4, 4), "chance", fill=(200, 0, 0), font=font)
    for i, (name, s) in enumerate(rows):
        y = top + row_h * i + row_h // 2
        d.text((8, y - 6), name[:22], fill="black", font=font)
        if s["n"]:
            d.line([(x(s["ci_low"]), y), (x(s["ci_high"]), y)], fill=(40, 40, 160), width=2)
            r = 5 if name != "all readers" else 7
            d.ellipse([x(s["accuracy"]) - r, y - r, x(s["accuracy"]) + r, y + r], fill=(40, 40, 160))
    d.text((left, height - 16), "accuracy (share of trials answered correctly), 95 % Wilson interval", fill="black", font=font)
    path = Path(path)
    im.save(path)
    return path
