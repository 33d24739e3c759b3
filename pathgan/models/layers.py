"""Building blocks shared by the networks: per-sample normalisation and seeded randomness."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Rngs = list[torch.Generator] | None  # one CPU generator per sample; None draws from the global RNG


def draw_normal(shape: tuple[int, ...], rngs: Rngs, batch: int, like: torch.Tensor) -> torch.Tensor:
    """N(0, 1) noise of (batch, *shape); with rngs, sample i comes only from rngs[i].

    Drawn on the CPU so a seed gives the same noise on every device.
    """
    if rngs is None:
        return torch.randn((batch, *shape), device=like.device, dtype=like.dtype)
    if len(rngs) != batch:
        raise ValueError(f"got {len(rngs)} generators for a batch of {batch}")
    return torch.stack([torch.randn(shape, generator=g) for g in rngs]).to(like.device, like.dtype)


def draw_uniform(shape: tuple[int, ...], rngs: Rngs, batch: int, like: torch.Tensor) -> torch.Tensor:
    if rngs is None:
        return torch.rand((batch, *shape), device=like.device, dtype=like.dtype)
    return torch.stack([torch.rand(shape, generator=g) for g in rngs]).to(like.device, like.dtype)


class PerSampleNorm(nn.BatchNorm2d):
    """BatchNorm's parameters and running statistics, normalised with each sample's own statistics.

    At batch size 1 (the paper's setting) this is exactly BatchNorm in training mode. It never mixes
    samples, so an image does not depend on what else is in its batch, and DDP needs no SyncBatchNorm.
    Running statistics are still tracked; `use_running_stats = True` switches inference to them
    (the classic eval-mode pix2pix behaviour, kept for comparison).
    """

    use_running_stats = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_running_stats and not self.training:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        track = self.training and self.track_running_stats
        if track:
            self.num_batches_tracked.add_(1)
        if x.shape[-1] * x.shape[-2] == 1:
            # A 1x1 map normalised over itself is all zeros; instance_norm refuses it, the result is beta.
            out = self.bias.view(1, -1, 1, 1).expand_as(x).to(x.dtype)
            if track:
                with torch.no_grad():
                    m = x.detach().mean(0).flatten()
                    v = x.detach().var(0, unbiased=True).flatten() if x.shape[0] > 1 else torch.zeros_like(m)
                    self.running_mean.lerp_(m.to(self.running_mean.dtype), self.momentum)
                    self.running_var.lerp_(v.to(self.running_var.dtype), self.momentum)
            return out
        return F.instance_norm(
            x,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_input_stats=True,
            momentum=self.momentum,
            eps=self.eps,
        )


class SeededDropout(nn.Module):
    """Dropout that stays on at inference (pix2pix's noise source) and draws its mask per sample."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor, rngs: Rngs = None) -> torch.Tensor:
        if self.p == 0:
            return x
        keep = draw_uniform(tuple(x.shape[1:]), rngs, x.shape[0], x) >= self.p
        return x * keep / (1 - self.p)


class NoiseInjection(nn.Module):
    """Adds per-pixel Gaussian noise with a learned per-channel strength (as in StyleGAN).

    Deep noise gives the generator randomness it cannot wash out at the input layer.
    """

    def __init__(self, channels: int, init: float = 0.1):
        super().__init__()
        self.strength = nn.Parameter(torch.full((1, channels, 1, 1), init))

    def forward(self, x: torch.Tensor, rngs: Rngs = None) -> torch.Tensor:
        noise = draw_normal((1, *x.shape[2:]), rngs, x.shape[0], x)
        return x + self.strength * noise
