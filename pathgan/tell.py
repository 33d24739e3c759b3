"""Find the tell: what gives synthetic tiles away.

The classifier two-sample probe (metrics/two_sample.py) tells a generator's tiles from real ones almost
perfectly. To see what it looks at, the same transform is applied to both sides before the Inception
features are taken, and the probe is run again: a transform that removes what the generator gets wrong
(its colour, its fine texture, its compression, ...) brings the accuracy down towards the real-vs-real floor,
which is measured under the same transform. Beside it, per class of the mask (class 0, the background, is
mostly stroma), the colour (CIE Lab) and texture statistics of real and synthetic pixels.

Transforms are a registry by name (`TRANSFORMS`), which also gives the CLI its choices. Each works on one
(H, W, 3) uint8 view, as the extractor sees it (views.py: a 256-px tile, or the crops of a larger image), and
returns one. `find_the_tell` is what `python -m pathgan tell` calls; it writes tell.json and tell.md.
"""
from __future__ import annotations

import dataclasses
import datetime
import io
import json
import time
import warnings
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage

from . import __version__
from .dataset import checkpoint_data_scheme, scan_dataset
from .errors import ConfigError
from .evaluation import EvaluationConfig, MetricsConfig
from .images import read_rgb
from .masks import read_mask
from .metrics import ImageSetError, InceptionFeatures, SmallSampleWarning, classifier_two_sample_test, image_set_features, list_image_set
from .metrics.views import describe_views
from .paths import RUNS_DIR, dataset_folder
from .seeds import parse_seeds
from .synthesis import Synthesizer
from .tiling import TILE

TELL_DIR = RUNS_DIR / "tell"  # `tell` writes TELL_DIR/<checkpoint stem>/ unless told otherwise
BASELINE = "none"
BLUR_SIGMA = 2.0  # px; at 40x (0.25 um/px) this removes detail finer than about a micrometre
HIGH_PASS_SIGMA = 2.0
JPEG_QUALITY = 75  # CoNSeP's own tiles are libjpeg quality 75, 4:2:0
DOWN_SIZE = 128  # a 256-px view becomes 128 px (the extractor then resizes it to 299, like any view)
CROP_SIZE = 64
CROP_SEED = 0
# Colour normalisation (Reinhard): every view's Lab mean and std are set to these, about the CoNSeP train
# tiles' average per-tile mean (76.6, 18.4, -14.3) and spread (13.0, 7.9, 8.0).
LAB_TARGET_MEAN = (75.0, 18.0, -14.0)
LAB_TARGET_STD = (13.0, 8.0, 8.0)
PROBE_FOLDS = 5  # cross-validation folds of the probe, as in evaluate
MEASURES = ("L", "a", "b", "gradient", "high_freq")  # per pixel; see pixel_measures


@dataclass(frozen=True)
class Transform:
    name: str
    description: str
    apply: Callable[[np.ndarray], np.ndarray]


TRANSFORMS: dict[str, Transform] = {}


def _register(name: str, description: str):
    def add(fn: Callable[[np.ndarray], np.ndarray]):
        TRANSFORMS[name] = Transform(name, description, fn)
        return fn
    return add


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def rgb_to_lab(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 sRGB -> float32 CIE Lab (D65): L in 0..100, a and b about -128..127."""
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Float32 CIE Lab -> (H, W, 3) uint8 sRGB, out-of-gamut values clipped."""
    return _to_uint8(cv2.cvtColor(np.ascontiguousarray(lab, np.float32), cv2.COLOR_LAB2RGB) * 255.0)


@_register(BASELINE, "the views as they are (the baseline)")
def identity(image: np.ndarray) -> np.ndarray:
    return image


@_register("blur", f"Gaussian blur, sigma {BLUR_SIGMA:g} px per channel (keeps colour and layout, removes fine texture)")
def blur(image: np.ndarray) -> np.ndarray:
    return _to_uint8(ndimage.gaussian_filter(image.astype(np.float32), (BLUR_SIGMA, BLUR_SIGMA, 0)))


@_register("colour-norm", f"per-view Lab mean and std set to fixed targets, mean {LAB_TARGET_MEAN}, std {LAB_TARGET_STD} "
                          "(Reinhard; removes the tile's overall colour and contrast)")
def colour_normalise(image: np.ndarray) -> np.ndarray:
    lab = rgb_to_lab(image).reshape(-1, 3)
    mean, std = lab.mean(0), lab.std(0)
    out = (lab - mean) / np.maximum(std, 1e-3) * np.asarray(LAB_TARGET_STD, np.float32) + np.asarray(LAB_TARGET_MEAN, np.float32)
    return lab_to_rgb(out.reshape(image.shape))


@_register("jpeg", f"one JPEG round trip at libjpeg quality {JPEG_QUALITY}, 4:2:0 chroma (Pillow)")
def jpeg(image: np.ndarray) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=JPEG_QUALITY, subsampling=2)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


