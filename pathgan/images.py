"""Reading H&E tiles from disk as (H, W, 3) uint8 RGB."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import PathGANError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


class ImageError(PathGANError, ValueError):
    """An image that cannot be used; the message names the file."""


def read_rgb(path: str | Path) -> np.ndarray:
    """Any readable image -> (H, W, 3) uint8; grey and RGBA are converted to RGB."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I", "I;16", "F"):
                # 16-bit or float grey: scale to 8 bits rather than clip.
                arr = np.asarray(im, dtype=np.float64)
                arr = (255 * (arr - arr.min()) / max(arr.max() - arr.min(), 1e-9)).astype(np.uint8)
                return np.repeat(arr[..., None], 3, axis=2)
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: not a readable image ({e})") from None


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) from the file's header, without decoding the pixels."""
    try:
        with Image.open(path) as im:
            return im.size[1], im.size[0]
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: not a readable image ({e})") from None


def list_images(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
