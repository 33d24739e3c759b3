"""Conversions between arrays (masks, images) and network tensors."""
from __future__ import annotations

import numpy as np
import torch


def mask_to_onehot(ids: np.ndarray | torch.Tensor, num_classes: int) -> torch.Tensor:
    """(H, W) or (N, H, W) ids -> (K, H, W) or (N, K, H, W) float one-hot; background is all zeros."""
    t = torch.as_tensor(np.asarray(ids, dtype=np.int64) if not torch.is_tensor(ids) else ids.long())
    classes = torch.arange(1, num_classes + 1, device=t.device).view(-1, 1, 1)
    if t.dim() == 2:
        return (t.unsqueeze(0) == classes).float()
    return (t.unsqueeze(1) == classes.unsqueeze(0)).float()


def image_to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float in [-1, 1]."""
    return torch.from_numpy(np.require(rgb, requirements=["C", "W"])).permute(2, 0, 1).float().div(127.5).sub(1.0)


def tensor_to_images(t: torch.Tensor) -> list[np.ndarray]:
    """(N, 3, H, W) in [-1, 1] -> list of (H, W, 3) uint8."""
    arr = ((t.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return [a.permute(1, 2, 0).cpu().numpy() for a in arr]
