"""Files the app hands to the page: a fresh folder per request, pruned after an hour so the disk does not fill up.

Outputs are handed to Gradio as files in their own folder, never as arrays: Gradio caches arrays under a content
hash and rewrites that file on every request, so two users getting the same picture at once (a shared mask, a
blank canvas) could download it half-written.
"""
from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

EXPORT_MAX_AGE_S = 3600


class ExportFolders:
    def __init__(self, root: str | Path, max_age_s: float = EXPORT_MAX_AGE_S):
        self.root, self.max_age_s = Path(root), max_age_s

    def new(self) -> Path:
        """A new, empty folder; folders older than max_age_s are removed first."""
        self.root.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - self.max_age_s
        for old in self.root.iterdir():
            try:
                if old.is_dir() and old.stat().st_mtime < cutoff:
                    shutil.rmtree(old, ignore_errors=True)
            except OSError:
                pass
        folder = self.root / uuid.uuid4().hex
        folder.mkdir()
        return folder


def write_png(path: Path, image: np.ndarray) -> str:
    Image.fromarray(np.asarray(image)).save(path, compress_level=1)  # fast; these are short-lived
    return str(path)
