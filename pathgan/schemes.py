"""Class schemes: which nucleus classes a mask holds, their ids and display colours.

A scheme is data, saved with every checkpoint, so networks never hard-code classes. Id 0 is always
background; the generator sees ids 1..K as K one-hot channels. A dataset states its scheme in a
`scheme.json` at its root, or the user names a preset (`--scheme consep`, `--scheme binary`); nothing is
ever guessed. The file's one format:

    {"names": ["background", "nucleus"], "colours": [[0, 0, 0], [255, 255, 255]]}

`names[i]` and `colours[i]` belong to class id i; "colors" is accepted for "colours".
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import PathGANError

SCHEME_FILE = "scheme.json"  # a dataset states its scheme here, at its root
# Display colours offered for the classes of a new scheme (scheme_example), after black for background.
EXAMPLE_COLOURS = ((255, 255, 255), (255, 0, 0), (0, 200, 0), (0, 90, 255), (255, 165, 0), (200, 0, 200), (0, 200, 200), (128, 128, 0))


class SchemeError(PathGANError, ValueError):
    """A class scheme that cannot be used, or none where one is needed; the message says what to write."""


class SchemeMismatch(PathGANError, ValueError):
    """A network trained for one class scheme was handed masks of another."""


@dataclass(frozen=True)
class Wording:
    """How a message tells the user to name a scheme or give a class map: command-line flags, or the app's fields."""
    scheme: str = "--scheme {}"
    class_map: str = "--class-map {}"


CLI_WORDING = Wording()
# --scheme and --class-map where data meets a checkpoint (generate, evaluate, calibrate): one wording for all three.
DATA_SCHEME_HELP = "class scheme of the masks: consep, binary (0/1 or 0/255) or a scheme.json; empty: the data's scheme.json, else the checkpoint's"
CLASS_MAP_HELP = "the masks' classes onto the checkpoint's when they differ, e.g. nucleus=epithelial"


@dataclass(frozen=True)
class ClassScheme:
    names: tuple[str, ...]  # names[i] is the name of class id i; names[0] is background
    colors: tuple[tuple[int, int, int], ...]  # display RGB per id

    def __post_init__(self):
        if len(self.names) < 2:
            raise SchemeError("a class scheme needs background plus at least one class")
        if len(self.names) != len(self.colors):
            raise SchemeError(f"scheme has {len(self.names)} names but {len(self.colors)} colours")
        if len(set(self.names)) != len(self.names):
            raise SchemeError(f"scheme names must be distinct, got {list(self.names)}")
        if any(len(c) != 3 or not all(0 <= v <= 255 for v in c) for c in self.colors):
            raise SchemeError(f"scheme colours must be [r, g, b] with values 0-255, got {[list(c) for c in self.colors]}")
        if len(set(map(tuple, self.colors))) != len(self.colors):
            raise SchemeError("scheme colours must be distinct, or palette masks are ambiguous")
        if len(self.names) > 256:
            raise SchemeError("at most 256 class ids fit an 8-bit mask")

    @property
    def num_classes(self) -> int:
        """Number of foreground classes K (background excluded)."""
        return len(self.names) - 1

    @property
    def ids(self) -> range:
        return range(len(self.names))

    def describe(self) -> str:
        return f"{self.num_classes} class{'es' if self.num_classes != 1 else ''} ({', '.join(self.names[1:])})"

    def to_dict(self) -> dict:
        return {"names": list(self.names), "colors": [list(c) for c in self.colors]}

    @classmethod
    def from_dict(cls, d: dict) -> "ClassScheme":
        if not isinstance(d, dict):
            raise SchemeError(f"a scheme is a JSON object with 'names' and 'colours', got {type(d).__name__}")
        unknown = set(d) - {"names", "colours", "colors"}
        if unknown:
            raise SchemeError(f"unknown keys {sorted(unknown)}; a scheme has 'names' and 'colours'")
        missing = [k for k, present in (("names", "names" in d), ("colours", "colours" in d or "colors" in d)) if not present]
        if missing:
            raise SchemeError(f"missing key{'s' if len(missing) > 1 else ''} {', '.join(repr(k) for k in missing)}")
        colours = d.get("colours", d.get("colors"))
        try:
            return cls(tuple(str(n) for n in d["names"]), tuple(tuple(int(v) for v in c) for c in colours))
        except TypeError:
            raise SchemeError("'names' must be a list of strings and 'colours' a list of [r, g, b] lists") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text(scheme_json(self))

    @classmethod
    def load(cls, path: str | Path) -> "ClassScheme":
        """Read a scheme.json; any problem names the file and shows the format."""
        path = Path(path)
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except FileNotFoundError:
            raise SchemeError(f"{path}: no such scheme file") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise SchemeError(f"{path}: not valid JSON ({e}). The format is:\n{scheme_json(BINARY)}") from None
        except SchemeError as e:
            raise SchemeError(f"{path}: {e}. The format is:\n{scheme_json(BINARY)}") from None


