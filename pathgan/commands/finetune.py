"""python -m pathgan finetune --checkpoint C --data DIR [--class-map nucleus=epithelial] --steps N --out DIR [--resume]"""
from __future__ import annotations

from ..checkpoint import CheckpointConfig
from ..dataclass_cli import add_dataclass_arguments, dataclass_from_args
from ..dataset import DatasetError
from ..finetune import FinetuneConfig, discriminator_used, finish, train_config
from ..finetune_data import check_finetune_data
from .train import run_trainer


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="the generator to start from (it is never modified)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    add_dataclass_arguments(p, FinetuneConfig)


def run(args) -> int:
    settings = dataclass_from_args(FinetuneConfig, args)
    base = CheckpointConfig.read(args.checkpoint)
    cfg = train_config(args.checkpoint, settings, base)
    scan = None
    if not args.resume:  # the app's checks of the pairs, before anything is written
        check = check_finetune_data(settings.data, args.checkpoint, settings.split, settings.class_map, settings.scheme,
                                    discriminator=settings.discriminator, base=base)
        if not check.ok:
            raise DatasetError(check.report)
        scan = check.scan
    print(f"discriminator: {discriminator_used(args.checkpoint, settings.discriminator)}", flush=True)
    rc = run_trainer(cfg, args.resume, scan)
    if rc == 0:
        print(f"result: {finish(args.checkpoint, cfg, settings.calibrate, base_config=base)}")
    return rc
