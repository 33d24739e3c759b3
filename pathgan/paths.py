"""Where things live: the project root, the datasets, the folders runs and evaluations write to, and the cache.

Relative defaults resolve against the project root, never the current directory, so a report written by
`python -m pathgan evaluate` from any folder is where the app looks for it.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_ROOT = "../shared/data"  # beside the project's root; $PATHGAN_DATA overrides it
DEFAULT_DATASET = "consep"
RUNS_DIR = PROJECT_ROOT / "runs"
FINETUNE_DIR = RUNS_DIR / "finetuned"  # the app's fine-tuned checkpoints (found by the checkpoint search) and their jobs
EVAL_DIR = RUNS_DIR / "eval"  # `evaluate` writes EVAL_DIR/<checkpoint stem>/report.json unless told otherwise
ASSETS_DIR = PROJECT_ROOT / "assets"
CACHE_DIR = PROJECT_ROOT / ".cache" / "pathgan"  # $PATHGAN_CACHE overrides it
ENV_CACHE = "PATHGAN_CACHE"
BUNDLED_PAIRS = ASSETS_DIR / "consep_test"  # 48 CoNSeP test pairs: the app's Compare and Reading test without --data


def data_root() -> Path:
    """Where datasets live: $PATHGAN_DATA, default ../shared/data beside the project's root."""
    env = os.environ.get("PATHGAN_DATA")
    return Path(env) if env else (PROJECT_ROOT / DEFAULT_DATA_ROOT).resolve()


def dataset_folder(data: str | Path | None) -> Path:
    """A dataset folder as given, or the default dataset under data_root()."""
    return Path(data) if data else data_root() / DEFAULT_DATASET


def cache_dir() -> Path:
    """Where computed features, the verified-weights record and cached segmenters go: $PATHGAN_CACHE, default
    .cache/pathgan in the repository (git-ignored); never inside the data folder, which is read-only and shared."""
    env = os.environ.get(ENV_CACHE)
    folder = Path(env).expanduser() if env else CACHE_DIR
    data = data_root().resolve()
    resolved = folder.resolve()
    if resolved == data or data in resolved.parents:
        raise ConfigError(f"cache folder {folder} is inside the data folder {data}, which must stay read-only; set ${ENV_CACHE} elsewhere")
    return folder


def eval_folder(checkpoint: str | Path) -> Path:
    """The default output folder of `evaluate` for a checkpoint."""
    return EVAL_DIR / Path(checkpoint).stem