@_register("grey", "ITU-R 601 luma in all three channels (removes colour, keeps intensity and texture)")
def grey(image: np.ndarray) -> np.ndarray:
    luma = np.asarray(Image.fromarray(image).convert("L"))
    return np.repeat(luma[..., None], 3, axis=2)


@_register("high-pass", f"each channel minus its Gaussian blur (sigma {HIGH_PASS_SIGMA:g} px), plus 128 "
                        "(keeps only fine texture; removes colour and layout)")
def high_pass(image: np.ndarray) -> np.ndarray:
    x = image.astype(np.float32)
    return _to_uint8(x - ndimage.gaussian_filter(x, (HIGH_PASS_SIGMA, HIGH_PASS_SIGMA, 0)) + 128.0)


@_register("down-128", f"antialiased down-sampling by {TILE // DOWN_SIZE} ({TILE} -> {DOWN_SIZE} px; "
                       "removes the finest scale, keeps colour and layout)")
def down_sample(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    size = (max(1, round(w * DOWN_SIZE / TILE)), max(1, round(h * DOWN_SIZE / TILE)))
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))  # Pillow widens the filter when shrinking


@_register("crop-64", f"one {CROP_SIZE}-px crop per view at a random place, drawn from seed {CROP_SEED} and the view's "
                      "content (removes the tile's layout, keeps local colour and texture)")
