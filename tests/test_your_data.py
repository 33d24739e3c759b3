"""Your own data, end to end: datasets built from CoNSeP the way other public sets come (binary 0/255 masks,
large TIFF tiles, a class list of their own), driven through train, generate, evaluate and the app's API."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pathgan.checkpoint import read_config
from pathgan.cli import main
from pathgan.images import read_rgb
from pathgan.masks import ids_to_palette, read_mask
from pathgan.post_processing import PostProcessing
from pathgan.schemes import BINARY, CONSEP, ClassScheme
from pathgan.synthesis import Synthesizer

TWO = ClassScheme(("background", "epithelial", "other", "mitotic"), ((0, 0, 0), (255, 0, 255), (0, 255, 255), (255, 255, 0)))
TINY = ["--steps", "2", "--ngf", "4", "--ndf", "4", "--batch-size", "2", "--device", "cpu", "--sample-every", "1000",
        "--checkpoint-every", "1000", "--log-every", "1"]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PATHGAN_CACHE", str(tmp_path / "cache"))


def consep_pairs(consep_root: Path, split: str, n: int):
    for mask in sorted((consep_root / "masks" / split).glob("*.png"))[:n]:
        yield mask.stem, read_rgb(consep_root / "images" / split / f"{mask.stem}.jpg"), read_mask(mask, CONSEP)


def build(root: Path, consep_root: Path, write, counts=(("train", 6), ("test", 4))) -> Path:
    for split, n in counts:
        (root / "images" / split).mkdir(parents=True)
        (root / "masks" / split).mkdir(parents=True)
        for stem, image, ids in consep_pairs(consep_root, split, n):
            write(root, split, stem, image, ids)
    return root


@pytest.fixture
def binary_data(tmp_path, consep_root) -> Path:
    """Any nucleus -> 255, saved as 0/255 PNG; no scheme.json, as such sets usually come."""
    def write(root, split, stem, image, ids):
        Image.fromarray(image).save(root / "images" / split / f"{stem}.jpg", quality=95)
        Image.fromarray(np.where(ids > 0, 255, 0).astype(np.uint8)).save(root / "masks" / split / f"{stem}.png")
    return build(tmp_path / "binary", consep_root, write)


@pytest.fixture
def mosaic_data(tmp_path, consep_root) -> Path:
    """Four 256 patches tiled into one 512x512 TIFF tile (image and id mask); 3 train tiles, 2 test tiles."""
    root = tmp_path / "mosaic"
    for split, tiles in (("train", 3), ("test", 2)):
        (root / "images" / split).mkdir(parents=True)
        (root / "masks" / split).mkdir(parents=True)
        pairs = list(consep_pairs(consep_root, split, 4 * tiles))
        for t in range(tiles):
            quad = pairs[4 * t : 4 * t + 4]
            image, ids = (np.concatenate([np.concatenate([quad[0][k], quad[1][k]], 1), np.concatenate([quad[2][k], quad[3][k]], 1)], 0)
                          for k in (1, 2))
            Image.fromarray(image).save(root / "images" / split / f"{split}_tile{t}.tif")
            Image.fromarray(ids).save(root / "masks" / split / f"{split}_tile{t}.tif")
    return root


@pytest.fixture
def two_class_data(tmp_path, consep_root) -> Path:
    """Its own class list in scheme.json ('colours', as documented); palette masks in those colours; 'mitotic' never occurs."""
    def write(root, split, stem, image, ids):
        mine = np.choose(ids, [0, 2, 2, 1, 2]).astype(np.uint8)  # epithelial stays, every other nucleus is 'other'
        Image.fromarray(image).save(root / "images" / split / f"{stem}.jpg", quality=95)
        Image.fromarray(ids_to_palette(mine, TWO)).save(root / "masks" / split / f"{stem}.png")
    root = build(tmp_path / "two", consep_root, write)
    (root / "scheme.json").write_text(json.dumps({"names": list(TWO.names), "colours": [list(c) for c in TWO.colors]}))
    return root


def test_binary_masks_without_a_scheme_are_refused_then_train_generate_and_evaluate(binary_data, tmp_path, capsys):
    run = tmp_path / "runs" / "binary"
    assert main(["train", "--data", str(binary_data), "--out", str(run), *TINY]) == 2
    err = capsys.readouterr().err
    for text in ("states no class scheme", "{0, 255}", '"names": ["background", "nucleus"]', "--scheme binary", "--scheme consep"):
        assert text in err, text
    assert not run.exists()  # nothing started

    assert main(["train", "--data", str(binary_data), "--out", str(run), "--scheme", "binary", *TINY]) == 0
    out = capsys.readouterr().out
    assert "1 class (nucleus)" in out and "pairs: test 4 pairs, train 6 pairs" in out and "pixel shares: background" in out
    ckpt = run / "generator.safetensors"
    assert read_config(ckpt)["scheme"]["names"] == ["background", "nucleus"]

    mask = next((binary_data / "masks" / "test").iterdir())
    assert main(["generate", "--checkpoint", str(ckpt), "--masks", str(mask), "--seeds", "0-1", "--out", str(tmp_path / "gen"), "--device", "cpu"]) == 0
    assert read_rgb(tmp_path / "gen" / f"{mask.stem}_seed0001.png").shape == (256, 256, 3)

    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(binary_data), "--seeds", "0", "--out", str(tmp_path / "eval"),
                 "--device", "cpu"]) == 0
    r = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert r["n"]["masks"] == 4 and r["kid_std"] is None  # 4 synthetic vs 4 real: every KID subset is both whole sets
    assert r["floor"]["kid_std"] > 0  # 4 real vs 6 real: the subsets of the larger set differ
    # A 4-class CoNSeP checkpoint on this data: refused, naming both schemes.
    consep_ckpt = tmp_path / "consep.safetensors"
    from helpers import make_tiny_generator
    from pathgan.checkpoint import save_generator

    save_generator(consep_ckpt, make_tiny_generator(), CONSEP)
    cpu = ["--device", "cpu"]
    assert main(["evaluate", "--checkpoint", str(consep_ckpt), "--data", str(binary_data), "--out", str(tmp_path / "e2"), *cpu]) == 2
    err = capsys.readouterr().err
    assert "masks hold only {0, 255}: nucleus or not" in err and "--scheme binary and --class-map nucleus=epithelial" in err
    # ...and each command takes the binary masks once told: the scheme, then the map onto the checkpoint's classes.
    binary = ["--scheme", "binary"]
    assert main(["generate", "--checkpoint", str(consep_ckpt), "--masks", str(mask), "--out", str(tmp_path / "g2"), *binary, *cpu]) == 2
    assert "Map those classes onto the checkpoint's: --class-map nucleus=epithelial" in capsys.readouterr().err
    mapped = [*binary, "--class-map", "nucleus=epithelial"]
    assert main(["generate", "--checkpoint", str(consep_ckpt), "--masks", str(mask), "--out", str(tmp_path / "g2"), *mapped, *cpu]) == 0
    tile = read_rgb(tmp_path / "g2" / f"{mask.stem}_seed0000.png")
    as_epithelial = Synthesizer.from_checkpoint(consep_ckpt, "cpu").generate((read_mask(mask, BINARY) * 3).astype(np.uint8), [0])[0]
    assert np.array_equal(tile, as_epithelial)  # every nucleus drawn as the checkpoint's epithelial class
    assert main(["evaluate", "--checkpoint", str(consep_ckpt), "--data", str(binary_data), "--seeds", "0", "--out", str(tmp_path / "e3"),
                 "--no-mask-fidelity", *mapped, *cpu]) == 0
    assert json.loads((tmp_path / "e3" / "report.json").read_text())["n"]["masks"] == 4
    calibrated = tmp_path / "consep-on-binary.safetensors"
    assert main(["calibrate", "--checkpoint", str(consep_ckpt), "--data", str(binary_data), "--out", str(calibrated), "--colour", "on",
                 *mapped, *cpu]) == 0
    config = read_config(calibrated)  # takes binary masks from now on, through the recorded map
    assert config["scheme"]["names"] == ["background", "nucleus"] and config["class_map"]["lut"] == [0, 3]
    assert np.array_equal(Synthesizer.from_checkpoint(calibrated, "cpu").generate(read_mask(mask, BINARY), [0])[0],
                          PostProcessing.from_config(config).apply([as_epithelial])[0])


def test_large_tiff_tiles_train_on_crops_and_are_judged_on_crops(mosaic_data, tmp_path, capsys):
    run = tmp_path / "runs" / "mosaic"
    assert main(["train", "--data", str(mosaic_data), "--out", str(run), "--scheme", "consep", *TINY]) == 0
    assert "train images: 3 of 512x512" in capsys.readouterr().out
    ckpt = run / "generator.safetensors"
    # calibrate judges its colour map on the same 256-px crops as evaluate, real and synthetic alike
    assert main(["calibrate", "--checkpoint", str(ckpt), "--data", str(mosaic_data), "--out", str(tmp_path / "cal.safetensors"),
                 "--colour", "auto", "--device", "cpu"]) == 0
    assert read_config(tmp_path / "cal.safetensors")["colour_selection"]["views"] == {"real": 12, "synthetic": 12}
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(mosaic_data), "--seeds", "0", "--out", str(tmp_path / "eval"),
                 "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    r = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert r["n"]["synthetic"] == 2 and r["n"]["real"] == 2 and r["n"]["train"] == 3
    assert {k: r["n"]["views"][k] for k in ("synthetic", "real", "train")} == {"synthetic": 8, "real": 8, "train": 12}
    assert r["n_real"] == 8 and r["n_fake"] == 8 and read_rgb(tmp_path / "eval" / "images" / "test_tile0_seed0000.png").shape == (512, 512, 3)
    assert "8 synthetic from 2 images, 8 real from 2 images, 12 train from 3 images" in printed
    assert "non-overlapping 256-px crops" in (tmp_path / "eval" / "report.md").read_text()
    # KID of 8 vs 8 crops: every subset is both whole sets, so no spread is claimed.
    assert r["kid_std"] is None and "±" not in printed.split("| KID ↓ |")[1].split("|")[0]

    a, b = mosaic_data / "images" / "test", mosaic_data / "images" / "train"
    assert main(["fid", str(a), str(b), "--json", str(tmp_path / "crops.json"), "--device", "cpu"]) == 0
    assert main(["fid", str(a), str(b), "--json", str(tmp_path / "whole.json"), "--device", "cpu", "--large-images", "resize"]) == 0
    crops, whole = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("crops", "whole"))
    assert (crops["n_a"], crops["n_b"], crops["images_a"]) == (8, 12, 2) and (whole["n_a"], whole["n_b"]) == (2, 3)
    assert "antialiased" in whole["views"] and crops["fid"] != whole["fid"]


def test_a_class_list_of_its_own_from_scheme_json(two_class_data, tmp_path, capsys):
    run = tmp_path / "runs" / "two"
    assert main(["train", "--data", str(two_class_data), "--out", str(run), *TINY]) == 0
    out = capsys.readouterr().out
    assert "3 classes (epithelial, other, mitotic)" in out and "warning: class 'mitotic' (id 3) never occurs in the train masks" in out
    ckpt = run / "generator.safetensors"
    assert read_config(ckpt)["scheme"]["names"] == list(TWO.names)
    mask = next((two_class_data / "masks" / "test").iterdir())  # a palette mask in the scheme's colours
    assert main(["generate", "--checkpoint", str(ckpt), "--masks", str(mask), "--seeds", "3", "--out", str(tmp_path / "gen"), "--device", "cpu"]) == 0
    # The scheme asked for must be the data's own: a contradiction is refused with both named.
    assert main(["train", "--data", str(two_class_data), "--out", str(tmp_path / "x"), "--scheme", "consep", *TINY]) == 2
    assert "states 3 classes (epithelial, other, mitotic), but 4 classes (miscellaneous" in capsys.readouterr().err
    # A checkpoint of another scheme is refused by evaluate and calibrate before any work.
    from helpers import make_tiny_generator
    from pathgan.checkpoint import save_generator

    other = tmp_path / "binary.safetensors"
    save_generator(other, make_tiny_generator(num_classes=1), BINARY)
    for command in (["evaluate", "--out", str(tmp_path / "e")], ["calibrate", "--out", str(tmp_path / "c.safetensors")]):
        assert main([command[0], "--checkpoint", str(other), "--data", str(two_class_data), *command[1:], "--device", "cpu"]) == 2
        err = capsys.readouterr().err
        assert "trained for 1 class (nucleus), but two has 3 classes (epithelial, other, mitotic)" in err


@pytest.mark.slow
def test_the_apps_api_with_a_one_class_checkpoint(binary_data, tmp_path):
    from gradio_client import Client, handle_file

    from app_server import AppProcess

    run = tmp_path / "runs" / "binary"
    assert main(["train", "--data", str(binary_data), "--out", str(run), "--scheme", "binary", *TINY]) == 0
    shutil.copy(run / "generator.safetensors", tmp_path / "nuclei.safetensors")
    shutil.copy(run / "generator.json", tmp_path / "nuclei.json")
    mask = next((binary_data / "masks" / "test").iterdir())  # 0/255
    with AppProcess(["--checkpoints", str(tmp_path), "--device", "cpu"], log_path=tmp_path / "app.log") as proc:
        client = Client(proc.url, verbose=False)
        tiles, snapped, pair_zip, info = client.predict(handle_file(str(mask)), 0, 2, "nuclei", api_name="/synthesize")
        assert len(tiles) == 2 and info["classes"] == ["background", "nucleus"]
        colours = {tuple(c) for c in np.unique(np.asarray(Image.open(snapped).convert("RGB")).reshape(-1, 3), axis=0)}
        assert colours == {(0, 0, 0), (255, 255, 255)}  # drawn in the binary scheme's colours


def test_the_binary_mosaic_benchmark_data_is_built_from_consep(consep_root, tmp_path):
    from pathgan.dataset import scan_dataset
    from pathgan.domain_shift import shift_stain, write_binary_mosaics

    root = write_binary_mosaics(consep_root, tmp_path / "bench", limit=1)
    assert not (root / "scheme.json").exists()  # as labs bring it: the masks say nothing about their classes
    image, ids = read_rgb(root / "images" / "test" / "test_1.tif"), np.asarray(Image.open(root / "masks" / "test" / "test_1.tif"))
    assert image.shape == (1000, 1000, 3) and ids.shape == (1000, 1000) and set(np.unique(ids)) == {0, 1}
    patch = read_rgb(consep_root / "images" / "test" / "test_1_005.jpg")  # row 1, column 1 of the 4 x 4 layout, lossless
    assert np.array_equal(image[256:512, 256:512], shift_stain(patch, 1.6, 0.5))
    assert np.array_equal(ids[256:512, 256:512], read_mask(consep_root / "masks" / "test" / "test_1_005.png", CONSEP) > 0)
    assert len(scan_dataset(root, "train", "binary").raise_if_problems().pairs) == 1
    with pytest.raises(ValueError, match="4 x 4 patches"):
        write_binary_mosaics(consep_root, tmp_path / "x", size=700)
