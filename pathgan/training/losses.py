"""The objective: conditional GAN (binary cross-entropy on logits) + L1, plus optional mode-seeking and feature-matching terms."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

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


class GeneratorTerms(NamedTuple):
    gan: torch.Tensor
    l1: torch.Tensor
    diversity: torch.Tensor
    feature_matching: torch.Tensor


@dataclass(frozen=True)
class GeneratorLoss:
    """The generator's objective in one place: fool the critic, match the real tile in L1, and, where weighted, keep two
    noise draws apart (mode seeking) and match the critic's features (pix2pixHD)."""
    l1_weight: float
    diversity_weight: float = 0.0
    feature_matching_weight: float = 0.0

    @property
    def diverse(self) -> bool:
        """Two noise draws per mask are generated (`fakes` holds the second draws after the first)."""
        return self.diversity_weight > 0

    def __call__(self, critic, onehot: torch.Tensor, onehot_g: torch.Tensor, real: torch.Tensor, fakes: torch.Tensor,
                 fakes_seen: torch.Tensor, autocast) -> tuple[torch.Tensor, GeneratorTerms]:
        """(weighted total, its terms) for the tiles `fakes` generated from `onehot_g`; the critic judges `fakes_seen`
        (the same tiles as it sees them), L1 and diversity use the network's own output."""
        zero = torch.zeros((), device=real.device)
        fm = zero
        with autocast:
            if self.feature_matching_weight > 0:
                logits_fake, feats_fake = critic.forward_with_features(onehot_g, fakes_seen)
                with torch.no_grad():
                    _, feats_real = critic.forward_with_features(onehot, real)
                fm = feature_matching_loss(feats_fake, feats_real)
            else:
                logits_fake = critic(onehot_g, fakes_seen)
        gan = gan_loss(logits_fake, True)
        n = onehot.shape[0]
        l1 = (fakes.float() - (torch.cat([real, real]) if self.diverse else real).float()).abs().mean()
        div = mode_seeking_loss(fakes[:n], fakes[n:]) if self.diverse else zero
        total = gan + self.l1_weight * l1 + self.diversity_weight * div + self.feature_matching_weight * fm
        return total, GeneratorTerms(gan, l1, div, fm)
