"""python -m pathgan finetune --checkpoint C --data DIR [--class-map nucleus=epithelial] --steps N --out DIR [--resume]"""
from __future__ import annotations

from ..dataclass_cli import add_dataclass_arguments, dataclass_from_args
from ..finetune import FinetuneConfig, discriminator_used, finish, train_config
from .train import run_trainer


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="the generator to start from (it is never modified)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    add_dataclass_arguments(p, FinetuneConfig)


def run(args) -> int:
    settings = dataclass_from_args(FinetuneConfig, args)
    cfg = train_config(args.checkpoint, settings)
    print(f"discriminator: {discriminator_used(args.checkpoint, settings.discriminator)}", flush=True)
    rc = run_trainer(cfg, args.resume)
    if rc == 0:
        print(f"result: {finish(args.checkpoint, cfg, settings.calibrate)}")
    return rc
