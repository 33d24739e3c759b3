"""A target domain the shipped checkpoints have not seen: CoNSeP with a fixed stain change in HED space.

    python scripts/stain_shift.py --data ../shared/data/consep --out runs/stain/consep-hed --h 1.6 --e 0.5

Each tile is unmixed into haematoxylin, eosin and DAB optical densities with Ruifrok and Johnston's matrix,
H is scaled by --h and E by --e, and the tile is mixed back and saved as JPEG at quality 75 (like CoNSeP's
own tiles). Masks are copied unchanged, with a scheme.json stating CoNSeP's classes (pathgan/domain_shift.py).
The output goes under runs/ (git-ignored): it is derived data, not part of the repository.
"""
from __future__ import annotations

import argparse

from pathgan.domain_shift import write_stain_shifted


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--h", type=float, default=1.6, help="haematoxylin scale")
    p.add_argument("--e", type=float, default=0.5, help="eosin scale")
    args = p.parse_args()
    print(f"wrote {write_stain_shifted(args.data, args.out, args.h, args.e)}: H x{args.h}, E x{args.e}")


if __name__ == "__main__":
    main()
