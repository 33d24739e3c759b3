"""`python -m pathgan COMMAND ...`: each command lives in pathgan/commands/ and is imported only when used."""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import PathGANError

COMMANDS = {
    "generate": "synthetic tiles for masks and seeds",
    "train": "train a generator against a PatchGAN or vanilla discriminator",
    "evaluate": "FID, KID, precision/recall, diversity and memorisation of a checkpoint",
    "fid": "FID and KID between two folders of images",
    "tell": "what gives synthetic tiles away: the two-sample probe under blur, grey, JPEG, ... and per-class colour/texture",
    "finetune": "adapt a generator checkpoint to your own image/mask pairs (any class scheme, with --class-map)",
    "calibrate": "fit a checkpoint's colour calibration on its training split (writes a new file)",
    "curves": "FID, KID and seed diversity of a run's generator snapshots against training step",
    "bench": "print throughput and memory figures",
    "segbench": "do synthetic pairs help a nucleus segmenter trained on few real pairs? (MONAI)",
    "reading-test": "export a reading study's answers and statistics from the app's database",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m pathgan", description="PathGAN: nucleus-class masks to synthetic H&E tiles.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        parser.print_help()
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(f"pathgan.commands.{argv[0].replace('-', '_')}")
    cmd_parser = argparse.ArgumentParser(prog=f"python -m pathgan {argv[0]}", description=COMMANDS[argv[0]])
    module.add_arguments(cmd_parser)
    args = cmd_parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except PathGANError as e:  # a user error: its message says what to do; anything else is a bug and keeps its traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
