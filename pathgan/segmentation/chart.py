"""The benchmark's bar chart, drawn with Pillow and its built-in font (nothing to download, no plotting library)."""
from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

PALETTE = [(90, 90, 90), (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]


def bar_chart(summary: list[dict], metric: str, title: str, width: int = 960, height: int = 440) -> Image.Image:
    """One group of bars per fraction, one bar per (checkpoint, condition), with a ±std whisker."""
    series = sorted({(r["checkpoint"] or "", r["condition"]) for r in summary}, key=lambda s: (s[0] != "", s))
    fractions = sorted({r["fraction"] for r in summary})
    value = {(r["checkpoint"] or "", r["condition"], r["fraction"]): r[metric] for r in summary}
    top = max([v["mean"] + (v.get("std") or 0) for v in value.values()] + [1e-6]) * 1.1
    im = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default()
    left, right, upper, lower = 60, 20, 40, 110
    plot_h = height - upper - lower
    d.text((left, 12), title, fill="black", font=font)
    d.line([(left, upper), (left, height - lower), (width - right, height - lower)], fill="black")
    for k in range(5):
        y = height - lower - plot_h * k / 4
        d.line([(left - 4, y), (left, y)], fill="black")
        d.text((8, y - 6), f"{top * k / 4:.2f}", fill="black", font=font)
    group_w = (width - left - right) / max(1, len(fractions))
    bar_w = group_w * 0.8 / max(1, len(series))
    for g, fraction in enumerate(fractions):
        x0 = left + g * group_w + group_w * 0.1
        for s, key in enumerate(series):
            v = value.get((*key, fraction))
            if v is None:
                continue
            x = x0 + s * bar_w
            y = height - lower - plot_h * v["mean"] / top
            d.rectangle([x, y, x + bar_w - 2, height - lower], fill=PALETTE[s % len(PALETTE)])
            if v.get("std"):
                cx, dy = x + bar_w / 2 - 1, plot_h * v["std"] / top
                d.line([(cx, y - dy), (cx, y + dy)], fill="black")
        d.text((x0, height - lower + 6), f"{fraction:g} of the real tiles", fill="black", font=font)
    for s, (checkpoint, condition) in enumerate(series):
        y = height - lower + 28 + 14 * s
        d.rectangle([left, y, left + 10, y + 10], fill=PALETTE[s % len(PALETTE)])
        d.text((left + 16, y - 1), f"{condition}" + (f" ({checkpoint})" if checkpoint else ""), fill="black", font=font)
    return im
