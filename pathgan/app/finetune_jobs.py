"""Background fine-tuning for the app: checked uploads, a one-job queue, and a worker process per job.

The worker is `python -m pathgan finetune` (the library's trainer, the same code path as the shell) with a
thread count that leaves the app a core. Each job's state is a JSON file on disk, so closing the browser does
not stop a job, reopening the page shows it, and after an app restart an unfinished job is shown as
interrupted and can be resumed exactly (`finetune --resume`). A finished job's checkpoint is copied
atomically into the user checkpoint folder, which the app's checkpoint search includes.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from ..checkpoint import atomic_write, config_path
from ..dataclass_cli import flag_args
from ..errors import PathGANError
from ..finetune import RESULT_FILE, FinetuneConfig, describe_result
from ..finetune_data import DataCheck, check_finetune_data
from ..paths import FINETUNE_DIR, PROJECT_ROOT
from ..schemes import Wording
from .errors import UserError

ACTIVE = ("queued", "running")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Enforced on the server, whatever the page allows."""
    max_steps: int = 20_000
    max_queue: int = 4
    max_zip_bytes: int = 2 * 2**30  # a lab's whole-slide tiles: Gradio streams the upload to disk, it is unpacked in blocks
    max_files: int = 20_000
    max_extracted_bytes: int = 8 * 2**30
    max_ratio: float = 200.0  # uncompressed / compressed of one member beyond this is a zip bomb


@dataclass
class Job:
    id: str
    name: str
    checkpoint: str
    data: str
    settings: dict
    folder_path: str = ""
    status: str = "queued"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    pid: int | None = None
    resume: bool = False
    output: str | None = None
    message: str = ""

    @property
    def folder(self) -> Path:
        return Path(self.folder_path)

    @property
    def run(self) -> Path:
        return self.folder / "run"


# -- uploads -------------------------------------------------------------------------------------------

def extract_zip(archive: str | Path, dest: Path, limits: Limits = Limits()) -> Path:
    """Unpack an uploaded zip into `dest`, refusing escapes, absolute paths, links, oversize and bombs before writing."""
    archive = Path(archive)
    if archive.stat().st_size > limits.max_zip_bytes:
        raise UserError(f"the zip is {archive.stat().st_size / 2**20:.0f} MB; at most {limits.max_zip_bytes // 2**20} MB")
    try:
        z = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        raise UserError(f"{archive.name} is not a readable zip ({e})") from None
    with z:
        members = [m for m in z.infolist() if not m.is_dir()]
        if len(members) > limits.max_files:
            raise UserError(f"the zip holds {len(members)} files; at most {limits.max_files}")
        total = 0
        for m in members:
            name = m.filename.replace("\\", "/")
            if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in name.split("/"):
                raise UserError(f"{m.filename!r}: paths in the zip must stay inside it (no absolute paths, no '..')")
            if stat.S_ISLNK(m.external_attr >> 16):
                raise UserError(f"{m.filename!r}: links are not accepted in an upload")
            if m.compress_size and m.file_size / m.compress_size > limits.max_ratio:
                raise UserError(f"{m.filename!r} expands {m.file_size / m.compress_size:.0f}-fold: refused as a zip bomb")
            total += m.file_size
        if total > limits.max_extracted_bytes:
            raise UserError(f"the zip unpacks to {total / 2**20:.0f} MB; at most {limits.max_extracted_bytes // 2**20} MB")
        dest.mkdir(parents=True, exist_ok=True)
        written = 0
        for m in members:
            target = dest / m.filename.replace("\\", "/")
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(m) as src, open(target, "wb") as out:
                while block := src.read(1 << 20):
                    written += len(block)
                    if written > limits.max_extracted_bytes:  # sizes in the zip's directory can lie
                        raise UserError(f"the zip unpacks to more than {limits.max_extracted_bytes // 2**20} MB")
                    out.write(block)
    return dataset_root(dest)


def zip_dataset(folder: str | Path, out: str | Path) -> Path:
    """A dataset folder as a zip the tab takes (paths relative to the folder): what `extract_zip` unpacks."""
    folder, out = Path(folder), Path(out)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(folder))
    return out


def dataset_root(folder: Path) -> Path:
    """The folder holding images/ and masks/: the upload itself, or its one top-level folder."""
    if (folder / "images").is_dir():
        return folder
    subs = [d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(("__MACOSX", "."))]
    if len(subs) == 1 and (subs[0] / "images").is_dir():
        return subs[0]
    raise UserError("the data needs an images/ and a masks/ folder (with or without train/ and test/ inside)")


def data_split(root: Path) -> str:
    """'train' when the data has splits, '.' when images/ holds the files directly."""
    subdirs = [d.name for d in (root / "images").iterdir() if d.is_dir()]
    if not subdirs:
        return "."
    return "train" if "train" in subdirs else sorted(subdirs)[0]


