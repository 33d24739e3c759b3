"""The Fine-tune tab as plain functions: check the pairs, queue a job, follow it, cancel or resume it."""
from __future__ import annotations

import secrets
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..finetune import FinetuneConfig, discriminator_used
from .checkpoints_index import CheckpointCatalog
from .errors import UserError
from .finetune_jobs import JobManager, dataset_root, extract_zip, validate

LOSSES = (("loss_d", (200, 0, 0)), ("loss_g_gan", (0, 90, 200)), ("loss_l1", (0, 150, 0)))


class FinetuneTab:
    def __init__(self, catalog: CheckpointCatalog, manager: JobManager, allow_local_paths: bool = False, job_token: str | None = None):
        self.catalog, self.manager = catalog, manager
        self.allow_local_paths, self.job_token = allow_local_paths, job_token or None

    def _data(self, folder: Path, upload, local_path) -> Path:
        """The pairs to train on: an uploaded zip, unpacked into the job's folder, or (only if allowed) a server folder."""
        local_path = str(local_path or "").strip()
        if local_path:
            if not self.allow_local_paths:
                raise UserError("server folders are not accepted here; upload a zip (an app started with --allow-local-paths accepts them)")
            path = Path(local_path).expanduser()
            if not path.is_dir():
                raise UserError(f"{local_path}: no such folder on the server")
            return dataset_root(path)
        if not upload:
            raise UserError("upload a zip of your pairs: images/ and masks/ (with or without train/ inside), optionally scheme.json")
        return extract_zip(upload, folder / "data", self.manager.limits)

    @staticmethod
    def _shown_name(upload, local_path) -> str:
        """The data as the user named it: the zip's file name or the folder's, never a server path."""
        return Path(str(local_path or "").strip() or str(upload or "data")).name

    def check(self, upload, local_path, checkpoint, class_map="", scheme="", discriminator="auto") -> str:
        entry = self.catalog.entry(checkpoint)
        folder = self.manager.jobs_dir.parent / "checks" / secrets.token_hex(6)
        try:
            root = self._data(folder, upload, local_path)
            return validate(root, entry.path, (class_map or "").strip(), scheme or "", self._shown_name(upload, local_path),
                            discriminator or "auto").report
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def start(self, upload, local_path, checkpoint, name, class_map, steps, lr, batch_size, d_warmup_steps, ema_decay, discriminator,
              token="", calibrate: bool = False, scheme: str = "") -> tuple[str, str]:
        """Validate, then queue; returns (report, job id). Nothing is queued on invalid data."""
        if self.job_token and not secrets.compare_digest(str(token or ""), self.job_token):
            raise UserError("starting fine-tuning jobs here needs the job token the app was started with")
        entry = self.catalog.entry(checkpoint)
        try:
            settings = FinetuneConfig(steps=int(steps), lr=float(lr), batch_size=int(batch_size), d_warmup_steps=int(d_warmup_steps),
                                      ema_decay=float(ema_decay), discriminator=str(discriminator), class_map=(class_map or "").strip(),
                                      calibrate=bool(calibrate), scheme=scheme or "")
        except (TypeError, ValueError):
            raise UserError("steps, batch size and warm-up are whole numbers; learning rate and EMA decay are numbers") from None
        job_id, folder = self.manager.new_job_folder()
        try:
            root = self._data(folder, upload, local_path)
            check = validate(root, entry.path, settings.class_map, settings.scheme, self._shown_name(upload, local_path), settings.discriminator)
            if not check.ok:
                raise UserError(check.report)
            every = max(1, min(100, settings.steps // 10))  # about ten progress points: samples and checkpoints to watch and resume from
            settings = replace(settings, split=check.split, sample_every=every, checkpoint_every=every)
            job = self.manager.submit(job_id, (name or "").strip() or f"{entry.name}-finetuned", entry.path, root, settings)
        except Exception:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return check.report + f"\n\nQueued as job `{job.id}`.", job.id

    def discriminator_note(self, checkpoint, choice) -> str:
        try:
            entry = self.catalog.entry(checkpoint)
        except UserError:
            return ""  # no checkpoint to fine-tune: the page says so where a checkpoint is chosen
        return f"Discriminator for {entry.name}: {discriminator_used(entry.path, choice or 'auto')}."

    def choices(self) -> list[tuple[str, str]]:
        return [(f"{j.name} · {j.status} · {j.id}", j.id) for j in reversed(self.manager.jobs())]

    def view(self, job_id: str | None) -> tuple[str, str | None, str | None]:
        """(status with a progress bar, loss plot, latest samples) of a job."""
        if not job_id:
            return "_no job selected_", None, None
        p = self.manager.progress(job_id)
        job, step, steps = p["job"], p["step"], p["steps"]
        share = step / steps if steps else 0.0
        eta = ""
        if job.status == "running" and step < steps:
            eta = (f", about {p['eta_s'] / 60:.1f} min of training left, then the held-out check" if p["eta_s"] is not None
                   else "; time left is estimated once the joint steps have begun (the warm-up steps are cheaper)")
        lines = [f"**{job.name}** ({job.id}): {job.status}. Step {step:,} of {steps:,}; {p['elapsed_s'] / 60:.1f} min elapsed{eta}.",
                 f'<div style="background:#eee;height:10px;border-radius:5px"><div style="background:#ea580c;width:{100 * share:.1f}%;'
                 f'height:10px;border-radius:5px"></div></div>']
        if job.message:
            lines.append(job.message)
        plot, metrics = job.folder / "losses.png", job.run / "metrics.jsonl"
        if p["records"] and (not plot.exists() or plot.stat().st_mtime < metrics.stat().st_mtime):  # redrawn only when it trained on
            loss_plot(p["records"], plot)
        plot = str(plot) if plot.exists() else None
        return "\n\n".join(lines), plot, str(p["sample"]) if p["sample"] else None

    def poll(self, job_id: str | None) -> tuple[str, str | None, str | None]:
        """What the page's 2-s timer shows: the view, or why there is none, in the status box. As a toast, one error
        came back every tick, the same warning 30 times a minute."""
        try:
            return self.view(job_id)
        except UserError as e:
            return f"⚠️ {e}", None, None

    def cancel(self, job_id: str) -> str:
        job = self.manager.cancel(job_id)
        return (f"Cancelled {job.id} before it started." if job.status == "cancelled"
                else f"Cancelling {job.id}: it saves its last checkpoint, then stops.")

    def resume(self, job_id: str) -> str:
        return f"Queued {self.manager.resume(job_id).id} to resume where it stopped."


def loss_plot(records: list[dict], path: Path, width: int = 560, height: int = 220) -> Path:
    """The losses against step, each scaled to its own range (the legend gives the ranges)."""
    im = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default()
    left, top, bottom = 10, 10, height - 56  # room for two legend rows and the step line
    steps = [r["step"] for r in records]
    x = lambda s: left + (s - steps[0]) / max(steps[-1] - steps[0], 1) * (width - 2 * left)  # noqa: E731
    legend = []
    for key, colour in LOSSES:
        values = np.array([r.get(key, np.nan) for r in records], float)
        if not np.isfinite(values).any():
            continue
        lo, hi = np.nanmin(values), np.nanmax(values)
        ys = bottom - (values - lo) / max(hi - lo, 1e-9) * (bottom - top)
        d.line([(x(s), y) for s, y in zip(steps, ys) if np.isfinite(y)], fill=colour, width=2)
        legend.append((f"{key} {lo:.3g}–{hi:.3g}", colour))
    spots = legend_layout([d.textlength(text, font=font) for text, _ in legend], left, bottom + 8, width)
    for (text, colour), spot in zip(legend, spots):
        d.text(spot, text, fill=colour, font=font)
    d.text((left, height - 15), f"step {steps[0]}–{steps[-1]}", fill="black", font=font)
    im.save(path)
    return path


def legend_layout(widths: list[float], left: int, top: int, width: int, gap: int = 16, row: int = 13) -> list[tuple[float, int]]:
    """Where each legend entry starts: side by side by measured width, on a new row when the next does not fit."""
    spots, x, y = [], left, top
    for w in widths:
        if x + w > width - left and x > left:
            x, y = left, y + row
        spots.append((x, y))
        x += w + gap
    return spots
