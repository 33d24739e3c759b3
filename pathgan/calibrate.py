"""Fit a checkpoint's colour calibration on its training split and save a calibrated copy.

The original checkpoint is never touched: the result goes to a new file (default <stem>-calibrated).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import data_root
from .checkpoint import config_path, load_generator, save_generator
from .colour_calibration import ColourCalibration, calibrated_path, fit_colour_calibration
from .dataset import scan_dataset
from .images import read_rgb
from .masks import read_mask
from .seeds import parse_seeds
from .synthesis import Synthesizer


@dataclass
class CalibrationConfig:
    data: str | None = field(default=None, metadata={"help": "dataset folder with images/<split> and masks/<split>; None: $PATHGAN_DATA/consep"})
    split: str = field(default="train", metadata={"help": "split to fit on; keep it the training split so the test split stays unseen"})
    seeds: str = field(default="100", metadata={"help": "seeds rendered per mask for the fit"})
    out: str | None = field(default=None, metadata={"help": "calibrated checkpoint to write; None: <stem>-calibrated.safetensors beside the input"})
    device: str | None = field(default=None, metadata={"help": "cpu, cuda or cuda:N; None: CUDA if present"})


def calibrate_checkpoint(checkpoint: str | Path, config: CalibrationConfig | None = None) -> tuple[Path, ColourCalibration]:
    config = config or CalibrationConfig()
    checkpoint = Path(checkpoint)
    out = Path(config.out) if config.out else calibrated_path(checkpoint)
    if out.resolve() == checkpoint.resolve() or config_path(out).resolve() == config_path(checkpoint).resolve():
        raise ValueError(f"--out {out} would overwrite the checkpoint being calibrated; choose another file name")
    generator, scheme, ck_config = load_generator(checkpoint)
    ck_config = {k: v for k, v in ck_config.items() if k != "calibration"}  # always fitted on the raw network
    synth = Synthesizer(generator, scheme, config.device, ck_config)
    root = Path(config.data) if config.data else Path(data_root()) / "consep"
    scan = scan_dataset(root, config.split, scheme)
    scan.raise_if_problems()
    if not scan.pairs:
        raise ValueError(f"{root}: split '{config.split}' has no mask/image pairs to fit a calibration on")
    seeds = parse_seeds(config.seeds)
    masks = [read_mask(p.mask_path, scheme) for p in scan.pairs]  # every mask checked before any work
    synthetic = (im for ids in masks for im in synth.generate(ids, seeds))
    real = (read_rgb(p.image_path) for p in scan.pairs)
    fitted_on = {"data": str(root), "split": config.split, "masks": len(masks), "seeds": config.seeds}
    calibration = fit_colour_calibration(synthetic, real, fitted_on)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_generator(out, generator, scheme, ck_config.get("provenance"), half=ck_config.get("dtype") == "float16", calibration=calibration)
    return out, calibration
