"""The Reading test tab as plain functions: owners set studies up and read their results; readers read tiles.

What reaches a page before an answer: opaque tile files (one identical final encode for real and synthetic),
the trial number and the session's progress. The truth of a trial is looked up on the server when the
answer arrives, and shown to a reader only for their own session, after its last answer.
"""
from __future__ import annotations

import secrets
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..checkpoint import CheckpointConfig, CheckpointError
from ..dataset import scan_dataset
from ..errors import PathGANError
from ..reading.design import MAX_TRIALS, MODES, TileSource, pairs_needed, plan_session
from ..reading.report import accuracy_plot, export_study, study_answers, study_summary, summary_markdown
from ..reading.stats import summarize
from ..reading.store import Session, Study, StudyError, StudyStore
from ..schemes import ClassScheme
from .checkpoints_index import CheckpointCatalog
from .errors import UserError
from .exports import ExportFolders

MAX_READER_NAME = 80


@dataclass
class TrialView:
    """What the page shows for the current trial: tile files in display order, and words. No truth."""
    session: str  # the reader's own resume token
    study: str  # the study's code, for the resume link
    index: int  # 0-based; == total when the session is over
    total: int
    mode: str
    tiles: list[str]
    progress: str
    finished_text: str = ""

    @property
    def finished(self) -> bool:
        return self.index >= self.total


def reader_link(page: str, study: str) -> str:
    """The link an owner sends readers: the page with the study's code."""
    return f"{page}?study={study}"


def owner_link(page: str, study: Study) -> str:
    """The owner's private link: it carries the owner token that opens the results."""
    return f"{page}?study={study.code}&owner={study.owner_token}"


def resume_link(page: str, view: TrialView) -> str:
    """A reader's own link back to where they stopped."""
    return f"{page}?study={view.study}&session={view.session}"


def session_from_link(text: str) -> str:
    """A resume link, or the session code alone -> the session code."""
    return str(text or "").split("session=")[-1].split("&")[0].strip()


def page_address(referer: str | None) -> str:
    """The page a request came from, without its query: the base of every link the tab shows."""
    return (referer or "").split("?")[0] or "/"


