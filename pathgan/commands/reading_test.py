"""python -m pathgan reading-test export --db PATH --study CODE --out DIR: a study's answers and statistics."""
from __future__ import annotations

import json

from ..errors import ConfigError
from ..reading.report import export_study
from ..reading.store import DEFAULT_DB, StudyStore


def add_arguments(p):
    p.add_argument("action", choices=["export"], help="export: answers.csv (every answer, truth included) and summary.json")
    p.add_argument("--db", default=str(DEFAULT_DB), help=f"the app's study database (default: {DEFAULT_DB})")
    p.add_argument("--study", required=True, help="the study's code, as in its reader link ?study=CODE (an older code that starts with '-' is written --study=CODE)")
    p.add_argument("--out", required=True, help="folder to write answers.csv and summary.json to")


def run(args) -> int:
    from pathlib import Path

    if not Path(args.db).is_file():
        raise ConfigError(f"{args.db}: no study database there; pass the app's --db")
    store = StudyStore(args.db)
    study = store.study(args.study)
    csv_path, json_path = export_study(store, study, args.out)
    pooled = json.loads(json_path.read_text())["pooled"]
    print(pooled["conclusion"])
    print(f"wrote {csv_path} and {json_path}")
    return 0
