import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from pathgan.checkpoint import CheckpointError, config_path, load_generator, read_config, save_generator
from pathgan.schemes import CONSEP, ClassScheme
from pathgan.synthesis import Synthesizer
from helpers import make_tiny_generator, random_mask


def test_round_trip_gives_the_same_images(tmp_path):
    g = make_tiny_generator(ngf=8)
    path = tmp_path / "g.safetensors"
    save_generator(path, g, CONSEP, {"steps": 12, "commit": "abc"})
    loaded, config = load_generator(path)
    assert config.scheme == CONSEP and config.provenance["steps"] == 12 and config.generator.ngf == 8
    assert json.loads(config_path(path).read_text()) == read_config(path) == config.to_dict()  # readable copy beside the weights
    ids = random_mask()
    assert np.array_equal(Synthesizer(g, CONSEP, "cpu").generate(ids, [4])[0], Synthesizer.from_checkpoint(path, "cpu").generate(ids, [4])[0])


def test_half_precision_weights_are_half_the_size(tmp_path):
    g = make_tiny_generator(ngf=8)
    save_generator(tmp_path / "f32.safetensors", g, CONSEP)
    save_generator(tmp_path / "f16.safetensors", g, CONSEP, half=True)
    assert (tmp_path / "f16.safetensors").stat().st_size < 0.6 * (tmp_path / "f32.safetensors").stat().st_size
    loaded, config = load_generator(tmp_path / "f16.safetensors")
    assert config.half and next(loaded.parameters()).dtype == torch.float32


def test_truncated_and_foreign_files_are_refused(tmp_path, tiny_checkpoint):
    data = tiny_checkpoint.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.safetensors: cannot read weights, the file is corrupt or truncated"):
        load_generator(tmp_path / "cut.safetensors")
    (tmp_path / "tiny.safetensors").write_bytes(data[:5])
    with pytest.raises(CheckpointError, match="too short"):
        load_generator(tmp_path / "tiny.safetensors")
    (tmp_path / "text.safetensors").write_text("this is not a checkpoint at all, just some text")
    with pytest.raises(CheckpointError, match="not a safetensors checkpoint"):
        load_generator(tmp_path / "text.safetensors")
    save_file({"w": torch.zeros(3)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CheckpointError, match="not a PathGAN generator checkpoint"):
        read_config(tmp_path / "other.safetensors")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_generator(tmp_path / "missing.safetensors")


def test_checkpoint_of_another_architecture_or_class_count(tmp_path):
    path = tmp_path / "g.safetensors"
    save_generator(path, make_tiny_generator(ngf=4), CONSEP)
    # Weights of one width under a config that claims another.
    wider = make_tiny_generator(ngf=8)
    save_generator(tmp_path / "w.safetensors", wider, CONSEP)
    raw = (tmp_path / "w.safetensors").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    cfg = json.loads(header["__metadata__"]["pathgan"])
    cfg["generator"]["ngf"] = 4
    header["__metadata__"]["pathgan"] = json.dumps(cfg)
    new = json.dumps(header).encode()
    (tmp_path / "lie.safetensors").write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + n :])
    with pytest.raises(CheckpointError, match="do not fit the unet generator"):
        load_generator(tmp_path / "lie.safetensors")
    cfg["generator"]["arch"] = "resnet"
    header["__metadata__"]["pathgan"] = json.dumps(cfg)
    new = json.dumps(header).encode()
    (tmp_path / "arch.safetensors").write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + n :])
    with pytest.raises(CheckpointError, match="unsupported architecture"):
        load_generator(tmp_path / "arch.safetensors")
    six = ClassScheme(tuple(f"c{i}" for i in range(7)), tuple((i * 30, 0, 0) for i in range(7)))
    with pytest.raises(CheckpointError, match="trained for 4 classes .* but the data has 6"):
        load_generator(path, expect_scheme=six)


def test_checkpoint_config_is_read_once_typed_and_checked_entry_by_entry(tmp_path):
    from dataclasses import replace

    from helpers import edit_embedded_config
    from pathgan.checkpoint import CheckpointConfig
    from pathgan.schemes import BINARY, ClassMap

    path = tmp_path / "m.safetensors"
    mapped = ClassMap.parse("nucleus=epithelial", BINARY, CONSEP)
    saved = save_generator(path, make_tiny_generator(), BINARY, {"disc": "vanilla", "steps": 7, "train_config": {"lr": 1e-4}},
                           half=True, class_map=mapped)
    config = CheckpointConfig.read(path)
    assert config == saved and config.to_dict() == read_config(path)  # what is written is what is read
    assert (config.scheme, config.class_map, config.generator.ngf, config.half) == (BINARY, mapped, 4, True)
    assert (config.disc, config.steps, config.train_config) == ("vanilla", 7, {"lr": 1e-4})
    # An early checkpoint, before weights could be half and before provenance was kept: still loads.
    edit_embedded_config(path, lambda c: [c.pop(k) for k in ("dtype", "provenance", "class_map", "version")])
    old = CheckpointConfig.read(path)
    assert old == replace(saved, provenance={}, dtype="float32", class_map=None) and old.disc is None and old.steps is None
    for key, bad, message in [("scheme", {"names": ["only"]}, "unreadable class scheme"), ("generator", {"ngff": 4}, "unsupported architecture"),
                              ("provenance", [1], "provenance must be a JSON object"), ("dtype", "int8", "weights dtype .int8. is neither"),
                              ("class_map", {"lut": [0, 9]}, "unreadable class map")]:
        edit_embedded_config(path, lambda c: c.update({key: bad}))
        with pytest.raises(CheckpointError, match=f"m.safetensors: {message}"):
            CheckpointConfig.read(path)
        edit_embedded_config(path, lambda c: c.update({key: saved.to_dict()[key]}))
    assert CheckpointConfig.read(path) == saved
