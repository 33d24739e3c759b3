"""python -m pathgan generate --checkpoint C --masks DIR_OR_FILE --seeds 0-7 --out DIR"""
from __future__ import annotations

from pathlib import Path

from PIL import Image
from tqdm import tqdm

from ..devices import PRECISION_HELP, PRECISIONS
from ..dataset import mask_file_values, refuse_unstated_binary
from ..errors import ConfigError
from ..masks import MASK_SUFFIXES, read_mask
from ..schemes import CLASS_MAP_HELP, DATA_SCHEME_HELP, named_scheme
from ..seeds import parse_seeds
from ..synthesis import Synthesizer


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="generator .safetensors")
    p.add_argument("--masks", required=True, help="a mask PNG, or a folder of them (id or palette)")
    p.add_argument("--seeds", default="0", help="e.g. 0-7 or 0,3,5 (default: 0)")
    p.add_argument("--out", required=True, help="output folder; files are <mask>_seed<NNNN>.png")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: CUDA if present)")
    p.add_argument("--precision", choices=PRECISIONS, default="auto", help=PRECISION_HELP)
    p.add_argument("--scheme", default="", help=DATA_SCHEME_HELP)
    p.add_argument("--class-map", default="", help=CLASS_MAP_HELP)
    p.add_argument("--lossless", action="store_true", help="skip the checkpoint's JPEG matching (colour calibration still applies)")


def list_mask_files(masks: str | Path) -> list[Path]:
    masks = Path(masks)
    if masks.is_dir():
        files = sorted(p for p in masks.iterdir() if p.suffix.lower() in MASK_SUFFIXES)
        if not files:
            raise ConfigError(f"{masks}: no masks in this folder ({', '.join(MASK_SUFFIXES)})")
        return files
    if not masks.exists():
        raise ConfigError(f"{masks}: no such file or folder")
    return [masks]


def run(args) -> int:
    seeds = parse_seeds(args.seeds)
    synth = Synthesizer.from_checkpoint(args.checkpoint, args.device, args.precision)
    if args.lossless:
        synth.post_processing = synth.post_processing.without_compression()
    if args.scheme or args.class_map:
        synth.read_as(named_scheme(args.scheme) if args.scheme else synth.scheme, args.class_map)
    files = list_mask_files(args.masks)
    if not args.scheme:
        refuse_unstated_binary(Path(args.masks).name, {v for f in files for v in mask_file_values(f)}, synth.scheme)
    ids = [read_mask(f, synth.scheme) for f in files]  # every mask checked before any work
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for f, m in tqdm(list(zip(files, ids)), desc="generate", unit="mask"):
        for seed, img in zip(seeds, synth.generate(m, seeds)):
            Image.fromarray(img).save(out / f"{f.stem}_seed{seed:04d}.png")
            n += 1
    print(f"wrote {n} images to {out}")
    return 0
