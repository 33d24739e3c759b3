import io
import json

import numpy as np
import pytest
from PIL import Image, ImageFilter

from pathgan.masks import MaskError, ids_to_palette, mask_from_array, palette_to_ids, read_mask, write_mask
from pathgan.dataset import stated_scheme
from pathgan.schemes import CONSEP, PRESETS, ClassScheme, SchemeError, named_scheme
from helpers import random_mask


def test_consep_scheme_matches_the_dataset_readme(consep_root):
    text = (consep_root / "README.md").read_text()
    assert CONSEP.num_classes == 4
    for i, name in enumerate(["background", "miscellaneous", "inflammatory", "epithelial", "spindle-shaped"]):
        assert CONSEP.names[i] == name and f"{i} {name}" in text
    assert PRESETS["consep"] == CONSEP and named_scheme("consep") == CONSEP  # CoNSeP states no scheme.json: name the preset
    assert stated_scheme(consep_root) is None


def test_scheme_round_trips_and_rejects_nonsense(tmp_path):
    s = ClassScheme(("bg", "a", "b"), ((0, 0, 0), (255, 0, 0), (0, 0, 255)))
    s.save(tmp_path / "scheme.json")
    assert ClassScheme.load(tmp_path / "scheme.json") == s and stated_scheme(tmp_path) == s
    assert json.loads((tmp_path / "scheme.json").read_text()) == {"names": ["bg", "a", "b"], "colours": [[0, 0, 0], [255, 0, 0], [0, 0, 255]]}
    (tmp_path / "us.json").write_text('{"names": ["bg", "a"], "colors": [[0, 0, 0], [1, 2, 3]]}')
    assert ClassScheme.load(tmp_path / "us.json").colors[1] == (1, 2, 3)  # either spelling
    for text, message in [('{"names": ["bg", "a"]}', "missing key 'colours'"), ('{"names": ["bg", "a"], "colours": [[0,0,0],[1,1,1]], "x": 1}', "unknown keys"),
                          ("{names: }", "not valid JSON"), ('{"names": ["bg", "a"], "colours": [[0,0,0],[1,1,300]]}', "0-255")]:
        (tmp_path / "bad.json").write_text(text)
        with pytest.raises(SchemeError, match=f"bad.json: .*{message}.*The format is:\n.*\"colours\""):
            ClassScheme.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="distinct"):
        ClassScheme(("bg", "a"), ((0, 0, 0), (0, 0, 0)))
    with pytest.raises(ValueError, match="names"):
        ClassScheme(("bg", "a"), ((0, 0, 0),))


def test_id_palette_round_trip_is_exact():
    ids = random_mask()
    assert np.array_equal(palette_to_ids(ids_to_palette(ids, CONSEP), CONSEP), ids)


@pytest.mark.parametrize("blur", ["jpeg", "antialias"])
def test_blurred_palette_snaps_to_nearest_class(blur):
    ids = random_mask(seed=3)
    img = Image.fromarray(ids_to_palette(ids, CONSEP))
    if blur == "jpeg":
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=70)
        rgb = np.asarray(Image.open(buf).convert("RGB"))
    else:
        rgb = np.asarray(img.filter(ImageFilter.GaussianBlur(0.7)))
    assert not np.array_equal(rgb, ids_to_palette(ids, CONSEP))  # the blur really changed colours
    snapped = palette_to_ids(rgb, CONSEP)
    assert set(np.unique(snapped)) <= set(range(5))
    assert (snapped == ids).mean() > 0.97  # only edge pixels may flip


def test_rgba_transparency_is_background_and_grey_rgb_ids_are_ids():
    ids = random_mask(seed=1)
    rgba = np.dstack([ids_to_palette(ids, CONSEP), np.full(ids.shape, 255, np.uint8)])
    rgba[:10, :, 3] = 0
    rgba[:10, :, :3] = 123  # colour under transparent pixels is ignored
    got = mask_from_array(rgba, CONSEP)
    assert (got[:10] == 0).all() and np.array_equal(got[10:], ids[10:])
    assert np.array_equal(mask_from_array(np.dstack([ids] * 3), CONSEP), ids)


def test_unknown_colours_are_an_error_that_names_the_file(tmp_path):
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[:, :32] = (128, 0, 255)  # purple: far from every CoNSeP colour
    path = tmp_path / "purple.png"
    Image.fromarray(rgb).save(path)
    with pytest.raises(MaskError, match=r"purple\.png.*match no class colour"):
        read_mask(path, CONSEP)


def test_bad_masks_give_clear_errors(tmp_path):
    bad_id = tmp_path / "ids.png"
    Image.fromarray(np.full((8, 8), 7, np.uint8)).save(bad_id)
    with pytest.raises(MaskError, match=r"ids\.png.*class ids \[7\] are outside the scheme"):
        read_mask(bad_id, CONSEP)
    not_image = tmp_path / "notes.png"
    not_image.write_text("hello")
    with pytest.raises(MaskError, match=r"notes\.png: not a readable image"):
        read_mask(not_image, CONSEP)
    with pytest.raises(MaskError, match="no such file"):
        read_mask(tmp_path / "missing.png", CONSEP)
    with pytest.raises(MaskError, match="shape"):
        mask_from_array(np.zeros((4, 4, 2), np.uint8), CONSEP)


def test_write_and_read_both_forms(tmp_path):
    ids = random_mask(seed=5)
    write_mask(tmp_path / "ids.png", ids)
    write_mask(tmp_path / "palette.png", ids, CONSEP)
    assert np.array_equal(read_mask(tmp_path / "ids.png", CONSEP), ids)
    assert np.array_equal(read_mask(tmp_path / "palette.png", CONSEP), ids)
