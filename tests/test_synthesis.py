import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from pathgan.masks import write_mask
from pathgan.schemes import CONSEP
from pathgan.seeds import parse_seeds
from pathgan.synthesis import TILE, Synthesizer, tile_starts
from conftest import make_tiny_generator, random_mask


@pytest.fixture(scope="module")
def synth():
    return Synthesizer(make_tiny_generator(ngf=8), CONSEP, "cpu")


def test_same_seed_is_bit_identical_alone_or_in_a_batch(synth):
    ids = random_mask()
    batch = synth.generate(ids, [5, 1, 2, 3])
    alone = synth.generate(ids, [1])[0]
    again = synth.generate(ids, [1])[0]
    assert np.array_equal(batch[1], alone) and np.array_equal(alone, again)
    assert batch[0].shape == (256, 256, 3) and batch[0].dtype == np.uint8


def test_different_seeds_give_different_images(synth):
    a, b = synth.generate(random_mask(), [0, 1])
    assert np.abs(a.astype(int) - b).mean() > 1.0


def test_small_and_odd_masks_keep_their_size(synth):
    for shape in [(100, 300), (37, 41), (256, 700), (1, 1)]:
        out = synth.generate(random_mask(shape, seed=1), [0])[0]
        assert out.shape == (*shape, 3)


def test_tiles_cover_large_masks_with_overlap():
    starts = tile_starts(1024)
    assert starts[0] == 0 and starts[-1] == 1024 - TILE
    assert all(TILE - (b - a) >= 64 for a, b in zip(starts, starts[1:]))


def _border_and_inside_gradients(img: np.ndarray, borders: list[int]):
    """Mean |gradient| across border columns/rows vs across interior ones at the same phase of the
    U-Net's 64-pixel grid (the network draws faint lines there in every tile, tiled or not)."""
    out = []
    for axis in (1, 0):
        grad = np.abs(np.diff(img.astype(np.float64), axis=axis)).mean(axis=(0 if axis == 1 else 1, 2))
        same_phase = [c for c in range(len(grad)) if c % 64 == borders[0] % 64 and c not in borders]
        out.append((grad[borders].mean(), grad[same_phase].mean()))
    return out


def test_tiled_1024_mask_has_no_seams(synth):
    ids = random_mask((1024, 1024), seed=7)
    img = synth.generate(ids, [3])[0]
    starts = tile_starts(1024)
    borders = sorted({s - 1 for s in starts[1:]} | {s + TILE - 1 for s in starts[:-1]})  # where tiles begin and end
    for border, inside in _border_and_inside_gradients(img, borders):
        assert border <= inside, (border, inside)


def test_bad_ids_are_refused(synth):
    with pytest.raises(ValueError, match="outside the scheme"):
        synth.generate(np.full((256, 256), 9, np.uint8), [0])


def test_seed_lists():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("0,4,10-12") == [0, 4, 10, 11, 12]
    for bad in ("", "a-b", "5-2", "-1"):
        with pytest.raises(ValueError):
            parse_seeds(bad)


def test_generate_command_writes_one_png_per_mask_and_seed(tmp_path, tiny_checkpoint):
    masks = tmp_path / "masks"
    masks.mkdir()
    write_mask(masks / "a.png", random_mask(seed=1))
    write_mask(masks / "b.png", random_mask((300, 200), seed=2), CONSEP)  # palette form, odd size
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "pathgan", "generate", "--checkpoint", str(tiny_checkpoint), "--masks", str(masks),
                        "--seeds", "0-2", "--out", str(out), "--device", "cpu"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{m}_seed{s:04d}.png" for m in "ab" for s in range(3)]
    assert Image.open(out / "b_seed0001.png").size == (200, 300)
    bad = subprocess.run([sys.executable, "-m", "pathgan", "generate", "--checkpoint", str(tmp_path / "nope.safetensors"),
                          "--masks", str(masks), "--out", str(out)], capture_output=True, text=True)
    assert bad.returncode == 2 and "no such checkpoint" in bad.stderr
