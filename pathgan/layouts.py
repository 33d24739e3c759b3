"""Procedural nucleus layouts: plausible new CoNSeP-like class masks, drawn from a seed.

Nuclei are filled ellipses with slightly irregular outlines that never touch each other:
- epithelial: large (equivalent radius ~8-13 px), arranged radially in glandular rings or solid nests;
- spindle-shaped: thin elongated ellipses aligned with a smooth flow field, denser in parallel streams;
- inflammatory: small and round (~6-8 px), scattered around a few cluster centres;
- miscellaneous: rare, small and irregular.
Each class is placed until its pixel budget is spent; budgets vary per layout around CoNSeP's
pixel shares (background 82.5 %, misc 0.3 %, inflammatory 2.5 %, epithelial 9.3 %, spindle 5.4 %).
Sizes and shapes follow the CoNSeP instance maps at 40x (about 0.25 um per pixel).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .errors import ConfigError
from .schemes import CONSEP, ClassScheme

# CoNSeP's mean pixel share per class id (index 0 is background, the remainder).
CONSEP_SHARES = (0.825, 0.003, 0.025, 0.093, 0.054)
MISC, INFLAMMATORY, EPITHELIAL, SPINDLE = 1, 2, 3, 4
GAP = 1  # background pixels kept between neighbouring nuclei, so no two touch
MAX_SIDE = 4096
_EIGHT = np.ones((3, 3), bool)
HALF_NUCLEUS_AREA = {MISC: 25, INFLAMMATORY: 75, EPITHELIAL: 135, SPINDLE: 70}


def random_layout(size: int | tuple[int, int] = 256, seed: int = 0, scheme: ClassScheme = CONSEP) -> np.ndarray:
    """A new (H, W) uint8 class-id mask; the same (size, seed) always gives the same layout."""
    return random_layout_with_instances(size, seed, scheme)[0]


def random_layout_with_instances(size: int | tuple[int, int] = 256, seed: int = 0, scheme: ClassScheme = CONSEP):
    """(ids, instances): the class mask and a uint16 map numbering each nucleus from 1.

    The nuclei are CoNSeP's four morphologies in any scheme: with CoNSeP's four classes each keeps its type;
    with one class (nucleus / background) every nucleus is that class; with K classes, morphology t becomes
    class ((t - 1) mod K) + 1, so every class is drawn and the same seed gives the same outlines.
    """
    h, w = (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    if not (16 <= h <= MAX_SIDE and 16 <= w <= MAX_SIDE):
        raise ConfigError(f"layout size must be between 16 and {MAX_SIDE} pixels a side, got {w}x{h}")
    ids, instances = _Layout(h, w, np.random.default_rng([int(seed), 0x1A_7007])).build()
    if scheme.num_classes != 4:
        lut = np.array([0] + [(t - 1) % scheme.num_classes + 1 for t in (MISC, INFLAMMATORY, EPITHELIAL, SPINDLE)], np.uint8)
        ids = lut[ids]
    return ids, instances


class _Layout:
    def __init__(self, h: int, w: int, rng: np.random.Generator):
        self.h, self.w, self.rng = h, w, rng
        self.ids = np.zeros((h, w), np.uint8)
        self.instances = np.zeros((h, w), np.uint16)
        self.halo = np.zeros((h, w), bool)  # nuclei grown by GAP: new nuclei must stay outside it
        self.count = 0
        self.pixels = np.zeros(5, np.int64)
        # A smooth stroma direction field: a base angle bent by two long waves.
        self.flow = (rng.uniform(0, np.pi), rng.uniform(0.15, 0.5), rng.uniform(0, 2 * np.pi), rng.uniform(180, 420))

    def build(self):
        rng, area = self.rng, self.h * self.w
        # Per-layout budgets: CoNSeP's shares, each scaled by a mean-one log-normal factor for variety.
        budget = {c: CONSEP_SHARES[c] * area * rng.lognormal(-0.045, 0.3) for c in (EPITHELIAL, SPINDLE, INFLAMMATORY)}
        budget[MISC] = CONSEP_SHARES[MISC] * area * (rng.uniform(0, 2.5) if rng.random() < 0.6 else 0)
        for c, half_nucleus in HALF_NUCLEUS_AREA.items():  # the last nucleus overshoots by about half its area
            budget[c] -= half_nucleus
        self._glands(budget[EPITHELIAL])
        self._spindles(budget[SPINDLE])
        self._inflammatory(budget[INFLAMMATORY])
        self._misc(budget[MISC])
        return self.ids, self.instances

    # -- one nucleus ---------------------------------------------------------------------------
    def _place(self, cls: int, cy: float, cx: float, a: float, b: float, angle: float) -> bool:
        """Draw an irregular ellipse (semi-axes a along `angle`, b across) unless it would touch another."""
        reach = int(np.ceil(a + 3))
        y0, y1 = max(int(cy) - reach, 0), min(int(cy) + reach + 1, self.h)
        x0, x1 = max(int(cx) - reach, 0), min(int(cx) + reach + 1, self.w)
        if y0 >= y1 or x0 >= x1:
            return False
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        dy, dx = yy - cy, xx - cx
        c, s = np.cos(angle), np.sin(angle)
        u, v = dx * c + dy * s, -dx * s + dy * c
        # Outline wobble: low harmonics of the polar angle, a few percent of the radius.
        theta = np.arctan2(v * a / b, u)
        k2, k3 = self.rng.normal(0, 0.05, 2)
        p2, p3 = self.rng.uniform(0, 2 * np.pi, 2)
        wobble = 1 + k2 * np.cos(2 * theta + p2) + k3 * np.cos(3 * theta + p3)
        body = np.sqrt((u / a) ** 2 + (v / b) ** 2) / wobble <= 1
        if body.sum() < 6 or (self.halo[y0:y1, x0:x1] & body).any():
            return False
        self.count += 1
        self.ids[y0:y1, x0:x1][body] = cls
        self.instances[y0:y1, x0:x1][body] = self.count
        # Pixels 8-adjacent to a nucleus are taken too, so nuclei stay at least one pixel apart.
        self.halo[y0:y1, x0:x1] |= ndimage.binary_dilation(body, structure=_EIGHT, iterations=GAP)
        self.pixels[cls] += int(body.sum())
        return True

    def _fill(self, cls: int, budget: float, propose, max_tries: int) -> None:
        for _ in range(max_tries):
            if self.pixels[cls] >= budget:
                return
            self._place(cls, *propose())

    # -- classes -------------------------------------------------------------------------------
    def _glands(self, budget: float) -> None:
        """Epithelium as glands: rings of radially oriented, crowded nuclei, sometimes a solid nest."""
        rng = self.rng
        for _ in range(int(12 * self.h * self.w / 256**2) + 4):
            if self.pixels[EPITHELIAL] >= budget:
                return
            cy, cx = rng.uniform(-0.1, 1.1) * self.h, rng.uniform(-0.1, 1.1) * self.w
            if rng.random() < 0.75:
                self._gland_ring(cy, cx, budget)
            else:
                self._nest(cy, cx, budget)

    def _gland_ring(self, cy: float, cx: float, budget: float) -> None:
        rng = self.rng
        ry, rx = rng.uniform(40, 100), rng.uniform(40, 100)
        tilt = rng.uniform(0, np.pi)
        a_mean, b_mean = rng.uniform(10.5, 13.5), rng.uniform(6.5, 8.0)
        perimeter = np.pi * (3 * (rx + ry) - np.sqrt((3 * rx + ry) * (rx + 3 * ry)))
        n = int(perimeter / (2 * b_mean + GAP + 1))
        start = rng.uniform(0, 2 * np.pi)
        for i in range(n):
            if self.pixels[EPITHELIAL] >= budget or rng.random() < 0.08:  # occasional gaps in the ring
                continue
            t = start + 2 * np.pi * i / n + rng.normal(0, 0.02)
            ey, ex = ry * np.sin(t), rx * np.cos(t)
            y = cy + ey * np.cos(tilt) + ex * np.sin(tilt)
            x = cx - ey * np.sin(tilt) + ex * np.cos(tilt)
            radial = np.arctan2(y - cy, x - cx)
            jitter = rng.normal(0, 1.5, 2)
            self._place(EPITHELIAL, y + jitter[0], x + jitter[1], a_mean * rng.uniform(0.85, 1.15),
                        b_mean * rng.uniform(0.85, 1.15), radial + rng.normal(0, 0.15))

    def _nest(self, cy: float, cx: float, budget: float) -> None:
        rng = self.rng
        spread = rng.uniform(20, 40)
        self._fill(EPITHELIAL, budget, lambda: (
            cy + rng.normal(0, spread), cx + rng.normal(0, spread),
            rng.uniform(9, 14), rng.uniform(6.5, 9), rng.uniform(0, np.pi),
        ), max_tries=60)

    def _flow_angle(self, y: float, x: float) -> float:
        base, bend, phase, wavelength = self.flow
        return base + bend * np.sin(2 * np.pi * (x * np.cos(base) + y * np.sin(base)) / wavelength + phase)

    def _spindles(self, budget: float) -> None:
        """Stroma: elongated nuclei following the flow field, denser in parallel streams."""
        rng = self.rng
        base = self.flow[0]
        period, offset = rng.uniform(45, 90), rng.uniform(0, 100)

        def propose():
            while True:
                y, x = rng.uniform(-8, self.h + 8), rng.uniform(-8, self.w + 8)
                across = -x * np.sin(base) + y * np.cos(base)  # distance across the streams
                if rng.random() < (0.5 + 0.5 * np.cos(2 * np.pi * (across + offset) / period)) ** 2:
                    break
            return y, x, rng.uniform(9, 15), rng.uniform(2.8, 4.8), self._flow_angle(y, x) + rng.normal(0, 0.12)

        self._fill(SPINDLE, budget, propose, max_tries=int(60 + budget / 8))

    def _inflammatory(self, budget: float) -> None:
        """Lymphocytes and friends: small round nuclei, mostly in loose clusters."""
        rng = self.rng
        scale = np.sqrt(self.h * self.w) / 256
        centres = [(rng.uniform(0, self.h), rng.uniform(0, self.w)) for _ in range(max(1, rng.poisson(1.6 * scale**2)))]
        spreads = [rng.uniform(12, 28) for _ in centres]

        def propose():
            if rng.random() < 0.8:
                k = rng.integers(len(centres))
                y, x = centres[k][0] + rng.normal(0, spreads[k]), centres[k][1] + rng.normal(0, spreads[k])
            else:
                y, x = rng.uniform(0, self.h), rng.uniform(0, self.w)
            r = rng.uniform(5.8, 8.2)
            return y, x, r * rng.uniform(1.0, 1.2), r / rng.uniform(1.0, 1.15), rng.uniform(0, np.pi)

        self._fill(INFLAMMATORY, budget, propose, max_tries=int(80 + budget / 10))

    def _misc(self, budget: float) -> None:
        rng = self.rng
        self._fill(MISC, budget, lambda: (
            rng.uniform(0, self.h), rng.uniform(0, self.w), rng.uniform(4, 7.5), rng.uniform(2.8, 4.5), rng.uniform(0, np.pi),
        ), max_tries=20)