def scheme_json(scheme: ClassScheme) -> str:
    """The scheme as the documented scheme.json text."""
    return json.dumps({"names": list(scheme.names), "colours": [list(c) for c in scheme.colors]}) + "\n"


# CoNSeP with HoVer-Net's four-type merge; colours follow HoVer-Net's overlay convention.
CONSEP = ClassScheme(
    names=("background", "miscellaneous", "inflammatory", "epithelial", "spindle-shaped"),
    colors=((0, 0, 0), (255, 165, 0), (255, 0, 0), (0, 200, 0), (0, 90, 255)),
)
# Nucleus or not: masks stored as 0/1 or 0/255, or drawn in black and white.
BINARY = ClassScheme(names=("background", "nucleus"), colors=((0, 0, 0), (255, 255, 255)))
PRESETS = {"consep": CONSEP, "binary": BINARY}


def scheme_example(class_count: int) -> ClassScheme:
    """A scheme.json to start from for masks with ids 1..class_count (names to be edited by the user)."""
    if class_count == 1:
        return BINARY
    colours = [EXAMPLE_COLOURS[i - 1] if i <= len(EXAMPLE_COLOURS) else (i, 255 - i, 128) for i in range(1, class_count + 1)]
    return ClassScheme(("background", *(f"class_{i}" for i in range(1, class_count + 1))), ((0, 0, 0), *colours))


def named_scheme(value: str | ClassScheme) -> ClassScheme:
    """A preset by name ('consep', 'binary'), or a scheme.json path."""
    if isinstance(value, ClassScheme):
        return value
    if value in PRESETS:
        return PRESETS[value]
    if value.endswith(".json") or Path(value).is_file():
        return ClassScheme.load(value)
    raise SchemeError(f"unknown scheme {value!r}: name a preset ({', '.join(PRESETS)}) or a scheme.json file")


def check_same_classes(trained: ClassScheme, given: ClassScheme, what: str, other: str) -> None:
    """The one check that a network's classes are the classes of the masks it is given; the message names both."""
    if trained.names != given.names:
        raise SchemeMismatch(
            f"{what}: trained for {trained.describe()}, but {other} has {given.describe()}; "
            "use a checkpoint of the same class scheme"
        )


def unmapped_classes(trained: ClassScheme, given: ClassScheme, other: str, wording: Wording = CLI_WORDING) -> SchemeMismatch:
    """The error for masks in other classes than a network's, with no class map: names both and offers a map."""
    return SchemeMismatch(f"the checkpoint was trained for {trained.describe()}, but {other} {'have' if other.endswith('s') else 'has'} "
                          f"{given.describe()}. Map those classes onto the checkpoint's: "
                          f"{wording.class_map.format(suggested_class_map(given, trained))}")


