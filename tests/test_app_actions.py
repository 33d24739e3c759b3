"""The app's library functions, called directly (no server): what every button and the API endpoint do."""
from __future__ import annotations

import base64
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import make_tiny_generator, random_mask
from pathgan.app.actions import AppSettings, PathGANApp, UserError, default_concurrency, parse_args
from pathgan.app.limits import MAX_UPLOAD_BYTES, MAX_UPLOAD_SIDE
from pathgan.app.finetune_jobs import Limits
from pathgan.app.mask_canvas import png_data_url
from pathgan.checkpoint import CheckpointError, save_generator
from pathgan.app.checkpoints_index import (
    DEFAULT_SEARCH, SynthesizerCache, find_checkpoints, parse_search, read_report, report_path, resolve_checkpoint,
)
from pathgan.app.compare import CompareError, find_stem, list_splits, open_paired_folder, random_stem, step_stem
from pathgan.layouts import random_layout
from pathgan.masks import ids_to_palette
from pathgan.models import count_parameters
from pathgan.paths import ASSETS_DIR, BUNDLED_PAIRS, FINETUNE_DIR
from pathgan.app.overlay import contour_overlay, write_pair_zip
from pathgan.schemes import BINARY, CONSEP, ClassScheme, SchemeError


def save_tiny(path: Path, disc: str = "patchgan", steps: int = 1200, seed: int = 0, scheme: ClassScheme = CONSEP, **cfg) -> Path:
    save_generator(path, make_tiny_generator(seed, num_classes=scheme.num_classes, **cfg), scheme, {"disc": disc, "steps": steps, "data": "consep/train"})
    return path


@pytest.fixture
def ckpt_dir(tmp_path) -> Path:
    d = tmp_path / "checkpoints"
    d.mkdir()
    save_tiny(d / "a_patchgan.safetensors")
    save_tiny(d / "b_vanilla.safetensors", disc="vanilla", steps=800, seed=1)
    return d


@pytest.fixture
def app(ckpt_dir, tmp_path) -> PathGANApp:
    return PathGANApp(AppSettings(checkpoint_search=(str(ckpt_dir),), output_dir=tmp_path / "exports"))


