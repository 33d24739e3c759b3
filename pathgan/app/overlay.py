"""Mask contours drawn over images, and exports of a mask with its synthetic tiles."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..masks import ids_to_palette
from ..schemes import ClassScheme


def contour_overlay(image: np.ndarray, ids: np.ndarray, scheme: ClassScheme, thickness: int = 1) -> np.ndarray:
    """The image with each nucleus outlined in its class colour (same size, uint8 RGB)."""
    if image.shape[:2] != ids.shape:
        raise ValueError(f"image is {image.shape[1]}x{image.shape[0]} but the mask is {ids.shape[1]}x{ids.shape[0]}")
    out = np.ascontiguousarray(image[..., :3], dtype=np.uint8).copy()
    for cls in range(1, len(scheme.names)):
        region = (ids == cls).astype(np.uint8)
        if not region.any():
            continue
        contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, tuple(int(v) for v in scheme.colors[cls]), thickness)
    return out


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image)).save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def write_pair_zip(path: str | Path, ids: np.ndarray, images: list[np.ndarray], seeds: list[int], scheme: ClassScheme,
                   info: dict | None = None) -> Path:
    """A zip holding the mask (id PNG and palette PNG), one PNG per seed, and info.json."""
    path = Path(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:  # PNGs are already compressed
        z.writestr("mask_ids.png", png_bytes(ids.astype(np.uint8)))
        z.writestr("mask_palette.png", png_bytes(ids_to_palette(ids, scheme)))
        for seed, img in zip(seeds, images):
            z.writestr(f"synthetic_seed{seed:04d}.png", png_bytes(img))
        meta = {"seeds": list(map(int, seeds)), "size": [int(ids.shape[1]), int(ids.shape[0])], "scheme": scheme.to_dict()}
        z.writestr("info.json", json.dumps({**meta, **(info or {})}, indent=2) + "\n")
    return path
