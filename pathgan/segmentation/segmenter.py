"""The segmenter: MONAI's UNet trained with MONAI's Dice + cross-entropy loss, small enough for a 2-core CPU.

Per-pixel classes are background plus the scheme's nucleus classes. Training draws random crops with
mirror/90-degree augmentation from a seeded numpy generator and initialises the network from a seeded torch
generator, so a (data, config, seed) trains the same weights every time on the CPU.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from monai.losses import DiceCELoss
from monai.networks.nets import UNet
from torch import nn

from ..dataset import DatasetError
from ..errors import ConfigError
from ..tensors import image_to_tensor


@dataclass
class SegmenterConfig:
    seg_channels: str = field(default="16,32,64,128", metadata={"help": "segmenter UNet widths per level, comma-separated"})
    seg_steps: int = field(default=800, metadata={"help": "segmenter optimisation steps"})
    seg_batch_size: int = field(default=8, metadata={"help": "segmenter crops per step"})
    seg_crop: int = field(default=128, metadata={"help": "side of the random training crops (prediction runs on whole tiles)"})
    seg_lr: float = field(default=2e-3, metadata={"help": "segmenter Adam learning rate"})

    def widths(self) -> tuple[int, ...]:
        try:
            widths = tuple(int(c) for c in self.seg_channels.split(","))
        except ValueError:
            widths = ()
        if len(widths) < 2 or min(widths) < 1:
            raise ConfigError(f"--seg-channels takes two or more positive widths, e.g. 16,32,64; got {self.seg_channels!r}")
        return widths

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SegPair:
    """One training or test tile: RGB image, class ids, and nucleus instances where the data has them."""
    image: np.ndarray
    ids: np.ndarray
    instances: np.ndarray | None = None


def build_segmenter(num_classes: int, cfg: SegmenterConfig) -> nn.Module:
    widths = cfg.widths()
    return UNet(spatial_dims=2, in_channels=3, out_channels=num_classes + 1, channels=widths, strides=(2,) * (len(widths) - 1),
                num_res_units=1, norm="batch")


def _augmented_crop(pair: SegPair, crop: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    h, w = pair.ids.shape
    c = min(crop, h, w)
    y, x = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
    image, ids = pair.image[y : y + c, x : x + c], pair.ids[y : y + c, x : x + c]
    k = int(rng.integers(4))
    image, ids = np.rot90(image, k), np.rot90(ids, k)
    if rng.integers(2):
        image, ids = image[:, ::-1], ids[:, ::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(ids)


def train_segmenter(pairs: list[SegPair], num_classes: int, cfg: SegmenterConfig, seed: int = 0, log=None) -> nn.Module:
    """Train from scratch on `pairs`; the same pairs, config and seed give the same weights."""
    if not pairs:
        raise DatasetError("the segmenter needs at least one training pair")
    torch.manual_seed(seed)
    model = build_segmenter(num_classes, cfg)
    rng = np.random.default_rng([seed, 0x5E6])
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.seg_lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.seg_steps)
    model.train()
    for step in range(cfg.seg_steps):
        crops = [_augmented_crop(pairs[int(i)], cfg.seg_crop, rng) for i in rng.integers(0, len(pairs), cfg.seg_batch_size)]
        x = torch.stack([image_to_tensor(im) for im, _ in crops])
        y = torch.from_numpy(np.stack([ids for _, ids in crops]).astype(np.int64)).unsqueeze(1)
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if log and (step + 1) % max(1, cfg.seg_steps // 10) == 0:
            log(f"segmenter step {step + 1}/{cfg.seg_steps}: loss {loss.item():.4f}")
    return model.eval()


@torch.inference_mode()
def predict_classes(model: nn.Module, images: list[np.ndarray], batch_size: int = 8) -> list[np.ndarray]:
    """Per-pixel class ids (0 background) for each RGB image, of any size: each is mirrored out to a multiple of
    the network's total stride and cropped back."""
    model.eval()
    stride = 2 ** (len(model.channels) - 1)
    out = []
    for i in range(0, len(images), batch_size):
        chunk = images[i : i + batch_size]
        shapes = [im.shape[:2] for im in chunk]
        side_h, side_w = (max(-(-s // stride) * stride for s in sides) for sides in zip(*shapes))
        x = torch.stack([image_to_tensor(np.pad(im, ((0, side_h - h), (0, side_w - w), (0, 0)), mode="symmetric"))
                         for im, (h, w) in zip(chunk, shapes)])
        out += [p[:h, :w].numpy().astype(np.uint8) for p, (h, w) in zip(model(x).argmax(1), shapes)]
    return out
