"""python -m pathgan tell --checkpoint C --data DIR --split test [--seeds 0] [--out DIR]"""
from __future__ import annotations

from ..dataclass_cli import add_dataclass_arguments, command_line, dataclass_from_args
from ..tell import TellConfig, find_the_tell, tell_markdown


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="generator .safetensors")
    add_dataclass_arguments(p, TellConfig)


def run(args) -> int:
    config = dataclass_from_args(TellConfig, args)
    command = command_line("tell", ["--checkpoint", args.checkpoint], config)
    report = find_the_tell(args.checkpoint, config, command=command)
    print(tell_markdown(report))
    print()
    print(f"wrote {report['out']}/tell.json, tell.md and the synthetic tiles in {report['out']}/images")
    return 0
