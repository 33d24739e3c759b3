"""Seed lists as written on the command line ('0-7', '3', '0,4,10-12') or in the app (a first seed and a
count), and the per-seed random generators built from them. Every seed rule lives here."""
from __future__ import annotations

from .errors import ConfigError

MAX_SEED = 2**31 - 1  # what every front end accepts; a browser's number box holds it exactly


def parse_seeds(text: str | int | list[int], max_count: int | None = None, unique: bool = False) -> list[int]:
    """'0-3,9' -> [0, 1, 2, 3, 9]; a ConfigError says what is wrong with the list."""
    if isinstance(text, int):
        seeds = [text]
    elif isinstance(text, (list, tuple)):
        seeds = [int(s) for s in text]
    else:
        seeds = _parse_text(str(text))
    if not seeds:
        raise ConfigError(f"empty seed list {text!r}")
    if any(s < 0 for s in seeds):
        raise ConfigError(f"seeds must be non-negative: {text!r}")
    if any(s > MAX_SEED for s in seeds):
        raise ConfigError(f"seeds must be at most {MAX_SEED}")
    if max_count is not None and len(seeds) > max_count:
        raise ConfigError(f"at most {max_count} seeds at once, got {len(seeds)}")
    if unique and len(set(seeds)) != len(seeds):
        raise ConfigError(f"seed list {text!r} repeats seeds")
    return seeds


def _parse_text(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
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
            raise ConfigError(f"bad seed list {text!r}: use numbers and ranges like '0-7' or '0,3,10-12'") from None
    return seeds


def consecutive_seeds(first, count, max_count: int) -> list[int]:
    """`count` seeds from `first` on (the app's seed box and variations slider), wrapping past MAX_SEED."""
    try:
        first, count = int(first), int(count)
    except (TypeError, ValueError):
        raise ConfigError(f"seed and variations must be whole numbers, got {first!r} and {count!r}") from None
    if not 0 <= first <= MAX_SEED:
        raise ConfigError(f"seed must be between 0 and {MAX_SEED}, got {first}")
    if not 1 <= count <= max_count:
        raise ConfigError(f"variations must be between 1 and {max_count}, got {count}")
    return [(first + i) % (MAX_SEED + 1) for i in range(count)]


def torch_generator(*ints: int):
    """A CPU torch.Generator seeded from a tuple of ints (seed, step, index, ...), well mixed."""
    import numpy as np
    import torch

    g = torch.Generator()
    g.manual_seed(int(np.random.SeedSequence([int(i) for i in ints]).generate_state(1, np.uint64)[0] & 0x7FFF_FFFF_FFFF_FFFF))
    return g