def png_file(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    Image.fromarray(array, mode=mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


# -- settings --------------------------------------------------------------------------------------

def test_parse_args_defaults_flags_and_environment(tmp_path):
    s, o = parse_args([], environ={})
    assert (o.host, o.port, o.share) == ("127.0.0.1", 7860, False)
    assert s.checkpoint_search == (*DEFAULT_SEARCH, str(FINETUNE_DIR)) and s.data is None and s.device == "auto" and not s.allow_local_paths
    assert s.precision == "auto" and parse_args([], environ={"PATHGAN_PRECISION": "fp32"})[0].precision == "fp32"
    assert parse_args(["--precision", "bf16"], environ={"PATHGAN_PRECISION": "fp32"})[0].precision == "bf16"

    env = {"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "7000", "GRADIO_SHARE": "true",
           "PATHGAN_CHECKPOINTS": f"{tmp_path}/x{os.pathsep}{tmp_path}/y", "PATHGAN_COMPARE_DATA": str(tmp_path)}
    s, o = parse_args([], environ=env)  # what a Space sets
    assert (o.host, o.port, o.share) == ("0.0.0.0", 7000, True)
    assert s.checkpoint_search == (f"{tmp_path}/x", f"{tmp_path}/y", str(FINETUNE_DIR)) and s.data == str(tmp_path)

    s, o = parse_args(["--host", "10.0.0.1", "--port", "9000", "--share", "--checkpoints", "rel,/abs", "--data", "d", "--concurrency", "3"], environ=env)
    assert (o.host, o.port, o.share) == ("10.0.0.1", 9000, True)  # flags beat the environment
    assert s.checkpoint_search == (os.path.abspath("rel"), "/abs", str(FINETUNE_DIR)) and s.data == os.path.abspath("d") and s.concurrency == 3
    with pytest.raises(SystemExit):
        parse_args(["--port", "0"], environ={})


def test_launch_options_and_concurrency():
    import app as app_module

    kw = app_module.launch_kwargs(parse_args(["--port", "7999", "--share"], environ={})[1])
    assert kw["server_name"] == "127.0.0.1" and kw["server_port"] == 7999 and kw["share"] is True
    # Gradio's one limit is the largest upload, a fine-tuning zip (a lab's data is hundreds of MB); masks keep their 20 MB
    assert kw["max_file_size"] == Limits().max_zip_bytes >= 1 * 2**30 and MAX_UPLOAD_BYTES == 20 * 2**20
    assert default_concurrency("cpu") == 1


def test_the_live_previews_errors_come_back_in_the_reply(caplog):
    """The page calls the preview outside the queue: a user error is the reply's `error`, and a bug is logged too."""
    import app as app_module

    def refuse(query):
        raise UserError("The canvas is empty")

    def crash(query):
        return [][1]

    assert app_module.preview_errors(refuse)({}) == {"error": "The canvas is empty"}
    with caplog.at_level("ERROR", logger="pathgan.app"):
        reply = app_module.preview_errors(crash)({})
    assert reply["error"].startswith("Something went wrong (IndexError") and "still running" in reply["error"]
    assert "Traceback" in caplog.text and "crash" in caplog.text


def test_a_user_error_is_a_toast_and_a_bug_is_a_logged_fault(caplog):
    """The app's two edges: a PathGANError is shown as it is; anything else, a ValueError included, is a bug that is
    logged with its traceback and shown as a fault, never as a user's mistake."""
    import logging

    import gradio as gr

    import app as app_module

    def user_error(x):
        raise CheckpointError(f"{x}.safetensors: no such checkpoint file")

    def broken_numpy(x):
        return np.zeros(2) + np.zeros(3)  # ValueError: operands could not be broadcast

    def broken_index(x):
        return [][x]

    caplog.set_level(logging.INFO, logger="pathgan.app")
    with pytest.warns(UserWarning, match="gone.safetensors: no such checkpoint file"):  # gr.Warning outside a request
        assert app_module.shown_errors(user_error, 2)("gone") == (gr.skip(), gr.skip())
    with pytest.raises(gr.Error, match="no such checkpoint file") as shown:
        app_module.api_errors(user_error)("gone")
    assert "Something went wrong" not in str(shown.value) and not caplog.records  # a user error is not logged as a fault
    for fn, kind in ((broken_numpy, ValueError), (broken_index, IndexError)):
        for edge in (app_module.shown_errors(fn, 2), app_module.api_errors(fn)):
            caplog.clear()
            with pytest.raises(gr.Error, match=rf"Something went wrong \({kind.__name__}: .*The app is still running"):
                edge(1)
            [record] = caplog.records
            assert record.levelname == "ERROR" and fn.__name__ in record.getMessage() and record.exc_info[0] is kind


# -- checkpoints -----------------------------------------------------------------------------------

def test_find_and_label_checkpoints(ckpt_dir, tmp_path):
    (ckpt_dir / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    run = tmp_path / "runs" / "finetune1"
    run.mkdir(parents=True)
    save_tiny(run / "last.safetensors", disc="vanilla", steps=50)
    entries = find_checkpoints((str(ckpt_dir), str(tmp_path / "runs" / "*")))
    assert [e.name for e in entries] == ["a_patchgan", "b_vanilla", "broken", "last"]
    a, b, broken, last = entries
    assert "patchgan" in a.label and "1,200 steps" in a.label
    assert "vanilla" in b.label and "vanilla" in last.label and "50 steps" in last.label
    assert broken.error and "unreadable" in broken.label
    assert parse_search(f"a{os.pathsep}b,c") == ("a", "b", "c") and parse_search("") == DEFAULT_SEARCH


def test_resolve_checkpoint_by_name_label_or_path_only_among_listed(ckpt_dir, tmp_path):
    entries = find_checkpoints((str(ckpt_dir),))
    a = entries[0]
    assert resolve_checkpoint(entries, "") is a  # empty, no reports: the first usable
    report_path(entries[1].path).write_text(json.dumps({"fid": 99.0}))
    assert resolve_checkpoint(entries, "") is a  # a report is read with its checkpoint, at a scan
    entries = find_checkpoints((str(ckpt_dir),))
    a = entries[0]
    assert entries[1].report == {"fid": 99.0} and resolve_checkpoint(entries, "") is entries[1]  # the best evaluated
    for key in (a.name, a.label, str(a.path)):
        assert resolve_checkpoint(entries, key) is a
    with pytest.raises(CheckpointError, match="no checkpoint 'nope'"):
        resolve_checkpoint(entries, "nope")
    elsewhere = save_tiny(tmp_path / "elsewhere.safetensors")
    with pytest.raises(CheckpointError):  # a real checkpoint, but not a listed one
        resolve_checkpoint(entries, str(elsewhere))
    with pytest.raises(CheckpointError, match="No checkpoint found"):
        resolve_checkpoint([], None)


def test_report_beside_checkpoint_or_in_evaluate_default_folder(ckpt_dir, tmp_path):
    ckpt = ckpt_dir / "a_patchgan.safetensors"
    evals = tmp_path / "eval"
    assert report_path(ckpt).name == "a_patchgan.report.json" and read_report(ckpt, evals) is None
    (evals / "a_patchgan").mkdir(parents=True)
    (evals / "a_patchgan" / "report.json").write_text(json.dumps({"checkpoint": str(ckpt), "fid": 50.0}))
    assert read_report(ckpt, evals)["fid"] == 50.0  # where `python -m pathgan evaluate` writes by default
    (evals / "a_patchgan" / "report.json").write_text(json.dumps({"checkpoint": "other/a_patchgan.safetensors", "fid": 1.0}))
    assert read_report(ckpt, evals) is None  # same stem, another checkpoint's report
    report_path(ckpt).write_text(json.dumps({"fid": 41.5, "kid": {"mean": 0.02}}))
    assert read_report(ckpt, evals)["fid"] == 41.5  # beside the checkpoint wins
    report_path(ckpt).write_text("{oops")
    assert "unreadable" in read_report(ckpt)["error"]


def test_synthesizer_cache_reloads_replaced_file_and_explains_missing(ckpt_dir):
    cache = SynthesizerCache("cpu")
    path = ckpt_dir / "a_patchgan.safetensors"
    first = cache.get(path)
    assert cache.get(path) is first
    save_tiny(path, seed=5)
    os.utime(path, ns=(1, 10**18))  # a new mtime, as a replaced file has
    assert cache.get(path) is not first
    path.unlink()
    with pytest.raises(CheckpointError, match="gone"):
        cache.get(path)


def test_default_checkpoint_is_the_best_evaluated_one(ckpt_dir, tmp_path):
    settings = AppSettings(checkpoint_search=(str(ckpt_dir),), output_dir=tmp_path / "exports")
    assert PathGANApp(settings).catalog.default().endswith("a_patchgan.safetensors")  # no reports: the first
    report_path(ckpt_dir / "a_patchgan.safetensors").write_text(json.dumps({"fid": 170.1}))
    report_path(ckpt_dir / "b_vanilla.safetensors").write_text(json.dumps({"fid": 150.8}))
    assert PathGANApp(settings).catalog.default().endswith("b_vanilla.safetensors")
    report_path(ckpt_dir / "b_vanilla.safetensors").write_text("{not json")  # unreadable report: not a winner
    assert PathGANApp(settings).catalog.default().endswith("a_patchgan.safetensors")


# -- masks: canvas, uploads, examples, random layouts --------------------------------------------

def canvas_as_page_writes_it(ids: np.ndarray, scheme: ClassScheme) -> str:
    """A canvas value as mask_canvas.js writes it: an RGBA PNG with the id in R, G and B, opaque."""
    rgba = np.dstack([ids, ids, ids, np.full_like(ids, 255)]).astype(np.uint8)
    return json.dumps({"classes": list(scheme.names), "colours": [list(c) for c in scheme.colors], "ids": png_data_url(rgba)})


def data_url_image(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def load(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_canvas_value_round_trips(app):
    ids = random_layout(256, 1)
    value = app.synthesis.canvas_value(ids, CONSEP)
    assert json.loads(value)["classes"] == list(CONSEP.names) and len(value) < 20_000  # a small PNG of ids
    assert np.array_equal(app.synthesis.mask_from_canvas(value, CONSEP), ids)
    assert np.array_equal(app.synthesis.mask_from_canvas(canvas_as_page_writes_it(ids, CONSEP), CONSEP), ids)
    drawn, scheme = app.synthesis.read_canvas(canvas_as_page_writes_it(ids, CONSEP))
    assert scheme == CONSEP and np.array_equal(drawn, ids)


def test_empty_canvas_is_a_clear_error(app):
    with pytest.raises(UserError, match="canvas is empty"):
        app.synthesis.mask_from_canvas(app.synthesis.blank_canvas(256, CONSEP), CONSEP)


@pytest.mark.parametrize("value", [None, "", "{}", "not json", json.dumps({"classes": ["bg", "a"], "colours": [[0, 0, 0], [1, 1, 1]], "ids": "x"}),
                                   json.dumps({"classes": ["bg"], "colours": [[0, 0, 0]], "ids": "data:image/png;base64,AAAA"}),
                                   json.dumps({"classes": ["bg", "a"], "colours": [[0, 0, 0], [1, 1, 1]], "ids": "data:image/png;base64,AAAA"}),
                                   "x" * (17 * 2**20)])
def test_a_canvas_value_that_is_not_a_mask_is_refused(app, value):
    with pytest.raises(UserError, match="not a mask"):
        app.synthesis.mask_from_canvas(value, CONSEP)


def test_canvas_values_out_of_range_or_too_large_are_refused(app):
    ids = random_layout(256, 1)
    with pytest.raises(UserError, match="class id 4, but it draws 1 class"):  # CoNSeP ids under a binary canvas's names
        app.synthesis.mask_from_canvas(canvas_as_page_writes_it(ids, CONSEP).replace(json.dumps(list(CONSEP.names)), json.dumps(list(BINARY.names)))
                             .replace(json.dumps([list(c) for c in CONSEP.colors]), json.dumps([list(c) for c in BINARY.colors])), BINARY)
    with pytest.raises(UserError, match="1025×1025 px; the app synthesizes up to 1024×1024"):
        app.synthesis.mask_from_canvas(canvas_as_page_writes_it(np.zeros((1025, 1025), np.uint8), CONSEP), CONSEP)
    with pytest.raises(UserError, match="the canvas draws 1 class \\(nucleus\\), but the checkpoint needs 4 classes"):
        app.synthesis.mask_from_canvas(app.synthesis.canvas_value(ids > 0, BINARY), CONSEP)


def test_canvas_sizes(app):
    assert app.synthesis.read_canvas(app.synthesis.blank_canvas(512, CONSEP))[0].shape == (512, 512)
    with pytest.raises(UserError, match="canvas size must be one of"):
        app.synthesis.blank_canvas(300, CONSEP)
    ids = random_layout(256, 2)
    grown = app.synthesis.mask_from_canvas(app.synthesis.canvas_for_size(app.synthesis.canvas_value(ids, CONSEP), 512, CONSEP), CONSEP)
    assert grown.shape == (512, 512) and np.array_equal(grown[:256, :256], ids) and not grown[256:].any()
    assert app.synthesis.read_canvas(app.synthesis.canvas_for_size(None, 768, CONSEP))[0].shape == (768, 768)


def test_uploads_of_id_and_palette_masks(app, tmp_path):
    ids = random_mask(seed=3)
    assert np.array_equal(app.synthesis.mask_from_upload(png_file(tmp_path / "ids.png", ids), CONSEP), ids)
    assert np.array_equal(app.synthesis.mask_from_upload(png_file(tmp_path / "pal.png", ids_to_palette(ids, CONSEP)), CONSEP), ids)
    odd = random_mask((300, 200), seed=4)  # any size up to the limit; synthesis tiles or pads it
    assert app.synthesis.mask_from_upload(png_file(tmp_path / "odd.png", odd), CONSEP).shape == (300, 200)


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height, with no pixel data: the shape of a decompression bomb."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


def test_bad_uploads_get_clear_messages(app, tmp_path):
    cases = {
        "bomb.png": (lambda p: png_header_only(p, 40000, 40000), "far too large; uploads are limited to 4096"),
        "corrupt.png": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(500)), "not a readable image"),
        "text.png": (lambda p: p.write_text("hello"), "not a readable image"),
        "huge.png": (lambda p: png_file(p, np.zeros((8, MAX_UPLOAD_SIDE + 1), np.uint8)), "limited to 4096"),
        "big.png": (lambda p: png_file(p, np.pad(random_mask(seed=1), ((0, 1792), (0, 1792)))), "synthesizes up to 1024"),
        "heavy.png": (lambda p: p.write_bytes(os.urandom(21 * 2**20)), "limited to 20 MB"),
        "white.png": (lambda p: png_file(p, np.full((64, 64, 3), 255, np.uint8)), "match no class colour"),
        "ids9.png": (lambda p: png_file(p, np.full((64, 64), 9, np.uint8)), "outside the scheme"),
        "empty.png": (lambda p: png_file(p, np.zeros((64, 64), np.uint8)), "only background"),
    }
    for name, (make, message) in cases.items():
        path = tmp_path / name
        make(path)
        with pytest.raises(UserError, match=message):
            app.synthesis.mask_from_upload(path, CONSEP)
    with pytest.raises(UserError, match="no file"):
        app.synthesis.mask_from_upload(None, CONSEP)


def test_examples_are_small_consep_like_masks(app):
    files = sorted(ASSETS_DIR.glob("example_*.png"))
    examples = app.synthesis.example_masks(CONSEP)
    assert len(examples) == len(files) >= 3 and all(f.stat().st_size < 100_000 for f in files)
    for i, (ids, caption) in enumerate(examples):
        assert np.array_equal(app.synthesis.load_example(i, CONSEP)[0], ids) and caption
        share = (ids > 0).mean()
        assert ids.shape[0] >= 256 and 0.05 < share < 0.6 and ids.max() <= 4
    with pytest.raises(UserError):
        app.synthesis.load_example(len(examples), CONSEP)
    # In another scheme: remapped where it is obvious (any nucleus class -> nucleus), hidden where it is not.
    binary = app.synthesis.example_masks(BINARY)
    assert [c for _, c in binary] == [f"layout {i + 1}" for i in range(len(examples))]  # CoNSeP's class words would mislead
    assert all(np.array_equal(b, (e > 0).astype(np.uint8)) for (b, _), (e, _) in zip(binary, examples))
    assert app.synthesis.example_masks(ClassScheme(("bg", "a", "b"), ((0, 0, 0), (9, 9, 9), (99, 99, 99)))) == []


def test_random_layout_button(app):
    ids, seed = app.synthesis.random_mask(256, CONSEP, seed=5)
    assert seed == 5 and np.array_equal(ids, random_layout(256, 5))
    ids, seed = app.synthesis.random_mask(512, CONSEP)
    assert ids.shape == (512, 512) and np.array_equal(ids, random_layout(512, seed))
    assert "epithelial" in app.synthesis.describe_mask(ids, CONSEP)
    ids, _ = app.synthesis.random_mask(256, BINARY, seed=5)
    assert np.array_equal(ids, random_layout(256, 5) > 0) and "nucleus" in app.synthesis.describe_mask(ids, BINARY)


# -- synthesis -------------------------------------------------------------------------------------

def test_synthesize_batch_is_seeded_and_timed(app):
    ids = random_layout(256, 0)
    r = app.synthesis.synthesize(ids, None, 10, 3)
    assert r.seeds == [10, 11, 12] and len(r.images) == 3 and r.images[0].shape == (256, 256, 3)
    assert r.info()["precision"] in ("fp32", "bf16") and f"on cpu ({r.precision})" in r.summary()
    assert r.seconds > 0 and "3 tiles of 256×256" in r.summary() and "patchgan" in r.summary()
    assert r.info()["post_processing"] == "none (lossless network output)" and "post-processing: none" in r.summary()
    again = app.synthesis.synthesize(ids, "a_patchgan", 11, 1)
    assert np.array_equal(again.images[0], r.images[1])  # alone or with other seeds, a seed gives the same tile
    other = app.synthesis.synthesize(ids, "b_vanilla", 10, 1)
    assert other.checkpoint.disc == "vanilla" and not np.array_equal(other.images[0], r.images[0])


def test_large_canvas_uses_tiled_synthesis(app):
    r = app.synthesis.synthesize(random_layout(512, 1), None, 0, 1)
    assert r.images[0].shape == (512, 512, 3)


@pytest.mark.parametrize("seed,n,message", [(0, 0, "variations must be between 1 and 8"), (0, 9, "between 1 and 8"),
                                            (-1, 1, "seed must be between"), ("x", 1, "whole numbers")])
def test_bad_generation_controls(app, seed, n, message):
    with pytest.raises(UserError, match=message):
        app.synthesis.synthesize(random_mask(), None, seed, n)


def test_live_preview_is_the_first_seeds_tile_of_generate(app):
    ids = random_layout(256, 4)
    canvas = canvas_as_page_writes_it(ids, CONSEP)
    reply = app.synthesis.live_preview({"canvas": canvas, "checkpoint": "", "seed": 7, "overlay": False})
    assert reply["seed"] == 7 and "seed 7" in reply["summary"] and reply["timings"]["server_ms"] >= reply["timings"]["synthesis_ms"] > 0
    full = app.synthesis.generate_from_canvas(canvas, None, 7, 3, False)[4]
    assert np.array_equal(data_url_image(reply["tile"]), full.images[0])  # the preview is the tile Generate gives for that seed
    outlined = app.synthesis.live_preview({"canvas": canvas, "checkpoint": "b_vanilla", "seed": 7, "overlay": True})
    other = app.synthesis.generate_from_canvas(canvas, "b_vanilla", 7, 1, True)
    assert np.array_equal(data_url_image(outlined["tile"]), load(other[0][0][0]))  # the checkpoint and overlay it is given
    with pytest.raises(UserError, match="canvas is empty"):
        app.synthesis.live_preview({"canvas": app.synthesis.blank_canvas(256, CONSEP), "checkpoint": "", "seed": 0})
    with pytest.raises(UserError, match="seed must be between"):
        app.synthesis.live_preview({"canvas": canvas, "seed": -3})
    with pytest.raises(UserError, match="no checkpoint '/etc/passwd'"):  # only listed checkpoints, never a path the page names
        app.synthesis.live_preview({"canvas": canvas, "checkpoint": "/etc/passwd", "seed": 0})
    with pytest.raises(UserError, match="needs \\{canvas"):
        app.synthesis.live_preview(["not", "a", "dict"])


def test_gallery_overlay_and_zip(app):
    ids = random_layout(256, 3)
    gallery, palette, zip_path, status, result = app.synthesis.generate_from_canvas(app.synthesis.canvas_value(ids, CONSEP), None, 4, 2, False)
    assert [c for _, c in gallery] == ["seed 4", "seed 5"] and np.array_equal(load(palette), ids_to_palette(ids, CONSEP))
    assert [Path(p).name for p, _ in gallery] == ["synthetic_seed0004.png", "synthetic_seed0005.png"]
    assert np.array_equal(load(gallery[1][0]), result.images[1])
    assert "in " in status and " s on cpu" in status
    outlined = app.synthesis.gallery(result, overlay=True)
    assert not np.array_equal(load(outlined[0][0]), load(gallery[0][0]))
    with zipfile.ZipFile(zip_path) as z:
        assert sorted(z.namelist()) == ["info.json", "mask_ids.png", "mask_palette.png", "synthetic_seed0004.png", "synthetic_seed0005.png"]
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(z.read("mask_ids.png")))), ids)
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(z.read("synthetic_seed0005.png")))), result.images[1])
        assert json.loads(z.read("info.json"))["checkpoint"] == "a_patchgan"


