"""Shared fixtures and hooks: the real CoNSeP data (never skipped when missing), tiny dummy checkpoints and synthetic
datasets. Helpers that tests import live in helpers.py.

Every test that uses `consep_root` is marked `data`, so `pytest -m "not data"` is the tier that runs without it.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from helpers import make_tiny_generator
from pathgan.paths import data_root
from pathgan.checkpoint import save_generator
from pathgan.schemes import CONSEP
from pathgan.synthetic_data import write_synthetic_dataset

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


# A feature cache of this run's own, removed afterwards: tests never write into the checkout's .cache/ nor take what an
# earlier run left there (subprocesses inherit it).
CACHE = tempfile.mkdtemp(prefix="pathgan-test-cache-")
os.environ["PATHGAN_CACHE"] = CACHE


def pytest_unconfigure(config):
    shutil.rmtree(CACHE, ignore_errors=True)


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


@pytest.fixture
def tiny_checkpoint(tmp_path) -> Path:
    """A tiny random-weight generator saved as a real checkpoint."""
    path = tmp_path / "tiny.safetensors"
    save_generator(path, make_tiny_generator(), CONSEP, {"note": "tiny test model"})
    return path


@pytest.fixture
def mini_dataset(tmp_path) -> Path:
    """Six synthetic pairs per split (procedural masks, JPEG q75 tiles like CoNSeP's): no real data needed."""
    return write_synthetic_dataset(tmp_path / "mini", pairs=6)
