"""Seed lists as written on the command line: '0-7', '3', '0,4,10-12'."""
from __future__ import annotations


def parse_seeds(text: str | int | list[int]) -> list[int]:
    if isinstance(text, int):
        return [text]
    if isinstance(text, (list, tuple)):
        return [int(s) for s in text]
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1) if not part.startswith("-") else (None, None)
                lo, hi = int(lo), int(hi)
                if hi < lo:
                    raise ValueError
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
        except (TypeError, ValueError):
            raise ValueError(f"bad seed list {text!r}: use numbers and ranges like '0-7' or '0,3,10-12'") from None
    if not seeds:
        raise ValueError(f"empty seed list {text!r}")
    if any(s < 0 for s in seeds):
        raise ValueError(f"seeds must be non-negative: {text!r}")
    return seeds


def torch_generator(*ints: int):
    """A CPU torch.Generator seeded from a tuple of ints (seed, step, index, ...), well mixed."""
    import numpy as np
    import torch

    g = torch.Generator()
    g.manual_seed(int(np.random.SeedSequence([int(i) for i in ints]).generate_state(1, np.uint64)[0] & 0x7FFF_FFFF_FFFF_FFFF))
    return g
