"""The paper's U-Net generator (Table 1), with optional deep noise and resize-convolution upsampling."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .layers import NoiseInjection, PerSampleNorm, Rngs, SeededDropout, draw_normal


@dataclass
class GeneratorConfig:
    arch: str = field(default="unet", metadata={"flag": "generator-arch", "help": "generator, by name from the registry"})
    num_classes: int = 4  # K foreground classes; input channels are K + noise_channels
    ngf: int = field(default=64, metadata={"help": "generator width multiplier; the paper's 64 gives 64/128/256/512 filters"})
    noise_channels: int = field(default=1, metadata={"help": "input noise channels (the paper has 1)"})
    deep_noise: int = field(default=7, metadata={"help": "decoder blocks, innermost first, with injected per-pixel noise; 0 is the paper exactly"})
    upsample: str = field(default="deconv", metadata={"choices": ("deconv", "resize"), "help": "deconv: the paper's 4x4 transposed conv; resize: nearest x2 + 3x3 conv, free of checkerboards"})
    dropout: float = field(default=0.5, metadata={"help": "dropout on the first three decoder blocks, on at inference too (seeded)"})
    decoder_norm: str = field(default="batch", metadata={"choices": ("batch", "spade"), "help": "batch: the paper's normalisation in the "
                              "decoder; spade: the same, then scaled and shifted per pixel by the mask (SPADE, Park et al. 2019), starting "
                              "as the identity so it can be added to a trained generator"})


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int, norm: bool):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 4, 2, 1, bias=False)
        self.norm = PerSampleNorm(cout, eps=1e-3, momentum=0.01) if norm else nn.Identity()
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


class MaskModulation(nn.Module):
    """SPADE's per-pixel scale and shift from the mask: x * (1 + gamma(mask)) + beta(mask), with the mask resized (nearest)
    to x. The gamma and beta convs start at zero, so a generator gains this layer without changing its output."""

    keeps_its_init = True  # the trainer's pix2pix initialisation must not undo the zero start

    def __init__(self, num_classes: int, channels: int, hidden: int):
        super().__init__()
        self.shared = nn.Sequential(nn.Conv2d(num_classes, hidden, 3, 1, 1), nn.ReLU())
        self.gamma = nn.Conv2d(hidden, channels, 3, 1, 1)
        self.beta = nn.Conv2d(hidden, channels, 3, 1, 1)
        for conv in (self.gamma, self.beta):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        mask = F.interpolate(onehot.to(x.dtype), size=x.shape[2:], mode="nearest")
        h = self.shared(mask)
        return x * (1 + self.gamma(h)) + self.beta(h)


class _Up(nn.Module):
    def __init__(self, cin: int, cout: int, dropout: float, noise: bool, upsample: str, modulation: MaskModulation | None = None):
        super().__init__()
        if upsample == "deconv":
            self.conv = nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)
        else:
            self.conv = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=False))
        self.norm = PerSampleNorm(cout, eps=1e-3, momentum=0.01)
        self.modulation = modulation
        self.noise = NoiseInjection(cout) if noise else None
        self.dropout = SeededDropout(dropout) if dropout > 0 else None
        self.act = nn.ReLU()

    def forward(self, x, rngs: Rngs, onehot: torch.Tensor):
        x = self.norm(self.conv(x))
        if self.modulation is not None:
            x = self.modulation(x, onehot)
        if self.noise is not None:
            x = self.noise(x, rngs)
        if self.dropout is not None:
            x = self.dropout(x, rngs)
        return self.act(x)


class UNetGenerator(nn.Module):
    """Table 1: 8 stride-2 downsamples (64, 128, 256, 512 x5), 7 upsamples with skips, tanh output.

    Input: (N, K, 256k, 256k) one-hot mask; the noise channel is drawn inside `forward`,
    from `rngs` when given, so each sample's randomness comes from its own seed.
    """

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        if cfg.upsample not in ("deconv", "resize"):
            raise ConfigError(f"upsample must be 'deconv' or 'resize', not {cfg.upsample!r}")
        if cfg.decoder_norm not in ("batch", "spade"):
            raise ConfigError(f"decoder_norm must be 'batch' or 'spade', not {cfg.decoder_norm!r}")
        self.cfg = cfg
        g = cfg.ngf
        down = [g, 2 * g, 4 * g] + [8 * g] * 5
        cin = cfg.num_classes + cfg.noise_channels
        self.down = nn.ModuleList()
        for i, c in enumerate(down):
            self.down.append(_Down(cin, c, norm=i > 0))
            cin = c
        up = [8 * g] * 4 + [4 * g, 2 * g, g]
        self.up = nn.ModuleList()
        for i, c in enumerate(up):
            modulation = MaskModulation(cfg.num_classes, c, hidden=g) if cfg.decoder_norm == "spade" else None
            self.up.append(_Up(cin, c, cfg.dropout if i < 3 else 0.0, i < cfg.deep_noise, cfg.upsample, modulation))
            cin = c + down[-2 - i]  # concatenated with the mirrored skip
        if cfg.upsample == "deconv":
            self.last = nn.ConvTranspose2d(cin, 3, 4, 2, 1, bias=True)
        else:
            self.last = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, 3, 3, 1, 1, bias=True))

    def forward(self, onehot: torch.Tensor, rngs: Rngs = None) -> torch.Tensor:
        x = onehot
        if self.cfg.noise_channels:
            noise = draw_normal((self.cfg.noise_channels, *onehot.shape[2:]), rngs, onehot.shape[0], onehot)
            x = torch.cat([onehot, noise], 1)
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        for i, block in enumerate(self.up):
            x = torch.cat([block(x, rngs, onehot), skips[-2 - i]], 1)
        # The output layer stays fp32 under autocast: its rounding lands on the pixels (bf16 there doubled the mean error).
        with torch.autocast(x.device.type, enabled=False):
            return torch.tanh(self.last(x.float()))
