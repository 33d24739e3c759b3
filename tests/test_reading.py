"""Reading studies: the statistics against closed forms, the trial design, the store's guarantees, blinded
tiles, and the whole reader/owner flow on the bundled CoNSeP sample with tiny checkpoints."""
from __future__ import annotations

import io
import json
import multiprocessing
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import make_tiny_generator
from pathgan.app.actions import AppSettings, PathGANApp, UserError
from pathgan.app.reading_tab import ReadingTests
from pathgan.checkpoint import save_generator
from pathgan.cli import main
from pathgan.paths import BUNDLED_PAIRS
from pathgan.reading.design import blind_encode, plan_session, truth
from pathgan.reading.stats import Answer, binomial_p, conclusion, d_prime, power, summarize, wilson_interval
from pathgan.reading.store import StudyError, StudyStore
from pathgan.schemes import CONSEP

STEMS = [f"s{i:02d}" for i in range(48)]


# -- statistics ------------------------------------------------------------------------------------

def test_wilson_binomial_power_and_d_prime_against_closed_forms():
    lo, hi = wilson_interval(5, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.2366, 0.7634)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert binomial_p(15, 20) == pytest.approx(0.041389, abs=1e-6)  # 2 * P(X >= 15), X ~ B(20, 0.5)
    assert binomial_p(10, 20) == pytest.approx(1.0)
    # Power of the exact test at n = 20: it rejects for k <= 5 or k >= 15, so power = P(X >= 15 | 0.7) + P(X <= 5 | 0.7).
    from scipy.stats import binom
    assert power(20) == pytest.approx(binom.sf(14, 20, 0.7) + binom.cdf(5, 20, 0.7), rel=1e-9)
    assert d_prime(10, 20, 10, 20) == pytest.approx(0.0) and d_prime(19, 20, 1, 20) > 2.5


def test_summary_and_a_conclusion_that_says_no_more_than_the_numbers():
    chance = [Answer("r", "c", i % 2 == 0, confidence=3) for i in range(20)]
    s = summarize(chance)
    assert (s.n, s.correct, s.accuracy) == (20, 10, 0.5) and s.mean_confidence_correct == 3
    text = conclusion(s)
    assert text.startswith("Readers could not tell synthetic from real better than chance (accuracy 0.50, 95 % CI 0.30–0.70, p = 1, n = 20)")
    assert "power 0.42" in text and "cannot rule out" in text
    sharp = summarize([Answer("r", "c", i < 18) for i in range(20)])
    assert conclusion(sharp).startswith("Readers told synthetic from real tiles better than chance (accuracy 0.90")
    single = summarize([Answer("r", "c", True, True, True), Answer("r", "c", False, True, False), Answer("r", "c", True, False, False)])
    assert single.sensitivity == 1.0 and single.specificity == 0.5 and single.d_prime is not None
    assert conclusion(summarize([])) == "No answers yet."


# -- design ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["side-by-side", "single"])
def test_plans_replay_exactly_are_balanced_and_never_pair_a_tile_with_its_own_mask(mode):
    a = plan_session(mode, STEMS, ["x", "y"], 20, 7, "Dr. Ada")
    assert a == plan_session(mode, STEMS, ["x", "y"], 20, 7, " dr. ada ")  # same reader: the same session
    assert a != plan_session(mode, STEMS, ["x", "y"], 20, 7, "Dr. Bo") and a != plan_session(mode, STEMS, ["x", "y"], 20, 8, "Dr. Ada")
    assert sorted(p["checkpoint"] for p in a) == ["x"] * 10 + ["y"] * 10
    truths = [truth(p) for p in a]
    assert sorted(truths) == sorted(sorted(set(truths)) * 10) and len(set(truths)) == 2  # half and half
    reals = {p["real"] for p in a if p["real"]}
    masks = {p["mask"] for p in a if p["mask"]}
    assert not reals & masks and len(reals) + len(masks) == (40 if mode == "side-by-side" else 20)
    with pytest.raises(ValueError, match="need 40 distinct pairs"):
        plan_session("side-by-side", STEMS[:30], ["x"], 20, 0, "r")


def test_the_final_encode_leaves_only_pixels_to_tell_tiles_apart():
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 255, (256, 256, 3), dtype=np.uint8) for _ in range(2))
    ea, eb = blind_encode(a), blind_encode(b)
    assert ea[: ea.index(b"\xff\xda")] == eb[: eb.index(b"\xff\xda")]  # every header byte up to the scan data
    with Image.open(io.BytesIO(ea)) as im:
        assert im.format == "JPEG" and im.size == (256, 256) and "exif" not in im.info and not im.getexif()


