"""`python -m pathgan tell`: the transforms, the probe under them, the per-class statistics and the report."""
from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

from pathgan.cli import main
from pathgan.images import read_rgb
from pathgan.layouts import random_layout
from pathgan.masks import read_mask
from pathgan.schemes import CONSEP
from pathgan.synthetic_data import synthetic_image, write_synthetic_dataset
from pathgan.tell import BASELINE, CROP_SIZE, DOWN_SIZE, LAB_TARGET_MEAN, LAB_TARGET_STD, MEASURES, TRANSFORMS
from pathgan.tell import ClassStatistics, TellConfig, find_the_tell, lab_to_rgb, parse_transforms, probe_transforms, rgb_to_lab


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PATHGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PATHGAN_INCEPTION", raising=False)


class ColourTextureExtractor:
    """Stands in for Inception: per-channel mean and std and the mean absolute horizontal step, per view."""

    def __init__(self):
        self.views = []

    def describe(self):
        return {"weights_sha256": "fake", "preprocessing": "fake", "extractor": "colour/texture stand-in"}

    def features(self, images, total=None, desc="", progress=True):
        rows = []
        for im in images:
            self.views.append(im.shape)
            x = im.astype(np.float64)
            rows.append(np.r_[x.reshape(-1, 3).mean(0), x.reshape(-1, 3).std(0), np.abs(np.diff(x, axis=1)).mean()])
        return np.asarray(rows, np.float32)


