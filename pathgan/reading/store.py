"""Reading studies on disk: one SQLite file (WAL) with studies, sessions, trials and answers.

Each answer is written in its own transaction the moment it is given, so a killed server loses nothing
that a reader saw acknowledged. The schema version is recorded, and migrations are applied in order.
The truth of a trial lives only here and in the server's memory of its own requests.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import PathGANError
from ..paths import RUNS_DIR
from .design import ANSWERS, truth

DEFAULT_DB = RUNS_DIR / "reading" / "studies.sqlite"  # runs/ is git-ignored; a Space points --db at persistent storage

MIGRATIONS = (  # version i+1 is MIGRATIONS[i]; append, never edit
    """
    CREATE TABLE studies (
        code TEXT PRIMARY KEY, owner_token TEXT NOT NULL, name TEXT NOT NULL, mode TEXT NOT NULL,
        checkpoints TEXT NOT NULL, data TEXT NOT NULL, split TEXT NOT NULL, trials INTEGER NOT NULL,
        seed INTEGER NOT NULL, created REAL NOT NULL);
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY, study TEXT NOT NULL REFERENCES studies(code), reader TEXT NOT NULL,
        token TEXT NOT NULL UNIQUE, created REAL NOT NULL, finished REAL, UNIQUE (study, reader));
    CREATE TABLE trials (
        session INTEGER NOT NULL REFERENCES sessions(id), idx INTEGER NOT NULL, plan TEXT NOT NULL, shown REAL,
        PRIMARY KEY (session, idx));
    CREATE TABLE answers (
        session INTEGER NOT NULL REFERENCES sessions(id), idx INTEGER NOT NULL, choice TEXT NOT NULL, correct INTEGER NOT NULL,
        confidence INTEGER, rt_s REAL, answered REAL NOT NULL, PRIMARY KEY (session, idx));
    """,
)


def study_code() -> str:
    """A random study code that never starts with '-', which a shell command line would read as an option."""
    while (code := secrets.token_urlsafe(6)).startswith("-"):
        pass
    return code


class StudyError(PathGANError, ValueError):
    """A request the study cannot take; the message says why, and nothing was written."""


@dataclass(frozen=True)
class Study:
    code: str
    owner_token: str
    name: str
    mode: str  # "side-by-side" or "single"
    checkpoints: tuple[str, ...]
    data: str
    split: str
    trials: int
    seed: int


@dataclass(frozen=True)
class Session:
    id: int
    study: str
    reader: str
    token: str
    finished: float | None


class StudyStore:
    def __init__(self, path: str | Path = DEFAULT_DB):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            version = row[0] if row else 0
            if version > len(MIGRATIONS):
                raise StudyError(f"{self.path}: schema version {version} is newer than this PathGAN reads ({len(MIGRATIONS)}); upgrade PathGAN")
            for v in range(version, len(MIGRATIONS)):
                db.executescript("BEGIN;" + MIGRATIONS[v] + f"DELETE FROM schema_version; INSERT INTO schema_version VALUES ({v + 1}); COMMIT;")

    @property
    def schema_version(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT version FROM schema_version").fetchone()[0]

    @contextmanager
    def _connect(self):
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # explicit transactions only
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("PRAGMA foreign_keys=ON")
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self):
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # take the write lock up front: concurrent writers wait, none is lost
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- studies ---------------------------------------------------------------------------------------
    def create_study(self, name: str, mode: str, checkpoints: list[str], data: str, split: str, trials: int, seed: int) -> Study:
        study = Study(study_code(), secrets.token_urlsafe(18), name, mode, tuple(checkpoints), data, split, int(trials), int(seed))
        with self._transaction() as db:
            db.execute("INSERT INTO studies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (study.code, study.owner_token, name, mode, json.dumps(list(checkpoints)), data, split, study.trials, study.seed, time.time()))
        return study

    def study(self, code: str) -> Study:
        with self._connect() as db:
            row = db.execute("SELECT code, owner_token, name, mode, checkpoints, data, split, trials, seed FROM studies WHERE code = ?",
                             (str(code or "").strip(),)).fetchone()
        if row is None:
            raise StudyError(f"no study with the code {code!r}; check the link you were sent")
        return Study(*row[:4], tuple(json.loads(row[4])), *row[5:])

    def owned_study(self, code: str, token: str) -> Study:
        study = self.study(code)
        if not secrets.compare_digest(str(token or ""), study.owner_token):
            raise StudyError("this owner token does not open this study's results; use the owner link you got when creating it")
        return study

    # -- sessions --------------------------------------------------------------------------------------
    def start_session(self, code: str, reader: str, plans: list[dict]) -> Session:
        token = secrets.token_urlsafe(18)
        try:
            with self._transaction() as db:
                cur = db.execute("INSERT INTO sessions (study, reader, token, created) VALUES (?, ?, ?, ?)", (code, reader, token, time.time()))
                db.executemany("INSERT INTO trials (session, idx, plan) VALUES (?, ?, ?)",
                               [(cur.lastrowid, i, json.dumps(p)) for i, p in enumerate(plans)])
                sid = cur.lastrowid
        except sqlite3.IntegrityError:
            raise StudyError(f"a reader named {reader!r} has already started this study; to continue, open your own resume "
                             "link, or start under another name") from None
        return Session(sid, code, reader, token, None)

    def session(self, token: str) -> Session:
        with self._connect() as db:
            row = db.execute("SELECT id, study, reader, token, finished FROM sessions WHERE token = ?", (str(token or ""),)).fetchone()
        if row is None:
            raise StudyError("this resume link does not match any reading session")
        return Session(*row)

    def sessions(self, code: str) -> list[Session]:
        with self._connect() as db:
            return [Session(*r) for r in db.execute("SELECT id, study, reader, token, finished FROM sessions WHERE study = ? ORDER BY id", (code,))]

    def plan(self, session: Session, idx: int) -> dict:
        with self._connect() as db:
            row = db.execute("SELECT plan FROM trials WHERE session = ? AND idx = ?", (session.id, idx)).fetchone()
        if row is None:
            raise StudyError(f"trial {idx + 1} does not exist in this session")
        return json.loads(row[0])

    def trial_count(self, session: Session) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM trials WHERE session = ?", (session.id,)).fetchone()[0]

    def next_index(self, session: Session) -> int:
        """The first unanswered trial (== trial_count when all are answered)."""
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM answers WHERE session = ?", (session.id,)).fetchone()[0]

    def mark_shown(self, session: Session, idx: int) -> None:
        """When a trial is first shown, so the response time counts from there, across restarts too."""
        with self._transaction() as db:
            db.execute("UPDATE trials SET shown = ? WHERE session = ? AND idx = ? AND shown IS NULL", (time.time(), session.id, idx))

    def answer(self, session: Session, idx: int, choice: str, confidence: int | None = None) -> bool:
        """Write one answer in its own transaction and return whether it was correct, judged against the trial's plan
        here, where the truth lives. A second answer to the same trial, any after the end, or a choice the mode does
        not offer is refused."""
        with self._transaction() as db:
            finished = db.execute("SELECT finished FROM sessions WHERE id = ?", (session.id,)).fetchone()[0]
            if finished is not None:
                raise StudyError("this reading session has ended; its answers are stored and cannot change")
            done = db.execute("SELECT COUNT(*) FROM answers WHERE session = ?", (session.id,)).fetchone()[0]
            if idx < done:
                raise StudyError(f"trial {idx + 1} was already answered; its first answer stands")
            if idx > done:
                raise StudyError(f"trial {idx + 1} is not the current one (trial {done + 1} is)")
            row = db.execute("SELECT plan, shown FROM trials WHERE session = ? AND idx = ?", (session.id, idx)).fetchone()
            if row is None:
                raise StudyError(f"trial {idx + 1} does not exist in this session")
            plan, shown = json.loads(row[0]), row[1]
            if choice not in ANSWERS[plan["mode"]]:
                raise StudyError(f"answer with one of {', '.join(ANSWERS[plan['mode']])}")
            correct = choice == truth(plan)
            now = time.time()
            db.execute("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (session.id, idx, choice, int(correct), confidence, now - shown if shown else None, now))
            total = db.execute("SELECT COUNT(*) FROM trials WHERE session = ?", (session.id,)).fetchone()[0]
            if idx + 1 == total:
                db.execute("UPDATE sessions SET finished = ? WHERE id = ?", (now, session.id))
        return correct

    def answers(self, code: str, session: Session | None = None) -> list[dict]:
        """Every answer of a study (or of one session) with its trial's plan, truth included: for the owner's results,
        the export, and a reader's own table after their last answer."""
        where, args = ("s.study = ? AND s.id = ?", (code, session.id)) if session else ("s.study = ?", (code,))
        with self._connect() as db:
            rows = db.execute(
                "SELECT s.reader, a.idx, t.plan, a.choice, a.correct, a.confidence, a.rt_s, a.answered FROM answers a "
                "JOIN sessions s ON s.id = a.session JOIN trials t ON t.session = a.session AND t.idx = a.idx "
                f"WHERE {where} ORDER BY s.id, a.idx", args).fetchall()
        return [{"reader": r[0], "trial": r[1] + 1, **json.loads(r[2]), "choice": r[3], "correct": bool(r[4]), "confidence": r[5],
                 "response_time_s": r[6], "answered": r[7]} for r in rows]

    def session_answers(self, session: Session) -> list[dict]:
        return self.answers(session.study, session)
