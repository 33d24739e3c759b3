"""Differentiable augmentation of what the discriminator sees (Zhao et al., NeurIPS 2020, "DiffAugment").

The same random transforms go onto real and generated tiles before the critic, in its update and in the generator's,
so a critic trained on a few hundred tiles cannot memorise them, and the generator still gets a gradient through the
transform. The critic is conditional: a geometric transform moves the mask with its image; colour moves the image only.
Draws come from torch's global generator, which a run's state saves, so `--resume` stays bit-exact.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..errors import ConfigError

Pair = tuple[torch.Tensor, torch.Tensor]  # (one-hot mask, image in [-1, 1])


def _uniform(n: int, like: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1).to(like.device, like.dtype) * (hi - lo) + lo


def colour(onehot: torch.Tensor, image: torch.Tensor) -> Pair:
    """Brightness, saturation and contrast, each drawn per tile (the paper's ranges)."""
    n = image.shape[0]
    image = image + _uniform(n, image, -0.5, 0.5)
    mean = image.mean(1, keepdim=True)
    image = (image - mean) * _uniform(n, image, 0.0, 2.0) + mean
    mean = image.mean((1, 2, 3), keepdim=True)
    image = (image - mean) * _uniform(n, image, 0.5, 1.5) + mean
    return onehot, image


def _shifted(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Each tile moved by its own (dy, dx) pixels, zero-filled: one gather, so the gradient flows to every kept pixel."""
    n, _, h, w = x.shape
    ys = torch.arange(h, device=x.device).view(1, h, 1) - dy.view(n, 1, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w) - dx.view(n, 1, 1)
    inside = ((ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)).unsqueeze(1)
    flat = (ys.clamp(0, h - 1) * w + xs.clamp(0, w - 1)).view(n, 1, h * w).expand(-1, x.shape[1], -1)
    moved = x.flatten(2).gather(2, flat).view_as(x)
    return moved * inside.to(x.dtype)


def translation(onehot: torch.Tensor, image: torch.Tensor, ratio: float = 0.125) -> Pair:
    """Shift mask and image together by up to `ratio` of the side."""
    n, _, h, w = image.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (n,)).to(image.device)
    dx = torch.randint(-sx, sx + 1, (n,)).to(image.device)
    return _shifted(onehot, dy, dx), _shifted(image, dy, dx)


def cutout(onehot: torch.Tensor, image: torch.Tensor, ratio: float = 0.5) -> Pair:
    """Blank one square of `ratio` of the side, centred anywhere on the tile, in mask and image alike."""
    n, _, h, w = image.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = (torch.randint(0, h, (n,)) - ch // 2).to(image.device).view(n, 1, 1)
    left = (torch.randint(0, w, (n,)) - cw // 2).to(image.device).view(n, 1, 1)
    ys = torch.arange(h, device=image.device).view(1, h, 1)
    xs = torch.arange(w, device=image.device).view(1, 1, w)
    hole = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
    keep = (~hole).unsqueeze(1)
    return onehot * keep.to(onehot.dtype), image * keep.to(image.dtype)


AUGMENTS: dict[str, Callable[[torch.Tensor, torch.Tensor], Pair]] = {"color": colour, "translation": translation, "cutout": cutout}


def parse_policy(policy: str) -> tuple[str, ...]:
    """'color,translation,cutout' -> its names, checked against AUGMENTS; '' -> ()."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    unknown = [p for p in names if p not in AUGMENTS]
    if unknown:
        raise ConfigError(f"--diffaugment: unknown transform {', '.join(map(repr, unknown))}; choose from {', '.join(AUGMENTS)}")
    return names


class AugmentedCritic(nn.Module):
    """A discriminator that sees every (mask, image) pair through the policy's transforms, drawn afresh per call."""

    def __init__(self, critic: nn.Module, policy: tuple[str, ...]):
        super().__init__()
        self.critic = critic
        self.policy = policy

    def augment(self, onehot: torch.Tensor, image: torch.Tensor) -> Pair:
        for name in self.policy:
            onehot, image = AUGMENTS[name](onehot, image)
        return onehot, image

    def forward(self, onehot: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.critic(*self.augment(onehot, image))