def test_api_synthesize_takes_a_mask_file(app, tmp_path):
    ids = random_layout(256, 4)
    tiles, palette, zip_path, info = app.synthesis.api_synthesize(str(png_file(tmp_path / "m.png", ids)), 2, 2, "b_vanilla")
    assert len(tiles) == 2 and info["seeds"] == [2, 3] and info["discriminator"] == "vanilla" and Path(zip_path).exists()


def test_missing_broken_and_absent_checkpoints(app, ckpt_dir, tmp_path):
    ids = random_mask()
    (ckpt_dir / "broken.safetensors").write_bytes(b"garbage")
    app.catalog.rescan()
    assert "1 unreadable" in app.catalog.status()
    with pytest.raises(UserError, match="too short|not a safetensors"):
        app.synthesis.synthesize(ids, str(ckpt_dir / "broken.safetensors"), 0, 1)
    (ckpt_dir / "b_vanilla.safetensors").unlink()  # deleted after the list was made
    with pytest.raises(UserError, match="gone"):
        app.synthesis.synthesize(ids, "b_vanilla", 0, 1)
    empty = PathGANApp(AppSettings(checkpoint_search=(str(tmp_path / "none"),)))
    assert "No checkpoint found" in empty.catalog.status()
    with pytest.raises(UserError, match="No checkpoint found"):
        empty.synthesis.synthesize(ids, None, 0, 1)


