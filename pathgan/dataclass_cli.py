"""Map config dataclasses onto argparse flags, so defaults live only in the dataclass."""
from __future__ import annotations

import argparse
import dataclasses
import typing


def _dest(f: dataclasses.Field, prefix: str) -> str:
    return (prefix + f.metadata.get("flag", f.name)).replace("-", "_")


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls, exclude: tuple[str, ...] = (), prefix: str = "") -> None:
    """One --flag per field: `ngf` -> `--ngf`, `l1_weight` -> `--l1-weight`. Help comes from field metadata."""
    hints = typing.get_type_hints(cls)
    group = parser.add_argument_group(cls.__name__)
    for f in dataclasses.fields(cls):
        if f.name in exclude or not f.init:
            continue
        flag = "--" + prefix + f.metadata.get("flag", f.name.replace("_", "-"))
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        kind = hints[f.name]
        help_text = f.metadata.get("help", "") + f" (default: {default})"
        dest = _dest(f, prefix)
        choices = f.metadata.get("choices")
        if kind is bool:
            group.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        else:
            base = typing.get_args(kind)[0] if typing.get_origin(kind) in (typing.Union, getattr(__import__("types"), "UnionType", None)) else kind
            group.add_argument(flag, dest=dest, type=base, default=default, choices=choices, help=help_text)


def dataclass_from_args(cls, args: argparse.Namespace, prefix: str = "", **overrides):
    values = {}
    for f in dataclasses.fields(cls):
        key = _dest(f, prefix)
        if hasattr(args, key):
            values[f.name] = getattr(args, key)
    values.update(overrides)
    return cls(**values)
