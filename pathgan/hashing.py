"""Content hashes of files, for provenance and cache keys: one hash, however the file was reached."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    """SHA256 of one file's bytes (a checkpoint's provenance, the Inception weights' check), read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def files_sha256(paths: Iterable[str | Path], header: bytes = b"") -> str:
    """SHA256 of a list of files by name and content, in the given order, after `header`: moving the files to
    another folder keeps it, renaming or changing one changes it."""
    h = hashlib.sha256(header)
    for p in map(Path, paths):
        h.update(p.name.encode() + b"\0" + bytes.fromhex(file_sha256(p)))
    return h.hexdigest()
