"""An OASIS-style critic (Sushko et al., ICLR 2021): a segmenter that labels each pixel of a tile with its mask class, or
'generated'. It sees the image alone; the mask is its target, so it judges every pixel against the class drawn there.

Used beside the paper's discriminator (`train --oasis-weight`), not in its place.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

LABELMIX_WEIGHT = 10.0  # OASIS's lambda_LM


def _conv(cin: int, cout: int, k: int, stride: int) -> nn.Module:
    return spectral_norm(nn.Conv2d(cin, cout, k, stride, k // 2 if stride == 1 else 1))


class SegmentationCritic(nn.Module):
    """A small U-Net with spectral norm: 4 stride-2 downsamples (ndf x 1, 2, 4, 8), nearest-upsampling decoder with skips,
    K + 2 logits per pixel: background, the K classes, and 'generated'."""

    def __init__(self, num_classes: int, ndf: int = 32):
        super().__init__()
        self.num_classes = num_classes
        widths = [ndf, 2 * ndf, 4 * ndf, 8 * ndf]
        self.stem = _conv(3, ndf, 3, 1)
        self.down = nn.ModuleList(_conv(c_in, c_out, 4, 2) for c_in, c_out in zip([ndf] + widths[:-1], widths))
        ups, cin = [], widths[-1]
        for skip in reversed([ndf] + widths[:-1]):
            ups.append(_conv(cin + skip, skip, 3, 1))
            cin = skip
        self.up = nn.ModuleList(ups)
        self.head = nn.Conv2d(ndf, num_classes + 2, 1)

    @property
    def fake_label(self) -> int:
        return self.num_classes + 1

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.stem(image), 0.2)
        skips = [x]
        for conv in self.down:
            x = F.leaky_relu(conv(x), 0.2)
            skips.append(x)
        skips.pop()
        for conv in self.up:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = F.leaky_relu(conv(torch.cat([x, skips.pop()], 1)), 0.2)
        return self.head(x)


def labels_of(onehot: torch.Tensor) -> torch.Tensor:
    """(N, K, H, W) one-hot (background all zeros) -> (N, H, W) labels 0..K."""
    return torch.where(onehot.sum(1) > 0, onehot.argmax(1) + 1, 0)


def balanced_weights(labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """OASIS's class balancing: each pixel weighted by the inverse frequency of its class in the batch, so the nuclei
    (a sixth of the pixels in CoNSeP) count as much as the stroma."""
    counts = torch.bincount(labels.flatten(), minlength=num_labels).float()
    present = (counts > 0).sum()
    weight = torch.where(counts > 0, labels.numel() / (counts * present).clamp(min=1), 0.0)
    return weight[labels]


def segmentation_loss(logits: torch.Tensor, onehot: torch.Tensor, real: bool, balance: bool = True) -> torch.Tensor:
    """Cross-entropy against the mask's labels (a real tile, or the generator's turn) or against 'generated'."""
    logits = logits.float()
    labels = labels_of(onehot)
    if not real:
        return F.cross_entropy(logits, torch.full_like(labels, logits.shape[1] - 1))
    per_pixel = F.cross_entropy(logits, labels, reduction="none")
    return (per_pixel * balanced_weights(labels, logits.shape[1] - 1)).mean() if balance else per_pixel.mean()


def labelmix(critic: SegmentationCritic, onehot: torch.Tensor, real: torch.Tensor, fake: torch.Tensor,
             real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """LabelMix: a tile made of real pixels for some classes and generated ones for the rest (each class's side drawn per
    tile) must get the same mix of the critic's outputs, so it cannot judge a pixel by what surrounds it alone."""
    labels = labels_of(onehot)
    side = torch.randint(0, 2, (labels.shape[0], onehot.shape[1] + 1)).to(labels.device)
    take_real = side.gather(1, labels.flatten(1)).view_as(labels).unsqueeze(1).to(real.dtype)
    mixed = take_real * real + (1 - take_real) * fake
    target = take_real * real_logits + (1 - take_real) * fake_logits
    return F.mse_loss(critic(mixed).float(), target.float())
