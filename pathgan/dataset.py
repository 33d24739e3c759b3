"""Paired datasets: a folder of images/<split>, masks/<split> and optional instances/<split>.

`scan_dataset` checks everything up front and reports every problem at once; `PairedDataset`
serves seeded, mask-exact augmentations of the pairs.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .errors import ConfigError, PathGANError
from .hashing import files_sha256
from .images import IMAGE_SUFFIXES, read_rgb
from .masks import MASK_SUFFIXES, MaskError, read_mask
from .schemes import (
    BINARY, CLI_WORDING, PRESETS, SCHEME_FILE, ClassMap, ClassScheme, SchemeError, SchemeMismatch, Wording, named_scheme, scheme_example,
    scheme_json, suggested_class_map, unmapped_classes,
)
from .tensors import image_to_tensor, mask_to_onehot
from .tiling import TILE


class DatasetError(PathGANError, ValueError):
    """A dataset with problems; the message lists all of them."""


@dataclass
class Pair:
    stem: str
    image_path: Path
    mask_path: Path
    instance_path: Path | None = None


@dataclass
class DatasetScan:
    root: Path
    split: str
    scheme: ClassScheme
    pairs: list[Pair] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def raise_if_problems(self) -> "DatasetScan":
        if self.problems:
            listing = "\n  - ".join(self.problems)
            raise DatasetError(f"dataset {self.root} (split '{self.split}') has {len(self.problems)} problem(s):\n  - {listing}")
        return self


def dataset_fingerprint(scan: DatasetScan) -> dict:
    """Name and content hash of a split's pairs: what a checkpoint's provenance records of its training data, and
    what the mask-fidelity segmenter's cache is keyed by. It names the data (folder, split, pair count) for a reader;
    the feature cache's `content_key` hashes the same way but any image list, with how the features were made."""
    files = [f for pair in scan.pairs for f in (pair.image_path, pair.mask_path)]
    return {"name": scan.root.resolve().name, "split": scan.split, "pairs": len(scan.pairs), "sha256": files_sha256(files)}


def held_out(pairs: list[Pair], every: int) -> tuple[list[Pair], list[Pair]]:
    """(pairs to train on, pairs held out): every `every`-th pair in name order, from the first, is held out; 0 holds none."""
    if every < 0 or every == 1:
        raise ConfigError(f"hold out every Nth pair needs N of 2 or more (0: none), not {every}")
    if not every:
        return list(pairs), []
    return [p for i, p in enumerate(pairs) if i % every], pairs[::every]


def _index(folder: Path, suffixes) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in suffixes}


def stated_scheme(root: str | Path) -> ClassScheme | None:
    """The scheme a dataset states in its scheme.json, None when it has none."""
    path = Path(root) / SCHEME_FILE
    return ClassScheme.load(path) if path.is_file() else None


def dataset_scheme(root: str | Path, split: str = "train", scheme: str | ClassScheme | None = None,
                   wording: Wording = CLI_WORDING, name: str | None = None) -> ClassScheme:
    """The class scheme to read a dataset with: the one named (a preset or a file), else the dataset's scheme.json.

    Never a guess: without either, the error lists the ids the masks hold and a scheme.json to start from.
    A named scheme that contradicts the dataset's own scheme.json is refused too.
    """
    root = Path(root)
    own = stated_scheme(root)
    if scheme is not None and str(scheme) != "":
        chosen = named_scheme(scheme)
        if own is not None and own.names != chosen.names:
            raise SchemeMismatch(f"{name or root}/{SCHEME_FILE} states {own.describe()}, but {chosen.describe()} "
                                 f"{'were' if chosen.num_classes != 1 else 'was'} asked for; use data and a checkpoint of the same class scheme")
        return chosen
    if own is not None:
        return own
    ids = sorted(mask_values(root, split))
    others = sorted(p.name for p in root.glob("*.json")) if root.is_dir() else []
    found = f"Its masks in {split} hold the values {{{', '.join(map(str, ids[:20]))}{', ...' if len(ids) > 20 else ''}}}. " if ids else ""
    start = scheme_example(1 if set(ids) <= {0, 1, 255} else max(ids))
    raise SchemeError(
        f"{name or root.name} states no class scheme (no {SCHEME_FILE} at its root"
        + (f"; {', '.join(others)} {'is' if len(others) == 1 else 'are'} not read, only {SCHEME_FILE}" if others else "") + "). "
        + found + f"Write {SCHEME_FILE} at its root, for example:\n{scheme_json(start)}"
        f"or name one: {wording.scheme.format('consep')} (CoNSeP's 4 nucleus types) or {wording.scheme.format('binary')} "
        "(nucleus/background, masks 0/1 or 0/255)."
    )


