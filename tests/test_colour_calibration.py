"""Colour calibration: the fit, its storage in checkpoints, and that every tile gets it."""
import json

import numpy as np
import pytest

from helpers import random_mask
from pathgan.calibrate import CalibrationConfig, calibrate_checkpoint
from pathgan.checkpoint import CheckpointConfig, config_path, read_config
from pathgan.cli import main
from pathgan.colour_calibration import ColourCalibration, fit_colour_calibration
from pathgan.dataset import scan_dataset
from pathgan.images import read_rgb
from pathgan.masks import read_mask
from pathgan.synthesis import Synthesizer


def test_fit_recovers_a_known_per_channel_affine_map():
    rng = np.random.default_rng(0)
    synthetic = [rng.integers(60, 160, (32, 32, 3)).astype(np.uint8) for _ in range(5)]
    scale, offset = np.array([1.3, 0.8, 1.1]), np.array([-20.0, 30.0, 5.0])
    real = [np.rint(s * scale + offset).astype(np.uint8) for s in synthetic]
    cal = fit_colour_calibration(synthetic, real, {"split": "train"})
    np.testing.assert_allclose(cal.scale, scale, atol=0.01)
    np.testing.assert_allclose(cal.offset, offset, atol=1.0)
    assert max(np.abs(a.astype(int) - b).max() for a, b in zip(cal.apply(synthetic), real)) <= 1


def test_apply_rounds_clips_and_keeps_identity():
    im = np.array([[[0, 128, 255]]], np.uint8)
    assert np.array_equal(ColourCalibration((1.0, 1.0, 1.0), (0.0, 0.0, 0.0)).apply([im])[0], im)
    out = ColourCalibration((2.0, 1.0, 1.0), (10.0, -200.0, 0.4)).apply([im])[0]
    assert out.dtype == np.uint8 and out.tolist() == [[[10, 0, 255]]]


def test_flat_tiles_and_empty_sets_are_refused():
    flat = [np.full((8, 8, 3), 120, np.uint8)]
    with pytest.raises(ValueError, match="nearly flat"):
        fit_colour_calibration(flat, flat)
    with pytest.raises(ValueError, match="at least one"):
        fit_colour_calibration([], flat)


def test_calibrated_checkpoint_matches_real_colours_and_leaves_the_original(mini_dataset, tiny_checkpoint, tmp_path):
    before = tiny_checkpoint.read_bytes()
    result = calibrate_checkpoint(tiny_checkpoint, CalibrationConfig(data=str(mini_dataset), seeds="3", colour="on", device="cpu"))
    out, cal, compression = result.out, result.colour, result.compression
    assert out.name == "tiny-calibrated.safetensors" and tiny_checkpoint.read_bytes() == before
    assert "calibration" not in read_config(tiny_checkpoint)
    assert read_config(out)["calibration"] == json.loads(config_path(out).read_text())["calibration"]
    assert cal.fitted_on["split"] == "train" and cal.fitted_on["masks"] == len(scan_dataset(mini_dataset, "train").pairs)
    raw, calibrated = Synthesizer.from_checkpoint(tiny_checkpoint, "cpu"), Synthesizer.from_checkpoint(out, "cpu")
    mask = random_mask((300, 280))  # tiled and mirror-padded: the map is applied once, after blending
    # colour map, then the training tiles' JPEG encoding, each once, on the whole blended image
    assert np.array_equal(calibrated.generate(mask, [5])[0], compression.apply(cal.apply(raw.generate(mask, [5])))[0])
    # on the masks it was fitted on, the calibrated tiles have the real tiles' per-channel mean
    pairs = scan_dataset(mini_dataset, "train").pairs
    fake = np.stack([calibrated.generate(read_mask(p.mask_path, calibrated.scheme), [3])[0] for p in pairs])
    real = np.stack([read_rgb(p.image_path) for p in pairs])
    np.testing.assert_allclose(fake.reshape(-1, 3).mean(0), real.reshape(-1, 3).mean(0), atol=3.0)


