"""The Synthesize tab's mask canvas: its value format, and the page parts that app.py hands to a `gr.HTML`.

The drawing runs in the browser (mask_canvas.js, with mask_canvas.css): a grid of class ids painted in the checkpoint's
scheme colours. The canvas value is a JSON string

    {"classes": [names, background first], "colours": [[r, g, b], ...], "ids": "data:image/png;base64,..."}

whose PNG holds one class id per pixel in its first channel. The same string goes both ways: the page writes it after
every edit (Generate reads it), and the app writes it to load a mask, an example or a random layout.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..masks import MaskError
from ..schemes import ClassScheme, SchemeError

PNG_DATA_URL = "data:image/png;base64,"
MAX_VALUE_CHARS = 16 * 2**20  # far above any id PNG of the largest canvas; refuses a flood before decoding
_HERE = Path(__file__).resolve().parent

# No ${...} in the template: the page re-renders it whenever a prop changes, and an unchanged template is left alone,
# so the canvas and its state survive every update.
TEMPLATE = """
<div class="mc" data-mask-canvas>
  <div class="mc-bar mc-classes" role="toolbar" aria-label="Classes"></div>
  <div class="mc-bar" role="toolbar" aria-label="Tools">
    <button type="button" data-tool="brush" title="Brush (B)">Brush</button>
    <button type="button" data-tool="fill" title="Fill a region (F)">Fill</button>
    <button type="button" data-tool="eraser" title="Eraser: paints background (E)">Eraser</button>
    <label class="mc-size" title="Brush size ([ and ])">Size <input type="range" min="1" max="60" value="7" data-size>
      <output data-size-out>7</output></label>
    <button type="button" data-act="undo" title="Undo (Ctrl+Z)">Undo</button>
    <button type="button" data-act="redo" title="Redo (Ctrl+Shift+Z)">Redo</button>
    <button type="button" data-act="clear" title="Clear the canvas">Clear</button>
    <button type="button" data-act="zoom-out" title="Zoom out (-)">−</button>
    <output data-zoom-out>100%</output>
    <button type="button" data-act="zoom-in" title="Zoom in (+)">+</button>
    <label title="Show nucleus outlines only (O)"><input type="checkbox" data-outlines> Contours</label>
    <label title="Redraw the first seed's tile after each stroke"><input type="checkbox" data-live checked> Live preview</label>
  </div>
  <div class="mc-body">
    <div class="mc-pane">
      <div class="mc-scroll"><canvas class="mc-view" width="256" height="256" tabindex="0" aria-label="Mask canvas"></canvas></div>
      <div class="mc-note" data-info></div>
    </div>
    <div class="mc-pane">
      <div class="mc-tile-box"><img class="mc-tile" alt="Live preview tile" data-tile></div>
      <div class="mc-note" data-preview-status>Draw nuclei: the first seed's tile follows each stroke.</div>
    </div>
  </div>
</div>
"""


def page_script() -> str:
    """The canvas's JavaScript, run by gr.HTML's js_on_load."""
    return (_HERE / "mask_canvas.js").read_text(encoding="utf-8")


def page_css() -> str:
    return (_HERE / "mask_canvas.css").read_text(encoding="utf-8")


def png_data_url(image: np.ndarray, compress_level: int = 1) -> str:
    """An image as a PNG data URL: lossless, so a tile shown from it is the tile itself; fast rather than small."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", compress_level=compress_level)
    return PNG_DATA_URL + base64.b64encode(buf.getvalue()).decode("ascii")


def canvas_value(ids: np.ndarray, scheme: ClassScheme) -> str:
    """The canvas value showing `ids` in `scheme`'s classes."""
    ids = np.asarray(ids, dtype=np.uint8)
    if ids.ndim != 2 or (ids.size and int(ids.max()) >= len(scheme.names)):
        raise MaskError(f"a canvas of {scheme.describe()} cannot show class id {int(ids.max())}")
    return json.dumps({"classes": list(scheme.names), "colours": [list(map(int, c)) for c in scheme.colors],
                       "ids": png_data_url(ids)})


def blank_value(size: int, scheme: ClassScheme) -> str:
    return canvas_value(np.zeros((size, size), np.uint8), scheme)


def read_canvas(value, max_side: int) -> tuple[np.ndarray, ClassScheme]:
    """A canvas value -> (ids, the scheme it was drawn in). Anything else is a MaskError saying what is wrong."""
    bad = MaskError("the canvas sent something that is not a mask; reload the page and draw again")
    if not isinstance(value, str) or not value or len(value) > MAX_VALUE_CHARS:
        raise bad
    try:
        data = json.loads(value)
        scheme = ClassScheme(tuple(str(n) for n in data["classes"]), tuple(tuple(int(v) for v in c) for c in data["colours"]))
        url = data["ids"]
    except (ValueError, KeyError, TypeError, SchemeError):
        raise bad from None
    if not isinstance(url, str) or not url.startswith(PNG_DATA_URL):
        raise bad
    try:
        raw = base64.b64decode(url[len(PNG_DATA_URL):], validate=True)
        with Image.open(io.BytesIO(raw)) as im:
            w, h = im.size  # from the header: a huge claim is refused before any pixel is decoded
            if w > max_side or h > max_side:
                raise MaskError(f"the canvas is {w}×{h} px; the app synthesizes up to {max_side}×{max_side}")
            pixels = np.asarray(im.convert("L") if im.mode in ("L", "P", "1", "I;16", "I") else im.convert("RGB"))
    except (binascii.Error, UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise bad from None
    ids = pixels if pixels.ndim == 2 else pixels[..., 0]
    ids = np.ascontiguousarray(ids, dtype=np.uint8)
    if ids.size and int(ids.max()) >= len(scheme.names):
        raise MaskError(f"the canvas holds class id {int(ids.max())}, but it draws {scheme.describe()}; reload the page")
    return ids, scheme
