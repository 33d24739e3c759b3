"""The training config: one dataclass, mapped onto `python -m pathgan train` flags and saved with every run."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..dataclass_cli import dataclass_from_dict
from ..errors import ConfigError
from ..models import DiscriminatorConfig, GeneratorConfig
from .diffaugment import parse_policy


def _f(default, help_text, **kw):
    return field(default=default, metadata={"help": help_text, **kw})


@dataclass
class TrainConfig:
    data: str = _f("", "dataset folder with images/<split>, masks/<split>")
    out: str = _f("runs/train", "run folder: checkpoints, samples, metrics.jsonl")
    split: str = _f("train", "split to train on")
    scheme: str = _f("", "class scheme: consep, binary, or a scheme.json file; empty: the dataset's own scheme.json, required then")
    sample_split: str = _f("test", "split whose first masks are drawn in the sample grids (viewing only, never tuned on)")
    steps: int = _f(3000, "optimisation steps")
    batch_size: int = _f(1, "global batch size (split across DDP processes)")
    lr: float = _f(2e-4, "Adam learning rate, generator and discriminator")
    beta1: float = _f(0.5, "Adam beta1")
    beta2: float = _f(0.999, "Adam beta2")
    l1_weight: float = _f(100.0, "weight of the L1 reconstruction term")
    diversity_weight: float = _f(0.0, "mode-seeking term: lambda / mean|G(z1) - G(z2)|; >0 makes seeds matter (doubles G work)")
    seed: int = _f(0, "seed for weights, data order, augmentation and noise")
    device: str = _f("auto", "auto, cpu, cuda or cuda:N")
    seeded_noise: bool = _f(True, "draw each sample's noise from its own seeded CPU generator (identical across process counts); off uses the device RNG, faster on GPU")
    augment: bool = _f(True, "random 256 crop, mirror and 90-degree rotations")
    sample_every: int = _f(500, "steps between sample grids")
    checkpoint_every: int = _f(500, "steps between checkpoints")
    keep_snapshots: bool = _f(False, "also keep generator-stepNNNNNN.safetensors at every checkpoint (for metric-vs-step curves)")
    log_every: int = _f(10, "steps between metrics.jsonl lines")
    half_weights: bool = _f(False, "store generator weights as float16 (halves the file)")
    bf16: bool = _f(True, "bf16 autocast where the device multiplies bf16 natively (CUDA; CPUs with AMX-BF16 or AVX512-BF16); "
                    "elsewhere, and with --no-bf16, fp32")
    channels_last: bool = _f(True, "channels_last memory format where it helps (CUDA, bf16, CPUs with AVX-512)")
    data_workers: int = _f(0, "0: the pairs are decoded once and held in memory (small datasets, such as CoNSeP's 110 MB); "
                           "N: N loader processes read and augment each batch from disk ahead of the step (datasets too large to hold)")
    compile: bool = _f(False, "torch.compile the networks (CUDA)")
    init_generator: str = _f("", "start from this generator checkpoint (fine-tuning); its architecture replaces the generator flags")
    init_discriminator: str = _f("", "start the discriminator from these weights (a run's discriminator.safetensors) instead of fresh")
    class_map: str = _f("", "with --init-generator of another class scheme: your classes onto its classes, e.g. nucleus=epithelial or 1=3")
    holdout_every: int = _f(0, "keep every Nth pair of the split (in name order, from the first) out of training, to judge the result on "
                            "(fine-tuning); 0: train on every pair")
    d_warmup_steps: int = _f(0, "first steps train only the discriminator against the fixed generator; lets a fresh discriminator catch up when fine-tuning")
    feature_matching_weight: float = _f(0.0, "pix2pixHD feature matching: weight of the L1 between the discriminator's activations on real and generated tiles; 0: off")
    ema_decay: float = _f(0.0, "keep an exponential moving average of the generator weights with this per-step decay (e.g. 0.995) and save the average; 0: off")
    critic_codec: bool = _f(False, "show the discriminator the generated tiles through the training tiles' own JPEG encoding (read from the "
                            "files), with a straight-through gradient, so it cannot tell them from real tiles by codec artefacts alone")
    diffaugment: str = _f("", "DiffAugment: transforms, comma-separated, applied alike to real and generated pairs before the "
                          "discriminator (color, translation, cutout); geometric ones move the mask with its image; empty: off")
    r1_gamma: float = _f(0.0, "R1 penalty on the discriminator: gamma/2 times the squared gradient of each real tile's mean logit "
                         "with respect to the tile, every step; 0: off")
    oasis_weight: float = _f(0.0, "a third critic beside the discriminator: an OASIS-style segmenter that labels each pixel with its mask "
                             "class or 'generated' (class-balanced, with LabelMix); the weight of its term in the generator's objective; 0: off")
    oasis_ndf: int = _f(32, "width of the OASIS-style critic")
    lr_decay_steps: int = _f(0, "decay both learning rates linearly to zero over the last N of --steps (pix2pix's 'linear' policy); 0: constant")
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)

    def validate(self) -> "TrainConfig":
        """Refuse settings that cannot train, before any data is read; returns self."""
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size must be 1 or more, not {self.batch_size}")
        if self.data_workers < 0:
            raise ConfigError(f"--data-workers must be 0 or more, not {self.data_workers}")
        if not 0 <= self.lr_decay_steps <= self.steps:
            raise ConfigError(f"--lr-decay-steps must be between 0 and --steps ({self.steps}), not {self.lr_decay_steps}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"--ema-decay must be in [0, 1), not {self.ema_decay}")
        if self.oasis_weight < 0 or self.oasis_ndf < 1:
            raise ConfigError(f"--oasis-weight must be 0 or more and --oasis-ndf 1 or more, not {self.oasis_weight} and {self.oasis_ndf}")
        if self.r1_gamma < 0:
            raise ConfigError(f"--r1-gamma must be 0 or more, not {self.r1_gamma}")
        if parse_policy(self.diffaugment) and self.feature_matching_weight > 0:
            raise ConfigError("--diffaugment with --feature-matching-weight would match features of differently transformed tiles; use one")
        if self.class_map and not self.init_generator:
            raise ConfigError("--class-map maps your classes onto a starting generator's: give --init-generator too")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """From a run's config.json; unknown keys are refused, so a typo or a newer file never trains silently on defaults."""
        d = dict(d)
        g = dataclass_from_dict(GeneratorConfig, d.pop("generator", {}))
        disc = dataclass_from_dict(DiscriminatorConfig, d.pop("discriminator", {}))
        return dataclass_from_dict(cls, {**d, "generator": g, "discriminator": disc})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except FileNotFoundError:
            raise ConfigError(f"cannot resume: {path} does not exist (was the run started with --out {Path(path).parent}?)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: not a readable run config ({e})") from None
