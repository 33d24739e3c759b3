"""`bench synth` and `bench train` run the real paths and print their figures, with the machine they came from."""
import re

import torch

from pathgan.benchmarks import forward_flops
from pathgan.cli import main
from pathgan.devices import cpu_model
from helpers import make_tiny_generator


def test_bench_synth_prints_every_path_the_matrix_share_and_a_large_mask(tiny_checkpoint, capsys):
    assert main(["bench", "synth", "--checkpoints", str(tiny_checkpoint), "--no-paper", "--repeats", "2", "--large", "512", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"$ python -m pathgan bench synth --checkpoints {tiny_checkpoint} --no-paper --repeats 2 --large 512 --device cpu")
    assert cpu_model() in out and "flags:" in out and "bf16 units:" in out and re.search(r"fp32 \d+ GFLOP/s", out)
    rows = {name: line for name in ("plain eager fp32 forward", "fp32 path: fp32", "fast path: ") for line in out.splitlines() if name in line}
    assert len(rows) == 3, out
    for line in rows.values():  # median, p90, ratio, per-tile at batch 8, ratio, share of the matrix rate
        assert re.search(r"\d+ms +\d+ms +[\d.]+ +\d+ms +[\d.]+ +\d+%$", line), line
    assert re.search(r"512x512 mask, 1 seed, end to end: fp32 path [\d.]+ s, fast path [\d.]+ s; one tile at a time", out)


def test_bench_train_times_the_fast_path_beside_fp32(capsys):
    assert main(["bench", "train", "--discs", "patchgan", "--batch-sizes", "2", "--ngf", "4", "--ndf", "4", "--steps", "1", "--device", "cpu"]) == 0
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("patchgan")]
    assert len(lines) == 2 and "fp32, contiguous" in lines[0], lines


def test_forward_flops_count_the_convolutions():
    g = make_tiny_generator(ngf=4)
    first = g.down[0].conv  # 4x4 stride-2 conv: 2 * cin * cout * 16 per output pixel, 128 x 128 of them
    flops = forward_flops(g, g.cfg.num_classes, torch.device("cpu"))
    assert flops > 2 * first.in_channels * first.out_channels * 16 * 128 * 128
    assert forward_flops(make_tiny_generator(ngf=8), 4, torch.device("cpu")) > 3 * flops  # width squared, roughly
