"""Helpers the tests import: tiny networks, random masks, and hand edits of a checkpoint's config (fixtures stay in conftest)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from pathgan.models import GeneratorConfig, build_generator


def make_tiny_generator(seed: int = 0, **overrides):
    torch.manual_seed(seed)
    cfg = GeneratorConfig(ngf=overrides.pop("ngf", 4), **overrides)
    return build_generator(cfg)


def edit_embedded_config(path: Path, edit) -> None:
    """Change the config stored inside a checkpoint, as a hand-edit or another tool might."""
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
