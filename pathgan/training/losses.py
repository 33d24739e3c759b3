"""The objective: conditional GAN (binary cross-entropy on logits) + L1, plus optional mode-seeking and feature-matching terms."""
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


def feature_matching_loss(fake_feats: list[torch.Tensor], real_feats: list[torch.Tensor]) -> torch.Tensor:
    """pix2pixHD: L1 between the discriminator's activations on generated and real tiles, averaged over layers.
    `fake_feats` may hold k draws per real tile (the diversity term's second draw); each is matched to its tile."""
    total = 0.0
    for fake, real in zip(fake_feats, real_feats, strict=True):
        real = real.detach().repeat(fake.shape[0] // real.shape[0], *([1] * (real.dim() - 1)))
        total = total + (fake.float() - real.float()).abs().mean()
    return total / len(fake_feats)
