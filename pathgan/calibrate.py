"""Fit a checkpoint's colour calibration on its training split, read the training tiles' JPEG encoding,
and save a calibrated copy that carries both.

With --colour auto (the default) the colour map is kept only if it lowers FID on the fitting split, so the
choice, like the fit, never looks at test data.

The original checkpoint is never touched: the result goes to a new file (default <stem>-calibrated).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint import config_path, load_generator, save_generator
from .colour_calibration import ColourCalibration, calibrated_path, fit_colour_calibration
from .compression_matching import CompressionMatch, read_compression
from .dataset import DatasetError, checkpoint_data_scheme, scan_dataset
from .errors import ConfigError
from .evaluation import MetricsConfig
from .images import read_rgb
from .masks import read_mask
from .metrics.views import image_views
from .paths import dataset_folder
from .post_processing import PostProcessing
from .schemes import CLASS_MAP_HELP, DATA_SCHEME_HELP
from .seeds import parse_seeds
from .synthesis import Synthesizer


COLOUR_CHOICES = ("auto", "on", "off")


@dataclass
class CalibrationConfig:
    data: str | None = field(default=None, metadata={"help": "dataset folder with images/<split> and masks/<split>; None: $PATHGAN_DATA/consep"})
    split: str = field(default="train", metadata={"help": "split to fit on; keep it the training split so the test split stays unseen"})
    scheme: str = field(default="", metadata={"help": DATA_SCHEME_HELP + ". The calibrated checkpoint takes masks in this scheme"})
    class_map: str = field(default="", metadata={"help": CLASS_MAP_HELP})
    seeds: str = field(default="100", metadata={"help": "seeds rendered per mask for the fit"})
    out: str | None = field(default=None, metadata={"help": "calibrated checkpoint to write; None: <stem>-calibrated.safetensors beside the input"})
    colour: str = field(default="auto", metadata={"help": "per-channel colour map: on, off, or auto (kept only if it lowers FID on the fitting split; needs the Inception weights)",
                                                  "choices": COLOUR_CHOICES})
    match_compression: bool = field(default=True, metadata={"help": "pass tiles through the training tiles' own JPEG encoding (read from the files); --no-match-compression keeps them lossless"})
    device: str | None = field(default=None, metadata={"help": "cpu, cuda or cuda:N; None: CUDA if present"})


@dataclass(frozen=True)
class CalibrationResult:
    out: Path
    colour: ColourCalibration | None  # None: not applied (off, or auto found it did not help)
    compression: CompressionMatch | None
    selection: dict | None  # auto only: FID and KID on the fitting split with and without the colour map


def calibrate_checkpoint(checkpoint: str | Path, config: CalibrationConfig | None = None) -> CalibrationResult:
    config = config or CalibrationConfig()
    if config.colour not in COLOUR_CHOICES:
        raise ConfigError(f"colour must be one of {', '.join(COLOUR_CHOICES)}, got {config.colour!r}")
    checkpoint = Path(checkpoint)
    out = Path(config.out) if config.out else calibrated_path(checkpoint)
    if out.resolve() == checkpoint.resolve() or config_path(out).resolve() == config_path(checkpoint).resolve():
        raise ConfigError(f"--out {out} would overwrite the checkpoint being calibrated; choose another file name")
    generator, ck_config = load_generator(checkpoint)
    scheme = ck_config.scheme
    synth = Synthesizer(generator, scheme, config.device, class_map=ck_config.class_map)  # fitted on the raw network's tiles
    root = dataset_folder(config.data)
    synth.read_as(checkpoint_data_scheme(root, scheme, config.split, config.scheme, config.class_map), config.class_map)
    scheme = synth.scheme
    scan = scan_dataset(root, config.split, scheme)
    scan.raise_if_problems()
    if not scan.pairs:
        raise DatasetError(f"{root}: split '{config.split}' has no mask/image pairs to fit a calibration on")
    seeds = parse_seeds(config.seeds)
    masks = [read_mask(p.mask_path, scheme) for p in scan.pairs]  # every mask checked before any work
    real_paths = [p.image_path for p in scan.pairs]
    fitted_on = {"data": str(root), "split": config.split, "masks": len(masks), "seeds": config.seeds}
    compression = read_compression(real_paths, fitted_on) if config.match_compression else None
    colour, selection = None, None
    if config.colour != "off":
        synthetic = [im for ids in masks for im in synth.generate(ids, seeds)]  # kept: auto scores them twice
        colour = fit_colour_calibration(synthetic, (read_rgb(p) for p in real_paths), fitted_on)
        if config.colour == "auto":
            selection = _score_colour_map(synthetic, real_paths, colour, compression, config)
            colour = colour if selection["kept"] else None
    out.parent.mkdir(parents=True, exist_ok=True)
    save_generator(out, generator, scheme, ck_config.provenance, half=ck_config.half,
                   post_processing=PostProcessing(colour, compression, selection), class_map=synth.class_map)
    return CalibrationResult(out, colour, compression, selection)


def _score_colour_map(synthetic: list, real_paths: list[Path], colour: ColourCalibration, compression: CompressionMatch | None,
                      config: CalibrationConfig) -> dict:
    """FID and KID of the fitting split's tiles without and with the colour map (each then JPEG-matched, as shipped)."""
    from .metrics import InceptionFeatures, SmallSampleWarning, feature_statistics, fid_from_stats, image_set_features, kid

    metrics = MetricsConfig(device=config.device)  # the same KID settings as every evaluation
    extractor = InceptionFeatures(metrics.inception_weights, metrics.device, metrics.batch_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)  # both candidates share N, so the bias cancels in the comparison
        real = image_set_features(real_paths, extractor, f"real {config.split}", progress=False, views=metrics.large_images)
    scores = {}
    for name, cal in (("without", None), ("with", colour)):
        post = PostProcessing(cal, compression)
        # the same views as `evaluate` and the real side: 256-px crops of tiles larger than that
        views = (v for im in synthetic for v in image_views(post.apply([im])[0], metrics.large_images))
        feats = extractor.features(views, total=None, desc=f"colour map {name}")
        mean, cov = feature_statistics(feats)
        scores[name] = {"fid": round(fid_from_stats(real.mean, real.cov, mean, cov), 3),
                        "kid": round(kid(real.features, feats, metrics.kid_subsets, metrics.kid_subset_size, metrics.kid_seed)["mean"], 5)}
    return {"split": config.split, "images": len(synthetic), "views": {"real": len(real), "synthetic": len(feats)}, "criterion": "fid", **scores,
            "kept": scores["with"]["fid"] < scores["without"]["fid"]}

