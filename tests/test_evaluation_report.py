"""The evaluation report's JSON and Markdown: the shipped reports render as docs/report-*.md, and a section the
evaluation skipped says why, through JSON and back."""
from __future__ import annotations

import json

import pytest

from pathgan.evaluation_report import SECTIONS, EvaluationReport, NotMeasured, ReportError
from pathgan.paths import PROJECT_ROOT

SHIPPED = sorted((PROJECT_ROOT / "checkpoints").glob("*.report.json"))


def test_every_shipped_report_renders_as_its_page_in_docs():
    assert len(SHIPPED) == 4
    for path in SHIPPED:
        shipped = json.loads(path.read_text())
        report = EvaluationReport.load(path)
        assert report.to_dict() == shipped, path.name
        page = PROJECT_ROOT / "docs" / f"report-{path.name.removesuffix('.report.json')}.md"
        assert page.is_file(), f"{path.name} has no rendered page {page.name} in docs/"
        assert report.markdown() == page.read_text(), f"{path.name} no longer renders as {page.name}"


def test_shipped_report_sections_are_typed():
    report = EvaluationReport.load(PROJECT_ROOT / "checkpoints" / "consep-vanilla.report.json")
    assert all(isinstance(getattr(report, key), kind) for key, kind in SECTIONS)
    assert report.diversity.pixel_l1_ratio == pytest.approx(0.5216, abs=1e-4) and report.memorisation.position == "inside"
    assert report.checkerboard.synthetic["db"] == 7.89 and report.two_sample.floor_what == "real train vs real test"
    assert report.mask_fidelity.segmenter["trained_on"]["pairs"] == 432


def test_a_section_not_measured_says_why_in_json_markdown_and_headline():
    shipped = json.loads((PROJECT_ROOT / "checkpoints" / "consep-vanilla.report.json").read_text())
    report = EvaluationReport.load(PROJECT_ROOT / "checkpoints" / "consep-vanilla.report.json")
    report.diversity = NotMeasured("one seed per mask")
    report.two_sample = NotMeasured("the two-sample test needs at least 5 images per set")
    d = report.to_dict()
    assert d["diversity"] == {"note": "not measured: one seed per mask"} and d["memorisation"] == shipped["memorisation"]
    again = EvaluationReport.from_dict(json.loads(json.dumps(d)))
    assert again == report and again.to_dict() == d
    md = again.markdown()
    assert "## Seed diversity\n\nnot measured: one seed per mask\n" in md
    assert "## Classifier two-sample test\n\nnot measured: the two-sample test needs at least 5 images per set\n" in md
    labels = [label for label, _, _ in again.headline_rows()]
    assert not any(label.startswith(("seed diversity", "two-sample")) for label in labels)
    assert any(label.startswith("memorisation") for label in labels) and any(label.startswith("mask fidelity") for label in labels)


def test_notes_and_gaps_of_older_reports():
    shipped = json.loads((PROJECT_ROOT / "checkpoints" / "consep-vanilla.report.json").read_text())
    older = {**shipped, "mask_fidelity": {"note": "not measured (--no-mask-fidelity)"},
             "diversity": {"seeds_per_mask": 1, "pixel_l1": None, "real_pixel_l1": 0.15, "note": "seed diversity needs at least 2 seeds"}}
    del older["two_sample"]
    report = EvaluationReport.from_dict(older)
    assert report.mask_fidelity == NotMeasured("--no-mask-fidelity")
    assert report.diversity == NotMeasured("seed diversity needs at least 2 seeds") and report.two_sample is None
    assert "## Classifier two-sample test\n\nnot recorded (report from an older PathGAN)\n" in report.markdown()
    assert "two_sample" not in report.to_dict() and report.to_dict()["mask_fidelity"] == {"note": "not measured: --no-mask-fidelity"}
    with pytest.raises(ReportError, match="checkerboard is a JSON object, not list"):
        EvaluationReport.from_dict({**shipped, "checkerboard": [7.9]})
