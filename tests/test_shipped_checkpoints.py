"""The shipped generators: size limit, config, post-processing, reports, and the model card quoting them."""
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pathgan.checkpoint import CheckpointConfig, config_path, read_config
from pathgan.app.checkpoints_index import read_report
from pathgan.masks import read_mask
from pathgan.paths import PROJECT_ROOT
from pathgan.synthesis import Synthesizer

CARD = (PROJECT_ROOT / "checkpoints" / "README.md").read_text()


# The paper's transposed-convolution generators, and the resize-convolution ones trained with their discriminators.
SHIPPED = ["consep-patchgan", "consep-vanilla", "consep-patchgan-resize", "consep-vanilla-resize"]


def shipped(stem: str) -> tuple[Path, str]:
    return PROJECT_ROOT / "checkpoints" / f"{stem}.safetensors", stem.split("-")[1]


@pytest.mark.parametrize("stem", SHIPPED)
def test_shipped_checkpoint(stem):
    path, disc = shipped(stem)
    assert path.stat().st_size <= 32 * 10**6
    config = read_config(path)
    assert json.loads(config_path(path).read_text()) == config == CheckpointConfig.read(path).to_dict()  # the format is unchanged
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


@pytest.mark.parametrize("stem", SHIPPED)
def test_shipped_model_card_names_its_data_commit_and_figures(stem):
    from pathgan.app.checkpoints_index import CheckpointEntry
    from pathgan.app.model_card import render_model_card

    path, disc = shipped(stem)
    card = render_model_card(CheckpointEntry(path, CheckpointConfig.read(path)), read_report(path))
    assert "data: consep, split train (432 pairs, content SHA256 `b43edbbfbf7c3e1c…`)" in card.summary
    commit = "9edfc1522a60" if stem in ("consep-patchgan", "consep-vanilla") else "0fa474b47ff8"
    assert f"| commit | `{commit}" in card.details and ".gpu/" not in card.summary
    assert card.sample_sheet == path.with_name(f"{stem}.samples.jpg") and card.curve == path.with_name("fid_vs_step.png")
    assert "| FID ↓ |" in card.summary and "## Memorisation" in card.details
    # The Model tab leads with mask fidelity and the two-sample probe, each beside its real reference.
    assert "| mask fidelity: segmenter Dice" in card.summary and "| two-sample probe accuracy" in card.summary
    assert "## Mask fidelity" in card.details and "## Classifier two-sample test" in card.details


@pytest.mark.parametrize("stem", SHIPPED)
def test_shipped_checkpoint_fast_and_bf16_paths_stay_within_3_grey_levels_of_fp32(stem):
    # bf16 is checked even where 'auto' means fp32 (it is emulated there: slower, same rounding).
    path, _ = shipped(stem)
    exact = Synthesizer.from_checkpoint(path, "cpu", "fp32")
    others = [Synthesizer.from_checkpoint(path, "cpu", p) for p in ("auto", "bf16")]
    masks = [(read_mask(PROJECT_ROOT / "assets" / name, exact.scheme), seeds)  # one batch of tiles, and a blended 512-px mask
             for name, seeds in (("example_2_mixed.png", [0, 1, 2, 3]), ("example_5_random_layout_512.png", [0]))]
    for synth in [exact, *others]:
        synth.post_processing = synth.post_processing.without_compression()  # the network's path; JPEG matching is the same step after it
    for synth in others:
        errors = np.concatenate([np.abs(a.astype(int) - b).ravel() for ids, seeds in masks
                                 for a, b in zip(exact.generate(ids, seeds), synth.generate(ids, seeds))])
        # Measured in bf16: at most 2 levels for the transposed-convolution files, 3 (one value in 20,000) for the
        # -resize ones; the mean 0.11-0.17 levels.
        assert errors.max() <= 3 and errors.mean() < 0.25, (synth.describe(), errors.max(), errors.mean())
    # And the default path keeps a seed's tile whatever batch it lands in.
    ids = masks[0][0]
    assert np.array_equal(others[0].generate(ids, [3, 1, 4, 0, 5, 9, 2, 6])[6], others[0].generate(ids, [2])[0]), others[0].describe()


@pytest.mark.parametrize("stem", SHIPPED)
def test_shipped_discriminator_is_found_by_fine_tuning_and_knows_its_generator(stem, tmp_path):
    import torch
    from safetensors.torch import load_file

    from pathgan.finetune import FinetuneConfig, train_config
    from pathgan.images import read_rgb
    from pathgan.models import build_discriminator
    from pathgan.post_processing import PostProcessing
    from pathgan.tensors import image_to_tensor, mask_to_onehot

    path, disc = shipped(stem)
    saved = path.with_name(f"{stem}.discriminator.safetensors")
    assert saved.stat().st_size <= 32 * 10**6
    sample = PROJECT_ROOT / "assets" / "consep_test"
    cfg = train_config(path, FinetuneConfig(data=str(sample), split="test", out=str(tmp_path / "ft")))
    assert cfg.init_discriminator == str(saved) and cfg.discriminator.arch == disc  # the fine-tune continues this game
    synth = Synthesizer.from_checkpoint(path, "cpu", "fp32")
    synth.post_processing = PostProcessing()  # what the discriminator was trained against: the network's own output
    torch.manual_seed(0)
    critics = {}
    for name, weights in (("shipped", load_file(saved)), ("fresh", None)):
        critics[name] = build_discriminator(replace(cfg.discriminator, num_classes=synth.scheme.num_classes))
        if weights is not None:
            critics[name].load_state_dict(weights)  # strict: every tensor present, every shape right
    margins = {name: [] for name in critics}
    with torch.no_grad():
        for image in sorted((sample / "images" / "test").iterdir())[:4]:
            ids = read_mask(sample / "masks" / "test" / f"{image.stem}.png", synth.scheme)
            onehot = mask_to_onehot(ids, synth.scheme.num_classes)[None]
            real, fake = image_to_tensor(read_rgb(image))[None], image_to_tensor(synth.generate(ids, [0])[0])[None]
            for name, D in critics.items():
                margins[name].append(D(onehot, real).mean().item() - D(onehot, fake).mean().item())
    # Measured: real tiles 10-17 logits above the generator's own; a fresh critic tells them apart by under 1.
    assert min(margins["shipped"]) > 3, margins
    assert max(abs(m) for m in margins["fresh"]) < 1, margins
