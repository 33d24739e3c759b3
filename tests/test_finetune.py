"""Fine-tuning: checked uploads, the class-mapped trainer, and the app's one-job queue with its worker process
(cancel, resume after cancel or a killed worker, restart), on synthetic pairs and tiny networks."""
from __future__ import annotations

import json
import os
import signal
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import make_tiny_generator
from pathgan.app.actions import AppSettings, PathGANApp, UserError, parse_args
from pathgan.app.finetune_jobs import JobManager, Limits, extract_zip, remaining_seconds, validate, zip_dataset
from pathgan.app.finetune_tab import FinetuneTab, legend_layout
from pathgan.checkpoint import read_config, save_generator
from pathgan.cli import main
from pathgan.finetune import BASE_FILE, RESULT_FILE, describe_result
from pathgan.schemes import BINARY, CONSEP
from pathgan.synthesis import Synthesizer
from pathgan.synthetic_data import write_synthetic_dataset


@pytest.fixture
def base(tmp_path) -> Path:
    path = tmp_path / "ckpts" / "base.safetensors"
    save_generator(path, make_tiny_generator(), CONSEP, {"disc": "vanilla", "steps": 5})
    return path


# -- uploads -----------------------------------------------------------------------------------------

def test_uploads_that_escape_or_explode_are_refused_before_anything_is_written(tmp_path):
    def archive(name, entries, compression=zipfile.ZIP_STORED):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w", compression) as z:
            for arcname, data in entries:
                z.writestr(arcname, data)
        return path

    cases = [
        (archive("slip.zip", [("images/../../evil.txt", b"x")]), Limits(), "must stay inside"),
        (archive("abs.zip", [("/etc/evil.txt", b"x")]), Limits(), "must stay inside"),
        (archive("many.zip", [(f"images/{i}.png", b"x") for i in range(12)]), Limits(max_files=10), "12 files; at most 10"),
        (archive("big.zip", [("images/a.bin", b"\0" * 4096)]), Limits(max_extracted_bytes=1000), "unpacks to"),
        (archive("bomb.zip", [("images/a.bin", b"\0" * 2_000_000)], zipfile.ZIP_DEFLATED), Limits(), "zip bomb"),
    ]
    for path, limits, message in cases:
        dest = tmp_path / f"out-{path.stem}"
        with pytest.raises(UserError, match=message):
            extract_zip(path, dest, limits)
        assert not (tmp_path / "evil.txt").exists() and not (dest.exists() and any(p.is_file() for p in dest.rglob("*")))  # nothing written
    (tmp_path / "not.zip").write_bytes(b"PK nonsense")
    with pytest.raises(UserError, match="not a readable zip"):
        extract_zip(tmp_path / "not.zip", tmp_path / "x")
    with pytest.raises(UserError, match="at most 0 MB"):
        extract_zip(cases[0][0], tmp_path / "y", Limits(max_zip_bytes=10))


