"""Does fine-tuning help a lab's own binary data? The Fine-tune tab's own path, on a binary benchmark made from CoNSeP.

    python scripts/binary_finetune_benchmark.py --data ../shared/data/consep --out runs/binary-bench

1. The data as a lab brings it (pathgan/domain_shift.py): CoNSeP's 16 patches per tile laid out 4 x 4 and cut to
   1000 x 1000, stain-shifted (H x1.6, E x0.5), lossless TIFF, masks 0/1, no scheme.json; 27 train and 14 test
   tiles, zipped as it would be uploaded.
2. The tab's check of that zip as it is (refused: it states no classes), then with "binary" and nucleus=epithelial.
3. Two jobs through the tab's functions and job queue with every other setting at the tab's default: the
   discriminator "auto" (the one shipped beside the checkpoint) and "fresh". They run side by side, one worker
   process and one core each, as the tab runs a job on a 2-core machine.
4. `evaluate` of the zero-shot base (through the class map) and of each job's result on the test split, which no
   job saw: seeds 0-1, 256-px crops, no mask fidelity. The table and the commands are printed.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from pathgan.app.actions import AppSettings, PathGANApp
from pathgan.app.finetune_jobs import JobManager, zip_dataset
from pathgan.app.finetune_tab import FinetuneTab
from pathgan.domain_shift import write_binary_mosaics
from pathgan.finetune import FinetuneConfig
from pathgan.paths import PROJECT_ROOT


def evaluate(checkpoint: Path, data: Path, out: Path, extra: list[str]) -> tuple[list[str], subprocess.Popen]:
    command = ["python", "-m", "pathgan", "evaluate", "--checkpoint", str(checkpoint), "--data", str(data), "--split", "test",
               "--seeds", "0-1", "--no-mask-fidelity", "--out", str(out), *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log = open(out.with_suffix(".log"), "w")
    return command, subprocess.Popen([sys.executable, *command[1:]], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/consep")
    p.add_argument("--out", default="runs/binary-bench")
    p.add_argument("--checkpoint", default="consep-vanilla", help="a checkpoint in checkpoints/, by name")
    args = p.parse_args()
    out = Path(args.out).resolve()
    data = out / "lab-data"
    if not (data / "images" / "test").is_dir():
        write_binary_mosaics(args.data, data)
    upload = out / "lab-data.zip"
    if not upload.is_file():
        zip_dataset(data, upload)
    print(f"data: {data.name}, zip {upload.stat().st_size / 2**20:.1f} MB")

    app = PathGANApp(AppSettings(checkpoint_search=(str(PROJECT_ROOT / "checkpoints"),), device="cpu"))
    tabs = {d: FinetuneTab(app.catalog, JobManager(out / f"tab-{d}", "cpu", threads=1, poll_s=2.0)) for d in ("auto", "fresh")}
    first = tabs["auto"]
    print("check as uploaded:\n" + first.check(str(upload), "", args.checkpoint))
    print("check with binary + nucleus=epithelial:\n" + first.check(str(upload), "", args.checkpoint, "nucleus=epithelial", "binary"))
    d = FinetuneConfig()
    jobs = {}
    for disc, tab in tabs.items():
        _, jobs[disc] = tab.start(str(upload), "", args.checkpoint, f"{args.checkpoint}-lab-{disc}", "nucleus=epithelial", d.steps, d.lr,
                                  d.batch_size, d.d_warmup_steps, d.ema_decay, disc, calibrate=d.calibrate, scheme="binary")
    while any(tab.manager.job(jobs[k]).status in ("queued", "running") for k, tab in tabs.items()):
        time.sleep(10)
    results = {}
    for disc, tab in tabs.items():
        job = tab.manager.job(jobs[disc])
        print(f"job {disc}: {job.status}, {(job.finished - job.started) / 60:.1f} min; {job.message}")
        results[disc] = Path(job.output)
    for tab in tabs.values():
        tab.manager.stop()

    base = PROJECT_ROOT / "checkpoints" / f"{args.checkpoint}.safetensors"
    runs = {"zero-shot": (base, ["--scheme", "binary", "--class-map", "nucleus=epithelial"], "zero-shot"),
            "fine-tuned in the tab (defaults)": (results["auto"], [], "tab-auto"),
            "same, fresh discriminator": (results["fresh"], [], "tab-fresh")}
    procs = {}
    for i, (name, (ckpt, extra, folder)) in enumerate(runs.items()):
        if i == 2:  # two at a time, one core each
            procs["zero-shot"][1].wait()
        procs[name] = evaluate(ckpt, data, out / "eval" / folder, extra)
    for _, proc in procs.values():
        proc.wait()
    print("\n| | FID | KID | two-sample accuracy | recall |\n|---|---:|---:|---:|---:|")
    for name, (command, _) in procs.items():
        report = json.loads((Path(command[command.index("--out") + 1]) / "report.json").read_text())
        acc = (report.get("two_sample") or {}).get("synthetic", {}).get("accuracy")
        print(f"| {name} | {report['fid']:.1f} | {report['kid']:.4f} | {acc if acc is None else f'{acc:.3f}'} | {report['recall']:.3f} |")
    floor = report["floor"]
    print(f"| floor: real train vs real test | {floor['fid']:.1f} | {floor['kid']:.4f} | | |")
    for name, (command, _) in procs.items():
        print(f"{name}: {shlex.join(command)}")


if __name__ == "__main__":
    main()
