"""Compression matching: the training tiles' JPEG encoding is read, stored in checkpoints, and reproduced."""
import io
import json

import numpy as np
import pytest
from PIL import Image

from helpers import edit_embedded_config, random_mask
from pathgan.calibrate import CalibrationConfig, calibrate_checkpoint
from pathgan.checkpoint import CheckpointConfig, CheckpointError, config_path, load_generator, read_config, save_generator
from pathgan.cli import main
from pathgan.colour_calibration import ColourCalibration
from pathgan.compression_matching import CompressionMatch, ijg_quality, read_compression
from pathgan.dataset import scan_dataset
from pathgan.post_processing import PostProcessing
from pathgan.synthesis import Synthesizer


def _jpeg(image: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", **options)
    return buf.getvalue()


def _texture(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (40, 56, 3)).astype(np.uint8)


def test_reads_the_consep_encoding_and_reproduces_it_exactly(consep_root):
    paths = [p.image_path for p in scan_dataset(consep_root, "train", "consep").pairs[:20]]
    match = read_compression(paths, {"split": "train"})
    assert match.fitted_on == {"split": "train", "files": 20, "matching_files": 20, "ijg_quality": 75}
    assert match.subsampling == 2 and "quality-75" in match.description and "4:2:0" in match.description
    # the stored tables write a file with the real tiles' own tables, byte for byte what libjpeg's quality 75 writes
    im = _texture()
    assert match.encode(im) == _jpeg(im, quality=75)
    with Image.open(io.BytesIO(match.encode(im))) as ours, Image.open(paths[0]) as real:
        assert ours.quantization == real.quantization
    out = match.apply([im])[0]
    assert out.shape == im.shape and out.dtype == np.uint8 and not np.array_equal(out, im)


def test_lossless_tiles_give_nothing_and_mixed_ones_the_most_common(tmp_path):
    im = _texture()
    for i in range(3):
        Image.fromarray(im).save(tmp_path / f"png{i}.png")
    pngs = sorted(tmp_path.glob("png*.png"))
    assert read_compression(pngs) is None
    (tmp_path / "q90.jpg").write_bytes(_jpeg(im, quality=90, subsampling=0))
    (tmp_path / "q50a.jpg").write_bytes(_jpeg(im, quality=50))
    (tmp_path / "q50b.jpg").write_bytes(_jpeg(im, quality=50))
    match = read_compression([*sorted(tmp_path.glob("*.jpg")), pngs[0]])
    assert match.fitted_on["ijg_quality"] == 50 and match.fitted_on["matching_files"] == 2 and match.fitted_on["files"] == 4
    assert ijg_quality(((1,) * 64, (1,) * 64)) == 100 and ijg_quality(((3,) * 64,)) is None
    with pytest.raises(ValueError, match="at least one"):
        read_compression([])


@pytest.mark.parametrize("bad, message", [
    ({"kind": "png"}, "must be a 'jpeg' entry"),
    ({"kind": "jpeg", "qtables": [[0] * 64], "subsampling": 2}, "64 integers in 1..255"),
    ({"kind": "jpeg", "qtables": [[8] * 63], "subsampling": 2}, "64 integers in 1..255"),
    ({"kind": "jpeg", "qtables": [[8] * 64], "subsampling": 7}, "subsampling must be one of"),
])
def test_bad_entries_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        CompressionMatch.from_dict(bad)


def test_round_trip_through_a_checkpoint(tiny_checkpoint, tmp_path):
    generator, config = load_generator(tiny_checkpoint)
    scheme = config.scheme
    match = CompressionMatch(((8,) * 64, (9,) * 64), 0, {"split": "train"})
    path = tmp_path / "m.safetensors"
    save_generator(path, generator, scheme, post_processing=PostProcessing(compression=match))
    assert CompressionMatch.from_dict(read_config(path)["compression"]) == match
    assert json.loads(config_path(path).read_text())["compression"] == match.to_dict()


@pytest.mark.parametrize("key, change, message", [
    ("calibration", {"scale": [1.0, -2.0, 1.0]}, "calibration scale"),
    ("compression", {"subsampling": "4:2:0"}, "subsampling must be one of"),
])
def test_a_bad_post_processing_entry_is_refused_at_load(tiny_checkpoint, tmp_path, key, change, message):
    generator, config = load_generator(tiny_checkpoint)
    scheme = config.scheme
    path = tmp_path / "m.safetensors"
    save_generator(path, generator, scheme, post_processing=PostProcessing(ColourCalibration((1.0, 1.0, 1.0), (0.0, 0.0, 0.0)),
                                                                           CompressionMatch(((8,) * 64,), 2)))
    load_generator(path)
    edit_embedded_config(path, lambda cfg: cfg[key].update(change))
    with pytest.raises(CheckpointError, match=f"{message}.*pathgan calibrate"):
        load_generator(path)


def test_calibrate_stores_it_and_generate_can_skip_it(mini_dataset, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "c.safetensors"
    assert main(["calibrate", "--checkpoint", str(tiny_checkpoint), "--data", str(mini_dataset), "--out", str(out), "--device", "cpu",
                 "--colour", "off"]) == 0
    assert "compression matched: JPEG with the IJG quality-75 tables, 4:2:0 chroma (6 of 6 train tiles)" in capsys.readouterr().out
    synth = Synthesizer.from_checkpoint(out, "cpu")
    post = synth.post_processing
    assert post.compression is not None and post.compression.fitted_on["split"] == "train"
    assert post.description == "JPEG with the IJG quality-75 tables, 4:2:0 chroma, as the train tiles"
    mask = random_mask((300, 280))
    jpeg_matched = synth.generate(mask, [2])[0]
    Image.fromarray(mask.astype(np.uint8)).save(tmp_path / "m.png")
    assert main(["generate", "--checkpoint", str(out), "--masks", str(tmp_path / "m.png"), "--seeds", "2",
                 "--out", str(tmp_path / "lossless"), "--device", "cpu", "--lossless"]) == 0
    lossless = np.asarray(Image.open(tmp_path / "lossless" / "m_seed0002.png"))
    assert np.array_equal(jpeg_matched, post.compression.apply([lossless])[0]) and post.colour is None

    plain = tmp_path / "plain.safetensors"
    assert main(["calibrate", "--checkpoint", str(tiny_checkpoint), "--data", str(mini_dataset), "--out", str(plain),
                 "--device", "cpu", "--colour", "on", "--no-match-compression"]) == 0
    assert "compression: none (--no-match-compression)" in capsys.readouterr().out
    plain_synth = Synthesizer.from_checkpoint(plain, "cpu")
    assert "compression" not in read_config(plain) and plain_synth.post_processing.compression is None
    assert plain_synth.post_processing.description == "colour map fitted on train"


def test_model_card_shows_the_compression(mini_dataset, tiny_checkpoint):
    from pathgan.app.model_card import render_model_card
    from pathgan.app.checkpoints_index import CheckpointEntry

    out = calibrate_checkpoint(tiny_checkpoint, CalibrationConfig(data=str(mini_dataset), colour="off", device="cpu")).out
    card = render_model_card(CheckpointEntry(out, CheckpointConfig.read(out)), None).text
    assert "Compression matching: every tile is passed through JPEG with the IJG quality-75 tables, 4:2:0 chroma, as 6 of the 6 train tiles" in card
    assert "Compression matching" not in render_model_card(CheckpointEntry(tiny_checkpoint, CheckpointConfig.read(tiny_checkpoint)), None).text