def test_every_bad_file_is_reported_and_nothing_starts(tmp_path, base, capsys):
    data = write_synthetic_dataset(tmp_path / "d", pairs=4, splits=("train",))
    (data / "masks" / "train" / "train_000.png").unlink()  # an image without its mask
    Image.fromarray(np.full((256, 256, 3), (200, 0, 200), np.uint8)).save(data / "masks" / "train" / "train_001.png")  # unknown colours
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(data / "images" / "train" / "small.png")
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(data / "masks" / "train" / "small.png")
    (data / "images" / "train" / "notes.txt").write_text("hello")
    root = extract_zip(zip_dataset(data, tmp_path / "up.zip"), tmp_path / "job" / "data")
    check = validate(root, base)
    assert not check.ok
    problems = ("train_000.jpg: no mask", "train_001.png: 100% of pixels match no class colour", "small.png: 100x100 is smaller than 256x256",
                "notes.txt: not an image file", "nothing was started")
    for text in problems:
        assert text in check.report, text
    # The command line runs the same checks, before it writes anything.
    assert main(["finetune", "--checkpoint", str(base), "--data", str(data), "--out", str(tmp_path / "cli"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert all(text in err for text in problems) and not (tmp_path / "cli").exists()


def test_local_server_folders_are_refused_unless_the_app_allows_them(tmp_path, base):
    s, _ = parse_args([], environ={})
    assert s.allow_local_paths is False and parse_args(["--allow-local-paths"], environ={})[0].allow_local_paths
    data = write_synthetic_dataset(tmp_path / "d", pairs=2, splits=("train",))
    app = PathGANApp(AppSettings(checkpoint_search=(str(base.parent),), device="cpu"))
    manager = JobManager(tmp_path / "ft", "cpu", start_worker=False)
    closed = FinetuneTab(app.catalog, manager)
    with pytest.raises(UserError, match="server folders are not accepted"):
        closed.check(None, str(data), "base")
    with pytest.raises(UserError, match="server folders are not accepted"):
        closed.start(None, str(data), "base", "x", "", 2, 1e-4, 2, 0, 0, "fresh")
    assert "✅ 2 pairs" in FinetuneTab(app.catalog, manager, allow_local_paths=True).check(None, str(data), "base")
    guarded = FinetuneTab(app.catalog, manager, allow_local_paths=True, job_token="s3cret")
    with pytest.raises(UserError, match="needs the job token"):
        guarded.start(None, str(data), "base", "x", "", 2, 1e-4, 2, 0, 0, "fresh", token="guess")
    with pytest.raises(UserError, match="steps must be between 1 and"):
        FinetuneTab(app.catalog, JobManager(tmp_path / "ft2", "cpu", Limits(max_steps=5), start_worker=False), True).start(
            None, str(data), "base", "x", "", 50, 1e-4, 2, 0, 0, "fresh")
    assert manager.jobs() == []


# -- the trainer with a class map ---------------------------------------------------------------------

def test_a_binary_dataset_fine_tunes_a_four_class_checkpoint_through_a_class_map(tmp_path, base, capsys):
    data = write_synthetic_dataset(tmp_path / "nuclei", pairs=4, splits=("train",), scheme=BINARY)
    args = ["finetune", "--checkpoint", str(base), "--data", str(data), "--steps", "3", "--d-warmup-steps", "1", "--batch-size", "2",
            "--device", "cpu", "--sample-every", "100"]
    assert main(args + ["--out", str(tmp_path / "refused")]) == 2  # the tab's checks, in the command line's words
    err = capsys.readouterr().err
    assert "but your data has 1 class (nucleus)" in err and "Map those classes onto the checkpoint's: --class-map nucleus=epithelial" in err
    assert "nothing was started" in err and not (tmp_path / "refused").exists()
    assert main(args + ["--out", str(tmp_path / "run"), "--class-map", "nucleus=epithelial", "--calibrate"]) == 0
    calibrated = read_config(tmp_path / "run" / "generator-calibrated.safetensors")  # fitted on the user's own split, map kept
    assert calibrated["compression"]["fitted_on"]["split"] == "train" and calibrated["class_map"]["lut"] == [0, 3]
    result = read_config(tmp_path / "run" / "result.safetensors")  # 4 pairs hold out one 256-px tile: too few crops to judge
    assert result["provenance"]["holdout"]["file"] == "generator-calibrated.safetensors" and "too few to score" in describe_result(tmp_path / "run")
    said = describe_result(tmp_path / "run")  # what the tab shows when the job is done: whether the colour map was kept, and why
    assert "Post-processing of the result:" in said and ("(colour map kept: FID" in said or "(colour map dropped: FID" in said)
    out = tmp_path / "run" / "generator.safetensors"
    config = read_config(out)
    assert config["scheme"]["names"] == ["background", "nucleus"] and config["class_map"]["lut"] == [0, 3]
    assert config["generator"]["num_classes"] == 4 and config["provenance"]["class_map"] == "nucleus=epithelial"
    assert config["provenance"]["base_checkpoint"]["path"] == str(base) and len(config["provenance"]["base_checkpoint"]["sha256"]) == 64
    tuned, original = Synthesizer.from_checkpoint(out, "cpu"), Synthesizer.from_checkpoint(base, "cpu")
    nuclei = (np.asarray(Image.open(next((data / "masks" / "train").iterdir()))) > 0).astype(np.uint8)
    tile = tuned.generate(nuclei, [0])[0]  # takes masks in the user's classes
    assert tile.shape == (256, 256, 3) and not np.array_equal(tile, original.generate(nuclei * 3, [0])[0])
    assert read_config(base)["scheme"]["names"] == list(CONSEP.names)  # the base is never modified


# -- jobs through the worker ----------------------------------------------------------------------------

def wait_for(manager: JobManager, job_id: str, until, timeout: float = 120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        p = manager.progress(job_id)
        if until(p):
            return p
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} stuck: {manager.job(job_id)}; log: {(manager.job(job_id).folder / 'worker.log').read_text()[-2000:]}")


@pytest.fixture
def jobs(tmp_path, base):
    data = write_synthetic_dataset(tmp_path / "pairs", pairs=4, splits=("train",))
    upload = zip_dataset(data, tmp_path / "pairs.zip")
    folder = tmp_path / "finetuned"
    app = PathGANApp(AppSettings(checkpoint_search=(str(base.parent), str(folder)), device="cpu", output_dir=tmp_path / "exports"))
    manager = JobManager(folder, "cpu", poll_s=0.2)
    yield FinetuneTab(app.catalog, manager), upload
    manager.stop()
    for job in manager.jobs():
        if job.pid and job.status == "running":
            try:
                os.killpg(job.pid, signal.SIGKILL)
            except OSError:
                pass


def start(tab: FinetuneTab, upload: Path, name: str, steps: int) -> str:
    text, job_id = tab.start(str(upload), "", "base", name, "", steps, 1e-4, 2, 1, 0.9, "fresh")
    assert "✅ 4 pairs" in text
    job = tab.manager.job(job_id)
    job.settings.update(checkpoint_every=2, sample_every=2)  # frequent saves, so cancel and resume have something to keep
    tab.manager._save(job)
    return job_id


def test_one_job_at_a_time_cancel_and_resume_to_a_new_checkpoint_in_the_list(jobs):
    tab, upload = jobs
    first, second = start(tab, upload, "first", 16), start(tab, upload, "second", 3)
    wait_for(tab.manager, first, lambda p: p["job"].status == "running")
    assert tab.manager.job(second).status == "queued"  # waits its turn, visibly
    assert "before it started" in tab.cancel(second) and tab.manager.job(second).status == "cancelled"
    p = wait_for(tab.manager, first, lambda p: p["step"] >= 4 and p["sample"] is not None)
    status, plot, sample = tab.view(first)
    assert "running" in status and "Step" in status and Path(plot).is_file() and Path(sample).is_file()
    tab.cancel(first)
    p = wait_for(tab.manager, first, lambda p: p["job"].status == "cancelled")
    assert (p["job"].run / "generator.safetensors").is_file() and p["step"] < 16  # stopped cleanly, last checkpoint kept
    with pytest.raises(UserError, match="only queued or running"):
        tab.cancel(first)
    tab.resume(first)
    p = wait_for(tab.manager, first, lambda p: p["job"].status in ("done", "failed"))
    assert p["job"].status == "done" and p["step"] == 16, p["job"].message
    out = Path(p["job"].output)
    assert out.name == "first.safetensors" and out.parent == tab.manager.folder
    tab.catalog.rescan()
    assert "first" in [e.name for e in tab.catalog.entries]  # in every checkpoint dropdown
    mask = np.asarray(Image.open(next((tab.manager.job(first).run.parent / "data").rglob("*.png"))))
    tuned, original = Synthesizer.from_checkpoint(out, "cpu"), Synthesizer.from_checkpoint(tab.manager.job(first).checkpoint, "cpu")
    assert not np.array_equal(tuned.generate(mask, [1])[0], original.generate(mask, [1])[0])  # it loads, and it has moved
    records = [json.loads(line) for line in (p["job"].run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == sorted({r["step"] for r in records})  # resumed where it stopped, no step twice


def test_a_killed_worker_resumes_exactly_and_a_restart_marks_running_jobs_interrupted(jobs, tmp_path):
    tab, upload = jobs
    job_id = start(tab, upload, "killed", 10)
    p = wait_for(tab.manager, job_id, lambda p: p["step"] >= 4)
    os.killpg(p["job"].pid, signal.SIGKILL)
    p = wait_for(tab.manager, job_id, lambda p: p["job"].status != "running")
    assert p["job"].status == "interrupted" and "Resume" in p["job"].message
    tab.resume(job_id)
    p = wait_for(tab.manager, job_id, lambda p: p["job"].status in ("done", "failed"))
    assert p["job"].status == "done" and p["step"] == 10
    # An app that stopped with a job running: the next one shows it as interrupted.
    job = tab.manager.job(job_id)
    tab.manager._save(job, status="running", pid=999999)
    tab.manager.stop()
    again = JobManager(tab.manager.folder, "cpu", start_worker=False)
    assert again.job(job_id).status == "interrupted"


def test_the_saved_discriminator_is_used_when_there_is_one(tmp_path, base):
    from pathgan.finetune import FinetuneConfig, train_config

    cfg = FinetuneConfig(data=str(tmp_path / "d"), out=str(tmp_path / "o"))
    assert cfg.discriminator == "auto" and train_config(base, cfg).init_discriminator == ""  # none saved: a fresh one
    with pytest.raises(ValueError, match="no discriminator saved beside it"):
        train_config(base, FinetuneConfig(data=cfg.data, out=cfg.out, discriminator="beside"))
    beside = base.with_name(f"{base.stem}.discriminator.safetensors")
    beside.write_bytes(b"")  # found by name; the trainer checks its contents when it loads it
    assert train_config(base, cfg).init_discriminator == str(beside)
    assert train_config(base, FinetuneConfig(data=cfg.data, out=cfg.out, discriminator="fresh")).init_discriminator == ""


def test_the_trainer_config_takes_every_setting_the_two_configs_share(base):
    from dataclasses import fields

    from pathgan.finetune import FinetuneConfig, train_config
    from pathgan.training.config import TrainConfig

    cfg = FinetuneConfig(data="d", out="o", split=".", scheme="binary", class_map="nucleus=epithelial", steps=7, lr=1e-3, batch_size=3,
                         d_warmup_steps=2, ema_decay=0.5, diversity_weight=0.3, holdout_every=4, checkpoint_every=3, sample_every=2, seed=9,
                         device="cpu")
    trained = train_config(base, cfg).validate()
    shared = {f.name for f in fields(FinetuneConfig)} & {f.name for f in fields(TrainConfig)} - {"discriminator"}
    assert len(shared) == 16 and {n: getattr(trained, n) for n in shared} == {n: getattr(cfg, n) for n in shared}
    assert (trained.sample_split, trained.log_every, trained.init_generator, trained.discriminator.arch) == (".", 1, str(base), "vanilla")


# -- the issues a new user met ----------------------------------------------------------------------------

def test_a_binary_zip_without_a_scheme_gets_the_clis_refusal_in_the_tab_then_works_once_told(tmp_path, base, capsys):
    data = write_synthetic_dataset(tmp_path / "nuclei", pairs=4, splits=("train",), scheme=BINARY)
    (data / "scheme.json").unlink()  # masks 0/1, nothing saying what they are
    upload = zip_dataset(data, tmp_path / "my-lab.zip")
    app = PathGANApp(AppSettings(checkpoint_search=(str(base.parent),), device="cpu"))
    tab = FinetuneTab(app.catalog, JobManager(tmp_path / "ft", "cpu", start_worker=False))
    assert main(["finetune", "--checkpoint", str(base), "--data", str(data), "--out", str(tmp_path / "cli"), "--device", "cpu"]) == 2
    cli = capsys.readouterr().err
    report = tab.check(str(upload), "", "base")
    for text in ("Data: my-lab.zip", "my-lab.zip states no class scheme", "hold the values {0, 1}", '"names": ["background", "nucleus"]',
                 'choose "binary" under *Your masks\' classes*'):
        assert text in report, text
    assert "states no class scheme" in cli and "--scheme binary" in cli and str(tmp_path) not in report  # no server path shown
    with pytest.raises(UserError, match="states no class scheme"):
        tab.start(str(upload), "", "base", "x", "", 2, 1e-4, 2, 0, 0, "fresh")
    told = tab.check(str(upload), "", "base", scheme="binary")
    assert "❌" in told and "write nucleus=epithelial under *Class map*" in told
    assert "✅ 4 pairs" in tab.check(str(upload), "", "base", scheme="consep")  # said outright: read as CoNSeP's ids
    BINARY.save(data / "scheme.json")  # a named scheme that the data's own scheme.json contradicts is refused
    contradicted = tab.check(str(zip_dataset(data, tmp_path / "stated.zip")), "", "base", scheme="consep")
    assert "stated.zip/scheme.json states 1 class (nucleus), but 4 classes" in contradicted and str(tmp_path) not in contradicted
    mapped = tab.check(str(upload), "", "base", "nucleus=epithelial", "binary")
    assert "✅ 4 pairs" in mapped and "Class map: nucleus=epithelial" in mapped and "Discriminator: a fresh one" in mapped
    text, job_id = tab.start(str(upload), "", "base", "x", "nucleus=epithelial", 2, 1e-4, 2, 0, 0, "auto", scheme="binary")
    command = tab.manager.command(tab.manager.job(job_id))
    assert command[command.index("--scheme") + 1] == "binary" and command[command.index("--class-map") + 1] == "nucleus=epithelial"


def test_the_tab_says_which_discriminator_a_fine_tune_plays_against(tmp_path, base):
    app = PathGANApp(AppSettings(checkpoint_search=(str(base.parent),), device="cpu"))
    tab = FinetuneTab(app.catalog, JobManager(tmp_path / "ft", "cpu", start_worker=False))
    with pytest.raises(UserError, match="no fine-tuning job"):
        tab.view("gone")
    assert tab.poll("gone") == ("⚠️ no fine-tuning job 'gone'", None, None)  # the timer shows it in place, never a toast per tick
    assert "a fresh one (base has none saved beside it)" in tab.discriminator_note("base", "auto")
    assert "none: base has no discriminator saved beside it" in tab.discriminator_note("base", "beside")
    base.with_name("base.discriminator.safetensors").write_bytes(b"")
    assert "the one saved beside it (base.discriminator.safetensors)" in tab.discriminator_note("base", "auto")
    assert tab.discriminator_note("base", "fresh").endswith("a fresh one.")


def test_remaining_time_is_projected_from_joint_steps_not_the_cheap_warm_up():
    warmup, joint, steps = 0.5, 2.0, 100  # seconds per step, as a D-only warm-up and a joint step differ
    records = [{"step": s, "wall_time_s": s * warmup if s <= 20 else 20 * warmup + (s - 20) * joint} for s in range(1, 31)]
    assert remaining_seconds(records[:8], steps, 20) is None  # warm-up only: the pace of what follows is not known yet
    assert remaining_seconds(records, steps, 20) == pytest.approx(70 * joint)
    naive = records[-1]["wall_time_s"] / 30 * 70  # what was shown before: 3x too optimistic at the first joint step
    assert remaining_seconds(records[:22], steps, 20) == pytest.approx(78 * joint) and naive < 70 * joint
    plain = [{"step": s, "wall_time_s": s * joint} for s in range(1, 11)]  # no warm-up: every step is joint
    assert remaining_seconds(plain, steps, 0) == pytest.approx(90 * joint)


def test_the_loss_legend_never_overlaps():
    widths = [150.0, 170.0, 160.0]
    spots = legend_layout(widths, 10, 100, 400)
    for (x0, y0), w0, (x1, y1) in zip(spots, widths, spots[1:]):
        assert y1 > y0 or x1 >= x0 + w0  # next entry starts right of this one, or on a new row
    assert all(x + w <= 390 for (x, _), w in zip(spots, widths)) and len({y for _, y in spots}) == 2


class _Fixed:
    """A stand-in synthesizer: the real tile itself (a perfect generator) or noise (a broken one)."""
    def __init__(self, tiles: dict, perfect: bool):
        self.tiles, self.perfect, self.scheme = tiles, perfect, CONSEP

    def generate(self, ids, seeds):
        tile = self.tiles[ids.tobytes()]
        rng = np.random.default_rng(0)
        return [tile if self.perfect else rng.integers(0, 256, tile.shape, dtype=np.uint8) for _ in seeds]


def test_the_held_out_check_keeps_the_base_when_the_fine_tune_is_worse(tmp_path):
    from pathgan.dataset import scan_dataset
    from pathgan.holdout import judge
    from pathgan.images import read_rgb
    from pathgan.masks import read_mask
    from pathgan.metrics import InceptionFeatures

    data = write_synthetic_dataset(tmp_path / "d", pairs=6, splits=("train",))
    pairs = scan_dataset(data, "train").pairs
    tiles = {read_mask(p.mask_path, CONSEP).tobytes(): read_rgb(p.image_path) for p in pairs}
    extractor = InceptionFeatures(device="cpu")
    verdict = judge({"base": _Fixed(tiles, True), "fine-tuned": _Fixed(tiles, False)}, pairs, extractor)
    assert verdict.kept_base and verdict.scores["base"]["fid"] < verdict.scores["fine-tuned"]["fid"] and "beat the base" in verdict.describe()
    verdict = judge({"base": _Fixed(tiles, False), "fine-tuned": _Fixed(tiles, True)}, pairs, extractor)
    assert verdict.chosen == "fine-tuned" and verdict.views == {"real": 6, "base": 12, "fine-tuned": 12}


def test_a_fine_tune_that_loses_on_held_out_pairs_delivers_the_base_and_keeps_its_own_files(tmp_path, base, monkeypatch):
    import pathgan.holdout as holdout

    data = write_synthetic_dataset(tmp_path / "nuclei", pairs=16, splits=("train",), scheme=BINARY)
    real_judge = holdout.judge

    def lost(candidates, pairs, extractor, **kw):  # the real scoring, then the fine-tune made to lose it
        verdict = real_judge(candidates, pairs, extractor, **kw)
        verdict.scores = {n: ({"fid": 100.0, "kid": 0.1} if n == "base" else {"fid": 200.0, "kid": 0.2}) for n in verdict.scores}
        verdict.chosen = "base"
        return verdict

    monkeypatch.setattr(holdout, "judge", lost)
    run = tmp_path / "run"
    assert main(["finetune", "--checkpoint", str(base), "--data", str(data), "--out", str(run), "--class-map", "nucleus=epithelial",
                 "--steps", "2", "--d-warmup-steps", "1", "--batch-size", "2", "--device", "cpu", "--sample-every", "100"]) == 0
    verdict = json.loads((run / "holdout.json").read_text())
    assert verdict["held_out"] == ["train_000", "train_008"] and verdict["views"]["real"] == 2
    assert {"generator.safetensors", "generator-raw.safetensors", "discriminator.safetensors", BASE_FILE} <= {p.name for p in run.iterdir()}
    result, original = Synthesizer.from_checkpoint(run / RESULT_FILE, "cpu"), Synthesizer.from_checkpoint(base, "cpu")
    nuclei = np.asarray(Image.open(data / "masks" / "train" / "train_003.png"))
    assert np.array_equal(result.generate(nuclei, [2])[0], original.generate(nuclei * 3, [2])[0])  # the base, in the user's classes
    assert read_config(run / RESULT_FILE)["provenance"]["holdout"]["chosen"] == "base"
    assert "No fine-tuned network beat the base" in describe_result(run)
    trained = read_config(run / "generator.safetensors")["provenance"]
    assert trained["held_out"] == ["train_000", "train_008"] and trained["dataset"]["pairs"] == 14  # never trained on
