"""Fine-tuning: adapt a generator checkpoint to a user's own pairs, with the library's trainer.

`python -m pathgan finetune` and the app's Fine-tune tab (which runs that command in a worker process) both
come here, so they write the same checkpoint. docs/finetuning.md gives the evidence behind the defaults.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from . import holdout
from .calibrate import CalibrationConfig, calibrate_checkpoint
from .checkpoint import CheckpointConfig, discriminator_beside, load_generator, save_generator
from .dataset import dataset_scheme, held_out, scan_dataset
from .devices import best_device
from .errors import ConfigError
from .evaluation import MetricsConfig
from .holdout import BASE, Verdict
from .images import image_size
from .metrics import InceptionFeatures
from .metrics.views import view_count
from .models import DiscriminatorConfig
from .synthesis import Synthesizer
from .training.config import TrainConfig
from .training.trainer import GENERATOR_FILE, RAW_GENERATOR_FILE

DISCRIMINATOR_CHOICES = ("auto", "beside", "fresh")
CALIBRATED_FILE = "generator-calibrated.safetensors"  # with --calibrate: the chosen network, calibrated on your split
BASE_FILE = "generator-base.safetensors"  # the base's weights in your classes: the result when the fine-tune did not beat it
RESULT_FILE = "result.safetensors"  # what a fine-tune delivers: the better of base and fine-tuned on the held-out pairs
VERDICT_FILE = "holdout.json"  # the held-out scores behind that choice


@dataclass
class FinetuneConfig:
    data: str = field(default="", metadata={"help": "your dataset folder: images/ + masks/ (with or without splits), optional scheme.json"})
    out: str = field(default="", metadata={"help": "run folder; the result is OUT/result.safetensors (the fine-tuned network, or the "
                     "base's weights when the fine-tune did not beat it on the held-out pairs)"})
    split: str = field(default="train", metadata={"help": "split to train on ('.' when images/ and masks/ hold the files directly)"})
    scheme: str = field(default="", metadata={"help": "class scheme of your masks: consep, binary, or a scheme.json; empty: the data's own scheme.json"})
    class_map: str = field(default="", metadata={"help": "your classes onto the checkpoint's, e.g. nucleus=epithelial or 1=3 (needed when the schemes differ)"})
    steps: int = field(default=1400, metadata={"help": "optimisation steps, discriminator warm-up included (about 17 minutes on one core "
                       "of a CPU with bf16 units, the held-out check included)"})
    lr: float = field(default=5e-5, metadata={"help": "Adam learning rate"})
    batch_size: int = field(default=4, metadata={"help": "pairs per step"})
    d_warmup_steps: int = field(default=200, metadata={"help": "first steps train only the discriminator"})
    ema_decay: float = field(default=0.99, metadata={"help": "moving average of the generator that is saved (0: off)"})
    diversity_weight: float = field(default=0.0, metadata={"help": "mode-seeking term that pushes seeds apart (the shipped checkpoints were "
                                    "trained with 1). Off by default: a short fine-tune at 1 spent itself on it, and the base's seeds "
                                    "stay apart without it (docs/finetuning.md)"})
    discriminator: str = field(default="auto", metadata={"choices": DISCRIMINATOR_CHOICES, "help": "beside: continue the game against the "
                               "discriminator saved next to the checkpoint (<stem>.discriminator.safetensors or a run's discriminator.safetensors); "
                               "fresh: a new one; auto: beside when one is saved, else fresh"})
    holdout_every: int = field(default=8, metadata={"help": "every Nth pair of your split is held out of training, and the result is "
                               "the better of base and fine-tuned on those pairs (by KID); 0: no check, the fine-tuned network is the result"})
    checkpoint_every: int = field(default=100, metadata={"help": "steps between resumable checkpoints"})
    sample_every: int = field(default=100, metadata={"help": "steps between sample grids"})
    seed: int = field(default=0, metadata={"help": "seed of data order, augmentation and noise"})
    calibrate: bool = field(default=False, metadata={"help": "then fit the colour map and JPEG matching on your split "
                            "(python -m pathgan calibrate): OUT/generator-calibrated.safetensors"})
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda or cuda:N"})


def train_config(checkpoint: str | Path, cfg: FinetuneConfig, base: CheckpointConfig | None = None) -> TrainConfig:
    """The trainer's config for a fine-tune of `checkpoint` (whose config `base` is, when already read): every setting
    the two configs share by name, then the checkpoint's discriminator architecture, width and weight format."""
    checkpoint = Path(checkpoint)
    base = base or CheckpointConfig.read(checkpoint)
    disc = base.train_config.get("discriminator") or {}
    init_d = ""
    if cfg.discriminator in ("auto", "beside"):
        found = discriminator_beside(checkpoint)
        if found is None and cfg.discriminator == "beside":
            raise ConfigError(f"{checkpoint}: no discriminator saved beside it ({checkpoint.stem}.discriminator.safetensors); "
                              "use --discriminator fresh")
        init_d = str(found) if found else ""
    elif cfg.discriminator != "fresh":
        raise ConfigError(f"--discriminator must be one of {', '.join(DISCRIMINATOR_CHOICES)}")
    if not cfg.data or not cfg.out:
        raise ConfigError("--data and --out are required")
    trainer_fields = {f.name for f in fields(TrainConfig)} - {"discriminator"}  # FinetuneConfig's is a choice, not the network
    shared = {f.name: getattr(cfg, f.name) for f in fields(cfg) if f.name in trainer_fields}
    return TrainConfig(
        **shared, sample_split=cfg.split, log_every=1, half_weights=base.half, init_generator=str(checkpoint), init_discriminator=init_d,
        discriminator=DiscriminatorConfig(arch=disc.get("arch") or base.disc or "patchgan", ndf=int(disc.get("ndf") or DiscriminatorConfig.ndf)),
    )