def test_the_canvas_follows_the_checkpoints_scheme(tmp_path):
    d = tmp_path / "c"
    d.mkdir()
    three = ClassScheme(("bg", "a", "b", "c"), ((0, 0, 0), (128, 0, 128), (0, 255, 255), (255, 255, 255)))
    save_tiny(d / "three.safetensors", scheme=three)
    save_tiny(d / "nuclei.safetensors", scheme=BINARY)
    save_tiny(d / "consep.safetensors")
    app = PathGANApp(AppSettings(checkpoint_search=(str(d),), output_dir=tmp_path / "exports"))
    assert app.catalog.scheme_for(str(d / "three.safetensors")) == three and app.catalog.scheme_for("nuclei") == BINARY
    # A mask drawn in the checkpoint's own colours synthesizes; its snapped mask and zip are in those colours.
    ids, _ = app.synthesis.random_mask(256, three, seed=1)
    canvas = app.synthesis.canvas_value(ids, three)
    tiles, snapped, pair_zip, status, result = app.synthesis.generate_from_canvas(canvas, "three", 0, 1, False)
    assert result.scheme == three and {tuple(c) for c in np.unique(load(snapped).reshape(-1, 3), axis=0)} <= set(three.colors)
    with zipfile.ZipFile(pair_zip) as z:
        assert json.loads(z.read("info.json"))["scheme"]["names"] == list(three.names)
    # A canvas of CoNSeP's classes is not this checkpoint's: a clear refusal that names both.
    with pytest.raises(UserError, match="the canvas draws 4 classes .*needs 3 classes \\(a, b, c\\)"):
        app.synthesis.generate_from_canvas(app.synthesis.canvas_value(random_mask(), CONSEP), "three", 0, 1, False)
    # Switching checkpoints: kept where the mapping is obvious, cleared otherwise, untouched for the same classes.
    consep_canvas = app.synthesis.canvas_value(random_layout(256, 2), CONSEP)
    value, note = app.synthesis.canvas_for_scheme(consep_canvas, BINARY)
    assert np.array_equal(app.synthesis.mask_from_canvas(value, BINARY), random_layout(256, 2) > 0) and "kept" in note
    value, note = app.synthesis.canvas_for_scheme(consep_canvas, three)
    assert "Canvas cleared" in note and "3 classes (a, b, c)" in note and app.synthesis.read_canvas(value)[1] == three
    assert not app.synthesis.read_canvas(value)[0].any()
    assert app.synthesis.canvas_for_scheme(consep_canvas, CONSEP) == (None, "")
    value, note = app.synthesis.canvas_for_scheme(app.synthesis.blank_canvas(512, CONSEP), three)  # nothing drawn: the same size, new classes
    assert app.synthesis.read_canvas(value)[0].shape == (512, 512) and note == "The canvas now draws 3 classes (a, b, c)."
    # The API reads an uploaded mask in the chosen checkpoint's scheme: 0/255 is nucleus/background for a binary one.
    binary_file = png_file(tmp_path / "binary.png", np.where(random_layout(256, 4) > 0, 255, 0).astype(np.uint8))
    tiles, _, _, info = app.synthesis.api_synthesize(str(binary_file), 0, 1, "nuclei")
    assert len(tiles) == 1 and info["classes"] == ["background", "nucleus"]
    with pytest.raises(UserError, match="looks like a binary mask"):
        app.synthesis.api_synthesize(str(binary_file), 0, 1, "consep")


