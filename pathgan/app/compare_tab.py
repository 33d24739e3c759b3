"""The Compare tab as plain functions: a dataset's pairs, browsed one by one, beside synthetic tiles for each mask."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..masks import ids_to_palette
from ..paths import BUNDLED_PAIRS
from ..schemes import SchemeError, SchemeMismatch, check_same_classes
from ..seeds import parse_seeds
from .checkpoints_index import CheckpointCatalog
from .compare import CompareError, PairedFolder, find_stem, open_paired_folder, random_stem, step_stem
from .errors import UserError
from .exports import ExportFolders, write_png
from .limits import MAX_SIDE, MAX_VARIATIONS, check_mask_size
from .overlay import contour_overlay


class CompareTab:
    def __init__(self, catalog: CheckpointCatalog, exports: ExportFolders, data: str | Path | None = None, max_side: int = MAX_SIDE):
        self.catalog, self.exports, self.data, self.max_side = catalog, exports, data, max_side
        self._lock = threading.Lock()
        self._folders: dict[tuple, PairedFolder] = {}

    def paired_folder(self, split: str | None = None, checkpoint: str | None = None) -> PairedFolder:
        """The Compare dataset's split, read in its own scheme.json's classes, else in the checkpoint's."""
        fallback = self.catalog.scheme_for(checkpoint)
        key = (split or "", fallback.names)
        with self._lock:
            if key not in self._folders:
                try:
                    self._folders[key] = open_paired_folder(self.paired_data(), split, fallback)
                except (CompareError, SchemeError) as e:
                    raise UserError(str(e)) from None
            return self._folders[key]

    def step(self, split, stem, step: int) -> str:
        return self._nav(lambda stems: step_stem(stems, stem, step), split)

    def random(self, split, stem) -> str:
        return self._nav(lambda stems: random_stem(stems, stem), split)

    def find(self, split, query) -> str:
        return self._nav(lambda stems: find_stem(stems, query), split)

    def _nav(self, pick, split) -> str:
        stems = self.paired_folder(split).stems
        try:
            return pick(stems)
        except CompareError as e:
            raise UserError(str(e)) from None

    def paired_data(self) -> Path:
        """The paired dataset of the Compare tab and the Reading test: --data, else the bundled CoNSeP test sample."""
        return Path(self.data) if self.data else BUNDLED_PAIRS

    def status(self) -> str:
        try:
            folder = self.paired_folder()
        except UserError as e:
            return "⚠️ " + str(e)
        if not self.data:
            return (f"{len(folder.pairs)} pairs of the bundled CoNSeP test-split sample (`assets/consep_test`, which the shipped "
                    "checkpoints never saw in training). Start the app with `--data DIR` to browse your own: a folder holding "
                    "`images/<split>/` and `masks/<split>/` with matching stems.")
        return f"{len(folder.pairs)} pairs in {folder.root} (split '{folder.split}')"

    def view_if_ready(self, split, stem, checkpoint, seeds_text, overlay):
        """Opening the tab: the current pair."""
        return self.view(split, stem, checkpoint, seeds_text, overlay)

    def view(self, split, stem, checkpoint, seeds_text, overlay) -> tuple[list[tuple[str, str]], str]:
        """Real image, its mask (in the scheme's colours) and synthetic tiles for that mask, all at the mask's size."""
        folder = self.paired_folder(split, checkpoint)
        stem = stem or folder.stems[0]
        try:
            image, ids = folder.load(stem)
        except CompareError as e:
            raise UserError(str(e)) from None
        ids = check_mask_size(ids, self.max_side)
        out = self.exports.new()

        def shown(name: str, im: np.ndarray) -> str:
            return write_png(out / name, contour_overlay(im, ids, folder.scheme) if overlay else im)

        items = [(shown(f"{stem}_real.png", image), f"real · {stem}"), (write_png(out / f"{stem}_mask.png", ids_to_palette(ids, folder.scheme)), "mask")]
        if not self.catalog.entries:
            return items, f"{stem}: real and mask only. " + self.catalog.missing_message()
        try:
            seeds = parse_seeds(seeds_text or "0", max_count=MAX_VARIATIONS)
        except ConfigError as e:
            raise UserError(str(e)) from None
        start = time.perf_counter()
        entry, synth = self.catalog.synthesizer(checkpoint)
        try:
            check_same_classes(synth.scheme, folder.scheme, entry.name, f"the dataset {folder.root}")
        except SchemeMismatch as e:
            raise UserError(str(e)) from None
        images = synth.generate(ids, seeds)
        seconds = time.perf_counter() - start
        items += [(shown(f"{stem}_synthetic_seed{s:04d}.png", im), f"synthetic · seed {s}") for s, im in zip(seeds, images)]
        return items, f"{stem} ({folder.stems.index(stem) + 1}/{len(folder.stems)}): {len(seeds)} synthetic tile(s) in {seconds:.2f} s with {entry.name}"