@dataclass(frozen=True)
class ClassMap:
    """How the classes of a user's masks feed a network trained on other classes: lut[user id] = network id.

    A fine-tuned checkpoint keeps its base network's input classes and records this map, so it takes masks in
    the user's scheme. Written as 'nucleus=epithelial' or '1=3' (user class = network class), comma-separated;
    every user class must be mapped, background always maps to background.
    """
    source: ClassScheme  # the user's masks
    target: ClassScheme  # the network's input classes
    lut: tuple[int, ...]

    @classmethod
    def parse(cls, spec: str, source: ClassScheme, target: ClassScheme) -> "ClassMap":
        lut = [0] * len(source.names)
        seen = set()
        for part in (p.strip() for p in str(spec).split(",") if p.strip()):
            if "=" not in part:
                raise SchemeError(f"class map entry {part!r}: write user_class=network_class, e.g. nucleus=epithelial or 1=3")
            left, right = (s.strip() for s in part.split("=", 1))
            s, t = _class_id(left, source, "your data's"), _class_id(right, target, "the checkpoint's")
            if s == 0 or t == 0:
                raise SchemeError(f"class map entry {part!r}: background always maps to background; map nucleus classes only")
            lut[s] = t
            seen.add(s)
        missing = [source.names[i] for i in range(1, len(source.names)) if i not in seen]
        if missing:
            raise SchemeError(f"the class map leaves {', '.join(missing)} unmapped; map every class of your data to one of the "
                              f"checkpoint's ({', '.join(target.names[1:])})")
        return cls(source, target, tuple(lut))

    def apply(self, ids):
        import numpy as np

        return np.asarray(self.lut, np.uint8)[ids]

    def then(self, inner: "ClassMap | None") -> "ClassMap":
        """This map followed by `inner` (a checkpoint's own map from its mask classes to its network's)."""
        if inner is None:
            return self
        if inner.source.names != self.target.names:
            raise SchemeError(f"cannot chain a map onto {self.target.describe()} with one from {inner.source.describe()}")
        return ClassMap(self.source, inner.target, tuple(inner.lut[t] for t in self.lut))

    def describe(self) -> str:
        return ", ".join(f"{self.source.names[i]}={self.target.names[t]}" for i, t in enumerate(self.lut) if i)

    def to_dict(self) -> dict:
        return {"network_scheme": self.target.to_dict(), "lut": list(self.lut)}

    @classmethod
    def from_dict(cls, d: dict, source: ClassScheme) -> "ClassMap":
        target = ClassScheme.from_dict(d["network_scheme"])
        lut = tuple(int(v) for v in d["lut"])
        if len(lut) != len(source.names) or lut[0] != 0 or not all(0 < v <= target.num_classes for v in lut[1:]):
            raise SchemeError(f"class map {lut} does not fit {source.describe()} onto {target.describe()}")
        return cls(source, target, lut)


# A class with no counterpart of the same name goes to this one, where the network knows it: CoNSeP's most common
# nucleus type (9.3 % of its pixels against 2.5 % inflammatory), so a generic "nucleus" gets the best-trained look.
DEFAULT_NUCLEUS_CLASS = "epithelial"


def suggested_class_map(source: ClassScheme, target: ClassScheme) -> str:
    """A class map to offer in messages: same names to themselves, others to DEFAULT_NUCLEUS_CLASS (else the first class)."""
    fallback = DEFAULT_NUCLEUS_CLASS if DEFAULT_NUCLEUS_CLASS in target.names else target.names[1]
    return ",".join(f"{n}={n if n in target.names[1:] else fallback}" for n in source.names[1:])


def _class_id(token: str, scheme: ClassScheme, whose: str) -> int:
    if token.isdigit() and int(token) < len(scheme.names):
        return int(token)
    if token in scheme.names:
        return scheme.names.index(token)
    raise SchemeError(f"{token!r} is not one of {whose} classes ({', '.join(f'{i}={n}' for i, n in enumerate(scheme.names))})")