# -- store -----------------------------------------------------------------------------------------

def test_store_refuses_what_it_must_and_keeps_everything(tmp_path):
    store = StudyStore(tmp_path / "s.sqlite")
    assert store.schema_version == 1
    study = store.create_study("S", "side-by-side", ["a.safetensors"], "data", "test", 2, 0)
    plans = plan_session("side-by-side", STEMS, ["a"], 2, 0, "r")
    session = store.start_session(study.code, "r", plans)
    with pytest.raises(StudyError, match="already started this study"):
        store.start_session(study.code, "r", plans)
    with pytest.raises(StudyError, match="no study with the code"):
        store.study("nope")
    with pytest.raises(StudyError, match="owner token does not open"):
        store.owned_study(study.code, "guess")
    store.mark_shown(session, 0)
    assert store.answer(session, 0, "left", 4) == (truth(plans[0]) == "left")  # judged here, against the plan it keeps
    with pytest.raises(StudyError, match="already answered; its first answer stands"):
        store.answer(session, 0, "right")
    with pytest.raises(StudyError, match="trial 3 is not the current one"):
        store.answer(session, 2, "right")
    with pytest.raises(StudyError, match="answer with one of left, right"):
        store.answer(session, 1, "real")
    store.mark_shown(session, 1)
    assert store.answer(session, 1, "right") == (truth(plans[1]) == "right")
    with pytest.raises(StudyError, match="session has ended"):
        store.answer(session, 1, "left")
    again = StudyStore(tmp_path / "s.sqlite")  # reopened, as after a restart
    rows = again.answers(study.code)
    assert [(r["choice"], r["correct"], r["confidence"]) for r in rows] == [("left", truth(plans[0]) == "left", 4),
                                                                            ("right", truth(plans[1]) == "right", None)]
    assert again.session(session.token).finished is not None and rows[0]["response_time_s"] >= 0
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StudyError, match="schema version 99 is newer"):
        StudyStore(tmp_path / "s.sqlite")


def _reader(db: str, code: str, name: str) -> int:
    store = StudyStore(db)
    session = store.start_session(code, name, plan_session("side-by-side", STEMS, ["a"], 20, 0, name))
    for i in range(20):
        store.mark_shown(session, i)
        store.answer(session, i, "left", 1 + i % 5)
    return len(store.session_answers(session))


def test_several_processes_answering_at_once_lose_no_write(tmp_path):
    db = str(tmp_path / "s.sqlite")
    code = StudyStore(db).create_study("S", "side-by-side", ["a"], "data", "test", 20, 0).code
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        done = pool.starmap(_reader, [(db, code, f"reader {i}") for i in range(6)])
    assert done == [20] * 6 and len(StudyStore(db).answers(code)) == 120


# -- the tab's functions, end to end -----------------------------------------------------------------

@pytest.fixture
def reading(tmp_path) -> ReadingTests:
    d = tmp_path / "checkpoints"
    for i, name in enumerate(("alpha", "beta")):
        save_generator(d / f"{name}.safetensors", make_tiny_generator(i), CONSEP, {"disc": name, "steps": 1})
    app = PathGANApp(AppSettings(checkpoint_search=(str(d),), output_dir=tmp_path / "exports", device="cpu"))
    return ReadingTests(app.catalog, app.exports, app.compare.paired_data(), tmp_path / "studies.sqlite")


