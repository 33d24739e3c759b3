"""Metric-vs-step curves of training runs; a thin caller of `python -m pathgan curves` (pathgan/curves.py).

    python scripts/curves.py --runs runs/a runs/b --out curves.json [--data DIR --max-points 6]
"""
import sys

from pathgan.cli import main

if __name__ == "__main__":
    sys.exit(main(["curves", *sys.argv[1:]]))
