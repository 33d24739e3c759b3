"""Nucleus-class masks: read id or palette PNGs, convert between the two, snap blurred colours.

An id mask is a 2-D uint8 array of class ids. A palette mask is RGB, one colour per class.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import PathGANError
from .schemes import ClassScheme

# A pixel farther than this (RGB Euclidean) from every class colour counts as unknown.
# Anti-aliased or JPEG-blurred edges stay well inside it; a foreign colour does not.
UNKNOWN_COLOUR_DISTANCE = 110.0
# Edges may hold a few unknown pixels; more than this share means the palette is wrong.
MAX_UNKNOWN_SHARE = 0.05
MASK_SUFFIXES = (".png", ".tif", ".tiff")  # lossless formats only: a JPEG mask's ids would be blurred


class MaskError(PathGANError, ValueError):
    """A mask that cannot be used; the message names the file and what to fix."""


def _where(source) -> str:
    return f"{source}: " if source else ""


def ids_to_palette(ids: np.ndarray, scheme: ClassScheme) -> np.ndarray:
    """(H, W) class ids -> (H, W, 3) uint8 colours."""
    check_ids(ids, scheme)
    lut = np.asarray(scheme.colors, dtype=np.uint8)
    return lut[ids]


def palette_to_ids(rgb: np.ndarray, scheme: ClassScheme, source=None, alpha: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 3) colours -> (H, W) ids, snapping each pixel to the nearest class colour.

    Transparent pixels (alpha < 128) are background. Too many pixels far from every
    class colour is an error: the mask was drawn with another palette.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise MaskError(f"{_where(source)}expected an RGB palette image, got shape {rgb.shape}")
    colours = np.asarray(scheme.colors, dtype=np.float32)
    pix = rgb.reshape(-1, 3).astype(np.float32)
    # Squared distances via |a|^2 - 2ab + |b|^2 keeps memory at (pixels x classes).
    d2 = (pix**2).sum(1, keepdims=True) - 2 * pix @ colours.T + (colours**2).sum(1)[None]
    ids = d2.argmin(1).astype(np.uint8)
    far = np.sqrt(np.maximum(d2.min(1), 0)) > UNKNOWN_COLOUR_DISTANCE
    if alpha is not None:
        transparent = alpha.reshape(-1) < 128
        ids[transparent] = 0
        far &= ~transparent
    share = far.mean() if far.size else 0.0
    if share > MAX_UNKNOWN_SHARE:
        bad = pix[far]
        uniq, counts = np.unique(bad.astype(np.uint8), axis=0, return_counts=True)
        top = ", ".join(f"rgb{tuple(int(v) for v in uniq[i])}" for i in np.argsort(-counts)[:3])
        legend = ", ".join(f"{n}=rgb{c}" for n, c in zip(scheme.names, scheme.colors))
        raise MaskError(
            f"{_where(source)}{share:.0%} of pixels match no class colour (e.g. {top}). "
            f"Draw with the scheme's colours ({legend}) or upload an id mask."
        )
    return ids.reshape(rgb.shape[:2])


def check_ids(ids: np.ndarray, scheme: ClassScheme, source=None) -> np.ndarray:
    if ids.ndim != 2:
        raise MaskError(f"{_where(source)}a mask must be 2-D (H, W), got shape {ids.shape}")
    if ids.size == 0:
        raise MaskError(f"{_where(source)}the mask is empty")
    top = int(ids.max())
    if ids.min() < 0 or top > scheme.num_classes:
        values = np.unique(ids)
        found = sorted(int(v) for v in values if v < 0 or v > scheme.num_classes)
        hint = ("It holds only 0 and 255, so it looks like a binary mask: use the binary scheme (`--scheme binary`, or a "
                "scheme.json with one class), which reads 255 as nucleus." if set(values.tolist()) <= {0, 255}
                else "If the data has its own class list, state it in a scheme.json at the dataset's root.")
        raise MaskError(
            f"{_where(source)}class ids {found[:10]} are outside the scheme "
            f"(0..{scheme.num_classes}: {', '.join(scheme.names)}). {hint}"
        )
    return ids.astype(np.uint8, copy=False)


def _grey_ids(grey: np.ndarray, scheme: ClassScheme, source) -> np.ndarray:
    """Grey levels as ids; in a one-class scheme, 0/255 (how binary masks are often saved) reads as 0/1."""
    if scheme.num_classes == 1 and grey.size and int(grey.max()) == 255 and set(np.unique(grey).tolist()) <= {0, 255}:
        return (grey > 0).astype(np.uint8)
    return check_ids(grey, scheme, source)


def remap_ids(ids: np.ndarray, source: ClassScheme, target: ClassScheme) -> np.ndarray | None:
    """A mask of `source`'s classes in `target`'s, where the mapping is obvious; None where it is not.

    Obvious: the same classes; any nucleus class -> nucleus for a one-class target; or every class the mask
    uses has a class of the same name in the target.
    """
    if source.names == target.names:
        return ids
    if target.num_classes == 1:
        return (ids > 0).astype(np.uint8)
    lut = np.zeros(len(source.names), np.uint8)
    for i in np.unique(ids):
        i = int(i)
        if i and source.names[i] not in target.names:
            return None
        lut[i] = target.names.index(source.names[i]) if i else 0
    return lut[ids]


def mask_from_array(arr: np.ndarray, scheme: ClassScheme, source=None) -> np.ndarray:
    """Any array a user may hand over (ids, grey ids, RGB or RGBA palette) -> id mask."""
    arr = np.asarray(arr)
    if arr.ndim == 2:
        return _grey_ids(arr, scheme, source)
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        rgb, alpha = arr[..., :3], (arr[..., 3] if arr.shape[2] == 4 else None)
        # An id mask saved as grey RGB: all channels equal and every value a class id (or 0/255 in a one-class scheme).
        grey = (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
        binary = scheme.num_classes == 1 and set(np.unique(rgb[..., 0]).tolist()) <= {0, 255}
        if grey and (rgb.max() <= scheme.num_classes or binary):
            ids = _grey_ids(rgb[..., 0].copy(), scheme, source)
            if alpha is not None:
                ids[alpha < 128] = 0
            return ids
        return palette_to_ids(rgb.astype(np.uint8), scheme, source, alpha)
    raise MaskError(f"{_where(source)}a mask must be (H, W) ids or (H, W, 3|4) colours, got shape {arr.shape}")


def read_mask(path: str | Path, scheme: ClassScheme) -> np.ndarray:
    """Read an id PNG (one channel) or a palette image into an id mask."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("L", "I", "I;16", "1"):
                arr = np.asarray(im.convert("I") if im.mode != "L" else im)
            elif im.mode == "P":
                arr = np.asarray(im.convert("RGBA"))
            else:
                arr = np.asarray(im.convert("RGBA") if "A" in im.mode else im.convert("RGB"))
    except FileNotFoundError:
        raise MaskError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise MaskError(f"{path}: not a readable image ({e})") from None
    return mask_from_array(arr, scheme, source=path)


def write_mask(path: str | Path, ids: np.ndarray, scheme: ClassScheme | None = None) -> None:
    """Write an id PNG, or a palette PNG when a scheme is given."""
    img = ids_to_palette(ids, scheme) if scheme is not None else ids.astype(np.uint8)
    Image.fromarray(img).save(path)