def test_the_canvas_scheme_falls_back_to_consep_only_without_a_checkpoint(tmp_path):
    d = tmp_path / "c"
    save_tiny(d / "nuclei.safetensors", scheme=BINARY)
    save_tiny(d / "consep.safetensors")
    report_path(d / "nuclei.safetensors").write_text(json.dumps({"fid": 10.0}))  # the best evaluated: the default
    app = PathGANApp(AppSettings(checkpoint_search=(str(d),), output_dir=tmp_path / "exports"))
    assert app.catalog.scheme_for(None) == BINARY and app.catalog.scheme_for("consep") == CONSEP  # none chosen: the default's
    with pytest.raises(UserError, match="no checkpoint 'elsewhere' among those found"):
        app.catalog.scheme_for("elsewhere")  # once silently CoNSeP's classes
    (d / "broken.safetensors").write_bytes(b"garbage")
    app.catalog.rescan()
    with pytest.raises(UserError, match="too short|not a safetensors"):
        app.catalog.scheme_for("broken")
    # Gone after a rescan: a canvas drawn in its classes still says what they were, and is carried over to the new choice.
    drawn = app.synthesis.canvas_value(random_layout(256, 3) > 0, BINARY)
    (d / "nuclei.safetensors").unlink()
    app.catalog.rescan()
    with pytest.raises(UserError, match="no checkpoint"):
        app.catalog.scheme_for(str(d / "nuclei.safetensors"))
    value, note = app.synthesis.canvas_for_scheme(drawn, app.catalog.scheme_for("consep"))
    assert note.startswith("Canvas cleared: it was drawn in 1 class (nucleus)") and app.synthesis.read_canvas(value)[1] == CONSEP
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.safetensors").write_bytes(b"garbage")
    for empty in (PathGANApp(AppSettings(checkpoint_search=(str(tmp_path / "none"),))),
                  PathGANApp(AppSettings(checkpoint_search=(str(tmp_path / "bad"),)))):
        assert empty.catalog.scheme_for(empty.catalog.default()) == CONSEP  # nothing to choose: the canvas draws CoNSeP's classes


