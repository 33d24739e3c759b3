"""The app's settings (flags and environment), and the one object the page's wiring talks to.

`PathGANApp` holds the checkpoint catalog, the export folders and each tab's functions (`synthesis`, `compare`,
`cards`); the Reading test and Fine-tune tabs are built on the same catalog and folders in app.py. Errors meant for
the user are `UserError`s, a `PathGANError` like the library's own; app.py shows any PathGANError to the user and
logs anything else as a fault.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..devices import PRECISION_HELP, PRECISIONS
from ..errors import ConfigError
from ..paths import FINETUNE_DIR, PROJECT_ROOT
from ..reading.store import DEFAULT_DB
from .checkpoints_index import DEFAULT_SEARCH, CheckpointCatalog, describe_search, parse_search
from .compare_tab import CompareTab
from .errors import UserError  # noqa: F401  (the app's error, importable with its settings)
from .exports import ExportFolders
from .limits import MAX_SIDE
from .model_card import ModelCards
from .synthesize_tab import SynthesizeTab


# -- settings ------------------------------------------------------------------------------------

@dataclass
class AppSettings:
    checkpoint_search: tuple[str, ...] = DEFAULT_SEARCH
    data: str | None = None  # paired dataset for the Compare tab
    device: str = "auto"
    precision: str = "auto"  # synthesis: auto (bf16 where the hardware has bf16 units), fp32 or bf16
    concurrency: int | None = None  # simultaneous syntheses; None sizes it to the device
    queue_size: int = 64
    max_side: int = MAX_SIDE
    output_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "pathgan-app")
    study_db: str = str(DEFAULT_DB)  # the reading studies' SQLite file
    finetune_dir: str = str(FINETUNE_DIR)  # fine-tuned checkpoints and their jobs
    allow_local_paths: bool = False  # fine-tuning from a folder on the server (never by default)
    job_token: str | None = None  # when set, starting a fine-tuning job needs it (shared deployments)


@dataclass
class LaunchOptions:
    host: str = "127.0.0.1"
    port: int = 7860
    share: bool = False


def _truthy(value: str | None) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def parse_args(argv: list[str] | None = None, environ: dict | None = None) -> tuple[AppSettings, LaunchOptions]:
    """Command line first, then environment (Spaces sets GRADIO_SERVER_NAME/PORT), then defaults."""
    env = os.environ if environ is None else environ
    p = argparse.ArgumentParser(prog="python app.py", description="PathGAN demo: draw or upload a nucleus mask, get synthetic H&E tiles.")
    p.add_argument("--host", default=env.get("GRADIO_SERVER_NAME") or "127.0.0.1",
                   help="address to serve on (env GRADIO_SERVER_NAME; default 127.0.0.1, use 0.0.0.0 for all interfaces)")
    p.add_argument("--port", type=int, default=int(env.get("GRADIO_SERVER_PORT") or 7860), help="port (env GRADIO_SERVER_PORT; default 7860)")
    p.add_argument("--share", action="store_true", default=_truthy(env.get("GRADIO_SHARE")), help="also open a public gradio.live link (env GRADIO_SHARE=1)")
    p.add_argument("--checkpoints", default=env.get("PATHGAN_CHECKPOINTS"),
                   help=f"checkpoint folders, '{os.pathsep}'- or comma-separated, globs allowed (env PATHGAN_CHECKPOINTS; default: {describe_search(code=False)})")
    p.add_argument("--data", default=env.get("PATHGAN_COMPARE_DATA"),
                   help="paired dataset for the Compare tab, e.g. ../shared/data/consep (env PATHGAN_COMPARE_DATA)")
    p.add_argument("--device", default=env.get("PATHGAN_DEVICE") or "auto", help="auto, cpu, cuda or cuda:N (env PATHGAN_DEVICE)")
    p.add_argument("--precision", choices=PRECISIONS, default=env.get("PATHGAN_PRECISION") or "auto",
                   help=f"synthesis: {PRECISION_HELP} (env PATHGAN_PRECISION)")
    p.add_argument("--concurrency", type=int, default=int(env["PATHGAN_CONCURRENCY"]) if env.get("PATHGAN_CONCURRENCY") else None,
                   help="syntheses run at once (env PATHGAN_CONCURRENCY; default 1 on CPU, 2 on a GPU)")
    p.add_argument("--db", default=env.get("PATHGAN_STUDY_DB") or str(DEFAULT_DB),
                   help=f"reading studies' SQLite file (env PATHGAN_STUDY_DB; default {DEFAULT_DB.relative_to(PROJECT_ROOT)}; on a Space, put it on persistent storage, e.g. /data/studies.sqlite)")
    p.add_argument("--finetune-dir", default=env.get("PATHGAN_FINETUNE_DIR") or str(FINETUNE_DIR),
                   help="where fine-tuned checkpoints and their jobs go (env PATHGAN_FINETUNE_DIR; default runs/finetuned, searched for checkpoints)")
    p.add_argument("--allow-local-paths", action="store_true", default=_truthy(env.get("PATHGAN_ALLOW_LOCAL_PATHS")),
                   help="let the Fine-tune tab read pairs from a folder on the server (off by default: uploads only)")
    p.add_argument("--job-token", default=env.get("PATHGAN_JOB_TOKEN") or None,
                   help="starting fine-tuning jobs needs this token (env PATHGAN_JOB_TOKEN), e.g. on a public Space")
    a = p.parse_args(argv)
    search = DEFAULT_SEARCH
    if a.checkpoints:  # the user's relative paths mean relative to where they ran the command
        search = tuple(s if os.path.isabs(s) else os.path.abspath(s) for s in parse_search(a.checkpoints))
    if not 0 < a.port < 65536:
        p.error(f"--port must be 1..65535, got {a.port}")
    if a.concurrency is not None and a.concurrency < 1:
        p.error("--concurrency must be at least 1")
    data = os.path.abspath(a.data) if a.data else None
    finetune_dir = os.path.abspath(a.finetune_dir)
    search = (*search, finetune_dir)  # fine-tuned checkpoints appear in every dropdown (a folder listed twice is searched once)
    return (AppSettings(checkpoint_search=search, data=data, device=a.device, precision=a.precision, concurrency=a.concurrency, study_db=os.path.abspath(a.db),
                        finetune_dir=finetune_dir, allow_local_paths=a.allow_local_paths, job_token=a.job_token),
            LaunchOptions(a.host, a.port, a.share))


def default_concurrency(device: str = "auto") -> int:
    """One synthesis at a time on a CPU (each already uses every core); two on a GPU to overlap host work."""
    from ..devices import best_device

    try:
        return 2 if best_device(device).type == "cuda" else 1
    except ConfigError:
        return 1


class PathGANApp:
    """What the app shares between requests: settings, the checkpoint catalog, export folders, and the tabs' functions."""

    def __init__(self, settings: AppSettings | None = None):
        self.settings = s = settings or AppSettings()
        self.catalog = CheckpointCatalog(s.checkpoint_search, None if s.device == "auto" else s.device, s.precision)
        self.exports = ExportFolders(s.output_dir)
        self.synthesis = SynthesizeTab(self.catalog, self.exports, s.max_side, s.concurrency or default_concurrency(s.device))
        self.compare = CompareTab(self.catalog, self.exports, s.data, s.max_side)
        self.cards = ModelCards(self.catalog, self.exports)
