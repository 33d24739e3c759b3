"""Checkpoints: generator weights as safetensors, with a JSON config in the file and beside it.

The config names the architecture and its sizes, the class scheme, and training provenance.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .models import build_generator, generator_config
from .post_processing import PostProcessing
from .schemes import ClassMap, ClassScheme, SchemeMismatch, check_same_classes

FORMAT = "pathgan-generator"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message says why and what to do."""


def discriminator_beside(checkpoint: str | Path) -> Path | None:
    """The critic saved next to a generator (<stem>.discriminator.safetensors, or a run's discriminator.safetensors)."""
    checkpoint = Path(checkpoint)
    for path in (checkpoint.with_name(f"{checkpoint.stem}.discriminator.safetensors"), checkpoint.parent / "discriminator.safetensors"):
        if path.is_file():
            return path
    return None


def file_sha256(path: str | Path) -> str:
    """Content hash of a checkpoint file, for provenance."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def config_path(weights: str | Path) -> Path:
    return Path(weights).with_suffix(".json")


def atomic_write(path: Path, write) -> None:
    """write(tmp_path) then rename, so a crash never leaves a half-written file at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; a checkpoint is meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_generator(path: str | Path, generator: torch.nn.Module, scheme: ClassScheme, provenance: dict | None = None, half: bool = False,
                   post_processing: PostProcessing | None = None, class_map: ClassMap | None = None) -> dict:
    """Write `path` (.safetensors) and its config `path.json`; returns the config."""
    path = Path(path)
    config = {
        "format": FORMAT,
        "version": VERSION,
        "generator": asdict(generator.cfg),
        "scheme": scheme.to_dict(),
        "provenance": provenance or {},
        "dtype": "float16" if half else "float32",
    }
    if post_processing is not None:
        config.update(post_processing.to_config())
    if class_map is not None:  # the network's input classes differ from the masks' (a class-mapped fine-tune)
        config["class_map"] = class_map.to_dict()
    tensors = {}
    for k, v in generator.state_dict().items():
        v = v.detach().cpu().contiguous()
        tensors[k] = v.half() if half and v.is_floating_point() else v
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"pathgan": json.dumps(config)}))
    atomic_write(config_path(path), lambda tmp: Path(tmp).write_text(json.dumps(config, indent=2) + "\n"))
    return config


def read_config(path: str | Path) -> dict:
    """The config stored inside the safetensors file (the JSON beside it is a readable copy)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise CheckpointError(f"{path}: file is too short to be a safetensors checkpoint (truncated?)")
            n = int.from_bytes(head, "little")
            if n <= 0 or n > 100_000_000 or n > path.stat().st_size - 8:
                raise CheckpointError(f"{path}: not a safetensors checkpoint, or truncated (header length {n})")
            header = json.loads(f.read(n))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: not a safetensors checkpoint (unreadable header)") from None
    meta = (header.get("__metadata__") or {}).get("pathgan")
    if meta is None:
        raise CheckpointError(f"{path}: a safetensors file, but not a PathGAN generator checkpoint (no 'pathgan' metadata)")
    config = json.loads(meta)
    if config.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format {config.get('format')!r} is not {FORMAT!r}")
    if config.get("version", 0) > VERSION:
        raise CheckpointError(f"{path}: checkpoint version {config['version']} is newer than this PathGAN reads ({VERSION}); upgrade PathGAN")
    return config


def provenance_steps(provenance: dict) -> int | None:
    """The training steps behind a checkpoint, a fine-tune's base's included where recorded (total_steps)."""
    steps = provenance.get("total_steps", provenance.get("steps"))
    return int(steps) if isinstance(steps, (int, float)) and not isinstance(steps, bool) else None


def read_post_processing(path: str | Path, config: dict) -> PostProcessing:
    """What a checkpoint's config asks for after the network; a bad entry is a CheckpointError naming the file."""
    try:
        return PostProcessing.from_config(config, str(path))
    except ValueError as e:
        raise CheckpointError(str(e)) from None


def read_class_map(path: str | Path, config: dict, scheme: ClassScheme) -> ClassMap | None:
    """The map from the checkpoint's mask classes to its network's input classes, None when they are the same."""
    if config.get("class_map") is None:
        return None
    try:
        return ClassMap.from_dict(config["class_map"], scheme)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: unreadable class map ({e})") from None


def load_generator(path: str | Path, expect_scheme: ClassScheme | None = None, device: str | torch.device = "cpu"):
    """Load -> (generator in eval mode, scheme, config). Errors say what is wrong with the file."""
    path = Path(path)
    config = read_config(path)
    scheme = ClassScheme.from_dict(config["scheme"])
    if expect_scheme is not None:
        try:
            check_same_classes(scheme, expect_scheme, str(path), "the data")
        except SchemeMismatch as e:
            raise CheckpointError(str(e)) from None
    try:
        cfg = generator_config(config["generator"])
        generator = build_generator(cfg)
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"{path}: unsupported architecture in config: {e}") from None
    read_post_processing(path, config)  # bad entries fail here, at load, not at the first tile
    read_class_map(path, config, scheme)
    try:
        tensors = load_file(str(path))
    except SafetensorError as e:
        raise CheckpointError(f"{path}: cannot read weights, the file is corrupt or truncated ({e})") from None
    expected = generator.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [k for k in expected if k in tensors and tensors[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        detail = "; ".join(
            s for s in (
                f"missing {missing[:3]}" if missing else "",
                f"unexpected {unexpected[:3]}" if unexpected else "",
                f"shape mismatch at {wrong[:3]}" if wrong else "",
            ) if s
        )
        raise CheckpointError(f"{path}: weights do not fit the {cfg.arch} generator its config describes ({detail})")
    generator.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})
    generator.to(device).eval()
    return generator, scheme, config