def checkpoint_data_scheme(root: str | Path, checkpoint_scheme: ClassScheme, split: str = "train", scheme: str | ClassScheme | None = None,
                           class_map: str = "", wording: Wording = CLI_WORDING) -> ClassScheme:
    """The scheme to read a dataset with for a checkpoint: the one named, else the dataset's scheme.json, else the checkpoint's.

    Data in other classes than the checkpoint's is refused, naming both, unless a class map is given (checked by the
    caller, which maps with it). Masks holding only 0 and 1 (or 0 and 255) that state no scheme are refused for a
    checkpoint of several classes instead of being read as its first class: binary data must say that it is binary.
    """
    root = Path(root)
    if (scheme is not None and str(scheme) != "") or stated_scheme(root) is not None:
        data = dataset_scheme(root, split, scheme, wording)
    else:
        refuse_unstated_binary(root.name, mask_values(root, split), checkpoint_scheme, wording)
        data = checkpoint_scheme
    if data.names != checkpoint_scheme.names and not class_map:
        raise unmapped_classes(checkpoint_scheme, data, root.name, wording)
    return data


def refuse_unstated_binary(name: str, values: set[int], checkpoint_scheme: ClassScheme, wording: Wording = CLI_WORDING) -> None:
    """Masks that state no scheme and hold only background and one value (0/1 or 0/255) are nucleus-or-not masks far
    more often than a many-class checkpoint's first class alone: refused, with what to do, rather than read as that class."""
    if checkpoint_scheme.num_classes < 2 or not values - {0} or not values <= {0, 1, 255}:
        return
    shown = ", ".join(map(str, sorted(values)))
    preset = next((n for n, p in PRESETS.items() if p == checkpoint_scheme), None)
    say_so = wording.scheme.format(preset) if preset else f"write a {SCHEME_FILE} with the checkpoint's classes"
    raise SchemeError(
        f"{name} states no class scheme and its masks hold only {{{shown}}}: nucleus or not. They are not read as the checkpoint's "
        f"first class ({checkpoint_scheme.names[1]}) without being told. For nucleus/background masks, name the binary scheme and map "
        f"it onto the checkpoint's classes: {wording.scheme.format('binary')} and "
        f"{wording.class_map.format(suggested_class_map(BINARY, checkpoint_scheme))}. If they really hold only "
        f"{checkpoint_scheme.names[1]} nuclei, say so: {say_so}.")



def mask_values(root: str | Path, split: str, limit: int = 50) -> set[int]:
    """Distinct grey values in up to `limit` one-channel masks of a split (what to name in a scheme)."""
    return {v for path in list(_index(Path(root) / "masks" / split, MASK_SUFFIXES).values())[:limit] for v in mask_file_values(path)}


def mask_file_values(path: str | Path) -> set[int]:
    """Distinct grey values of a one-channel mask file; empty for palette (RGB) masks and unreadable files."""
    try:
        with Image.open(path) as im:
            if im.mode in ("L", "I", "I;16", "1", "P"):
                return {int(v) for v in np.unique(np.asarray(im.convert("L") if im.mode == "1" else im))}
    except OSError:
        pass  # the scan reports unreadable files
    return set()


def scan_dataset(root: str | Path, split: str = "train", scheme: str | ClassScheme | None = None, check_content: bool = True) -> DatasetScan:
    """Pair images with masks and check every file; problems are collected, not raised."""
    root = Path(root)
    scheme = dataset_scheme(root, split, scheme)
    scan = DatasetScan(root, split, scheme)
    img_dir, mask_dir, inst_dir = root / "images" / split, root / "masks" / split, root / "instances" / split
    for d in (img_dir, mask_dir):
        if not d.is_dir():
            scan.problems.append(f"missing folder {d}")
    images, masks = _index(img_dir, IMAGE_SUFFIXES), _index(mask_dir, MASK_SUFFIXES)
    instances = _index(inst_dir, MASK_SUFFIXES)
    if not scan.problems and not images and not masks:
        scan.problems.append(f"no images in {img_dir} and no masks in {mask_dir}")
    for stem in sorted(set(images) - set(masks)):
        scan.problems.append(f"{images[stem]}: no mask (expected {mask_dir / (stem + '.png')}, or .tif)")
    for stem in sorted(set(masks) - set(images)):
        scan.problems.append(f"{masks[stem]}: no image (expected {img_dir / stem}.png/.jpg/.tif)")
    for stem in sorted(set(images) & set(masks)):
        pair = Pair(stem, images[stem], masks[stem], instances.get(stem))
        if check_content and not _check_pair(pair, scheme, scan.problems):
            continue
        scan.pairs.append(pair)
    return scan


def _image_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        im.load()  # decoding the pixels catches truncated files
        return im.size[1], im.size[0]


def _check_pair(pair: Pair, scheme: ClassScheme, problems: list[str]) -> bool:
    ok = True
    try:
        h, w = _image_size(pair.image_path)
        if min(h, w) < TILE:
            problems.append(f"{pair.image_path}: {w}x{h} is smaller than {TILE}x{TILE}")
            ok = False
    except Exception as e:  # any decoder failure means unreadable
        problems.append(f"{pair.image_path}: not a readable image ({e})")
        return False
    try:
        ids = read_mask(pair.mask_path, scheme)
        if ids.shape != (h, w):
            problems.append(f"{pair.mask_path}: mask is {ids.shape[1]}x{ids.shape[0]} but its image is {w}x{h}")
            ok = False
    except MaskError as e:
        problems.append(str(e))
        ok = False
    if pair.instance_path is not None:
        try:
            ih, iw = _image_size(pair.instance_path)
            if (ih, iw) != (h, w):
                problems.append(f"{pair.instance_path}: instance map is {iw}x{ih} but its image is {w}x{h}")
                ok = False
        except Exception as e:
            problems.append(f"{pair.instance_path}: not a readable image ({e})")
            ok = False
    return ok