# The tab's fields, where the command line names flags: the same rule, the same advice.
TAB_WORDING = Wording(scheme="choose \"{}\" under *Your masks' classes*", class_map="write {} under *Class map*")
SCHEME_CHOICES = (("scheme.json in the data", ""), ("binary: nucleus / background (masks 0/1 or 0/255)", "binary"),
                  ("CoNSeP's 4 nucleus types", "consep"))


def validate(root: Path, checkpoint: Path, class_map: str = "", scheme: str = "", name: str | None = None,
             discriminator: str = "auto") -> DataCheck:
    """The library's fine-tune checks of an upload, in the split it holds and in the tab's words."""
    return check_finetune_data(root, checkpoint, data_split(root), class_map, scheme, name, discriminator, TAB_WORDING)


# -- jobs ------------------------------------------------------------------------------------------------

class JobManager:
    def __init__(self, folder: str | Path = FINETUNE_DIR, device: str = "auto", limits: Limits = Limits(),
                 threads: int | None = None, poll_s: float = 1.0, start_worker: bool = True):
        self.folder = Path(folder)
        self.jobs_dir = self.folder / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.device, self.limits, self.poll_s = device, limits, poll_s
        self.threads = threads or max(1, (os.cpu_count() or 2) - 1)  # leave the app a core
        self._app_threads = torch.get_num_threads()
        # While a worker trains, this process keeps to the cores the worker leaves: oversubscribed OpenMP threads
        # spin against each other (measured: 14x slower synthesis with 2 app threads beside a 1-thread worker on 2 cores).
        self._app_threads_busy = max(1, (os.cpu_count() or 2) - self.threads)
        self._procs: dict[str, subprocess.Popen] = {}
        self._cancel: set[str] = set()
        self._lock = threading.RLock()
        for job in self.jobs():  # a job left running by a previous app process has no worker now
            if job.status == "running":
                self._save(job, status="interrupted", message="the app stopped while it ran; Resume continues it exactly")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="finetune-jobs")
        if start_worker:
            self._thread.start()

    # -- queries ---------------------------------------------------------------------------------------
    def jobs(self) -> list[Job]:
        out = []
        for f in sorted(self.jobs_dir.glob("*/job.json")):
            try:
                out.append(Job(**json.loads(f.read_text())))
            except (OSError, ValueError, TypeError):
                continue
        return sorted(out, key=lambda j: j.created)

    def job(self, job_id: str) -> Job:
        path = self.jobs_dir / str(job_id) / "job.json"
        if not str(job_id).isalnum() or not path.is_file():
            raise UserError(f"no fine-tuning job {job_id!r}")
        return Job(**json.loads(path.read_text()))

    # -- actions ---------------------------------------------------------------------------------------
    def new_job_folder(self) -> tuple[str, Path]:
        job_id = uuid.uuid4().hex[:10]
        folder = self.jobs_dir / job_id
        folder.mkdir(parents=True)
        return job_id, folder

    def submit(self, job_id: str, name: str, checkpoint: Path, data: Path, settings: FinetuneConfig) -> Job:
        with self._lock:
            if sum(j.status in ACTIVE for j in self.jobs()) >= self.limits.max_queue:
                raise UserError(f"the queue is full ({self.limits.max_queue} jobs); cancel one or wait")
            if not 1 <= settings.steps <= self.limits.max_steps:
                raise UserError(f"steps must be between 1 and {self.limits.max_steps}")
            job = Job(job_id, name, str(checkpoint), str(data), asdict(settings), str(self.jobs_dir / job_id))
            self._save(job)
        return job

    def cancel(self, job_id: str) -> Job:
        with self._lock:
            job = self.job(job_id)
            if job.status == "queued":
                return self._save(job, status="cancelled", finished=time.time(), message="cancelled before it started")
            if job.status != "running":
                raise UserError(f"job {job_id} is {job.status}; only queued or running jobs can be cancelled")
            self._cancel.add(job_id)
            proc = self._procs.get(job_id)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # the trainer saves a resumable checkpoint, then stops
            return job

    def resume(self, job_id: str) -> Job:
        with self._lock:
            job = self.job(job_id)
            if job.status not in ("interrupted", "cancelled", "failed") or not (job.run / "train_state.pt").is_file():
                raise UserError(f"job {job_id} is {job.status}" + ("" if job.status in ("interrupted", "cancelled", "failed")
                                                                  else "; only stopped jobs with a saved state can be resumed"))
            return self._save(job, status="queued", resume=True, message="queued to resume")

    def stop(self) -> None:
        self._stop.set()

    # -- the worker -------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except PathGANError as e:  # the loop must outlive any one job's trouble
                print(f"fine-tune scheduler: {e}", file=sys.stderr)
            except Exception:  # a bug: logged with its traceback, and the loop goes on
                log.exception("fine-tune scheduler: unexpected error")
            self._stop.wait(self.poll_s)

    def tick(self) -> None:
        """Reap a finished worker, then start the next queued job when none runs."""
        with self._lock:
            for job_id, proc in list(self._procs.items()):
                rc = proc.poll()
                if rc is not None:
                    del self._procs[job_id]
                    torch.set_num_threads(self._app_threads)
                    self._finish(self.job(job_id), rc)
            if self._procs:
                return
            queued = [j for j in self.jobs() if j.status == "queued"]
            if queued:
                self._launch(queued[0])

    def command(self, job: Job) -> list[str]:
        settings = replace(FinetuneConfig(**job.settings), data=job.data, out=str(job.run), device=self.device)
        return [sys.executable, "-m", "pathgan", "finetune", "--checkpoint", job.checkpoint, *flag_args(settings),
                *(["--resume"] if job.resume else [])]

    def _launch(self, job: Job) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads), "PYTHONUNBUFFERED": "1"}
        log = open(job.folder / "worker.log", "a")
        self._procs[job.id] = subprocess.Popen(self.command(job), cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True)
        log.close()
        torch.set_num_threads(self._app_threads_busy)
        self._save(job, status="running", started=time.time(), pid=self._procs[job.id].pid, message="")

    def _finish(self, job: Job, rc: int) -> None:
        if rc == 0:
            out = self._publish(job)
            self._save(job, status="done", finished=time.time(), output=str(out), message=f"wrote {out.name}. {describe_result(job.run)}")
        elif job.id in self._cancel:
            self._cancel.discard(job.id)
            self._save(job, status="cancelled", finished=time.time(), message="cancelled; the last checkpoint is kept, Resume continues")
        elif rc < 0 or rc == 130:
            self._save(job, status="interrupted", finished=time.time(), message=f"the worker was stopped (signal {-rc if rc < 0 else 'INT'}); Resume continues")
        else:
            tail = (job.folder / "worker.log").read_text(errors="replace").strip().splitlines()[-1:] if (job.folder / "worker.log").exists() else []
            self._save(job, status="failed", finished=time.time(), message=f"failed (exit {rc}): {' '.join(tail)}")

    def _publish(self, job: Job) -> Path:
        """Copy the run's checkpoint into the user checkpoint folder, atomically and under a new name."""
        src = job.run / RESULT_FILE
        stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in job.name).strip("-") or f"finetuned-{job.id}"
        dest = self.folder / f"{stem}.safetensors"
        if dest.exists():
            dest = self.folder / f"{stem}-{job.id}.safetensors"
        atomic_write(dest, lambda tmp: shutil.copyfile(src, tmp))
        atomic_write(config_path(dest), lambda tmp: shutil.copyfile(config_path(src), tmp))
        return dest

    def _save(self, job: Job, **changes) -> Job:
        for k, v in changes.items():
            setattr(job, k, v)
        path = self.jobs_dir / job.id / "job.json"
        atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(asdict(job), indent=2)))
        return job

    # -- progress ----------------------------------------------------------------------------------------
    def progress(self, job_id: str) -> dict:
        job = self.job(job_id)
        records = []
        metrics = job.run / "metrics.jsonl"
        if metrics.is_file():
            for line in metrics.read_text().splitlines():
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
        steps = int(job.settings.get("steps", 0))
        step = records[-1]["step"] if records else 0
        eta = remaining_seconds(records, steps, int(job.settings.get("d_warmup_steps", 0)))
        samples = sorted((job.run / "samples").glob("step_*.png")) if (job.run / "samples").is_dir() else []
        return {"job": job, "step": step, "steps": steps, "records": records, "sample": samples[-1] if samples else None,
                "elapsed_s": (job.finished or time.time()) - job.started if job.started else 0.0, "eta_s": eta}


def remaining_seconds(records: list[dict], steps: int, warmup: int) -> float | None:
    """Training time left, from the pace of the joint steps: a discriminator-only warm-up step costs a fraction of one
    (measured: 0.47 s against 1.1 s), so projecting from the warm-up promised a third of the real time. None until a
    joint step has run."""
    wall = {r["step"]: r["wall_time_s"] for r in records}
    last = records[-1]["step"] if records else 0
    joint = [s for s in wall if s > warmup]
    if not joint or last <= min(joint):
        return None
    first = min(joint)
    per_joint = (wall[last] - wall[first]) / (last - first)
    per_warmup = wall[min(warmup, last)] / min(warmup, last) if warmup else 0.0
    return per_joint * (steps - max(last, warmup)) + per_warmup * max(warmup - last, 0)
