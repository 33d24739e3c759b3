"""Device choice: one rule for every command, the trainer, the metrics and the app."""
from __future__ import annotations

import torch


def best_device(requested: str | torch.device | None = None) -> torch.device:
    """`requested` ("cpu", "cuda", "cuda:N") when given, else CUDA if a GPU is visible, else the CPU."""
    requested = str(requested) if requested is not None else None
    if requested and requested != "auto":
        dev = torch.device(requested)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but no CUDA GPU is visible; use --device cpu")
        return dev
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def describe_device(device: torch.device) -> str:
    """The device in words, for provenance and benchmark headers."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