def discriminator_used(checkpoint: str | Path, choice: str = "auto") -> str:
    """In words, which discriminator a fine-tune of `checkpoint` plays against."""
    found = discriminator_beside(Path(checkpoint)) if choice in ("auto", "beside") else None
    if found is not None:
        return f"the one saved beside it ({found.name}), which already knows this generator"
    if choice == "beside":
        return f"none: {Path(checkpoint).stem} has no discriminator saved beside it (choose fresh)"
    return "a fresh one" + ("" if choice == "fresh" else f" ({Path(checkpoint).stem} has none saved beside it)")


def finish(checkpoint: str | Path, cfg: TrainConfig, calibrate: bool = False, log=print, base_config: CheckpointConfig | None = None) -> Path:
    """After training: judge base and fine-tuned on the held-out pairs, keep the better, calibrate it if asked,
    and write OUT/result.safetensors with the verdict in its provenance. Every file the run made is kept."""
    out = Path(cfg.out)
    device = best_device(None if cfg.device == "auto" else cfg.device)
    scheme = dataset_scheme(cfg.data, cfg.split, cfg.scheme or None)
    files = {"fine-tuned (average)": out / GENERATOR_FILE, "fine-tuned (raw)": out / RAW_GENERATOR_FILE}
    files = {name: path for name, path in files.items() if path.is_file()}
    base = Synthesizer.from_checkpoint(checkpoint, str(device)).read_as(scheme, cfg.class_map)
    held = held_out(scan_dataset(cfg.data, cfg.split, scheme, check_content=False).pairs, cfg.holdout_every)[1]  # checked by the trainer
    metrics = MetricsConfig(device=str(device))
    crops = sum(view_count(*image_size(p.image_path), metrics.large_images) for p in held)
    if crops >= 2:
        extractor = InceptionFeatures(metrics.inception_weights, metrics.device, metrics.batch_size)
        candidates = {BASE: base, **{n: Synthesizer.from_checkpoint(p, str(device)) for n, p in files.items()}}
        verdict = holdout.judge(candidates, held, extractor, views=metrics.large_images, kid_subsets=metrics.kid_subsets, kid_seed=metrics.kid_seed)
    else:
        first = next(iter(files))
        why = ("--holdout-every 0" if not cfg.holdout_every else
               f"{len(held)} held-out pair(s) give {crops} crop(s), too few to score")
        verdict = Verdict([p.stem for p in held], [], {"real": crops}, {}, first, notes=[f"not checked against the base: {why}"])
    verdict.save(out / VERDICT_FILE)
    log(verdict.describe() if verdict.scores else verdict.notes[0])
    if verdict.kept_base:
        base_config = base_config or CheckpointConfig.read(checkpoint)
        save_generator(out / BASE_FILE, base.generator, scheme, base_config.provenance, half=base_config.half,
                       post_processing=base.post_processing, class_map=base.class_map)
        chosen = out / BASE_FILE
    else:
        chosen = files[verdict.chosen]
    if calibrate:
        result = calibrate_checkpoint(chosen, CalibrationConfig(data=cfg.data, split=cfg.split, out=str(out / CALIBRATED_FILE),
                                                                device=None if cfg.device == "auto" else cfg.device))
        log(f"calibrated on your {cfg.split} split: colour map {'kept' if result.colour else 'not used'}, "
            f"{'JPEG matching' if result.compression else 'lossless output'}")
        chosen = result.out
    generator, config = load_generator(chosen)
    provenance = {**config.provenance, "holdout": {**asdict(verdict), "file": chosen.name}}
    save_generator(out / RESULT_FILE, generator, config.scheme, provenance, half=config.half, post_processing=config.post_processing,
                   class_map=config.class_map)
    return out / RESULT_FILE


def describe_result(out: str | Path) -> str:
    """What a finished fine-tune delivered, in words: the held-out verdict and the post-processing of the result."""
    out = Path(out)
    parts = []
    if (out / VERDICT_FILE).is_file():
        verdict = Verdict(**json.loads((out / VERDICT_FILE).read_text()))
        parts.append(verdict.describe() if verdict.scores else "; ".join(verdict.notes) + ".")
    if (out / RESULT_FILE).is_file():
        post = CheckpointConfig.read(out / RESULT_FILE).post_processing
        selection = post.colour_selection
        colour = ("" if not selection else f" (colour map {'kept' if selection.get('kept') else 'dropped'}: FID "
                  f"{selection['with']['fid']:.1f} with it, {selection['without']['fid']:.1f} without, on your {selection.get('split')} split)")
        parts.append(f"Post-processing of the result: {post.description}{colour}.")
    return " ".join(parts)