def random_crop(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    ch, cw = min(CROP_SIZE, h), min(CROP_SIZE, w)
    rng = np.random.default_rng([CROP_SEED, zlib.crc32(np.ascontiguousarray(image).tobytes())])
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return image[y : y + ch, x : x + cw]


def parse_transforms(text: str) -> list[str]:
    """'grey,blur' -> [none, grey, blur]: known names, in order, the baseline always first."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in TRANSFORMS]
    if unknown:
        raise ConfigError(f"unknown transform(s) {', '.join(unknown)}; choose from {', '.join(TRANSFORMS)}")
    return [BASELINE] + [n for n in dict.fromkeys(names) if n != BASELINE]


class TransformedExtractor:
    """A feature extractor that transforms every view before the wrapped one sees it. The transform is part of
    the preprocessing it describes, so the feature cache keeps each transform's features apart."""

    def __init__(self, extractor, transform: Transform):
        self.extractor, self.transform = extractor, transform

    def describe(self) -> dict:
        d = dict(self.extractor.describe())
        d["preprocessing"] = f"tell transform {self.transform.name}: {self.transform.description} -> {d['preprocessing']}"
        return d

    def features(self, images: Iterable[np.ndarray], total: int | None = None, desc: str = "inception", progress: bool = True) -> np.ndarray:
        return self.extractor.features((self.transform.apply(im) for im in images), total, desc, progress)


def transformed(extractor, name: str):
    """The extractor seeing the views through transform `name` (the baseline: the extractor itself, sharing evaluate's cache)."""
    return extractor if name == BASELINE else TransformedExtractor(extractor, TRANSFORMS[name])


def probe_transforms(real: list[Path], synthetic: list[Path], train: list[Path] | None, names: list[str], extractor,
                     cache: bool = True, progress: bool = True, views: str = "crop") -> list[dict]:
    """Per transform: the two-sample probe of `synthetic` against `real` and, with `train`, of `train` against `real`
    (the floor), every view of every set through the same transform. Rows sorted by accuracy, lowest first;
    `drop` is the baseline's accuracy minus the row's, `above_floor` the row's minus its floor's."""
    rows = []
    for name in names:
        ext = transformed(extractor, name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)  # FID's bias below 2048 images; the probe has its own interval
            feats = {what: image_set_features(paths, ext, f"{what} ({name})", cache, progress, views).features
                     for what, paths in (("real", real), ("synthetic", synthetic), ("train", train)) if paths}
        row = {"transform": name, "what": TRANSFORMS[name].description, "synthetic": classifier_two_sample_test(feats["real"], feats["synthetic"], PROBE_FOLDS)}
        if train:
            row["floor"] = classifier_two_sample_test(feats["real"], feats["train"], PROBE_FOLDS)
            row["above_floor"] = row["synthetic"]["accuracy"] - row["floor"]["accuracy"]
        rows.append(row)
    base = next(r["synthetic"]["accuracy"] for r in rows if r["transform"] == BASELINE) if BASELINE in names else None
    for row in rows:
        row["drop"] = None if base is None else base - row["synthetic"]["accuracy"]
    return sorted(rows, key=lambda r: (r["synthetic"]["accuracy"], r["transform"]))


def pixel_measures(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W, 5) float32 per pixel: L, a, b (CIE Lab); the gradient magnitude of L (Sobel, L units
    per pixel); and the high-frequency part of L (L minus its Gaussian blur, sigma 1 px), whose spread is its RMS."""
    lab = rgb_to_lab(image)
    lum = lab[..., 0]
    grad = np.hypot(ndimage.sobel(lum, 0), ndimage.sobel(lum, 1)) / 8.0
    return np.dstack([lab, grad, lum - ndimage.gaussian_filter(lum, 1.0)]).astype(np.float32)


class ClassStatistics:
    """Mean and std of the pixel measures inside each class's region, pooled over every pixel added."""

    def __init__(self, num_classes: int):
        self.count = np.zeros(num_classes + 1, np.int64)
        self.sum = np.zeros((num_classes + 1, len(MEASURES)))
        self.sumsq = np.zeros((num_classes + 1, len(MEASURES)))

    def add(self, image: np.ndarray, ids: np.ndarray) -> None:
        if image.shape[:2] != ids.shape:
            raise ValueError(f"image {image.shape[:2]} and mask {ids.shape} differ in size")
        m = pixel_measures(image).reshape(-1, len(MEASURES)).astype(np.float64)
        flat = ids.reshape(-1).astype(np.int64)
        k = len(self.count)
        self.count += np.bincount(flat, minlength=k)[:k]
        for j in range(len(MEASURES)):
            self.sum[:, j] += np.bincount(flat, m[:, j], minlength=k)[:k]
            self.sumsq[:, j] += np.bincount(flat, m[:, j] ** 2, minlength=k)[:k]

    def result(self, names: list[str]) -> dict:
        out = {}
        for c, name in enumerate(names):
            n = int(self.count[c])
            if not n:
                out[name] = {"pixels": 0}
                continue
            mean = self.sum[c] / n
            std = np.sqrt(np.maximum(self.sumsq[c] / n - mean**2, 0.0))
            out[name] = {"pixels": n, **{m: {"mean": float(mean[j]), "std": float(std[j])} for j, m in enumerate(MEASURES)}}
        return out


def class_differences(real: dict, synthetic: dict) -> dict:
    """Synthetic minus real, per class and measure, for the mean and the std."""
    return {c: {m: {k: synthetic[c][m][k] - real[c][m][k] for k in ("mean", "std")} for m in MEASURES}
            for c in real if real[c]["pixels"] and synthetic.get(c, {}).get("pixels")}


def _as_in(cls, name: str):
    """A field with the default, help and choices of `cls`'s field `name`, so they live in one place."""
    f = cls.__dataclass_fields__[name]
    return field(default=f.default, metadata=f.metadata)


@dataclass
class TellConfig:
    """What `tell` measures: the masks of `split` rendered with the first seed, against that split's real tiles."""
    data: str | None = _as_in(EvaluationConfig, "data")
    split: str = _as_in(EvaluationConfig, "split")
    train_split: str = field(default=EvaluationConfig.train_split, metadata={"help": "the real split probed against the real "
                                                                                    "`split` tiles under each transform (the floor)"})
    seeds: str = field(default="0", metadata={"help": "seeds per mask; the probe takes the first (one tile per mask), "
                                                     "the class statistics all of them"})
    scheme: str = _as_in(EvaluationConfig, "scheme")
    class_map: str = _as_in(EvaluationConfig, "class_map")
    transforms: str = field(default=",".join(TRANSFORMS), metadata={"help": f"comma-separated, from {', '.join(TRANSFORMS)}; "
                                                                             f"'{BASELINE}' (the baseline) is always measured"})
    floor: bool = field(default=True, metadata={"help": "also probe real train against real test under each transform "
                                                       "(the floor; --no-floor skips the train set's features)"})
    out: str | None = field(default=None, metadata={"help": "output folder; None: runs/tell/<checkpoint-stem> in the project"})
    precision: str = _as_in(EvaluationConfig, "precision")
    batch_size: int = _as_in(MetricsConfig, "batch_size")
    device: str | None = _as_in(MetricsConfig, "device")
    inception_weights: str | None = _as_in(MetricsConfig, "inception_weights")
    cache: bool = _as_in(MetricsConfig, "cache")
    large_images: str = _as_in(MetricsConfig, "large_images")

    def metrics(self) -> MetricsConfig:
        return MetricsConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(MetricsConfig) if hasattr(self, f.name)})


