"""Checkpoints: generator weights as safetensors, with a JSON config in the file and beside it.

The config names the architecture and its sizes, the class scheme, the post-processing, a class map where the
network's classes differ from its masks', and training provenance. `CheckpointConfig` is that config, typed.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import ConfigError, PathGANError
from .models import GeneratorConfig, build_generator, generator_config
from .post_processing import PostProcessing
from .schemes import ClassMap, ClassScheme, SchemeError, SchemeMismatch, check_same_classes

FORMAT = "pathgan-generator"
VERSION = 1


class CheckpointError(PathGANError, ValueError):
    """A checkpoint that cannot be loaded; the message says why and what to do."""


def discriminator_beside(checkpoint: str | Path) -> Path | None:
    """The critic saved next to a generator (<stem>.discriminator.safetensors, or a run's discriminator.safetensors)."""
    checkpoint = Path(checkpoint)
    for path in (checkpoint.with_name(f"{checkpoint.stem}.discriminator.safetensors"), checkpoint.parent / "discriminator.safetensors"):
        if path.is_file():
            return path
    return None


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
                   post_processing: PostProcessing | None = None, class_map: ClassMap | None = None) -> CheckpointConfig:
    """Write `path` (.safetensors) and its config `path.json`; returns the config."""
    path = Path(path)
    config = CheckpointConfig(generator.cfg, scheme, provenance or {}, "float16" if half else "float32",
                              post_processing or PostProcessing(), class_map)
    stored = config.to_dict()
    tensors = {}
    for k, v in generator.state_dict().items():
        v = v.detach().cpu().contiguous()
        tensors[k] = v.half() if half and v.is_floating_point() else v
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"pathgan": json.dumps(stored)}))
    atomic_write(config_path(path), lambda tmp: Path(tmp).write_text(json.dumps(stored, indent=2) + "\n"))
    return config


def read_config(path: str | Path) -> dict:
    """The config stored inside the safetensors file, as the JSON it is (the file beside it is a readable copy).
    Code that uses a checkpoint reads `CheckpointConfig.read`, which checks every entry."""
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
    meta = (header.get("__metadata__") or {}).get("pathgan") if isinstance(header, dict) else None
    if meta is None:
        raise CheckpointError(f"{path}: a safetensors file, but not a PathGAN generator checkpoint (no 'pathgan' metadata)")
    try:
        config = json.loads(meta)
    except (TypeError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: its PathGAN config is not readable JSON") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format {config.get('format') if isinstance(config, dict) else None!r} is not {FORMAT!r}")
    version = config.get("version", 0)
    if not isinstance(version, int):
        raise CheckpointError(f"{path}: checkpoint version {version!r} is not a number")
    if version > VERSION:
        raise CheckpointError(f"{path}: checkpoint version {version} is newer than this PathGAN reads ({VERSION}); upgrade PathGAN")
    return config


def provenance_steps(provenance: dict) -> int | None:
    """The training steps behind a checkpoint, a fine-tune's base's included where recorded (total_steps)."""
    steps = provenance.get("total_steps", provenance.get("steps"))
    return int(steps) if isinstance(steps, (int, float)) and not isinstance(steps, bool) else None


@dataclass(frozen=True)
class CheckpointConfig:
    """A checkpoint's config, read once and checked entry by entry: the network, the classes of its masks, what
    follows the network, and provenance. The file keeps it as JSON (see `to_dict`), old checkpoints included."""
    generator: GeneratorConfig
    scheme: ClassScheme  # the classes of the masks it takes
    provenance: dict = field(default_factory=dict)  # training record: free-form, shown as it is
    dtype: str = "float32"  # of the stored weights: float32, or float16 (--half-weights)
    post_processing: PostProcessing = PostProcessing()
    class_map: ClassMap | None = None  # mask classes -> the network's input classes, when they differ (a class-mapped fine-tune)

    @property
    def half(self) -> bool:
        return self.dtype == "float16"

    @property
    def steps(self) -> int | None:
        return provenance_steps(self.provenance)

    @property
    def disc(self) -> str | None:
        """The discriminator it was trained against, where recorded."""
        disc = self.provenance.get("disc")
        return str(disc) if disc else None

    @property
    def train_config(self) -> dict:
        """The trainer's config as the run recorded it ({} where it did not)."""
        trained = self.provenance.get("train_config")
        return trained if isinstance(trained, dict) else {}

    def to_dict(self) -> dict:
        generator = asdict(self.generator)
        if generator.get("decoder_norm") == "batch":  # written only when set, so files made before the option read back unchanged
            del generator["decoder_norm"]
        config = {"format": FORMAT, "version": VERSION, "generator": generator, "scheme": self.scheme.to_dict(),
                  "provenance": self.provenance, "dtype": self.dtype, **self.post_processing.to_config()}
        if self.class_map is not None:
            config["class_map"] = self.class_map.to_dict()
        return config

    @classmethod
    def from_dict(cls, config: dict, source: str | Path = "checkpoint config") -> "CheckpointConfig":
        """Every entry checked; a bad one is a CheckpointError naming `source` and the entry."""
        try:
            scheme = ClassScheme.from_dict(config.get("scheme"))
        except SchemeError as e:
            raise CheckpointError(f"{source}: unreadable class scheme ({e})") from None
        try:
            generator = generator_config(config.get("generator"))
        except (ConfigError, TypeError) as e:
            raise CheckpointError(f"{source}: unsupported architecture in config: {e}") from None
        provenance = config.get("provenance") or {}
        if not isinstance(provenance, dict):
            raise CheckpointError(f"{source}: provenance must be a JSON object, not {type(provenance).__name__}")
        dtype = config.get("dtype", "float32")
        if dtype not in ("float32", "float16"):
            raise CheckpointError(f"{source}: weights dtype {dtype!r} is neither float32 nor float16")
        try:
            post_processing = PostProcessing.from_config(config, str(source))
        except ValueError as e:
            raise CheckpointError(str(e)) from None
        class_map = None
        if config.get("class_map") is not None:
            try:
                class_map = ClassMap.from_dict(config["class_map"], scheme)
            except (KeyError, TypeError, ValueError) as e:
                raise CheckpointError(f"{source}: unreadable class map ({e})") from None
        return cls(generator, scheme, provenance, dtype, post_processing, class_map)

    @classmethod
    def read(cls, path: str | Path) -> "CheckpointConfig":
        """The config inside a checkpoint file, checked; the file's weights are not read."""
        return cls.from_dict(read_config(path), path)


def load_generator(path: str | Path, expect_scheme: ClassScheme | None = None,
                   device: str | torch.device = "cpu") -> tuple[torch.nn.Module, CheckpointConfig]:
    """Load -> (generator in eval mode, its config). Errors say what is wrong with the file; a bad config entry fails
    here, at load, not at the first tile."""
    path = Path(path)
    config = CheckpointConfig.read(path)
    if expect_scheme is not None:
        try:
            check_same_classes(config.scheme, expect_scheme, str(path), "the data")
        except SchemeMismatch as e:
            raise CheckpointError(str(e)) from None
    cfg = config.generator
    try:
        generator = build_generator(cfg)
    except (ValueError, TypeError) as e:  # an architecture this PathGAN does not have, or sizes it cannot build
        raise CheckpointError(f"{path}: unsupported architecture in config: {e}") from None
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
    return generator, config