def test_contour_overlay_and_pair_zip(tmp_path):
    ids = np.zeros((64, 64), np.uint8)
    ids[20:40, 20:40] = 3
    img = np.full((64, 64, 3), 128, np.uint8)
    out = contour_overlay(img, ids, CONSEP)
    assert tuple(out[20, 30]) == CONSEP.colors[3] and tuple(out[30, 30]) == (128, 128, 128) and tuple(out[5, 5]) == (128, 128, 128)
    with pytest.raises(ValueError, match="mask is"):
        contour_overlay(img, ids[:10], CONSEP)
    z = write_pair_zip(tmp_path / "p.zip", ids, [img], [7], CONSEP, {"note": "x"})
    with zipfile.ZipFile(z) as f:
        assert json.loads(f.read("info.json"))["seeds"] == [7]


# -- compare tab -----------------------------------------------------------------------------------

def test_compare_navigation():
    stems = ["a_1", "a_2", "b_1"]
    assert step_stem(stems, "a_1", 1) == "a_2" and step_stem(stems, "a_1", -1) == "b_1" and step_stem(stems, "b_1", 1) == "a_1"
    assert step_stem(stems, None, 1) == "a_1"
    assert all(random_stem(stems, "a_2", seed=s) != "a_2" for s in range(10))
    assert find_stem(stems, "b_1") == "b_1" and find_stem(stems, "b_1.png") == "b_1" and find_stem(stems, "B_") == "b_1"
    with pytest.raises(CompareError, match="2 pairs match"):
        find_stem(stems, "a_")
    with pytest.raises(CompareError, match="no pair matches"):
        find_stem(stems, "zzz")