def augment(image: np.ndarray, ids: np.ndarray, rng: np.random.Generator, crop: int = TILE, flip: bool = True, rotate: bool = True):
    """Random crop, mirror and 90-degree rotation, applied identically to image and mask.

    Only integer indexing is used, so mask ids are never interpolated.
    """
    h, w = ids.shape
    y = int(rng.integers(0, h - crop + 1))
    x = int(rng.integers(0, w - crop + 1))
    image, ids = image[y : y + crop, x : x + crop], ids[y : y + crop, x : x + crop]
    if flip and rng.random() < 0.5:
        image, ids = image[:, ::-1], ids[:, ::-1]
    if rotate:
        k = int(rng.integers(0, 4))
        image, ids = np.rot90(image, k), np.rot90(ids, k)
    return np.ascontiguousarray(image), np.ascontiguousarray(ids)


class PairedDataset(torch.utils.data.Dataset):
    """Paired tiles; item i at epoch e is augmented by rng(seed, e, i), so data order resumes exactly.

    in_memory: every pair decoded once and held (small datasets: no batch waits on a decoder); off: each item is read
    from disk when asked for, for datasets too large to hold, with loader workers doing the reading.
    An item is an index (at the epoch of `set_epoch`) or an (epoch, index) pair, which is what loader workers are given.
    """

    def __init__(self, scan: DatasetScan, augment: bool = True, seed: int = 0, crop: int = TILE, class_map: ClassMap | None = None,
                 in_memory: bool = True):
        scan.raise_if_problems()
        if not scan.pairs:
            raise DatasetError(f"dataset {scan.root} split '{scan.split}' has no pairs")
        self.scheme = scan.scheme
        self.stems = [p.stem for p in scan.pairs]
        self.pairs = scan.pairs
        self.in_memory = in_memory
        self.images = [read_rgb(p.image_path) for p in scan.pairs] if in_memory else None
        self.masks = [read_mask(p.mask_path, scan.scheme) for p in scan.pairs] if in_memory else None
        self.augment, self.seed, self.crop, self.epoch = augment, seed, crop, 0
        self.class_map = class_map  # the network's input classes, when they are not the masks' own

    def summary(self, root: Path, split: str) -> tuple[list[str], list[str]]:
        """(lines, warnings) saying what training will see: pairs per split, image sizes, classes and their pixel shares."""
        splits = sorted(d.name for d in (root / "images").iterdir() if d.is_dir()) if (root / "images").is_dir() else [split]
        counts = [f"{s} {len(scan_dataset(root, s, self.scheme, check_content=False).pairs)} pairs" for s in splits]
        masks = self.masks if self.in_memory else [read_mask(p.mask_path, self.scheme) for p in self.pairs]  # one pass, not kept
        sizes = Counter(f"{m.shape[1]}x{m.shape[0]}" for m in masks)
        pixels = np.bincount(np.concatenate([m.ravel() for m in masks]), minlength=len(self.scheme.names))
        shares = pixels / max(pixels.sum(), 1)
        lines = [f"dataset {root}: {self.scheme.describe()}",
                 f"  pairs: {', '.join(counts)}",
                 f"  {split} images: {', '.join(f'{n} of {s}' for s, n in sizes.most_common())}",
                 f"  {split} pixel shares: {', '.join(f'{name} {100 * shares[i]:.1f} %' for i, name in enumerate(self.scheme.names))}"]
        warnings = [f"class {name!r} (id {i}) never occurs in the {split} masks" for i, name in enumerate(self.scheme.names) if i and not pixels[i]]
        return lines, warnings

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, item: int | tuple[int, int]):
        epoch, i = item if isinstance(item, tuple) else (self.epoch, item)
        if self.in_memory:
            image, ids = self.images[i], self.masks[i]
        else:
            image, ids = read_rgb(self.pairs[i].image_path), read_mask(self.pairs[i].mask_path, self.scheme)
        rng = np.random.default_rng([self.seed, epoch, i])
        if self.augment:
            image, ids = augment(image, ids, rng, self.crop)
        else:  # deterministic centre crop
            y, x = (ids.shape[0] - self.crop) // 2, (ids.shape[1] - self.crop) // 2
            image, ids = image[y : y + self.crop, x : x + self.crop], ids[y : y + self.crop, x : x + self.crop]
        if self.class_map is not None:
            return mask_to_onehot(self.class_map.apply(ids), self.class_map.target.num_classes), image_to_tensor(image)
        return mask_to_onehot(ids, self.scheme.num_classes), image_to_tensor(image)
