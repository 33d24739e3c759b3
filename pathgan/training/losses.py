"""The objective: conditional GAN (binary cross-entropy on logits) + L1, plus an optional mode-seeking term."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def gan_loss(logits: torch.Tensor, real: bool) -> torch.Tensor:
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits.float(), target)


def per_sample_mean(x: torch.Tensor) -> torch.Tensor:
    return x.float().flatten(1).mean(1)


def mode_seeking_loss(fake_a: torch.Tensor, fake_b: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Mao et al. 2019 (MSGAN): penalise two noise draws for the same mask giving the same image."""
    return (1.0 / (per_sample_mean((fake_a - fake_b).abs()) + eps)).mean()
