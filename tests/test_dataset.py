import numpy as np
import pytest
from PIL import Image

from pathgan.dataset import DatasetError, PairedDataset, augment, scan_dataset
from pathgan.masks import ids_to_palette
from pathgan.schemes import CONSEP
from helpers import random_mask


def test_consep_scans_clean(consep_root):
    train, test = scan_dataset(consep_root, "train", "consep"), scan_dataset(consep_root, "test", "consep")
    assert (len(train.pairs), len(test.pairs)) == (432, 224)
    assert train.problems == [] and test.problems == []


def _write_pair(root, stem, image, mask, split="train", suffix=".png"):
    (root / "images" / split).mkdir(parents=True, exist_ok=True)
    (root / "masks" / split).mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(root / "images" / split / f"{stem}{suffix}")
    Image.fromarray(mask).save(root / "masks" / split / f"{stem}.png")


def test_every_problem_is_reported_at_once(tmp_path):
    ok_mask = random_mask()
    _write_pair(tmp_path, "good", np.zeros((256, 256, 3), np.uint8), ok_mask)
    _write_pair(tmp_path, "badsize", np.zeros((300, 256, 3), np.uint8), ok_mask)
    _write_pair(tmp_path, "badclass", np.zeros((256, 256, 3), np.uint8), np.full((256, 256), 9, np.uint8))
    _write_pair(tmp_path, "small", np.zeros((100, 100, 3), np.uint8), np.zeros((100, 100), np.uint8))
    Image.fromarray(np.zeros((256, 256, 3), np.uint8)).save(tmp_path / "images" / "train" / "orphan.png")
    Image.fromarray(ok_mask).save(tmp_path / "masks" / "train" / "lonely.png")
    (tmp_path / "images" / "train" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    Image.fromarray(ok_mask).save(tmp_path / "masks" / "train" / "broken.png")
    scan = scan_dataset(tmp_path, "train", "consep")
    text = "\n".join(scan.problems)
    assert [p.stem for p in scan.pairs] == ["good"]
    for needle in ("orphan.png: no mask", "lonely.png: no image", "badsize.png: mask is 256x256 but its image is 256x300",
                   "badclass.png: class ids [9]", "small.png: 100x100 is smaller", "broken.jpg: not a readable image"):
        assert needle in text
    with pytest.raises(DatasetError, match="6 problem"):
        PairedDataset(scan)


def test_grey_rgba_and_large_images_are_served_as_rgb_crops(tmp_path):
    big = random_mask((1000, 1000))
    _write_pair(tmp_path, "grey", np.full((256, 256), 128, np.uint8), random_mask())
    _write_pair(tmp_path, "rgba", np.full((256, 256, 4), 200, np.uint8), random_mask())
    _write_pair(tmp_path, "big", ids_to_palette(big, CONSEP), big, suffix=".tif")
    ds = PairedDataset(scan_dataset(tmp_path, "train", CONSEP).raise_if_problems(), seed=1)
    for i in range(len(ds)):
        onehot, image = ds[i]
        assert onehot.shape == (4, 256, 256) and image.shape == (3, 256, 256)
        assert -1 <= image.min() and image.max() <= 1


def test_augmentation_is_seeded_and_exact_on_masks():
    ids = random_mask((400, 300), seed=2)
    image = ids_to_palette(ids, CONSEP)
    for seed in range(8):
        a_img, a_ids = augment(image, ids, np.random.default_rng(seed))
        b_img, b_ids = augment(image, ids, np.random.default_rng(seed))
        assert np.array_equal(a_ids, b_ids) and np.array_equal(a_img, b_img)
        assert a_ids.shape == (256, 256) and a_ids.dtype == np.uint8
        assert set(np.unique(a_ids)) <= set(np.unique(ids))  # never interpolated
        assert np.array_equal(ids_to_palette(a_ids, CONSEP), a_img)  # image and mask moved together
    outs = {augment(image, ids, np.random.default_rng(s))[1].tobytes() for s in range(8)}
    assert len(outs) > 4


def test_unstated_binary_masks_are_named_before_a_many_class_checkpoint_reads_them(tmp_path, capsys):
    from pathgan.checkpoint import save_generator
    from pathgan.cli import main
    from pathgan.dataset import checkpoint_data_scheme, held_out
    from pathgan.schemes import BINARY, SchemeError, SchemeMismatch
    from helpers import make_tiny_generator

    for i in range(3):
        _write_pair(tmp_path / "lab", f"t{i}", np.zeros((256, 256, 3), np.uint8), (random_mask(seed=i) > 0).astype(np.uint8))
    lab = tmp_path / "lab"
    with pytest.raises(SchemeError, match=r"hold only \{0, 1\}: nucleus or not.*--scheme binary and --class-map nucleus=epithelial"):
        checkpoint_data_scheme(lab, CONSEP)  # not read as 'miscellaneous' without a word
    with pytest.raises(SchemeMismatch, match="Map those classes onto the checkpoint's: --class-map nucleus=epithelial"):
        checkpoint_data_scheme(lab, CONSEP, scheme="binary")
    assert checkpoint_data_scheme(lab, CONSEP, scheme="binary", class_map="nucleus=epithelial") == BINARY
    assert checkpoint_data_scheme(lab, CONSEP, scheme="consep") == CONSEP  # said outright, so read as CoNSeP's ids
    ckpt = tmp_path / "c.safetensors"
    save_generator(ckpt, make_tiny_generator(), CONSEP)
    masks = lab / "masks" / "train"
    assert main(["generate", "--checkpoint", str(ckpt), "--masks", str(masks), "--out", str(tmp_path / "g"), "--device", "cpu"]) == 2
    assert "--scheme binary and --class-map nucleus=epithelial" in capsys.readouterr().err
    pairs = scan_dataset(lab, "train", "binary").pairs
    assert [[p.stem for p in part] for part in held_out(pairs, 2)] == [["t1"], ["t0", "t2"]] and held_out(pairs, 0)[1] == []
    with pytest.raises(ValueError, match="2 or more"):
        held_out(pairs, 1)