def test_compare_dataset_folder(consep_root, tmp_path):
    assert list_splits(consep_root) == ["test", "train"]
    with pytest.raises(SchemeError, match="(?s)states no class scheme .* --scheme consep"):
        open_paired_folder(consep_root)  # no scheme.json and no checkpoint's scheme: never a guess
    folder = open_paired_folder(consep_root, scheme=CONSEP)
    assert folder.split == "test" and len(folder.stems) == 224
    image, ids = folder.load(folder.stems[0])
    assert image.shape == (256, 256, 3) and ids.shape == (256, 256)
    with pytest.raises(CompareError, match="python app.py --data"):
        open_paired_folder(None)
    with pytest.raises(CompareError, match="does not exist"):
        open_paired_folder(tmp_path / "nowhere")
    with pytest.raises(CompareError, match="no split 'val'"):
        open_paired_folder(consep_root, "val", CONSEP)


def test_compare_view(consep_root, ckpt_dir, tmp_path):
    app = PathGANApp(AppSettings(checkpoint_search=(str(ckpt_dir),), data=str(consep_root)))
    stem = app.compare.step("test", None, 1)
    items, status = app.compare.view("test", stem, None, "0-2", False)
    assert [c for _, c in items] == [f"real · {stem}", "mask", "synthetic · seed 0", "synthetic · seed 1", "synthetic · seed 2"]
    assert {load(p).shape for p, _ in items} == {(256, 256, 3)}  # side by side at the same size
    assert f"{stem} (1/224)" in status
    outlined, _ = app.compare.view("test", stem, None, "0", True)
    assert not np.array_equal(load(outlined[0][0]), load(items[0][0]))
    assert app.compare.find("test", "test_3_003") == "test_3_003"
    assert app.compare.random("test", stem) != stem and app.compare.step("train", None, -1).startswith("train_")
    with pytest.raises(UserError, match="at most 8 seeds"):
        app.compare.view("test", stem, None, "0-9", False)
    no_ckpt = PathGANApp(AppSettings(checkpoint_search=(str(tmp_path / "none"),), data=str(consep_root)))
    items, status = no_ckpt.compare.view("test", stem, None, "0", False)
    assert len(items) == 2 and "No checkpoint found" in status
    # Without --data: the bundled 48-pair CoNSeP test sample, and how to browse one's own.
    bundled = PathGANApp(AppSettings(checkpoint_search=(str(ckpt_dir),), output_dir=tmp_path / "exports"))
    items, status = bundled.compare.view_if_ready(None, None, None, "0", False)
    assert len(items) == 3 and "(1/48)" in status and bundled.compare.paired_data() == BUNDLED_PAIRS
    assert "48 pairs of the bundled CoNSeP test-split sample" in bundled.compare.status() and "`images/<split>/`" in bundled.compare.status()


