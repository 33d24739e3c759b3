"""Shared fixtures: the real CoNSeP data (never skipped when missing), tiny dummy checkpoints and synthetic datasets.

Every test that uses `consep_root` is marked `data`, so `pytest -m "not data"` is the tier that runs without it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from pathgan.paths import data_root
from pathgan.checkpoint import save_generator
from pathgan.models import GeneratorConfig, build_generator
from pathgan.schemes import CONSEP
from pathgan.synthetic_data import write_synthetic_dataset

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def consep_root() -> Path:
    """The CoNSeP folder; a missing dataset fails loudly rather than skipping."""
    root = data_root() / "consep"
    if not (root / "images" / "train").is_dir():
        pytest.fail(f"CoNSeP data not found at {root}. Set PATHGAN_DATA to the folder holding consep/ (default ../shared/data).")
    return root


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "consep_root" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.data)


def make_tiny_generator(seed: int = 0, **overrides):
    torch.manual_seed(seed)
    cfg = GeneratorConfig(ngf=overrides.pop("ngf", 4), **overrides)
    return build_generator(cfg)


@pytest.fixture
def tiny_checkpoint(tmp_path) -> Path:
    """A tiny random-weight generator saved as a real checkpoint."""
    path = tmp_path / "tiny.safetensors"
    save_generator(path, make_tiny_generator(), CONSEP, {"note": "tiny test model"})
    return path


def edit_embedded_config(path: Path, edit) -> None:
    """Change the config stored inside a checkpoint, as a hand-edit or another tool might."""
    import json

    from safetensors.torch import load_file, save_file

    from pathgan.checkpoint import read_config

    config = read_config(path)
    edit(config)
    save_file(load_file(str(path)), str(path), metadata={"pathgan": json.dumps(config)})


def random_mask(size=(256, 256), seed=0, num_classes=4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ids = np.zeros(size, np.uint8)
    for _ in range(30):
        y, x = rng.integers(0, size[0]), rng.integers(0, size[1])
        r = rng.integers(4, 12)
        yy, xx = np.ogrid[: size[0], : size[1]]
        ids[(yy - y) ** 2 + (xx - x) ** 2 < r * r] = rng.integers(1, num_classes + 1)
    return ids


@pytest.fixture
def mini_dataset(tmp_path) -> Path:
    """Six synthetic pairs per split (procedural masks, JPEG q75 tiles like CoNSeP's): no real data needed."""
    return write_synthetic_dataset(tmp_path / "mini", pairs=6)
