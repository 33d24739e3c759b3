"""Class schemes: which nucleus classes a mask holds, their ids and display colours.

A scheme is data, saved with every checkpoint, so networks never hard-code classes.
Id 0 is always background; the generator sees ids 1..K as K one-hot channels.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ClassScheme:
    names: tuple[str, ...]  # names[i] is the name of class id i; names[0] is background
    colors: tuple[tuple[int, int, int], ...]  # display RGB per id

    def __post_init__(self):
        if len(self.names) < 2:
            raise ValueError("a class scheme needs background plus at least one class")
        if len(self.names) != len(self.colors):
            raise ValueError(f"scheme has {len(self.names)} names but {len(self.colors)} colours")
        if len(set(map(tuple, self.colors))) != len(self.colors):
            raise ValueError("scheme colours must be distinct, or palette masks are ambiguous")
        if len(self.names) > 256:
            raise ValueError("at most 256 class ids fit an 8-bit mask")

    @property
    def num_classes(self) -> int:
        """Number of foreground classes K (background excluded)."""
        return len(self.names) - 1

    @property
    def ids(self) -> range:
        return range(len(self.names))

    def to_dict(self) -> dict:
        return {"names": list(self.names), "colors": [list(c) for c in self.colors]}

    @classmethod
    def from_dict(cls, d: dict) -> "ClassScheme":
        try:
            return cls(tuple(d["names"]), tuple(tuple(int(v) for v in c) for c in d["colors"]))
        except (KeyError, TypeError) as e:
            raise ValueError(f"not a class scheme (need 'names' and 'colors'): {d!r}") from e

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: str | Path) -> "ClassScheme":
        return cls.from_dict(json.loads(Path(path).read_text()))


# CoNSeP with HoVer-Net's four-type merge; colours follow HoVer-Net's overlay convention.
CONSEP = ClassScheme(
    names=("background", "miscellaneous", "inflammatory", "epithelial", "spindle-shaped"),
    colors=((0, 0, 0), (255, 165, 0), (255, 0, 0), (0, 200, 0), (0, 90, 255)),
)

class SchemeMismatch(ValueError):
    """A network trained for one class scheme was handed masks of another."""


def check_same_classes(trained: ClassScheme, given: ClassScheme, what: str, other: str) -> None:
    """The one check that a network's classes fit the masks it is given; the message names both schemes."""
    if trained.num_classes != given.num_classes:
        raise SchemeMismatch(
            f"{what}: trained for {trained.num_classes} classes ({', '.join(trained.names[1:])}), but {other} has "
            f"{given.num_classes} ({', '.join(given.names[1:])}); use a checkpoint of the same class scheme"
        )


SCHEME_FILE = "scheme.json"  # a dataset may carry its own scheme at its root


def scheme_for_dataset(root: str | Path) -> ClassScheme:
    """The dataset's own scheme.json if present, else CoNSeP's."""
    path = Path(root) / SCHEME_FILE
    return ClassScheme.load(path) if path.exists() else CONSEP
