"""python -m pathgan finetune --checkpoint C --data DIR [--class-map nucleus=epithelial] --steps N --out DIR [--resume]"""
from __future__ import annotations

from pathlib import Path

from ..dataclass_cli import add_dataclass_arguments, dataclass_from_args
from ..finetune import CALIBRATED_FILE, FinetuneConfig, train_config
from .train import run_trainer


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="the generator to start from (it is never modified)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    add_dataclass_arguments(p, FinetuneConfig)


def run(args) -> int:
    settings = dataclass_from_args(FinetuneConfig, args)
    cfg = train_config(args.checkpoint, settings)
    rc = run_trainer(cfg, args.resume)
    if rc == 0 and settings.calibrate:
        from ..calibrate import CalibrationConfig, calibrate_checkpoint

        out = Path(cfg.out)
        result = calibrate_checkpoint(out / "generator.safetensors", CalibrationConfig(
            data=cfg.data, split=cfg.split, out=str(out / CALIBRATED_FILE), device=None if cfg.device == "auto" else cfg.device))
        print(f"calibrated on your {cfg.split} split: {result.out}")
    return rc