def tile(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return synthetic_image(random_layout(256, seed, CONSEP), rng)


def test_every_transform_gives_an_rgb_uint8_view_and_does_what_it_says():
    im = tile()
    out = {name: t.apply(im) for name, t in TRANSFORMS.items()}
    for name, o in out.items():
        assert o.dtype == np.uint8 and o.ndim == 3 and o.shape[2] == 3, name
        assert o.shape == im.shape or name in ("down-128", "crop-64"), name
    assert out[BASELINE] is im
    g = out["grey"]
    assert np.array_equal(g[..., 0], g[..., 1]) and np.array_equal(g[..., 1], g[..., 2])
    lab = rgb_to_lab(out["colour-norm"]).reshape(-1, 3)
    np.testing.assert_allclose(lab.mean(0), LAB_TARGET_MEAN, atol=1.0)
    np.testing.assert_allclose(lab.std(0), LAB_TARGET_STD, rtol=0.08)
    assert out["down-128"].shape == (DOWN_SIZE, DOWN_SIZE, 3)
    c = out["crop-64"]
    assert c.shape == (CROP_SIZE, CROP_SIZE, 3)
    assert any(np.array_equal(c, im[y : y + CROP_SIZE, x : x + CROP_SIZE]) for y in range(193) for x in range(193))
    assert np.array_equal(TRANSFORMS["crop-64"].apply(im), c)  # the same view gets the same crop
    # blur removes fine texture and keeps the mean; high-pass removes the mean and keeps the texture
    step = lambda x: np.abs(np.diff(x.astype(float), axis=1)).mean()  # noqa: E731
    assert step(out["blur"]) < step(im) / 2 and abs(out["blur"].mean() - im.mean()) < 1
    assert abs(out["high-pass"].astype(float).mean((0, 1)) - 128).max() < 2 and step(out["high-pass"]) > step(im) / 2
    j = out["jpeg"]
    assert 0 < np.abs(j.astype(int) - im).mean() < 6  # lossy, but close


def test_transform_names_are_checked_and_the_baseline_always_comes_first():
    assert parse_transforms("grey,blur,grey") == [BASELINE, "grey", "blur"]
    assert parse_transforms(TellConfig().transforms) == list(TRANSFORMS)
    with pytest.raises(ValueError, match="unknown transform.*sepia.*choose from none, blur"):
        parse_transforms("grey,sepia")


def test_the_probe_is_at_chance_for_identical_sets_and_finds_a_colour_tell(tmp_path):
    from PIL import Image

    real, shifted, more = [], [], []
    for i in range(30):
        im = tile(i)
        real.append(tmp_path / f"real_{i:02d}.png")
        Image.fromarray(im).save(real[-1])
        lab = rgb_to_lab(im)  # a colour tell, nothing else: a red cast and less contrast, in Lab
        lab[..., 0], lab[..., 1] = lab[..., 0] * 0.9 + 5, lab[..., 1] + 8
        shifted.append(tmp_path / f"tinted_{i:02d}.png")
        Image.fromarray(lab_to_rgb(lab)).save(shifted[-1])
        more.append(tmp_path / f"more_{i:02d}.png")  # other tiles from the same source
        Image.fromarray(tile(100 + i)).save(more[-1])
    names = ["none", "colour-norm", "grey", "crop-64"]
    for other in (real, more):
        for row in probe_transforms(real, other, None, names, ColourTextureExtractor(), progress=False):
            acc = row["synthetic"]
            assert "floor" not in row and acc["n_per_set"] == 30
            # Two draws of one source: chance, within 3 standard errors of 60 guesses. The same files on both sides: never
            # above chance (a tile's twin with the other label in the training folds pulls it to the wrong side: about 0.3).
            ok = abs(acc["accuracy"] - 0.5) <= 0.2 if other is more else acc["accuracy"] <= 0.5
            assert ok, (row["transform"], acc["accuracy"])
    ext = ColourTextureExtractor()
    rows = probe_transforms(real, shifted, real[::-1], names, ext, progress=False)
    by = {r["transform"]: r for r in rows}
    assert by["none"]["synthetic"]["accuracy"] > 0.9 and by["none"]["drop"] == 0
    assert rows[0]["transform"] == "colour-norm" and by["colour-norm"]["drop"] > 0.3  # lowest first: the transform that hides the tell
    assert [r["synthetic"]["accuracy"] for r in rows] == sorted(r["synthetic"]["accuracy"] for r in rows)
    assert by["none"]["above_floor"] == pytest.approx(by["none"]["synthetic"]["accuracy"] - by["none"]["floor"]["accuracy"])
    assert (64, 64, 3) in ext.views and (256, 256, 3) in ext.views


def test_class_statistics_pool_the_pixels_of_each_class():
    ids = np.zeros((32, 32), np.uint8)
    ids[8:16, 8:16] = 3
    flat = np.full((32, 32, 3), 120, np.uint8)
    s = ClassStatistics(4)
    s.add(flat, ids)
    s.add(np.full((32, 32, 3), 200, np.uint8), ids)
    r = s.result(list(CONSEP.names))
    assert r["background"]["pixels"] == 2 * (1024 - 64) and r["epithelial"]["pixels"] == 128 and r["inflammatory"] == {"pixels": 0}
    lab120, lab200 = rgb_to_lab(flat)[0, 0], rgb_to_lab(np.full((1, 1, 3), 200, np.uint8))[0, 0]
    assert r["epithelial"]["L"]["mean"] == pytest.approx((lab120[0] + lab200[0]) / 2, abs=1e-3)
    assert r["epithelial"]["L"]["std"] == pytest.approx(abs(lab200[0] - lab120[0]) / 2, abs=1e-3)
    assert r["epithelial"]["gradient"]["mean"] == pytest.approx(0, abs=1e-4) and set(MEASURES) < set(r["epithelial"])
    with pytest.raises(ValueError, match="differ in size"):
        s.add(flat[:16], ids)


def test_find_the_tell_renders_the_masks_and_reports_every_transform(tiny_checkpoint, tmp_path):
    data = write_synthetic_dataset(tmp_path / "data", pairs=6)
    r = find_the_tell(tiny_checkpoint, TellConfig(data=str(data), seeds="3,4", out=str(tmp_path / "out"), device="cpu"),
                      progress=False, extractor=ColourTextureExtractor())
    assert [row["transform"] for row in sorted(r["probe"], key=lambda x: list(TRANSFORMS).index(x["transform"]))] == list(TRANSFORMS)
    assert all(row["synthetic"]["n_per_set"] == 6 and row["floor"]["n_per_set"] == 6 for row in r["probe"])
    assert r["n"] == {"masks": 6, "synthetic_probe": 6, "train": 6} and r["seeds"] == [3, 4]
    stems = sorted(p.stem for p in (data / "masks" / "test").iterdir())
    assert sorted(p.name for p in (tmp_path / "out" / "images").iterdir()) == sorted(f"{s}_seed{k:04d}.png" for s in stems for k in (3, 4))
    c = r["class_statistics"]
    masks = [read_mask(data / "masks" / "test" / f"{s}.png", CONSEP) for s in stems]
    for k, name in enumerate(CONSEP.names):
        n = sum(int((m == k).sum()) for m in masks)
        assert c["real"][name]["pixels"] == n and c["synthetic"][name]["pixels"] == 2 * n
    bg = ClassStatistics(4)
    for s, m in zip(stems, masks):
        bg.add(read_rgb(data / "images" / "test" / f"{s}.jpg"), m)
    assert c["real"] == bg.result(list(CONSEP.names))
    d = c["synthetic_minus_real"]["background"]["L"]
    assert d["mean"] == pytest.approx(c["synthetic"]["background"]["L"]["mean"] - c["real"]["background"]["L"]["mean"])
    assert json.loads((tmp_path / "out" / "tell.json").read_text()) == json.loads(json.dumps(r))


def test_tell_command_writes_json_and_markdown_with_the_reproducing_command(tiny_checkpoint, tmp_path, capsys):
    data = write_synthetic_dataset(tmp_path / "data", pairs=6)
    out = tmp_path / "tell"
    rc = main(["tell", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--split", "test", "--seeds", "0",
               "--transforms", "grey", "--no-floor", "--out", str(out), "--device", "cpu", "--batch-size", "6"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    r = json.loads((out / "tell.json").read_text())
    md = (out / "tell.md").read_text()
    assert r["command"].startswith("python -m pathgan tell --checkpoint ") and "--transforms grey" in r["command"] and "--no-floor" in r["command"]
    assert sorted(row["transform"] for row in r["probe"]) == ["grey", "none"] and "floor" not in r["probe"][0]
    assert r["feature_extractor"]["extractor"].startswith("FID Inception-v3")
    for text in (r["command"], "| transform |", "| grey |", "| none |", "## Colour and texture per class", "| background |", "floor: not measured"):
        assert text in md and text in printed, text
    # the recorded command runs as written and reproduces the numbers (features now come from the cache)
    argv = shlex.split(r["command"])[3:]
    assert main(argv) == 0
    again = json.loads((out / "tell.json").read_text())
    assert again["probe"] == r["probe"] and again["class_statistics"] == r["class_statistics"]


def test_tell_help_lists_the_registry_and_refuses_unknown_transforms(tiny_checkpoint, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["tell", "--help"])
    assert ", ".join(TRANSFORMS) in " ".join(capsys.readouterr().out.split())
    data = write_synthetic_dataset(tmp_path / "data", pairs=6)
    assert main(["tell", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--transforms", "sepia", "--out", str(tmp_path / "o")]) == 2
    assert "unknown transform(s) sepia" in capsys.readouterr().err