def test_a_study_from_set_up_to_results(reading, tmp_path, capsys):
    with pytest.raises(UserError, match="give the study a name"):
        reading.create(" ", "side-by-side", ["alpha"], 4, 0)
    with pytest.raises(UserError, match="need 60 image/mask pairs; .* has 48"):
        reading.create("too long", "side-by-side", ["alpha"], 30, 0)
    study = reading.create("Turing", "side-by-side", ["alpha", "beta"], 4, 11)
    assert study.data == str(BUNDLED_PAIRS)
    with pytest.raises(UserError, match="enter your name"):
        reading.start(study.code, "  ")
    with pytest.raises(UserError, match="no study with the code"):
        reading.start("wrong", "ann")

    view = reading.start(study.code, "ann")
    assert (view.index, view.total, len(view.tiles), view.progress) == (0, 4, 2, "Trial 1 of 4") and not view.finished_text
    names = [Path(t).name for t in view.tiles]
    assert all(len(n) == 28 and n.endswith(".jpg") for n in names) and names[0] != names[1]  # opaque
    plans = [reading.store.plan(reading.store.session(view.session), i) for i in range(4)]
    answers = ["left", plans[1]["synthetic"], "right", plans[3]["synthetic"]]
    view = reading.answer(view.session, 0, answers[0], "5")
    with pytest.raises(UserError, match="already answered"):
        reading.answer(view.session, 0, "right")  # a double click: the first answer stands

    # The server restarts: a new ReadingTests on the same file; the resume link continues at trial 2, and replays the same tiles.
    again = ReadingTests(reading.catalog, reading.exports, reading.paired_data, tmp_path / "studies.sqlite")
    resumed = again.view(view.session)
    assert resumed.index == 1 and [Path(p).read_bytes() for p in resumed.tiles] == [Path(p).read_bytes() for p in view.tiles]
    for i in (1, 2, 3):
        resumed = again.answer(view.session, i, answers[i])
    assert resumed.finished and "You answered" in resumed.finished_text and resumed.tiles == []
    with pytest.raises(UserError, match="session has ended"):
        again.answer(view.session, 3, "left")

    with pytest.raises(UserError, match="owner token does not open"):
        again.results(study.code, "not-the-token")
    md, plot, archive = again.results(study.code, study.owner_token)
    correct = sum(a == truth(p) for a, p in zip(answers, plans))
    assert f"| all readers | 4 | {correct / 4:.2f} |" in md and "checkpoint alpha" in md and "reader ann" in md
    assert Image.open(plot).size[0] == 640
    # The command-line export gives the same summary as the tab.
    assert main(["reading-test", "export", "--db", str(tmp_path / "studies.sqlite"), "--study", study.code, "--out", str(tmp_path / "x")]) == 0
    summary = json.loads((tmp_path / "x" / "summary.json").read_text())
    assert summary["pooled"]["correct"] == correct and summary["pooled"]["n"] == 4 and summary["sessions"] == {"started": 1, "finished": 1}
    assert summary["readers"]["ann"]["n"] == 4 and set(summary["checkpoints"]) == {"alpha", "beta"}
    assert len((tmp_path / "x" / "answers.csv").read_text().splitlines()) == 5


def test_tiles_are_balanced_and_blinded(reading):
    study = reading.create("Single", "single", ["alpha"], 6, 3)
    view = reading.start(study.code, "bo")
    session = reading.store.session(view.session)
    seen = []
    while not view.finished:
        plan = reading.store.plan(session, view.index)
        seen.append((plan["truth"], Path(view.tiles[0]).read_bytes()))
        view = reading.answer(view.session, view.index, "real")
    assert sorted(t for t, _ in seen) == ["real"] * 3 + ["synthetic"] * 3
    real, fake = next(b for t, b in seen if t == "real"), next(b for t, b in seen if t == "synthetic")
    assert real[: real.index(b"\xff\xda")] == fake[: fake.index(b"\xff\xda")]  # same size, format and headers: pixels differ only


def test_a_study_whose_checkpoint_is_gone_says_so(reading):
    study = reading.create("Gone", "side-by-side", ["beta"], 2, 0)
    Path(study.checkpoints[0]).unlink()
    with pytest.raises(UserError, match="checkpoint beta.safetensors is no longer there"):
        reading.start(study.code, "cy")


def test_the_bundled_sample_is_small_credited_and_from_the_test_split():
    from pathgan.dataset import scan_dataset
    from pathgan.paths import PROJECT_ROOT

    files = [p for p in BUNDLED_PAIRS.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 2 * 2**20
    scan = scan_dataset(BUNDLED_PAIRS, "test").raise_if_problems()  # its scheme.json states CoNSeP's classes
    assert scan.scheme == CONSEP and len(scan.pairs) == 48 and all(p.stem.startswith("test_") for p in scan.pairs)
    assert len({p.stem.split("_")[1] for p in scan.pairs}) == 14  # every test tile
    notice = (BUNDLED_PAIRS / "README.md").read_text()
    assert "Apache License 2.0" in notice and "HoVer-Net" in notice and "never saw" in notice
    assert "*.safetensors filter=lfs" in (PROJECT_ROOT / ".gitattributes").read_text()  # a Space needs LFS for the weights


def test_study_codes_never_look_like_a_command_line_option(monkeypatch):
    from pathgan.reading import store

    draws = iter(["-T_sggKz", "--abcdef", "Xy-_9abc"])
    monkeypatch.setattr(store.secrets, "token_urlsafe", lambda n: next(draws))
    assert store.study_code() == "Xy-_9abc"  # `reading-test export --study -T_sggKz` failed to parse
