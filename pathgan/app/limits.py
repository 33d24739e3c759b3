"""What the app accepts: canvas sizes, the largest mask it synthesizes, uploads, variations per request."""
from __future__ import annotations

import numpy as np

from .errors import UserError

CANVAS_SIZES = (256, 512, 768, 1024)
MAX_SIDE = 1024  # largest mask the app synthesizes (the largest canvas); the CLI has no such limit
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_SIDE = 4096  # larger images are refused before their pixels are decoded
MAX_VARIATIONS = 8


def check_mask_size(ids: np.ndarray, limit: int = MAX_SIDE) -> np.ndarray:
    h, w = ids.shape
    if h > limit or w > limit:
        raise UserError(f"the mask is {w}×{h} px; the app synthesizes up to {limit}×{limit}. Crop it, or use "
                        "`python -m pathgan generate` for larger masks.")
    return ids
