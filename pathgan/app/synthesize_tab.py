"""The Synthesize tab as plain functions: the mask canvas and its live preview, uploads, examples, random layouts,
synthesis, and the tiles, snapped mask and zip handed back."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import ConfigError
from ..layouts import random_layout
from ..masks import MaskError, ids_to_palette, read_mask, remap_ids
from ..paths import ASSETS_DIR
from ..schemes import CONSEP, ClassScheme
from ..seeds import MAX_SEED, consecutive_seeds
from .checkpoints_index import CheckpointCatalog, CheckpointEntry
from .errors import UserError
from .exports import ExportFolders, write_png
from .limits import CANVAS_SIZES, MAX_SIDE, MAX_UPLOAD_BYTES, MAX_UPLOAD_SIDE, MAX_VARIATIONS, check_mask_size
from .mask_canvas import blank_value, canvas_value, png_data_url, read_canvas
from .overlay import contour_overlay, write_pair_zip


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


class SynthesizeTab:
    def __init__(self, catalog: CheckpointCatalog, exports: ExportFolders, max_side: int = MAX_SIDE, concurrency: int = 1):
        self.catalog, self.exports, self.max_side = catalog, exports, max_side
        # Live previews skip Gradio's queue (one small request each); this bounds how many run at once.
        self._previews = threading.BoundedSemaphore(concurrency)

    def blank_canvas(self, size: int, scheme: ClassScheme) -> str:
        return blank_value(self.check_canvas_size(size), scheme)

    def canvas_value(self, ids: np.ndarray, scheme: ClassScheme) -> str:
        """The canvas value (mask_canvas.py) showing `ids` in `scheme`'s classes."""
        return canvas_value(ids, scheme)

    def check_canvas_size(self, size) -> int:
        try:
            size = int(size)
        except (TypeError, ValueError):
            raise UserError(f"canvas size must be one of {', '.join(map(str, CANVAS_SIZES))}") from None
        if size not in CANVAS_SIZES or size > self.max_side:
            raise UserError(f"canvas size must be one of {', '.join(str(s) for s in CANVAS_SIZES if s <= self.max_side)}, got {size}")
        return size

    def read_canvas(self, value) -> tuple[np.ndarray, ClassScheme]:
        """A canvas value -> (ids, the scheme it was drawn in), whatever it holds, background only included."""
        try:
            return read_canvas(value, self.max_side)
        except MaskError as e:  # read_canvas words a bad scheme as a MaskError too
            raise UserError(str(e)) from None

    def mask_from_canvas(self, value, scheme: ClassScheme) -> np.ndarray:
        """The canvas's ids for a checkpoint of `scheme`; an empty canvas, or one drawn in other classes, is an error."""
        ids, drawn = self.read_canvas(value)
        if drawn.names != scheme.names:
            raise UserError(f"the canvas draws {drawn.describe()}, but the checkpoint needs {scheme.describe()}; "
                            "choose the checkpoint again to redraw the canvas in its classes")
        if not ids.any():
            raise UserError("The canvas is empty: draw nuclei with the class brushes, upload a mask, pick an example, or press 'Random layout'.")
        return self.check_mask_size(ids)

    def check_mask_size(self, ids: np.ndarray) -> np.ndarray:
        return check_mask_size(ids, self.max_side)

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

    def canvas_for_size(self, value, size, scheme: ClassScheme) -> str:
        """A canvas of the new size keeping what was drawn (cropped or padded at the bottom/right)."""
        size = self.check_canvas_size(size)
        try:
            ids, drawn = self.read_canvas(value)
        except UserError:
            return self.blank_canvas(size, scheme)
        fitted = np.zeros((size, size), np.uint8)
        h, w = min(size, ids.shape[0]), min(size, ids.shape[1])
        fitted[:h, :w] = ids[:h, :w]
        return self.canvas_value(fitted, drawn)

    def canvas_for_scheme(self, value, new: ClassScheme) -> tuple[str | None, str]:
        """After the checkpoint changed: (the canvas redrawn in the new classes, a note); (None, "") when nothing changes.

        What was drawn is kept where the mapping is obvious (see remap_ids); otherwise the canvas is cleared, and the note says so.
        """
        try:
            ids, old = self.read_canvas(value)
        except UserError:  # nothing readable to carry over
            return self.blank_canvas(256, new), f"The canvas now draws {new.describe()}."
        if old.names == new.names:
            return None, ""
        size = ids.shape[0] if ids.shape[0] in CANVAS_SIZES else 256
        if not ids.any():
            return self.blank_canvas(size, new), f"The canvas now draws {new.describe()}."
        mapped = remap_ids(ids, old, new)
        if mapped is None:
            return self.blank_canvas(size, new), (
                f"Canvas cleared: it was drawn in {old.describe()}, and this checkpoint draws {new.describe()}.")
        return self.canvas_value(mapped, new), f"The canvas now draws {new.describe()}; what was drawn was kept ({self.describe_mask(mapped, new)})."

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

    def synthesize(self, ids: np.ndarray, checkpoint: str | None, seed, variations) -> Synthesis:
        seeds = self.seed_list(seed, variations)
        ids = self.check_mask_size(np.asarray(ids))
        start = time.perf_counter()
        entry, synth = self.catalog.synthesizer(checkpoint)
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
            result.folder = self.exports.new()
        return result.folder

    def generate_from_canvas(self, canvas, checkpoint, seed, variations, overlay):
        """Generate button -> (gallery, snapped mask, zip path, status, Synthesis for later overlay toggles)."""
        ids = self.mask_from_canvas(canvas, self.catalog.scheme_for(checkpoint))
        result = self.synthesize(ids, checkpoint, seed, variations)
        return self.gallery(result, overlay), self.snapped_mask(result), str(self.export_zip(result)), result.summary(), result

    def live_preview(self, query: dict) -> dict:
        """The canvas's live preview, called from the page: {canvas, checkpoint, seed, overlay} -> the first seed's tile
        as a PNG data URL, exactly the tile Generate gives, with the server's share of the time."""
        start = time.perf_counter()
        if not isinstance(query, dict):
            raise UserError("a preview needs {canvas, checkpoint, seed, overlay}")
        checkpoint = query.get("checkpoint")
        ids = self.mask_from_canvas(query.get("canvas"), self.catalog.scheme_for(checkpoint))
        with self._previews:
            result = self.synthesize(ids, checkpoint, query.get("seed"), 1)
        image = result.images[0]
        if query.get("overlay"):
            image = contour_overlay(image, result.ids, result.scheme)
        tile = png_data_url(image)
        server_ms = (time.perf_counter() - start) * 1000
        return {"tile": tile, "seed": result.seeds[0],
                "summary": f"seed {result.seeds[0]}, {result.checkpoint.name}: {result.seconds * 1000:.0f} ms on {result.device} ({result.precision})",
                "timings": {"synthesis_ms": round(result.seconds * 1000, 1), "server_ms": round(server_ms, 1)}}

    def api_synthesize(self, mask, seed, variations, checkpoint):
        """The `synthesize` endpoint: a mask file, read in the checkpoint's classes -> (tiles, snapped mask, zip path, info)."""
        ids = self.mask_from_upload(mask, self.catalog.scheme_for(checkpoint))
        result = self.synthesize(ids, checkpoint, seed, variations)
        return self.gallery(result), self.snapped_mask(result), str(self.export_zip(result)), result.info()
