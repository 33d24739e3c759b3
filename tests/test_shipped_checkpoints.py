"""The shipped generators: size limit, config, post-processing, reports, and the model card quoting them."""
import json
from pathlib import Path

import numpy as np
import pytest

from pathgan.checkpoint import config_path, read_config
from pathgan.app.checkpoints_index import read_report
from pathgan.masks import read_mask
from pathgan.paths import PROJECT_ROOT
from pathgan.synthesis import Synthesizer

CARD = (PROJECT_ROOT / "checkpoints" / "README.md").read_text()


@pytest.mark.parametrize("disc", ["patchgan", "vanilla"])
def test_shipped_checkpoint(disc):
    path = PROJECT_ROOT / "checkpoints" / f"consep-{disc}.safetensors"
    assert path.stat().st_size <= 32 * 10**6
    config = read_config(path)
    assert json.loads(config_path(path).read_text()) == config
    prov = config["provenance"]
    assert prov["disc"] == disc and prov["split"] == "train" and config["dtype"] == "float16"
    # post-processing fitted, and chosen, on the train split only
    assert config["compression"]["fitted_on"]["split"] == "train" and config["compression"]["fitted_on"]["ijg_quality"] == 75
    selection = config["colour_selection"]
    assert selection["split"] == "train" and ("calibration" in config) == selection["kept"]
    if selection["kept"]:
        assert config["calibration"]["fitted_on"]["split"] == "train"

    report = read_report(path)
    assert Path(report["checkpoint"]).name == path.name and report["split"] == "test"
    assert report["n"]["synthetic"] == 896 and report["n"]["real"] == 224
    c = report["checkerboard"]  # measured on the delivered tiles, with the real test tiles beside them
    assert c["synthetic"]["images"] == 896 and c["real"]["images"] == 224
    for number in (f"{report['fid']:.2f}", f"{report['kid']:.4f}", f"{c['synthetic']['db']:.1f} dB", f"{c['real']['db']:.1f} dB"):
        assert number in CARD, f"checkpoints/README.md does not quote {number} from {path.name}'s report"

    synth = Synthesizer.from_checkpoint(path, "cpu")
    assert report["post_processing"] == synth.post_processing.description  # the report scored tiles as this file delivers them
    a, b = synth.generate(read_mask(PROJECT_ROOT / "assets" / "example_2_mixed.png", synth.scheme), [0, 1])
    assert a.shape == (256, 256, 3) and a.reshape(-1, 3).std(0).min() > 10  # a textured tile, not a flat one
    assert np.abs(a.astype(int) - b).mean() > 0.05 * 255  # seeds matter, as the bar asks


@pytest.mark.parametrize("disc", ["patchgan", "vanilla"])
def test_shipped_model_card_names_its_data_commit_and_figures(disc):
    from pathgan.app.checkpoints_index import CheckpointEntry
    from pathgan.app.model_card import render_model_card

    path = PROJECT_ROOT / "checkpoints" / f"consep-{disc}.safetensors"
    card = render_model_card(CheckpointEntry(path, read_config(path)), read_report(path))
    assert "data: consep, split train (432 pairs, content SHA256 `b43edbbfbf7c3e1c…`)" in card.summary
    assert "| commit | `9edfc1522a60` |" in card.details and ".gpu/" not in card.summary
    assert card.sample_sheet == path.with_name(f"consep-{disc}.samples.jpg") and card.curve == path.with_name("fid_vs_step.png")
    assert "| FID ↓ |" in card.summary and "## Memorisation" in card.details
    # The Model tab leads with mask fidelity and the two-sample probe, each beside its real reference.
    assert "| mask fidelity: segmenter Dice" in card.summary and "| two-sample probe accuracy" in card.summary
    assert "## Mask fidelity" in card.details and "## Classifier two-sample test" in card.details


@pytest.mark.parametrize("disc", ["patchgan", "vanilla"])
def test_shipped_checkpoint_fast_and_bf16_paths_stay_within_2_grey_levels_of_fp32(disc):
    # bf16 is checked even where 'auto' means fp32 (it is emulated there: slower, same rounding).
    path = PROJECT_ROOT / "checkpoints" / f"consep-{disc}.safetensors"
    exact = Synthesizer.from_checkpoint(path, "cpu", "fp32")
    others = [Synthesizer.from_checkpoint(path, "cpu", p) for p in ("auto", "bf16")]
    masks = [(read_mask(PROJECT_ROOT / "assets" / name, exact.scheme), seeds)  # one batch of tiles, and a blended 512-px mask
             for name, seeds in (("example_2_mixed.png", [0, 1, 2, 3]), ("example_5_random_layout_512.png", [0]))]
    for synth in [exact, *others]:
        synth.post_processing = synth.post_processing.without_compression()  # the network's path; JPEG matching is the same step after it
    for ids, seeds in masks:
        reference = exact.generate(ids, seeds)
        for synth in others:
            for a, b in zip(reference, synth.generate(ids, seeds)):
                assert np.abs(a.astype(int) - b).max() <= 2, (synth.describe(), seeds)
    # And the default path keeps a seed's tile whatever batch it lands in.
    ids = masks[0][0]
    assert np.array_equal(others[0].generate(ids, [3, 1, 4, 0, 5, 9, 2, 6])[6], others[0].generate(ids, [2])[0]), others[0].describe()
