"""Map config dataclasses onto argparse flags, so defaults live only in the dataclass."""
from __future__ import annotations

import argparse
import dataclasses
import shlex
import typing

from .errors import ConfigError


def _dest(f: dataclasses.Field, prefix: str) -> str:
    return (prefix + f.metadata.get("flag", f.name)).replace("-", "_")


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls, exclude: tuple[str, ...] = (), prefix: str = "",
                            choices: dict[str, list[str]] | None = None) -> None:
    """One --flag per field: `ngf` -> `--ngf`, `l1_weight` -> `--l1-weight`. Help comes from field metadata;
    `choices` gives a field's allowed values where a registry, not the dataclass, knows them."""
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
        allowed = (choices or {}).get(f.name, f.metadata.get("choices"))
        if kind is bool:
            group.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        else:
            base = typing.get_args(kind)[0] if typing.get_origin(kind) in (typing.Union, getattr(__import__("types"), "UnionType", None)) else kind
            group.add_argument(flag, dest=dest, type=base, default=default, choices=allowed, help=help_text)


def dataclass_from_dict(cls, d: dict):
    """A config dataclass from a dict (a JSON file), refusing keys it does not know rather than dropping them."""
    if not isinstance(d, dict):
        raise ConfigError(f"a {cls.__name__} must be a JSON object, got {type(d).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - known
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} fields {sorted(unknown)}; known: {sorted(known)}")
    return cls(**d)


def dataclass_from_args(cls, args: argparse.Namespace, prefix: str = "", **overrides):
    values = {}
    for f in dataclasses.fields(cls):
        key = _dest(f, prefix)
        if hasattr(args, key):
            values[f.name] = getattr(args, key)
    values.update(overrides)
    return cls(**values)


def flag_args(*configs, skip: tuple[str, ...] = ()) -> list[str]:
    """The flags that recreate these configs, every option spelled out (the inverse of add_dataclass_arguments)."""
    parts: list[str] = []
    for cfg in configs:
        for f in dataclasses.fields(cfg):
            if f.name in skip:
                continue
            v, flag = getattr(cfg, f.name), f.metadata.get("flag", f.name.replace("_", "-"))
            if isinstance(v, bool):
                parts.append(f"--{flag}" if v else f"--no-{flag}")
            elif v is not None:
                parts += [f"--{flag}", str(v)]
    return parts


def command_line(name: str, leading: list[str], *configs) -> str:
    """The full `python -m pathgan` command, every option spelled out, so a report says exactly how to reproduce it."""
    return shlex.join(["python", "-m", "pathgan", name, *leading, *flag_args(*configs)])
