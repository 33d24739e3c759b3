"""The app's synthesis latency while its fine-tuning worker trains, as a ratio to idle (docs/finetuning.md).

    python scripts/bench_finetune_latency.py [--checkpoint checkpoints/consep-vanilla.safetensors --repeats 7]

Times the real paths: `Synthesizer.generate` of one 256-px tile, idle and then while `JobManager` runs a
worker exactly as the app's Fine-tune tab does (on synthetic pairs), in one run.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from pathgan.app.finetune_jobs import JobManager
from pathgan.devices import cpu_model
from pathgan.devices import best_device
from pathgan.finetune import FinetuneConfig
from pathgan.layouts import random_layout
from pathgan.paths import PROJECT_ROOT
from pathgan.synthesis import Synthesizer
from pathgan.synthetic_data import write_synthetic_dataset


def bench_latency(checkpoint: str, repeats: int, device: torch.device) -> dict:
    """Median time of one 256-px synthesis (the app's call) idle, then while the app's fine-tuning worker trains."""
    synth = Synthesizer.from_checkpoint(checkpoint, str(device))
    ids = random_layout(256, 0, synth.scheme)

    def median_s() -> float:
        times = []
        for i in range(repeats):
            t = time.perf_counter()
            synth.generate(ids, [i])
            times.append(time.perf_counter() - t)
        return sorted(times)[len(times) // 2]

    synth.generate(ids, [0])  # warm-up
    idle = median_s()
    with tempfile.TemporaryDirectory(prefix="pathgan-bench-") as tmp:
        manager = JobManager(Path(tmp) / "finetuned", str(device), start_worker=False)
        job_id, folder = manager.new_job_folder()
        data = write_synthetic_dataset(folder / "data", pairs=8, splits=("train",), scheme=synth.scheme)
        manager.submit(job_id, "bench", Path(checkpoint), data, FinetuneConfig(steps=20_000, d_warmup_steps=0, sample_every=20_000,
                                                                              checkpoint_every=20_000))
        manager.tick()  # launches the worker exactly as the app does
        deadline = time.monotonic() + 300
        while manager.progress(job_id)["step"] < 2 and time.monotonic() < deadline:  # timed once it trains, not while it loads
            time.sleep(0.5)
        busy = median_s()
        step = manager.progress(job_id)["step"]
        manager._procs[job_id].kill()
        manager._procs[job_id].wait()
    return {"idle_s": idle, "busy_s": busy, "ratio": busy / idle, "worker_threads": manager.threads, "worker_steps": step,
            "app_threads_busy": manager._app_threads_busy}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=str(PROJECT_ROOT / "checkpoints" / "consep-vanilla.safetensors"))
    p.add_argument("--repeats", type=int, default=7, help="syntheses timed in each state")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    device = best_device(args.device)
    r = bench_latency(args.checkpoint, args.repeats, device)
    print(f"synthesis latency of one 256-px tile with {Path(args.checkpoint).name} on {cpu_model()} "
          f"({torch.get_num_threads()} threads idle), torch {torch.__version__}")
    print(f"idle: {r['idle_s']:.3f} s (median of {args.repeats}); while a fine-tuning worker trains ({r['worker_threads']} thread(s); "
          f"the app then uses {r['app_threads_busy']}; {r['worker_steps']} steps in): {r['busy_s']:.3f} s; ratio {r['ratio']:.2f}")


if __name__ == "__main__":
    main()
