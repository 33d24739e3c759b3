"""What the feature extractor sees of an image larger than the training tile.

Generators train on 256-px crops, so they are judged at that scale: an image larger than the tile is cut
into non-overlapping tile-sized crops (a remainder narrower than a tile at the right or bottom edge is
left out), real and synthetic alike. Shrinking the whole image instead is an explicit choice, and then
always antialiased. Images up to the tile size are passed as they are.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from ..tiling import TILE
from .errors import MetricsError
from .inception import INPUT_SIZE

LARGE_IMAGE_MODES = ("crop", "resize")


def image_views(image: np.ndarray, mode: str = "crop", tile: int = TILE) -> list[np.ndarray]:
    """The (H, W, 3) uint8 views of one image that get features."""
    if mode not in LARGE_IMAGE_MODES:
        raise MetricsError(f"large-image mode must be one of {', '.join(LARGE_IMAGE_MODES)}, got {mode!r}")
    h, w = image.shape[:2]
    if h <= tile and w <= tile:
        return [image]
    if mode == "resize":  # PIL's bilinear filter widens its support when shrinking: antialiased
        return [np.asarray(Image.fromarray(image).resize((INPUT_SIZE, INPUT_SIZE), Image.BILINEAR))]
    return [image[y : y + th, x : x + tw] for y, x, th, tw in _crops(h, w, tile)]


def _crops(h: int, w: int, tile: int) -> list[tuple[int, int, int, int]]:
    """(y, x, height, width) of the non-overlapping crops of an image larger than the tile."""
    th, tw = min(tile, h), min(tile, w)
    return [(y, x, th, tw) for y in range(0, h - th + 1, th) for x in range(0, w - tw + 1, tw)]


def view_count(height: int, width: int, mode: str = "crop", tile: int = TILE) -> int:
    """How many views `image_views` gives of an image of this size, without its pixels."""
    if mode == "resize" or (height <= tile and width <= tile):
        return 1
    return len(_crops(height, width, tile))


def describe_views(mode: str, tile: int = TILE) -> str:
    if mode == "resize":
        return f"images larger than {tile} px shrunk whole to the extractor's input size, antialiased"
    return f"images larger than {tile} px cut into non-overlapping {tile}-px crops"