class ReadingTests:
    def __init__(self, catalog: CheckpointCatalog, exports: ExportFolders, paired_data: str | Path, db: str | Path):
        self.catalog, self.exports, self.paired_data = catalog, exports, Path(paired_data)
        self.store = StudyStore(db)
        self._sources: dict[tuple, TileSource] = {}
        self._lock = threading.Lock()

    # -- owners -----------------------------------------------------------------------------------
    def create(self, name: str, mode: str, checkpoints: list[str], trials, seed, split: str = "test") -> Study:
        name = (name or "").strip()
        if not name:
            raise UserError("give the study a name")
        if mode not in MODES:
            raise UserError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not checkpoints:
            raise UserError("choose at least one checkpoint to test")
        try:
            trials, seed = int(trials), int(seed)
        except (TypeError, ValueError):
            raise UserError("trials and seed must be whole numbers") from None
        if not 2 <= trials <= MAX_TRIALS:
            raise UserError(f"trials per reader must be between 2 and {MAX_TRIALS}, got {trials}")
        entries = [self._entry(c) for c in checkpoints]
        schemes = {e.scheme.names for e in entries}
        if len(schemes) > 1:
            raise UserError("the checkpoints of one study must share a class scheme; these have " + "; ".join(", ".join(s[1:]) for s in schemes))
        source = self._source(str(self.paired_data), split, entries[0].scheme)
        need = pairs_needed(mode, trials)
        if len(source.pairs) < need:
            raise UserError(f"{trials} trials in {mode} mode need {need} image/mask pairs; {self.paired_data} split '{split}' has "
                            f"{len(source.pairs)}. Ask for fewer trials, or start the app with --data pointing at more pairs.")
        return self.store.create_study(name, mode, [str(e.path) for e in entries], str(self.paired_data), split, trials, seed)

    def results(self, code: str, owner_token: str) -> tuple[str, Path, Path]:
        """(Markdown, accuracy plot, zip of answers.csv + summary.json), only with the owner's token."""
        study = self._owned(code, owner_token)
        summary = study_summary(self.store, study)
        folder = self.exports.new()
        csv_path, json_path = export_study(self.store, study, folder)
        archive = folder / f"reading-study-{study.code}.zip"
        with zipfile.ZipFile(archive, "w") as z:
            z.write(csv_path, csv_path.name)
            z.write(json_path, json_path.name)
        return summary_markdown(summary), accuracy_plot(summary, folder / "accuracy.png"), archive

    # -- readers ----------------------------------------------------------------------------------
    def describe(self, code: str) -> str:
        study = self._study(code)
        task = ("two tiles side by side: one is real, one is synthetic; pick the synthetic one" if study.mode == "side-by-side"
                else "one tile at a time: say whether it is real or synthetic")
        return f"**{study.name}**: {study.trials} trials, {task}. Enter your name to begin; you can stop and come back with your resume link."

    def start(self, code: str, reader: str) -> TrialView:
        study = self._study(code)
        reader = (reader or "").strip()
        if not reader:
            raise UserError("enter your name (or initials) to start reading")
        if len(reader) > MAX_READER_NAME:
            raise UserError(f"a reader name has at most {MAX_READER_NAME} characters")
        source = self._study_source(study)
        plans = plan_session(study.mode, sorted(source.pairs), [Path(c).stem for c in study.checkpoints], study.trials, study.seed, reader)
        try:
            session = self.store.start_session(study.code, reader, plans)
        except StudyError as e:
            raise UserError(str(e)) from None
        return self.view(session.token)

    def view(self, token: str) -> TrialView:
        """The current trial of a session (or its end), rendered afresh: a resumed session continues where it stopped."""
        session = self._session(token)
        study = self.store.study(session.study)
        total, idx = self.store.trial_count(session), self.store.next_index(session)
        if idx >= total:
            return TrialView(session.token, study.code, total, total, study.mode, [], f"Done: {total} of {total} answered.",
                             self._own_result(session))
        plan = self.store.plan(session, idx)
        source = self._study_source(study)
        try:
            encoded = source.tiles(plan)
        except UserError:
            raise
        except (PathGANError, OSError, RuntimeError) as e:  # OSError, RuntimeError: torch's own load failures
            raise UserError(f"this study's tiles cannot be made ({e}); tell the study's owner") from None
        folder = self.exports.new()
        paths = []
        for data in encoded:  # opaque names: nothing in a URL says which tile is which
            path = folder / f"{secrets.token_hex(12)}.jpg"
            path.write_bytes(data)
            paths.append(str(path))
        self.store.mark_shown(session, idx)
        return TrialView(session.token, study.code, idx, total, study.mode, paths, f"Trial {idx + 1} of {total}")

    def answer(self, token: str, index, choice: str, confidence=None) -> TrialView:
        session = self._session(token)
        if session.finished is not None:
            raise UserError("this reading session has ended; its answers are stored and cannot change")
        conf = None
        if confidence not in (None, ""):
            try:
                conf = int(confidence)
            except (TypeError, ValueError):
                raise UserError("confidence must be 1 to 5") from None
            if not 1 <= conf <= 5:
                raise UserError("confidence must be 1 to 5")
        try:
            idx = int(index)
        except (TypeError, ValueError):
            raise UserError(f"trial number {index!r} is not a whole number") from None
        try:
            self.store.answer(session, idx, choice, conf)
        except StudyError as e:
            raise UserError(str(e)) from None
        return self.view(token)

    def _own_result(self, session: Session) -> str:
        """Shown to a reader after their last answer: their own score and their own trials only."""
        rows = self.store.session_answers(session)
        s = summarize(study_answers(rows))
        lines = [f"Thank you. You answered {s.correct} of {s.n} correctly (accuracy {s.accuracy:.2f}, 95 % CI {s.ci_low:.2f}–{s.ci_high:.2f}).",
                 "", "| trial | your answer | correct answer |", "|---|---|---|"]
        lines += [f"| {r['trial']} | {r['choice']} | {r.get('synthetic') or r.get('truth')} |" for r in rows]
        return "\n".join(lines)

    # -- helpers ----------------------------------------------------------------------------------
    def _study(self, code: str) -> Study:
        try:
            return self.store.study(code)
        except StudyError as e:
            raise UserError(str(e)) from None

    def _owned(self, code: str, token: str) -> Study:
        try:
            return self.store.owned_study(code, token)
        except StudyError as e:
            raise UserError(str(e)) from None

    def _session(self, token: str):
        try:
            return self.store.session(token)
        except StudyError as e:
            raise UserError(str(e)) from None

    def _entry(self, choice: str):
        return self.catalog.entry(choice)

    def _study_source(self, study: Study) -> TileSource:
        """The study's pairs, with its own checkpoints (by the names trial plans use)."""
        by_name = {Path(c).stem: Path(c) for c in study.checkpoints}
        for path in by_name.values():
            if not path.is_file():
                raise UserError(f"this study's checkpoint {path.name} is no longer there; tell the study's owner")
        try:  # the study's own file says its classes, whatever the app lists now
            scheme = CheckpointConfig.read(study.checkpoints[0]).scheme
        except CheckpointError as e:
            raise UserError(f"this study's checkpoint does not load ({e}); tell the study's owner") from None
        base = self._source(study.data, study.split, scheme)
        return TileSource(base.pairs, base.scheme, lambda name: self._load(by_name[name]))

    def _source(self, data: str, split: str, scheme: ClassScheme) -> TileSource:
        key = (data, split, scheme.names)
        with self._lock:
            if key not in self._sources:
                try:
                    scan = scan_dataset(data, split, scheme, check_content=False)
                except PathGANError as e:
                    raise UserError(str(e)) from None
                self._sources[key] = TileSource({p.stem: p for p in scan.pairs}, scheme, self._load)
            return self._sources[key]

    def _load(self, path: Path):
        try:
            return self.catalog.cache.get(path)
        except CheckpointError as e:
            raise UserError(f"this study's checkpoint does not load ({e}); tell the study's owner") from None
