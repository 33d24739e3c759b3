"""Networks chosen by name, so a checkpoint can say which one it holds."""
from __future__ import annotations

from torch import nn

from ..dataclass_cli import dataclass_from_dict
from ..errors import ConfigError

from .discriminators import DiscriminatorConfig, PatchGANDiscriminator, VanillaDiscriminator
from .layers import PerSampleNorm
from .unet import GeneratorConfig, UNetGenerator

GENERATORS = {"unet": UNetGenerator}
DISCRIMINATORS = {"patchgan": PatchGANDiscriminator, "vanilla": VanillaDiscriminator}


def generator_config(d: dict) -> GeneratorConfig:
    return dataclass_from_dict(GeneratorConfig, d)


def discriminator_config(d: dict) -> DiscriminatorConfig:
    return dataclass_from_dict(DiscriminatorConfig, d)


def build_generator(cfg: GeneratorConfig) -> UNetGenerator:
    if cfg.arch not in GENERATORS:
        raise ConfigError(f"unknown generator {cfg.arch!r}; choose one of {sorted(GENERATORS)}")
    return GENERATORS[cfg.arch](cfg)


def build_discriminator(cfg: DiscriminatorConfig) -> nn.Module:
    if cfg.arch not in DISCRIMINATORS:
        raise ConfigError(f"unknown discriminator {cfg.arch!r}; choose one of {sorted(DISCRIMINATORS)}")
    return DISCRIMINATORS[cfg.arch](cfg)


def count_parameters(model: nn.Module) -> int:
    """Parameters as Keras counts them: trainable weights plus BatchNorm's running mean and variance."""
    n = sum(p.numel() for p in model.parameters())
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            n += m.running_mean.numel() + m.running_var.numel()
    return n


def use_running_stats(model: nn.Module, on: bool) -> None:
    """Switch inference between per-sample statistics (default) and BatchNorm running statistics."""
    for m in model.modules():
        if isinstance(m, PerSampleNorm):
            m.use_running_stats = on


__all__ = [
    "GeneratorConfig", "DiscriminatorConfig", "UNetGenerator", "PatchGANDiscriminator", "VanillaDiscriminator",
    "build_generator", "build_discriminator", "generator_config", "discriminator_config", "count_parameters",
    "use_running_stats", "GENERATORS", "DISCRIMINATORS",
]
