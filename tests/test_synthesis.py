import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from pathgan.masks import write_mask
from pathgan.schemes import CONSEP
from pathgan.seeds import parse_seeds
from pathgan.synthesis import TILE, Synthesizer, tile_starts
from helpers import make_tiny_generator, random_mask


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


@pytest.mark.parametrize("precision,ngf", [("fp32", 8), ("bf16", 8), ("fp32", 4)])
def test_a_seed_is_bit_identical_alone_in_a_batch_and_at_any_position(precision, ngf):
    synth = Synthesizer(make_tiny_generator(ngf=ngf), CONSEP, "cpu", precision=precision, batch_size=8)
    ids = random_mask()
    alone = synth.generate(ids, [5])[0]
    assert synth.exact_sizes == {}  # one tile: nothing to check yet
    for seeds in ([5, 0, 1, 2, 3, 4, 6, 7], [0, 1, 2, 5, 3, 4, 6, 7], [0, 1, 2, 3, 4, 6, 7, 5], [9, 5, 8], list(range(12))):
        assert np.array_equal(synth.generate(ids, seeds)[seeds.index(5)], alone), seeds
    assert set(synth.exact_sizes) == {2, 4, 8}
    # A large mask's 25 tiles fill the batches differently with one seed and with three.
    big = random_mask((1024, 1024), seed=3)
    assert np.array_equal(synth.generate(big, [2])[0], synth.generate(big, [7, 2, 4])[1])
    synth.pad_batches = True  # the fixed-shape batches used on CUDA
    assert np.array_equal(synth.generate(ids, [5])[0], alone)


def test_batches_run_only_where_they_are_bit_exact():
    import torch

    class BatchSensitive(torch.nn.Module):  # output moves with the batch size, as some kernels' rounding does
        def __init__(self, inner):
            super().__init__()
            self.inner, self.cfg = inner, inner.cfg

        def forward(self, x, rngs=None):
            return self.inner(x, rngs) + 0.05 * (x.shape[0] - 1)

    from pathgan.models.layers import draw_normal

    class Elementwise(torch.nn.Module):  # nothing a kernel could order differently: exact at every batch size
        cfg = make_tiny_generator().cfg

        def forward(self, x, rngs=None):
            return torch.tanh(x[:, :3] + draw_normal((3, *x.shape[2:]), rngs, x.shape[0], x))

    exact = Synthesizer(Elementwise(), CONSEP, "cpu")
    exact.generate(random_mask(), list(range(8)))
    assert exact.exact_sizes == {8: True} and "checked bit-exact at [8]" in exact.describe()

    synth = Synthesizer(BatchSensitive(make_tiny_generator(ngf=8)), CONSEP, "cpu")
    ids = random_mask()
    many = synth.generate(ids, list(range(8)))
    assert synth.exact_sizes == {8: False, 4: False, 2: False} and "one tile at a time" in synth.describe()
    assert all(np.array_equal(many[s], synth.generate(ids, [s])[0]) for s in (0, 5, 7))
    batched = Synthesizer(BatchSensitive(make_tiny_generator(ngf=8)), CONSEP, "cpu")
    batched.exact_sizes = {8: True}  # trusting batches here would have changed the tiles
    assert not np.array_equal(batched.generate(ids, list(range(8)))[5], many[5])


def test_bf16_path_is_close_to_fp32_and_says_how_it_ran():
    generator = make_tiny_generator(ngf=8)
    fp32 = Synthesizer(generator, CONSEP, "cpu", precision="fp32")
    bf16 = Synthesizer(generator, CONSEP, "cpu", precision="bf16")
    a, b = fp32.generate(random_mask(), [0])[0], bf16.generate(random_mask(), [0])[0]
    assert 0 < np.abs(a.astype(int) - b).max() <= 2  # really ran in bf16, and within 2 grey levels
    assert fp32.describe().startswith("fp32") and bf16.describe().startswith("bf16 autocast")
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16"):
        Synthesizer(generator, CONSEP, "cpu", precision="fp16")


def test_auto_precision_follows_the_cpus_bf16_units(monkeypatch):
    import torch

    from pathgan import devices

    cpu = torch.device("cpu")
    for amx, avx512_bf16, units in [(True, False, "AMX-BF16"), (False, True, "AVX512-BF16"), (False, False, None)]:
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
        assert devices.bf16_units(cpu) == units
        assert devices.resolve_precision("auto", cpu) == ("bf16" if units else "fp32")
        assert devices.resolve_precision("fp32", cpu) == "fp32"
        if units:
            assert devices.fast_memory_format(cpu, "auto") == torch.channels_last
            assert "bf16 units: " + units in devices.describe_hardware(cpu)


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
