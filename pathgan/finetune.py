"""Fine-tuning: adapt a generator checkpoint to a user's own pairs, with the library's trainer.

`python -m pathgan finetune` and the app's Fine-tune tab (which runs that command in a worker process) both
come here, so they write the same checkpoint. docs/finetuning.md gives the evidence behind the defaults.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint import read_config
from .models import DiscriminatorConfig
from .training.config import TrainConfig

DISCRIMINATOR_CHOICES = ("auto", "beside", "fresh")
CALIBRATED_FILE = "generator-calibrated.safetensors"  # with --calibrate: the run's final checkpoint


@dataclass
class FinetuneConfig:
    data: str = field(default="", metadata={"help": "your dataset folder: images/ + masks/ (with or without splits), optional scheme.json"})
    out: str = field(default="", metadata={"help": "run folder; the fine-tuned checkpoint is OUT/generator.safetensors"})
    split: str = field(default="train", metadata={"help": "split to train on ('.' when images/ and masks/ hold the files directly)"})
    scheme: str = field(default="", metadata={"help": "class scheme of your masks: consep, binary, or a scheme.json; empty: the data's own scheme.json"})
    class_map: str = field(default="", metadata={"help": "your classes onto the checkpoint's, e.g. nucleus=epithelial or 1=3 (needed when the schemes differ)"})
    steps: int = field(default=1000, metadata={"help": "optimisation steps, discriminator warm-up included"})
    lr: float = field(default=5e-5, metadata={"help": "Adam learning rate"})
    batch_size: int = field(default=4, metadata={"help": "pairs per step"})
    d_warmup_steps: int = field(default=200, metadata={"help": "first steps train only the discriminator"})
    ema_decay: float = field(default=0.99, metadata={"help": "moving average of the generator that is saved (0: off)"})
    diversity_weight: float = field(default=1.0, metadata={"help": "mode-seeking term, as the shipped checkpoints were trained"})
    discriminator: str = field(default="auto", metadata={"choices": DISCRIMINATOR_CHOICES, "help": "beside: continue the game against the "
                               "discriminator saved next to the checkpoint (<stem>.discriminator.safetensors or a run's discriminator.safetensors); "
                               "fresh: a new one; auto: beside when one is saved, else fresh"})
    checkpoint_every: int = field(default=100, metadata={"help": "steps between resumable checkpoints"})
    sample_every: int = field(default=100, metadata={"help": "steps between sample grids"})
    seed: int = field(default=0, metadata={"help": "seed of data order, augmentation and noise"})
    calibrate: bool = field(default=False, metadata={"help": "then fit the colour map and JPEG matching on your split "
                            "(python -m pathgan calibrate): OUT/generator-calibrated.safetensors"})
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda or cuda:N"})


def discriminator_beside(checkpoint: Path) -> Path | None:
    for path in (checkpoint.with_name(f"{checkpoint.stem}.discriminator.safetensors"), checkpoint.parent / "discriminator.safetensors"):
        if path.is_file():
            return path
    return None


def train_config(checkpoint: str | Path, cfg: FinetuneConfig) -> TrainConfig:
    """The trainer's config for a fine-tune of `checkpoint`: its discriminator architecture, width and weight format."""
    checkpoint = Path(checkpoint)
    base = read_config(checkpoint)
    trained = (base.get("provenance") or {}).get("train_config") or {}
    disc = trained.get("discriminator") or {}
    init_d = ""
    if cfg.discriminator in ("auto", "beside"):
        found = discriminator_beside(checkpoint)
        if found is None and cfg.discriminator == "beside":
            raise ValueError(f"{checkpoint}: no discriminator saved beside it ({checkpoint.stem}.discriminator.safetensors); "
                             "use --discriminator fresh")
        init_d = str(found) if found else ""
    elif cfg.discriminator != "fresh":
        raise ValueError(f"--discriminator must be one of {', '.join(DISCRIMINATOR_CHOICES)}")
    if not cfg.data or not cfg.out:
        raise ValueError("--data and --out are required")
    return TrainConfig(
        data=cfg.data, out=cfg.out, split=cfg.split, sample_split=cfg.split, scheme=cfg.scheme, class_map=cfg.class_map, steps=cfg.steps,
        batch_size=cfg.batch_size, lr=cfg.lr, d_warmup_steps=cfg.d_warmup_steps, ema_decay=cfg.ema_decay,
        diversity_weight=cfg.diversity_weight, seed=cfg.seed, device=cfg.device, checkpoint_every=cfg.checkpoint_every,
        sample_every=cfg.sample_every, log_every=1, half_weights=base.get("dtype") == "float16",
        init_generator=str(checkpoint), init_discriminator=init_d,
        discriminator=DiscriminatorConfig(arch=disc.get("arch") or (base.get("provenance") or {}).get("disc") or "patchgan",
                                          ndf=int(disc.get("ndf") or DiscriminatorConfig.ndf)),
    )
