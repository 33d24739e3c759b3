"""The app's checkpoint catalog: finding, labelling and loading generator checkpoints.

Shipped checkpoints live in checkpoints/; trained and fine-tuned ones in runs/<name>/, where the trainer writes them.
The search folders are a list of glob patterns, so tests and deployments can point elsewhere. Each file is read once,
at a scan, into a `CheckpointEntry`; generators are loaded on first use and kept in a small cache.
"""
from __future__ import annotations

import glob
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ..checkpoint import CheckpointConfig, CheckpointError, discriminator_beside
from ..paths import PROJECT_ROOT, eval_folder
from ..schemes import CONSEP, ClassScheme
from .errors import UserError

DEFAULT_SEARCH = ("checkpoints", "runs/*")  # the shipped ones, then every run folder (runs/NAME/generator.safetensors)
REPORT_SUFFIX = ".report.json"


@dataclass(frozen=True)
class CheckpointEntry:
    """One checkpoint as the scan read it: its config, the report and discriminator found beside it."""
    path: Path
    config: CheckpointConfig | None  # None when the file cannot be read; `error` then says why
    error: str | None = None
    report: dict | None = None  # its evaluation report (read_report), None when there is none
    discriminator: Path | None = None  # the critic saved beside it, for fine-tuning

    @property
    def scheme(self) -> ClassScheme:
        return self.config.scheme

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def provenance(self) -> dict:
        return self.config.provenance if self.config else {}

    @property
    def disc(self) -> str:
        return (self.config.disc if self.config else None) or "unknown discriminator"

    @property
    def steps(self) -> int | None:
        return self.config.steps if self.config else None

    @property
    def label(self) -> str:
        where = _short(self.path.parent)
        if self.error:
            return f"{self.name} · unreadable · {where}"
        parts = [self.name, self.disc]
        if self.steps is not None:
            parts.append(f"{self.steps:,} step{'s' if self.steps != 1 else ''}")
        return " · ".join(parts + [where])

    @property
    def shown_path(self) -> str:
        """The file as the page shows it: relative to the project when inside it, so no server path is spelled out."""
        return _short(self.path.parent) + self.path.name

    @property
    def report_path(self) -> Path:
        return report_path(self.path)


def _short(folder: Path) -> str:
    try:
        return str(folder.resolve().relative_to(PROJECT_ROOT)) + "/"
    except ValueError:
        return str(folder) + "/"


def report_path(checkpoint: str | Path) -> Path:
    """Where `python -m pathgan evaluate` leaves the report for a checkpoint: <stem>.report.json beside it."""
    p = Path(checkpoint)
    return p.with_name(p.stem + REPORT_SUFFIX)


def parse_search(value: str | None) -> tuple[str, ...]:
    """'a:b' or 'a,b' (os.pathsep or commas) -> folders; empty means the defaults."""
    if not value or not value.strip():
        return DEFAULT_SEARCH
    parts = [p.strip() for chunk in value.split(os.pathsep) for p in chunk.split(",")]
    return tuple(p for p in parts if p)


def search_folders(search=DEFAULT_SEARCH, base: str | Path = PROJECT_ROOT) -> list[Path]:
    """Expand the patterns (relative ones against `base`) into existing folders, in order, without repeats."""
    seen, out = set(), []
    for pattern in search:
        pattern = os.path.expanduser(str(pattern))
        full = pattern if os.path.isabs(pattern) else os.path.join(str(base), pattern)
        for folder in sorted(glob.glob(full)) if glob.has_magic(full) else [full]:
            p = Path(folder)
            key = p.resolve()
            if p.is_dir() and key not in seen:
                seen.add(key)
                out.append(p)
    return out


def find_checkpoints(search=DEFAULT_SEARCH, base: str | Path = PROJECT_ROOT) -> list[CheckpointEntry]:
    """Every *.safetensors in the search folders, shipped ones first; unreadable files are listed with their error."""
    entries = []
    for folder in search_folders(search, base):
        for path in sorted(p for p in folder.glob("*.safetensors") if "discriminator" not in p.name):  # a run's critic is no generator
            try:
                config = CheckpointConfig.read(path)
            except (CheckpointError, OSError) as e:
                entries.append(CheckpointEntry(path, None, str(e)))
                continue
            entries.append(CheckpointEntry(path, config, report=read_report(path), discriminator=discriminator_beside(path)))
    return entries


def describe_search(search=DEFAULT_SEARCH, code: bool = True) -> str:
    """The folders searched; as `code` by default, since a bare runs/*/ would turn italic in Markdown."""
    return ", ".join(f"`{s}/`" if code else f"{s}/" for s in search)


def no_checkpoint_message(search=DEFAULT_SEARCH) -> str:
    return (
        f"No checkpoint found (searched {describe_search(search)}). Put a generator .safetensors (with its .json) "
        "in checkpoints/, train one with `python -m pathgan train`, or start the app with `--checkpoints DIR`."
    )


def resolve_checkpoint(entries: list[CheckpointEntry], choice: str | None, search=DEFAULT_SEARCH) -> CheckpointEntry:
    """The entry a user picked, by path, label or name; empty means the best-evaluated usable one.

    Only listed checkpoints are accepted, so an API caller cannot make the app read arbitrary files.
    """
    if not entries:
        raise CheckpointError(no_checkpoint_message(search))
    if not choice or not str(choice).strip():
        usable = [e for e in entries if e.error is None]
        if not usable:
            raise CheckpointError(f"every checkpoint found is unreadable; first: {entries[0].error}")
        return best_usable(usable)  # the same default the app's dropdown shows
    choice = str(choice).strip()
    for e in entries:
        if choice in (str(e.path), e.label, e.name) or _same_file(choice, e.path):
            if e.error:
                raise CheckpointError(e.error)
            return e
    names = ", ".join(e.name for e in entries[:10])
    raise CheckpointError(f"no checkpoint {choice!r} among those found ({names}); press 'Rescan' if it was just added")