# -- model tab -------------------------------------------------------------------------------------

def test_model_card(app, ckpt_dir, tmp_path):
    card = app.cards.card(None)
    params = count_parameters(make_tiny_generator())
    assert "a_patchgan" in card.summary and "patchgan" in card.summary and "1,200 steps" in card.summary and "no report yet" in card.summary
    assert "ngf=4" in card.details and f"{params:,}" in card.details and card.sample_sheet is None and card.curve is None
    assert "data: train (content hash not recorded)" in card.summary  # older checkpoints: the folder's name only
    report = {"fid": 37.25, "kid": 0.0123, "kid_std": 0.0011, "precision": 0.61, "split": "test", "n": {"masks": 224, "seeds": 4},
              "floor": {"what": "real train vs real test", "fid": 12.5, "kid": 0.002, "kid_std": 0.0003},
              "memorisation": {"ratio": 1.02, "closest_pairs": [{"distance": 3.0}]}, "warnings": ["FID is biased at small N"],
              "checkerboard": {"synthetic": {"db": 12.4}, "real": {"db": 2.5}}, "timing_s": {"total": 80.2}}
    report_path(ckpt_dir / "b_vanilla.safetensors").write_text(json.dumps(report))
    (ckpt_dir / "README.md").write_text("---\nlicense: apache-2.0\n---\n# Shipped checkpoints\nTrained on CoNSeP.\n")
    Image.new("RGB", (64, 32)).save(ckpt_dir / "b_vanilla.samples.jpg")
    Image.new("RGB", (32, 32)).save(ckpt_dir / "fid_vs_step.png")
    app.catalog.rescan()  # a report is read with its checkpoint, as the page's Rescan and every page load do
    card = app.cards.card(str(ckpt_dir / "b_vanilla.safetensors"))
    summary = card.summary  # the headline numbers lead, beside the floor
    assert "| FID ↓ | 37.25 | 12.50 |" in summary and "| KID ↓ | 0.01230 ± 0.00110 | 0.00200 ± 0.00030 |" in summary
    assert "| precision ↑ | 0.610 | n/a |" in summary and "≈1 is good) | 1.020 |" in summary and "224 masks × 4 seeds" in summary
    assert "(reference: the real tiles) | 12.4 | 2.5 |" in summary  # its reference is the real tiles, not the floor
    assert "FID is biased" in summary and "vanilla" in summary
    assert "Timing (s): total 80.2" in card.details and "## Memorisation" in card.details  # the full report, folded
    assert "# Shipped checkpoints" in card.details and "license: apache" not in card.text
    # Figures beside the checkpoint are shown, copied to where the app serves files from.
    assert card.sample_sheet.name == "b_vanilla.samples.jpg" and card.sample_sheet.parent.parent == tmp_path / "exports"
    assert card.curve.name == "fid_vs_step.png" and card.curve.read_bytes() == (ckpt_dir / "fid_vs_step.png").read_bytes()
    report_path(ckpt_dir / "a_patchgan.safetensors").write_text(json.dumps({"score": 3, "nested": {"ssim": 0.5}}))
    app.catalog.rescan()
    card = app.cards.card(str(ckpt_dir / "a_patchgan.safetensors"))  # any other report shape: said so, every number as a table
    assert "not a PathGAN evaluation report" in card.summary and "| score | 3 |" in card.summary and "| nested.ssim | 0.5 |" in card.summary
    empty = PathGANApp(AppSettings(checkpoint_search=(str(tmp_path / "none"),)))
    assert "No checkpoint" in empty.cards.card(None).summary