def find_the_tell(checkpoint: str | Path, config: TellConfig | None = None, command: str | None = None, progress: bool = True,
                  extractor=None) -> dict:
    """Render the split's masks, probe every transform and gather the class statistics; write tell.json and
    tell.md to the output folder and return the report. `extractor`: the Inception extractor unless given."""
    config = config or TellConfig()
    t_all, timing = time.perf_counter(), {}
    checkpoint = Path(checkpoint)
    seeds = parse_seeds(config.seeds, unique=True)
    names = parse_transforms(config.transforms)
    root = dataset_folder(config.data)
    out = Path(config.out) if config.out else TELL_DIR / checkpoint.stem
    metrics = config.metrics()
    extractor = extractor or InceptionFeatures(metrics.inception_weights, metrics.device, metrics.batch_size)
    synth = Synthesizer.from_checkpoint(checkpoint, metrics.device, config.precision)
    synth.read_as(checkpoint_data_scheme(root, synth.scheme, config.split, config.scheme, config.class_map), config.class_map)
    pairs = scan_dataset(root, config.split, synth.scheme).raise_if_problems().pairs
    train = list_image_set(root / "images" / config.train_split) if config.floor else None
    if len(pairs) < PROBE_FOLDS or (train is not None and len(train) < PROBE_FOLDS):  # refused before any slow work
        raise ImageSetError(f"the two-sample probe needs at least {PROBE_FOLDS} tiles per set ({PROBE_FOLDS}-fold cross-validation); {root} has "
                            f"{len(pairs)} in '{config.split}'" + (f" and {len(train)} in '{config.train_split}'" if train is not None else ""))
    masks = [read_mask(p.mask_path, synth.scheme) for p in pairs]  # every mask checked before any work
    image_dir = out / "images"
    image_dir.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    class_names = list(synth.scheme.names)
    stats = {"real": ClassStatistics(len(class_names) - 1), "synthetic": ClassStatistics(len(class_names) - 1)}
    first_seed: list[Path] = []
    for pair, ids in zip(pairs, masks):
        for seed, im in zip(seeds, synth.generate(ids, seeds)):
            path = image_dir / f"{pair.stem}_seed{seed:04d}.png"
            Image.fromarray(im).save(path)
            stats["synthetic"].add(im, ids)
            if seed == seeds[0]:
                first_seed.append(path)
        stats["real"].add(read_rgb(pair.image_path), ids)
    timing["generate_and_class_statistics"] = time.perf_counter() - t

    t = time.perf_counter()
    probe = probe_transforms([p.image_path for p in pairs], first_seed, train, names, extractor, metrics.cache, progress, metrics.large_images)
    timing["probe"] = time.perf_counter() - t
    timing["total"] = time.perf_counter() - t_all
    classes = {side: s.result(class_names) for side, s in stats.items()}
    report = {
        "kind": "pathgan-tell", "command": command, "checkpoint": str(checkpoint), "data": str(root), "split": config.split,
        "train_split": config.train_split, "seeds": seeds, "post_processing": synth.post_processing.description,
        "synthesis": synth.describe(), "n": {"masks": len(pairs), "synthetic_probe": len(first_seed), "train": len(train or [])},
        "views": describe_views(metrics.large_images), "feature_extractor": extractor.describe(),
        "probe": probe, "class_statistics": {**classes, "synthetic_minus_real": class_differences(classes["real"], classes["synthetic"])},
        "config": dataclasses.asdict(config), "out": str(out), "timing_s": {k: round(v, 1) for k, v in timing.items()},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "pathgan": __version__,
    }
    (out / "tell.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "tell.md").write_text(tell_markdown(report) + "\n")
    return report


def _acc(r: dict | None) -> str:
    return "n/a" if not r else f"{r['accuracy']:.3f} [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]"


def _signed(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:+.{digits}f}"


def probe_table(rows: list[dict]) -> list[str]:
    lines = ["| transform | synthetic vs real: accuracy [95 % CI] | drop from none | real vs real floor [95 % CI] | above floor | what it does |",
             "| --- | --- | ---: | --- | ---: | --- |"]
    return lines + [f"| {r['transform']} | {_acc(r['synthetic'])} | {_signed(r['drop'])} | {_acc(r.get('floor'))} | "
                    f"{_signed(r.get('above_floor'))} | {r['what']} |" for r in rows]


def class_table(stats: dict) -> list[str]:
    lines = ["| class | pixels | side | L mean | L std | a mean | a std | b mean | b std | gradient | high-freq RMS |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c, real in stats["real"].items():
        if not real["pixels"]:
            lines.append(f"| {c} | 0 | | | | | | | | | |")
            continue
        sides = [("real", real, "{:.1f}"), ("synthetic", stats["synthetic"][c], "{:.1f}")]
        if c in stats["synthetic_minus_real"]:
            sides.append(("Δ synth − real", stats["synthetic_minus_real"][c], "{:+.1f}"))
        for i, (side, s, fmt) in enumerate(sides):
            values = [s["L"]["mean"], s["L"]["std"], s["a"]["mean"], s["a"]["std"], s["b"]["mean"], s["b"]["std"],
                      s["gradient"]["mean"], s["high_freq"]["std"]]
            lines.append(f"| {c if i == 0 else ''} | {real['pixels'] if i == 0 else ''} | {side} | " + " | ".join(fmt.format(v) for v in values) + " |")
    return lines


def tell_markdown(report: dict) -> str:
    probe = report["probe"]
    low = probe[0]
    base = next((r for r in probe if r["transform"] == BASELINE), None)
    lines = [
        f"# The tell: {Path(report['checkpoint']).name} on {report['split']}",
        "",
        f"- command: `{report['command']}`" if report.get("command") else "- command: not recorded (library call)",
        f"- {report['n']['masks']} masks of {report['data']} split '{report['split']}'; synthetic: seed {report['seeds'][0]} "
        f"for the probe, seeds {report['seeds']} for the class statistics; post-processing: {report['post_processing']}",
        f"- views: {report['views']}; features: {report['feature_extractor'].get('extractor', 'extractor')}; "
        f"probe: {probe[0]['synthetic']['probe']}, {probe[0]['synthetic']['folds']}-fold, seed {probe[0]['synthetic']['seed']}",
        f"- floor: real {report['train_split']} vs real {report['split']}, under the same transform" if "floor" in low else "- floor: not measured (--no-floor)",
        "",
        "## Two-sample probe under each transform (lowest accuracy first)",
        "",
        *probe_table(probe),
        "",
    ]
    if base is not None and low["transform"] != BASELINE:
        lines.append(f"Lowest accuracy: **{low['transform']}**, {low['synthetic']['accuracy']:.3f} against "
                     f"{base['synthetic']['accuracy']:.3f} untransformed (drop {low['drop']:+.3f}).")
        lines.append("")
    lines += [
        "## Colour and texture per class, real against synthetic",
        "",
        "Pixels inside each class's region of the masks, pooled over all tiles: CIE Lab mean and std; gradient = mean Sobel "
        "gradient magnitude of L (L units per pixel); high-freq RMS = RMS of L minus its Gaussian blur (sigma 1 px).",
        "",
        *class_table(report["class_statistics"]),
    ]
    return "\n".join(lines)
