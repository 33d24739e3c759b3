"""Everything the Gradio app does, as plain functions on plain values; app.py only wires them to widgets.

Errors meant for the user are `UserError`s, a `PathGANError` like the library's own (MaskError, CheckpointError, ...),
which are turned into UserError here with their message intact; app.py shows any PathGANError to the user and
logs anything else as a fault.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..checkpoint import CheckpointError
from ..devices import PRECISION_HELP, PRECISIONS
from ..errors import ConfigError, PathGANError
from ..layouts import random_layout
from ..masks import MaskError, ids_to_palette, mask_from_array, read_mask, remap_ids
from ..paths import ASSETS_DIR, BUNDLED_PAIRS, FINETUNE_DIR, PROJECT_ROOT
from ..reading.store import DEFAULT_DB
from ..schemes import CONSEP, ClassScheme, SchemeError, SchemeMismatch, check_same_classes
from ..seeds import MAX_SEED, consecutive_seeds, parse_seeds
from .checkpoints_index import (
    DEFAULT_SEARCH, CheckpointEntry, SynthesizerCache, describe_search, find_checkpoints,
    no_checkpoint_message, parse_search, read_report, resolve_checkpoint,
)
from .compare import CompareError, PairedFolder, find_stem, open_paired_folder, random_stem, step_stem
from .model_card import ModelCard, render_model_card
from .overlay import contour_overlay, write_pair_zip

CANVAS_SIZES = (256, 512, 768, 1024)
MAX_SIDE = 1024  # largest mask the app synthesizes (the largest canvas); the CLI has no such limit
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_SIDE = 4096  # larger images are refused before their pixels are decoded
MAX_VARIATIONS = 8
EXPORT_MAX_AGE_S = 3600


class UserError(PathGANError, ValueError):
    """Bad input or a missing resource; the message is shown to the user as is."""


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


# -- results -------------------------------------------------------------------------------------

@dataclass
class Synthesis:
    ids: np.ndarray
    images: list[np.ndarray]
    seeds: list[int]
    seconds: float
    checkpoint: CheckpointEntry
    device: str
    post_processing: str  # as the Synthesizer words it
    scheme: ClassScheme = CONSEP  # the checkpoint's: the classes of `ids`
    folder: Path | None = None  # where its PNGs and zip are written, one folder per request
    precision: str = "fp32"  # the Synthesizer's: fp32, or bf16 where the hardware has bf16 units

    def summary(self) -> str:
        h, w = self.ids.shape
        seeds = f"seed {self.seeds[0]}" if len(self.seeds) == 1 else f"seeds {self.seeds[0]}–{self.seeds[-1]}"
        n = len(self.images)
        return (f"{n} tile{'s' if n != 1 else ''} of {w}×{h} px, {seeds}, in {self.seconds:.2f} s on {self.device} ({self.precision}) "
                f"with {self.checkpoint.name} ({self.checkpoint.disc}); post-processing: {self.post_processing}")

    def info(self) -> dict:
        return {
            "checkpoint": self.checkpoint.name, "discriminator": self.checkpoint.disc, "seeds": self.seeds,
            "width": int(self.ids.shape[1]), "height": int(self.ids.shape[0]), "seconds": round(self.seconds, 3), "device": self.device,
            "precision": self.precision,
            "post_processing": self.post_processing, "classes": list(self.scheme.names),
        }


class PathGANApp:
    """State the app shares between requests: settings, the checkpoint list, loaded generators."""

    def __init__(self, settings: AppSettings | None = None):
        self.settings = settings or AppSettings()
        self.cache = SynthesizerCache(None if self.settings.device == "auto" else self.settings.device, precision=self.settings.precision)
        self._lock = threading.Lock()
        self._folders: dict[str, PairedFolder] = {}
        self.entries: list[CheckpointEntry] = []
        self._seen_schemes: dict[str, ClassScheme] = {}  # path -> classes of every checkpoint listed so far
        self.rescan()

    # -- checkpoints -----------------------------------------------------------------------------
    def rescan(self) -> list[CheckpointEntry]:
        self.entries = find_checkpoints(self.settings.checkpoint_search)
        self._seen_schemes.update({str(e.path): e.config.scheme for e in self.entries if e.config is not None})
        return self.entries

    def checkpoint_choices(self) -> list[tuple[str, str]]:
        """(label, path) pairs for a dropdown: label names the discriminator variant and steps."""
        return [(e.label, str(e.path)) for e in self.entries]

    def default_checkpoint(self) -> str | None:
        """The usable checkpoint with the lowest evaluated FID; the first usable one when none has a report."""
        try:
            return str(resolve_checkpoint(self.entries, None, self.settings.checkpoint_search).path)
        except CheckpointError:  # none, or none readable: the dropdown still shows what is there
            return str(self.entries[0].path) if self.entries else None

    def checkpoint_status(self) -> str:
        if not self.entries:
            return "⚠️ " + no_checkpoint_message(self.settings.checkpoint_search)
        bad = [e for e in self.entries if e.error]
        text = f"{len(self.entries) - len(bad)} checkpoint(s) found in {describe_search(self.settings.checkpoint_search)}"
        if bad:
            text += f"; {len(bad)} unreadable ({bad[0].name}: {bad[0].error})"
        return text

    def entry(self, choice: str | None) -> CheckpointEntry:
        try:
            return resolve_checkpoint(self.entries, choice, self.settings.checkpoint_search)
        except CheckpointError as e:
            raise UserError(str(e)) from None

    def synthesizer(self, choice: str | None):
        entry = self.entry(choice)
        try:
            return entry, self.cache.get(entry.path)
        except CheckpointError as e:
            raise UserError(str(e)) from None
        except (OSError, RuntimeError) as e:  # torch's own load failures
            raise UserError(f"{entry.path}: cannot load this checkpoint ({e})") from None

    # -- masks -----------------------------------------------------------------------------------
    def scheme_for(self, choice: str | None) -> ClassScheme:
        """The class scheme of the chosen checkpoint: its classes are the canvas's brushes, legend and palette.

        With no usable checkpoint to choose, nothing can be generated and the canvas draws CoNSeP's classes. A checkpoint
        listed before a rescan dropped it keeps the classes it had, since a canvas may still be drawn in them. Any other
        choice that is not a usable checkpoint is a UserError saying why.
        """
        if not any(e.error is None for e in self.entries):
            return CONSEP
        try:
            return self.entry(choice).config.scheme
        except UserError:
            if choice in self._seen_schemes:
                return self._seen_schemes[choice]
            raise

    def blank_canvas(self, size: int = 256) -> dict:
        size = self.check_canvas_size(size)
        folder = self._export_folder()
        return {"background": write_png(folder / "background.png", np.zeros((size, size, 3), np.uint8)), "layers": [], "composite": None}

    def canvas_value(self, ids: np.ndarray, scheme: ClassScheme) -> dict:
        """An editor value (PNG paths) showing `ids` as the canvas background, with an empty layer to draw on.

        Gradio's eraser only removes strokes drawn in the browser, never content set from Python (background or
        layer alike), so nuclei of a loaded mask are painted out with the black background brush instead.
        """
        rgb = ids_to_palette(ids, scheme)
        path = write_png(self._export_folder() / "mask.png", rgb)
        return {"background": path, "layers": [], "composite": None}

    def check_canvas_size(self, size) -> int:
        try:
            size = int(size)
        except (TypeError, ValueError):
            raise UserError(f"canvas size must be one of {', '.join(map(str, CANVAS_SIZES))}") from None
        if size not in CANVAS_SIZES or size > self.settings.max_side:
            raise UserError(f"canvas size must be one of {', '.join(str(s) for s in CANVAS_SIZES if s <= self.settings.max_side)}, got {size}")
        return size

    def mask_from_editor(self, value, scheme: ClassScheme) -> np.ndarray:
        """The canvas, snapped pixel by pixel to the class palette; an empty canvas is an error."""
        empty = UserError("The canvas is empty: draw nuclei with the class brushes, upload a mask, pick an example, or press 'Random layout'.")
        if not value:
            raise empty
        image = value.get("composite") if isinstance(value, dict) else value
        if image is None and isinstance(value, dict):
            image = value.get("background")
        if image is None:
            raise empty
        if isinstance(image, (str, Path)):  # the editor with type="filepath", or a value made by canvas_value
            with Image.open(image) as im:
                image = np.asarray(im.convert("RGBA"))
        try:
            ids = mask_from_array(np.asarray(image), scheme, source="canvas")
        except MaskError as e:
            raise UserError(str(e)) from None
        if not ids.any():
            raise empty
        return self.check_mask_size(ids)

    def check_mask_size(self, ids: np.ndarray) -> np.ndarray:
        h, w = ids.shape
        limit = self.settings.max_side
        if h > limit or w > limit:
            raise UserError(f"the mask is {w}×{h} px; the app synthesizes up to {limit}×{limit}. Crop it, or use "
                            "`python -m pathgan generate` for larger masks.")
        return ids

    def mask_from_upload(self, path: str | Path | None, scheme: ClassScheme) -> np.ndarray:
        """An uploaded id PNG or palette PNG, read in `scheme` -> id mask, refusing huge or unreadable files with a clear message."""
        if not path:
            raise UserError("no file was uploaded")
        path = Path(path)
        name = path.name
        try:
            size = path.stat().st_size
        except OSError:
            raise UserError(f"{name}: the upload is missing; try again") from None
        if size > MAX_UPLOAD_BYTES:
            raise UserError(f"{name} is {size / 2**20:.1f} MB; uploads are limited to {MAX_UPLOAD_BYTES // 2**20} MB")
        try:
            with Image.open(path) as im:  # reads the header only
                w, h = im.size
        except Image.DecompressionBombError:  # a header claiming hundreds of megapixels
            raise UserError(f"{name} is far too large; uploads are limited to {MAX_UPLOAD_SIDE}×{MAX_UPLOAD_SIDE} px") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            raise UserError(f"{name} is not a readable image ({e.__class__.__name__}); upload a PNG mask") from None
        if w > MAX_UPLOAD_SIDE or h > MAX_UPLOAD_SIDE:
            raise UserError(f"{name} is {w}×{h} px; uploads are limited to {MAX_UPLOAD_SIDE}×{MAX_UPLOAD_SIDE}")
        try:
            ids = read_mask(path, scheme)
        except MaskError as e:
            raise UserError(str(e).replace(str(path), name)) from None
        if not ids.any():
            raise UserError(f"{name} holds only background: there are no nuclei to synthesize")
        return self.check_mask_size(ids)

    def canvas_for_size(self, editor_value, size, scheme: ClassScheme) -> dict:
        """A canvas of the new size keeping what was drawn (cropped or padded at the bottom/right)."""
        size = self.check_canvas_size(size)
        try:
            ids = self.mask_from_editor(editor_value, scheme)
        except UserError:
            return self.blank_canvas(size)
        fitted = np.zeros((size, size), np.uint8)
        h, w = min(size, ids.shape[0]), min(size, ids.shape[1])
        fitted[:h, :w] = ids[:h, :w]
        return self.canvas_value(fitted, scheme)

    def canvas_for_scheme(self, editor_value, old: ClassScheme, new: ClassScheme) -> tuple[dict | None, str]:
        """After the checkpoint changed: (the canvas redrawn in the new classes, a note); (None, "") when nothing changes.

        What was drawn is kept where the mapping is obvious (see remap_ids); otherwise the canvas is cleared, and the note says so.
        """
        if old.names == new.names:
            return None, ""
        try:
            ids = self.mask_from_editor(editor_value, old)
        except UserError:  # empty, or not in the old colours: nothing to carry over
            size = self._editor_size(editor_value)
            return self.blank_canvas(size), f"The canvas now draws {new.describe()}."
        mapped = remap_ids(ids, old, new)
        if mapped is None:
            return self.blank_canvas(ids.shape[0] if ids.shape[0] in CANVAS_SIZES else 256), (
                f"Canvas cleared: it was drawn in {old.describe()}, and this checkpoint draws {new.describe()}.")
        return self.canvas_value(mapped, new), f"The canvas now draws {new.describe()}; what was drawn was kept ({self.describe_mask(mapped, new)})."

    def _editor_size(self, editor_value) -> int:
        image = editor_value.get("background") if isinstance(editor_value, dict) else None
        try:
            with Image.open(image) as im:
                return im.size[0] if im.size[0] in CANVAS_SIZES else 256
        except (OSError, AttributeError, TypeError, ValueError):
            return 256

    def describe_mask(self, ids: np.ndarray, scheme: ClassScheme) -> str:
        counts = np.bincount(ids.ravel(), minlength=len(scheme.names)) / ids.size
        shares = ", ".join(f"{scheme.names[c]} {counts[c]:.1%}" for c in range(1, len(scheme.names)) if counts[c] > 0)
        return f"{ids.shape[1]}×{ids.shape[0]} px; {shares or 'background only'}"

    def example_masks(self, scheme: ClassScheme) -> list[tuple[np.ndarray, str]]:
        """(ids in `scheme`, caption) of the example masks shipped in assets/ (CoNSeP's classes); those that do
        not map onto the scheme are left out."""
        out = []
        for path in sorted(ASSETS_DIR.glob("example_*.png")):
            ids = remap_ids(read_mask(path, CONSEP), CONSEP, scheme)
            if ids is not None:  # CoNSeP's class names say nothing in another scheme: then only the layout's number
                caption = path.stem.removeprefix("example_")
                out.append((ids, caption.replace("_", " ") if scheme.names == CONSEP.names else f"layout {caption.split('_')[0]}"))
        return out

    def load_example(self, index: int, scheme: ClassScheme) -> tuple[np.ndarray, str]:
        examples = self.example_masks(scheme)
        if not 0 <= int(index) < len(examples):
            raise UserError(f"no example number {index}; there are {len(examples)}")
        return examples[int(index)]

    def random_mask(self, size: int, scheme: ClassScheme, seed: int | None = None) -> tuple[np.ndarray, int]:
        """A new procedural layout at the canvas size, in `scheme`'s classes; returns (ids, the seed used)."""
        size = self.check_canvas_size(size)
        seed = int(np.random.default_rng().integers(MAX_SEED)) if seed is None else int(seed)
        return random_layout(size, seed, scheme), seed

    # -- synthesis -------------------------------------------------------------------------------
    def synthesize(self, ids: np.ndarray, checkpoint: str | None, seed, variations) -> Synthesis:
        seeds = self.seed_list(seed, variations)
        ids = self.check_mask_size(np.asarray(ids))
        start = time.perf_counter()
        entry, synth = self.synthesizer(checkpoint)
        try:
            images = synth.generate(ids, seeds)
        except MaskError as e:
            raise UserError(str(e)) from None
        return Synthesis(ids, images, seeds, time.perf_counter() - start, entry, str(synth.device), synth.post_processing.description,
                         synth.scheme, precision=synth.precision)

    @staticmethod
    def seed_list(seed, variations) -> list[int]:
        try:
            return consecutive_seeds(seed, variations, MAX_VARIATIONS)
        except ConfigError as e:
            raise UserError(str(e)) from None

    def gallery(self, result: Synthesis, overlay: bool = False) -> list[tuple[str, str]]:
        """(PNG path, caption) per tile, outlined with the mask's contours when `overlay`."""
        folder = self._folder_for(result)
        suffix = "_contours" if overlay else ""
        return [(write_png(folder / f"synthetic_seed{s:04d}{suffix}.png", contour_overlay(img, result.ids, result.scheme) if overlay else img),
                 f"seed {s}") for s, img in zip(result.seeds, result.images)]

    def export_zip(self, result: Synthesis) -> Path:
        return write_pair_zip(self._folder_for(result) / f"pathgan_{result.checkpoint.name}_seed{result.seeds[0]}.zip",
                              result.ids, result.images, result.seeds, result.scheme, result.info())

    def snapped_mask(self, result: Synthesis) -> str:
        return write_png(self._folder_for(result) / "mask_palette.png", ids_to_palette(result.ids, result.scheme))

    def _folder_for(self, result: Synthesis) -> Path:
        if result.folder is None or not result.folder.is_dir():  # new, or pruned while the page stayed open
            result.folder = self._export_folder()
        return result.folder

    def _export_folder(self) -> Path:
        """A fresh folder per request; folders older than an hour are removed so the disk does not fill up.

        Outputs are handed to Gradio as files in their own folder, never as arrays: Gradio caches arrays under a
        content hash and rewrites that file on every request, so two users getting the same picture at once
        (a shared mask, a blank canvas) could download it half-written.
        """
        root = Path(self.settings.output_dir)
        root.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - EXPORT_MAX_AGE_S
        for old in root.iterdir():
            try:
                if old.is_dir() and old.stat().st_mtime < cutoff:
                    shutil.rmtree(old, ignore_errors=True)
            except OSError:
                pass
        folder = root / uuid.uuid4().hex
        folder.mkdir()
        return folder

    # -- handlers shaped like the widgets they feed -------------------------------------------------
    def generate_from_canvas(self, editor_value, checkpoint, seed, variations, overlay):
        """Generate button -> (gallery, snapped mask, zip path, status, Synthesis for later overlay toggles)."""
        ids = self.mask_from_editor(editor_value, self.scheme_for(checkpoint))
        result = self.synthesize(ids, checkpoint, seed, variations)
        return self.gallery(result, overlay), self.snapped_mask(result), str(self.export_zip(result)), result.summary(), result

    def live_preview(self, editor_value, checkpoint, seed, overlay):
        """A stroke with Live on -> what Generate gives for the first seed alone, so the tile keeps up with the pen."""
        gallery, snapped, zip_path, summary, result = self.generate_from_canvas(editor_value, checkpoint, seed, 1, overlay)
        return gallery, snapped, zip_path, f"Live preview: {summary}. Press Generate for every variation.", result

    def api_synthesize(self, mask, seed, variations, checkpoint):
        """The `synthesize` endpoint: a mask file, read in the checkpoint's classes -> (tiles, snapped mask, zip path, info)."""
        ids = self.mask_from_upload(mask, self.scheme_for(checkpoint))
        result = self.synthesize(ids, checkpoint, seed, variations)
        return self.gallery(result), self.snapped_mask(result), str(self.export_zip(result)), result.info()

    # -- compare tab -----------------------------------------------------------------------------
    def paired_folder(self, split: str | None = None, checkpoint: str | None = None) -> PairedFolder:
        """The Compare dataset's split, read in its own scheme.json's classes, else in the checkpoint's."""
        fallback = self.scheme_for(checkpoint)
        key = (split or "", fallback.names)
        with self._lock:
            if key not in self._folders:
                try:
                    self._folders[key] = open_paired_folder(self.paired_data(), split, fallback)
                except (CompareError, SchemeError) as e:
                    raise UserError(str(e)) from None
            return self._folders[key]

    def compare_step(self, split, stem, step: int) -> str:
        return self._compare_nav(lambda stems: step_stem(stems, stem, step), split)

    def compare_random(self, split, stem) -> str:
        return self._compare_nav(lambda stems: random_stem(stems, stem), split)

    def compare_find(self, split, query) -> str:
        return self._compare_nav(lambda stems: find_stem(stems, query), split)

    def _compare_nav(self, pick, split) -> str:
        stems = self.paired_folder(split).stems
        try:
            return pick(stems)
        except CompareError as e:
            raise UserError(str(e)) from None

    def paired_data(self) -> Path:
        """The paired dataset of the Compare tab and the Reading test: --data, else the bundled CoNSeP test sample."""
        return Path(self.settings.data) if self.settings.data else BUNDLED_PAIRS

    def compare_status(self) -> str:
        try:
            folder = self.paired_folder()
        except UserError as e:
            return "⚠️ " + str(e)
        if not self.settings.data:
            return (f"{len(folder.pairs)} pairs of the bundled CoNSeP test-split sample (`assets/consep_test`, which the shipped "
                    "checkpoints never saw in training). Start the app with `--data DIR` to browse your own: a folder holding "
                    "`images/<split>/` and `masks/<split>/` with matching stems.")
        return f"{len(folder.pairs)} pairs in {folder.root} (split '{folder.split}')"

    def compare_view_if_ready(self, split, stem, checkpoint, seeds_text, overlay):
        """Opening the tab: the current pair."""
        return self.compare_view(split, stem, checkpoint, seeds_text, overlay)

    def compare_view(self, split, stem, checkpoint, seeds_text, overlay) -> tuple[list[tuple[str, str]], str]:
        """Real image, its mask (in the scheme's colours) and synthetic tiles for that mask, all at the mask's size."""
        folder = self.paired_folder(split, checkpoint)
        stem = stem or folder.stems[0]
        try:
            image, ids = folder.load(stem)
        except CompareError as e:
            raise UserError(str(e)) from None
        ids = self.check_mask_size(ids)
        out = self._export_folder()

        def shown(name: str, im: np.ndarray) -> str:
            return write_png(out / name, contour_overlay(im, ids, folder.scheme) if overlay else im)

        items = [(shown(f"{stem}_real.png", image), f"real · {stem}"), (write_png(out / f"{stem}_mask.png", ids_to_palette(ids, folder.scheme)), "mask")]
        if not self.entries:
            return items, f"{stem}: real and mask only. " + no_checkpoint_message(self.settings.checkpoint_search)
        try:
            seeds = parse_seeds(seeds_text or "0", max_count=MAX_VARIATIONS)
        except ConfigError as e:
            raise UserError(str(e)) from None
        start = time.perf_counter()
        entry, synth = self.synthesizer(checkpoint)
        try:
            check_same_classes(synth.scheme, folder.scheme, entry.name, f"the dataset {folder.root}")
        except SchemeMismatch as e:
            raise UserError(str(e)) from None
        images = synth.generate(ids, seeds)
        seconds = time.perf_counter() - start
        items += [(shown(f"{stem}_synthetic_seed{s:04d}.png", im), f"synthetic · seed {s}") for s, im in zip(seeds, images)]
        return items, f"{stem} ({folder.stems.index(stem) + 1}/{len(folder.stems)}): {len(seeds)} synthetic tile(s) in {seconds:.2f} s with {entry.name}"

    # -- model tab -------------------------------------------------------------------------------
    def model_card(self, checkpoint: str | None) -> ModelCard:
        """The Model tab: summary and figures first, details (and the folder's README.md model card) folded."""
        readme = self._readme_for(checkpoint)
        readme = f"\n\n---\n\n{readme}" if readme else ""
        if not self.entries:
            return ModelCard("### No checkpoint\n\n" + no_checkpoint_message(self.settings.checkpoint_search), readme.lstrip("\n-"))
        try:
            entry = resolve_checkpoint(self.entries, checkpoint, self.settings.checkpoint_search)
        except CheckpointError as e:
            return ModelCard(f"### Checkpoint unusable\n\n{e}", "")
        card = render_model_card(entry, read_report(entry.path))
        card.details += readme
        if card.sample_sheet or card.curve:  # served from an export folder, like every file the app hands out
            folder = self._export_folder()
            card.sample_sheet, card.curve = (Path(shutil.copy(f, folder)) if f else None for f in (card.sample_sheet, card.curve))
        return card

    def _readme_for(self, checkpoint: str | None) -> str | None:
        """README.md beside the chosen checkpoint, else the first search folder's (the shipped model card)."""
        from .checkpoints_index import search_folders

        folders = []
        try:  # only listed checkpoints, so a crafted value cannot point the app at other folders
            folders.append(resolve_checkpoint(self.entries, checkpoint, self.settings.checkpoint_search).path.parent)
        except CheckpointError:
            pass
        folders += search_folders(self.settings.checkpoint_search)[:1]
        for folder in folders:
            readme = folder / "README.md"
            if readme.is_file():
                return _strip_front_matter(readme.read_text(errors="replace"))
        return None


def write_png(path: Path, image: np.ndarray) -> str:
    Image.fromarray(np.asarray(image)).save(path, compress_level=1)  # fast; these are short-lived
    return str(path)


def _strip_front_matter(text: str) -> str:
    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end != -1:
            return text[end + 4:].lstrip()
    return text
