"""python -m pathgan train --data DIR --disc patchgan|vanilla --out runs/NAME [--resume runs/NAME]"""
from __future__ import annotations

from ..dataclass_cli import add_dataclass_arguments, dataclass_from_args
from ..errors import ConfigError
from ..models import DISCRIMINATORS, GENERATORS, DiscriminatorConfig, GeneratorConfig
from ..training.config import TrainConfig


def add_arguments(p):
    add_dataclass_arguments(p, TrainConfig, exclude=("generator", "discriminator"))
    add_dataclass_arguments(p, GeneratorConfig, exclude=("num_classes",), choices={"arch": sorted(GENERATORS)})
    add_dataclass_arguments(p, DiscriminatorConfig, exclude=("num_classes", "image_size"), choices={"arch": sorted(DISCRIMINATORS)})
    p.add_argument("--resume", metavar="RUN", default=None, help="continue the run in this folder exactly where it stopped")


def config_from_args(args) -> TrainConfig:
    return dataclass_from_args(
        TrainConfig, args,
        generator=dataclass_from_args(GeneratorConfig, args),
        discriminator=dataclass_from_args(DiscriminatorConfig, args),
    )


def run(args) -> int:
    cfg = config_from_args(args)
    if args.resume:
        cfg.out = args.resume
    elif not cfg.data:
        raise ConfigError("--data is required (a folder with images/<split> and masks/<split>), e.g. --data ../shared/data/consep")
    return run_trainer(cfg, bool(args.resume))


def run_trainer(cfg: TrainConfig, resume: bool, scan=None) -> int:
    """Train to the end (on `scan`, the split's checked pairs, when the caller has them); exit codes: 0 done, 1 stopped by
    a training error (NaN), 130 interrupted with a resumable state saved."""
    from ..training.trainer import Trainer, TrainingError

    try:
        path = Trainer(cfg, resume=resume, scan=scan).run()
    except TrainingError as e:
        print(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        return 130
    print(f"done: {path}")
    return 0