def best_usable(usable: list[CheckpointEntry]) -> CheckpointEntry:
    """The entry with the lowest evaluated FID; the first one when none has a report."""
    scored = [(fid, i) for i, e in enumerate(usable) if (fid := _report_fid(e)) is not None]
    return usable[min(scored)[1]] if scored else usable[0]


def _report_fid(entry: CheckpointEntry) -> float | None:
    fid = (entry.report or {}).get("fid")
    return float(fid) if isinstance(fid, (int, float)) and not isinstance(fid, bool) else None


def _same_file(choice: str, path: Path) -> bool:
    try:
        return Path(choice).resolve() == path.resolve()
    except (OSError, ValueError):
        return False


def read_report(checkpoint: str | Path, eval_root: str | Path | None = None) -> dict | None:
    """The evaluation report of a checkpoint, None when there is none; an unreadable one gives {'error': ...}.

    Looked for beside the checkpoint (<stem>.report.json), then where `python -m pathgan evaluate` writes by
    default (runs/eval/<stem>/report.json), the latter only if it names this very checkpoint.
    """
    path = report_path(checkpoint)
    if path.exists():
        return _load_report(path)
    default = (Path(eval_root) / Path(checkpoint).stem if eval_root else eval_folder(checkpoint)) / "report.json"
    if default.exists():
        report = _load_report(default)
        named = report.get("checkpoint")
        if isinstance(named, str) and _same_checkpoint(named, Path(checkpoint)):
            return report
    return None


def _same_checkpoint(named: str, checkpoint: Path) -> bool:
    p = Path(named)
    return _same_file(str(p if p.is_absolute() else PROJECT_ROOT / p), checkpoint)


def _load_report(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        return {"error": f"{path.name} is unreadable ({e})"}
    return data if isinstance(data, dict) else {"report": data}


class SynthesizerCache:
    """Loaded generators, keyed by file identity so a replaced checkpoint is reloaded; at most `size` kept."""

    def __init__(self, device: str | None = None, size: int = 2, precision: str = "auto"):
        self.device, self.size, self.precision = device, size, precision
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str | Path):
        from ..synthesis import Synthesizer  # torch import stays off the app's start-up path until needed

        path = Path(path)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise CheckpointError(f"{path}: the checkpoint file is gone; press 'Rescan' to refresh the list") from None
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
        with self._lock:  # one load at a time; concurrent requests for the same file wait for it
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            synth = Synthesizer.from_checkpoint(path, self.device, self.precision)
            self._items[key] = synth
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return synth


class CheckpointCatalog:
    """The checkpoints the app offers: entries read once per scan, generators loaded on first use.

    Everything a page names is resolved against the listed entries only, so no request makes the app read other files.
    """

    def __init__(self, search=DEFAULT_SEARCH, device: str | None = None, precision: str = "auto"):
        self.search = tuple(search)
        self.cache = SynthesizerCache(device, precision=precision)
        self.entries: list[CheckpointEntry] = []
        self.rescan()

    def rescan(self) -> list[CheckpointEntry]:
        self.entries = find_checkpoints(self.search)
        return self.entries

    def choices(self) -> list[tuple[str, str]]:
        """(label, path) pairs for a dropdown: label names the discriminator variant and steps."""
        return [(e.label, str(e.path)) for e in self.entries]

    def default(self) -> str | None:
        """The usable checkpoint with the lowest evaluated FID; the first usable one when none has a report."""
        try:
            return str(resolve_checkpoint(self.entries, None, self.search).path)
        except CheckpointError:  # none, or none readable: the dropdown still shows what is there
            return str(self.entries[0].path) if self.entries else None

    def status(self) -> str:
        if not self.entries:
            return "⚠️ " + self.missing_message()
        bad = [e for e in self.entries if e.error]
        text = f"{len(self.entries) - len(bad)} checkpoint(s) found in {describe_search(self.search)}"
        if bad:
            text += f"; {len(bad)} unreadable ({bad[0].name}: {bad[0].error})"
        return text

    def missing_message(self) -> str:
        return no_checkpoint_message(self.search)

    def entry(self, choice: str | None) -> CheckpointEntry:
        try:
            return resolve_checkpoint(self.entries, choice, self.search)
        except CheckpointError as e:
            raise UserError(str(e)) from None

    def synthesizer(self, choice: str | None):
        """(entry, its loaded Synthesizer)."""
        entry = self.entry(choice)
        try:
            return entry, self.cache.get(entry.path)
        except CheckpointError as e:
            raise UserError(str(e)) from None
        except (OSError, RuntimeError) as e:  # torch's own load failures
            raise UserError(f"{entry.path}: cannot load this checkpoint ({e})") from None

    def scheme_for(self, choice: str | None) -> ClassScheme:
        """The chosen checkpoint's classes: the canvas's, the examples' and the uploads'.

        With no usable checkpoint nothing can be generated, and the canvas draws CoNSeP's classes; any other choice that
        is not a usable checkpoint is a UserError saying why.
        """
        if not any(e.error is None for e in self.entries):
            return CONSEP
        return self.entry(choice).scheme

    def readme_for(self, choice: str | None) -> str | None:
        """README.md beside the chosen checkpoint, else the first search folder's (the shipped model card)."""
        folders = []
        try:
            folders.append(self.entry(choice).path.parent)
        except UserError:
            pass
        folders += search_folders(self.search)[:1]
        for folder in folders:
            readme = folder / "README.md"
            if readme.is_file():
                return readme.read_text(errors="replace")
        return None