def test_overwriting_the_input_is_refused(mini_dataset, tiny_checkpoint):
    with pytest.raises(ValueError, match="overwrite"):
        calibrate_checkpoint(tiny_checkpoint, CalibrationConfig(data=str(mini_dataset), out=str(tiny_checkpoint)))


def test_cli_calibrate(mini_dataset, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "c.safetensors"
    assert main(["calibrate", "--checkpoint", str(tiny_checkpoint), "--data", str(mini_dataset), "--out", str(out), "--device", "cpu",
                 "--colour", "on"]) == 0
    printed = capsys.readouterr().out
    assert "R x" in printed and f"wrote {out}" in printed
    assert read_config(out)["calibration"]["kind"] == "per-channel affine"
    with pytest.raises(SystemExit):
        main(["calibrate", "--checkpoint", str(tiny_checkpoint), "--data", str(mini_dataset), "--colour", "maybe"])


def test_auto_keeps_the_colour_map_only_if_it_lowers_fid_on_the_fitting_split(mini_dataset, tiny_checkpoint, tmp_path):
    from pathgan.post_processing import PostProcessing
    from pathgan.metrics import InceptionFeatures, feature_statistics, fid_from_stats

    result = calibrate_checkpoint(tiny_checkpoint, CalibrationConfig(data=str(mini_dataset), seeds="3,4", out=str(tmp_path / "a.safetensors"), device="cpu"))
    sel = result.selection
    assert sel["split"] == "train" and sel["images"] == 2 * len(scan_dataset(mini_dataset, "train").pairs)
    assert sel["kept"] == (sel["with"]["fid"] < sel["without"]["fid"]) and (result.colour is not None) == sel["kept"]
    assert read_config(result.out)["colour_selection"] == sel and ("calibration" in read_config(result.out)) == sel["kept"]
    from pathgan.app.model_card import render_model_card
    from pathgan.app.checkpoints_index import CheckpointEntry
    card = render_model_card(CheckpointEntry(result.out, CheckpointConfig.read(result.out)), None).text
    assert f"Colour map {'kept' if sel['kept'] else 'not applied'}: on {sel['images']} train tiles it gave FID" in card
    # the scores are what the metrics give for the tiles as they would be shipped
    raw = Synthesizer.from_checkpoint(tiny_checkpoint, "cpu")
    pairs = scan_dataset(mini_dataset, "train").pairs
    colour = fit_colour_calibration([im for p in pairs for im in raw.generate(read_mask(p.mask_path, raw.scheme), [3, 4])],
                                    [read_rgb(p.image_path) for p in pairs])
    ext = InceptionFeatures(None, "cpu")
    real = ext.features([read_rgb(p.image_path) for p in pairs])
    fake = ext.features([PostProcessing(colour, result.compression).apply([im])[0] for p in pairs for im in raw.generate(read_mask(p.mask_path, raw.scheme), [3, 4])])
    assert fid_from_stats(*feature_statistics(real), *feature_statistics(fake)) == pytest.approx(sel["with"]["fid"], abs=0.01)


def test_model_card_shows_the_calibration(mini_dataset, tiny_checkpoint):
    from pathgan.app.model_card import render_model_card
    from pathgan.app.checkpoints_index import CheckpointEntry

    result = calibrate_checkpoint(tiny_checkpoint, CalibrationConfig(data=str(mini_dataset), colour="on", device="cpu"))
    out, cal = result.out, result.colour
    card = render_model_card(CheckpointEntry(out, CheckpointConfig.read(out)), None).text
    assert f"fitted on {cal.fitted_on['masks']} train masks" in card and "R ×" in card
    assert "Colour calibration" not in render_model_card(CheckpointEntry(tiny_checkpoint, CheckpointConfig.read(tiny_checkpoint)), None).text
