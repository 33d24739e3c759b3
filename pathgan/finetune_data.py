"""The checks of a user's pairs before a fine-tune: every problem, listed per file, and whether their classes fit the
checkpoint. `python -m pathgan finetune` and the app's Fine-tune tab run the same checks and refuse the same data."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint import CheckpointConfig
from .dataset import DatasetScan, dataset_scheme, scan_dataset
from .finetune import discriminator_used
from .images import IMAGE_SUFFIXES
from .masks import MASK_SUFFIXES
from .schemes import CLI_WORDING, SCHEME_FILE, ClassMap, ClassScheme, SchemeError, SchemeMismatch, Wording, unmapped_classes


@dataclass
class DataCheck:
    report: str  # Markdown: what was found, then every problem or the number of pairs
    problems: list[str] = field(default_factory=list)
    split: str = "train"
    scheme: ClassScheme | None = None  # the classes the masks are read in, when known
    scan: DatasetScan | None = None  # the checked pairs, for the trainer to use as they are

    @property
    def ok(self) -> bool:
        return not self.problems


def check_finetune_data(root: str | Path, checkpoint: str | Path, split: str = "train", class_map: str = "", scheme: str = "",
                        name: str | None = None, discriminator: str = "auto", wording: Wording = CLI_WORDING,
                        base: CheckpointConfig | None = None) -> DataCheck:
    """Every problem with the pairs of `split`, and whether their classes fit the checkpoint (whose config `base` is,
    when already read). The classes are read from the data's scheme.json or a named scheme (`scheme`), never guessed;
    data in other classes than the checkpoint's needs a class map. `name` is how messages name the data."""
    root = Path(root)
    base_scheme = (base or CheckpointConfig.read(checkpoint)).scheme
    name = name or root.name
    try:
        own = dataset_scheme(root, split, scheme or None, wording, name)
    except (SchemeError, SchemeMismatch) as e:
        return DataCheck(f"Data: {name}\n\n❌ {e}", [str(e)], split)
    lines = [f"Data: {name}, split `{split}`; classes: {own.describe()}" + ("" if scheme else f" (its {SCHEME_FILE})"),
             f"Discriminator: {discriminator_used(checkpoint, discriminator)}."]
    problems = []
    for sub, suffixes in (("images", IMAGE_SUFFIXES), ("masks", MASK_SUFFIXES)):
        folder = root / sub / split
        if folder.is_dir():
            problems += [f"{p.relative_to(root)}: not an image file ({', '.join(suffixes)})" for p in sorted(folder.iterdir())
                         if p.is_file() and p.suffix.lower() not in suffixes and not p.name.startswith(".")]
    scan = scan_dataset(root, split, own)
    problems += [str(p).replace(str(root) + "/", "") for p in scan.problems]
    if own.names != base_scheme.names:
        if not class_map:
            problems.append(str(unmapped_classes(base_scheme, own, "your data", wording)))
        else:
            try:
                lines.append(f"Class map: {ClassMap.parse(class_map, own, base_scheme).describe()}")
            except SchemeError as e:
                problems.append(str(e))
    elif class_map:
        problems.append("a class map is only for data whose classes differ from the checkpoint's; leave it empty")
    if not scan.pairs and not problems:
        problems.append("no image/mask pairs found")
    head = "\n\n".join(lines)  # one paragraph each on the page
    if problems:
        listing = "\n".join(f"- {p}" for p in problems[:50])
        return DataCheck(f"{head}\n\n❌ {len(problems)} problem(s); nothing was started:\n\n{listing}", problems, split, own, scan)
    return DataCheck(f"{head}\n\n✅ {len(scan.pairs)} pairs, all readable.", problems, split, own, scan)
