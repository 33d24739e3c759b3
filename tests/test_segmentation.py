"""The segmenter, its scores, the downstream benchmark (`segbench`) and the pieces mask fidelity uses: tiny and fast."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from monai.metrics import compute_panoptic_quality

from pathgan.checkpoint import save_generator
from pathgan.cli import main
from pathgan.layouts import random_layout_with_instances
from pathgan.schemes import CONSEP
from pathgan.segmentation.data import choose_sources, source_tile
from pathgan.segmentation.scores import SegmentationScores, aji, instances_from_classes, pq_counts
from pathgan.segmentation.segmenter import SegmenterConfig, SegPair, predict_classes, train_segmenter

from helpers import make_tiny_generator

COLOURS = np.array([[235, 225, 230], [20, 20, 20], [200, 30, 30], [30, 160, 40], [40, 60, 200]], np.uint8)
TINY = ["--seg-steps", "3", "--seg-channels", "4,8", "--seg-batch-size", "2"]


def coloured_pairs(count: int, size: int = 64, block: int = 16) -> list[SegPair]:
    """Blocks of random classes, each class painted its own flat colour: a per-pixel, trivially separable task."""
    pairs = []
    for k in range(count):
        blocks = np.random.default_rng(k).integers(0, 5, (size // block, size // block))
        ids = np.kron(blocks, np.ones((block, block), np.int64)).astype(np.uint8)
        pairs.append(SegPair(COLOURS[ids], ids, None))
    return pairs


def test_segmenter_learns_a_trivially_separable_task_and_is_deterministic():
    cfg = SegmenterConfig(seg_channels="8,16", seg_steps=60, seg_batch_size=4, seg_crop=48, seg_lr=1e-2)
    train, test = coloured_pairs(6), coloured_pairs(9)[6:]
    model = train_segmenter(train, 4, cfg, seed=1)
    scores = SegmentationScores(list(CONSEP.names[1:]))
    for pair, pred in zip(test, predict_classes(model, [p.image for p in test])):
        scores.add(pred, pair.ids, pair.instances)
    result = scores.result()
    assert result["mean_dice"] > 0.9 and result["aji"] > 0.8, result
    again = train_segmenter(train, 4, cfg, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    # Any tile size: mirrored out to the network's stride and cropped back.
    odd = predict_classes(model, [test[0].image[:37, :50]])[0]
    assert odd.shape == (37, 50)


def test_panoptic_quality_matches_monai_and_aji_has_its_extremes():
    ids, inst = random_layout_with_instances(96, 3)
    shifted = np.roll(ids, 2, axis=1)
    pred_inst = instances_from_classes(shifted)
    ours = pq_counts(inst, pred_inst)
    theirs = compute_panoptic_quality(torch.from_numpy(pred_inst), torch.from_numpy(inst.astype(np.int32)), output_confusion_matrix=True)
    assert ours[:3] == tuple(int(v) for v in theirs[:3]) and ours[3] == pytest.approx(float(theirs[3]), rel=1e-5)
    c, u = aji(inst, inst)
    assert c == u > 0
    assert aji(inst, np.zeros_like(inst))[0] == 0
    s = SegmentationScores(list(CONSEP.names[1:]))
    s.add(ids, ids, inst)
    perfect = s.result()
    assert perfect["mean_dice"] == pytest.approx(1.0) and perfect["mpq"] == pytest.approx(1.0) and perfect["aji"] == pytest.approx(1.0)


def test_fractions_are_drawn_by_source_tile_and_nested():
    stems = [f"train_{t}_{p:03d}" for t in range(1, 21) for p in range(16)]
    assert source_tile("train_10_003") == "train_10" and source_tile("train_003") == "train_003"
    small, large = choose_sources(stems, 0.1, seed=0), choose_sources(stems, 0.25, seed=0)
    assert len({source_tile(s) for s in small}) == 2 and len({source_tile(s) for s in large}) == 5
    assert small < large and len(small) == 32  # every patch of a chosen tile, none of the others
    assert choose_sources(stems, 0.1, seed=1) != small
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        choose_sources(stems, 0, seed=0)


@pytest.fixture
def bench_inputs(mini_dataset, tmp_path):
    ckpt = tmp_path / "tiny.safetensors"
    save_generator(ckpt, make_tiny_generator(), CONSEP, {"split": "train", "steps": 1, "disc": "patchgan"})
    return mini_dataset, ckpt


def test_segbench_runs_end_to_end_on_a_handful_of_tiles(bench_inputs, tmp_path, capsys):
    data, ckpt = bench_inputs
    out = tmp_path / "bench"
    rc = main(["segbench", "--checkpoints", str(ckpt), "--data", str(data), "--fractions", "0.5,1", "--seeds", "0-1",
               "--synthetic-ratio", "0.5", "--out", str(out), "--device", "cpu", *TINY])
    assert rc == 0, capsys.readouterr().err
    r = json.loads((out / "report.json").read_text())
    assert r["command"].startswith("python -m pathgan segbench --checkpoints ") and "--synthetic-ratio 0.5" in r["command"]
    assert r["sizes"]["0.5"]["real_pairs"] == 3 and r["sizes"]["0.5"]["synthetic_pairs"] == 2 and r["sizes"]["1"]["real_pairs"] == 6
    # Real-only once per (fraction, seed); each checkpoint adds two conditions.
    assert len(r["runs"]) == 2 * 2 * 3
    assert {(x["checkpoint"], x["condition"]) for x in r["runs"]} == {(None, "real"), ("tiny", "real+resampled"), ("tiny", "real+layouts")}
    gains = [row for row in r["summary"] if row["condition"] != "real"]
    assert len(gains) == 4 and all(row["gain"]["mean_dice"]["pairs"] == 2 for row in gains)
    assert r["checkpoints"]["tiny"]["provenance"]["split"] == "train" and len(r["checkpoints"]["tiny"]["sha256"]) == 64
    md = (out / "report.md").read_text()
    assert "real+layouts" in md and r["command"] in md
    with open(out / "dice.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_segbench_refuses_bad_input(bench_inputs, tmp_path, capsys):
    data, ckpt = bench_inputs
    base = ["segbench", "--data", str(data), "--out", str(tmp_path / "b"), "--device", "cpu", *TINY]
    saw_test = tmp_path / "saw_test.safetensors"
    save_generator(saw_test, make_tiny_generator(), CONSEP, {"split": "test"})
    assert main(base + ["--checkpoints", str(saw_test)]) == 2
    assert "trained on the 'test' split" in capsys.readouterr().err
    assert main(base + ["--checkpoints", str(ckpt), "--fractions", "0.1,2"]) == 2
    assert "--fractions" in capsys.readouterr().err
    assert main(base + ["--checkpoints", str(ckpt), "--seg-channels", "8"]) == 2
    assert "--seg-channels" in capsys.readouterr().err
