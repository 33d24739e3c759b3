"""The launched app, driven through gradio_client: the named endpoint, bad input, and ten clients at once."""
from __future__ import annotations

import json
import os
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from helpers import make_tiny_generator, random_mask
from app_server import AppProcess, free_port
from pathgan.checkpoint import save_generator
from pathgan.app.checkpoints_index import report_path
from pathgan.masks import ids_to_palette
from pathgan.schemes import CONSEP

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ckpt_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("checkpoints")
    save_generator(d / "tiny_patchgan.safetensors", make_tiny_generator(0), CONSEP, {"disc": "patchgan", "steps": 100})
    save_generator(d / "tiny_vanilla.safetensors", make_tiny_generator(1), CONSEP, {"disc": "vanilla", "steps": 100})
    report_path(d / "tiny_patchgan.safetensors").write_text(json.dumps({"fid": 99.0}))
    (d / "zz_broken.safetensors").write_bytes(b"not a checkpoint at all")
    return d


@pytest.fixture(scope="module")
def server(ckpt_dir, consep_root, tmp_path_factory):
    """Started the way a Space starts it: plain `python app.py`, settings from the environment."""
    port = free_port()
    env = {"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), "PATHGAN_CHECKPOINTS": str(ckpt_dir),
           "PATHGAN_COMPARE_DATA": str(consep_root), "PATHGAN_DEVICE": "cpu"}
    with AppProcess([], env=env, port=port, log_path=tmp_path_factory.mktemp("log") / "app.log") as proc:
        yield proc


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server.url, verbose=False)


@pytest.fixture(scope="module")
def masks(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("masks")
    ids = random_mask(seed=7)
    out = {"ids": d / "ids.png", "palette": d / "palette.png", "white": d / "white.png", "corrupt": d / "corrupt.png",
           "huge": d / "huge.png", "heavy": d / "heavy.png"}
    Image.fromarray(ids).save(out["ids"])
    Image.fromarray(ids_to_palette(ids, CONSEP)).save(out["palette"])
    Image.fromarray(np.full((128, 128, 3), 255, np.uint8)).save(out["white"])
    out["corrupt"].write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 300)
    Image.fromarray(np.zeros((4100, 4100), np.uint8)).save(out["huge"])  # small file, too many pixels
    out["heavy"].write_bytes(os.urandom(21 * 2**20))
    return out


def _tile(entry) -> np.ndarray:
    return np.asarray(Image.open(entry["image"]))


def test_synthesize_endpoint(client, masks):
    assert "/synthesize" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    tiles, mask, zip_path, info = client.predict(handle_file(str(masks["palette"])), 3, 2, "", api_name="/synthesize")
    assert [t["caption"] for t in tiles] == ["seed 3", "seed 4"] and info["seeds"] == [3, 4]
    assert info["checkpoint"] == "tiny_patchgan" and info["discriminator"] == "patchgan" and info["device"] == "cpu"
    first = _tile(tiles[0])
    assert first.shape == (256, 256, 3) and first.std() > 1
    assert np.array_equal(np.asarray(Image.open(mask).convert("RGB")), ids_to_palette(random_mask(seed=7), CONSEP))
    with zipfile.ZipFile(zip_path) as z:
        assert "mask_ids.png" in z.namelist() and "synthetic_seed0004.png" in z.namelist()
    # Same seed, same tile; an id mask and a palette mask of the same layout are the same input.
    again, *_ = client.predict(handle_file(str(masks["ids"])), 3, 1, "tiny_patchgan", api_name="/synthesize")
    assert np.array_equal(_tile(again[0]), first)
    other, *_ , info = client.predict(handle_file(str(masks["ids"])), 3, 1, "tiny_vanilla", api_name="/synthesize")
    assert info["discriminator"] == "vanilla" and not np.array_equal(_tile(other[0]), first)


def test_readme_client_example(server, monkeypatch):
    """The README's three lines, verbatim but for the address."""
    from pathgan.app.checkpoints_index import PROJECT_ROOT

    monkeypatch.chdir(PROJECT_ROOT)
    client = Client(server.url, verbose=False)
    tiles, mask, zip_path, info = client.predict(handle_file("assets/example_2_mixed.png"), 0, 4, api_name="/synthesize")
    assert len(tiles) == 4 and info["seeds"] == [0, 1, 2, 3] and zip_path.endswith(".zip") and Path(mask).exists()


@pytest.mark.parametrize("mask,ckpt,message", [
    ("white", "", "match no class colour"),
    ("corrupt", "", "not a readable image"),
    ("huge", "", "limited to 4096"),
    ("ids", "no_such_model", "no checkpoint 'no_such_model'"),
    ("ids", "zz_broken", "not a safetensors checkpoint|too short"),
])
def test_bad_input_gets_a_clear_message_and_the_app_keeps_serving(client, masks, mask, ckpt, message):
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(masks[mask])), 0, 1, ckpt, api_name="/synthesize")
    tiles, *_ = client.predict(handle_file(str(masks["ids"])), 0, 1, "", api_name="/synthesize")
    assert len(tiles) == 1


def test_mask_uploads_over_20_mb_are_refused(client, masks, server):
    # Gradio's one upload limit is the fine-tuning zip's (2 GB); the app holds masks to 20 MB before decoding them
    with pytest.raises(AppError, match=r"MB; uploads are limited to 20 MB"):
        client.predict(handle_file(str(masks["heavy"])), 0, 1, "", api_name="/synthesize")
    assert server.alive() and "Traceback" not in server.log(tail=None)


def test_bad_controls(client, masks, server):
    with pytest.raises(AppError, match="variations must be between 1 and 8"):
        client.predict(handle_file(str(masks["ids"])), 0, 9, "", api_name="/synthesize")
    assert "Traceback" not in server.log(tail=None)  # user errors are answered, not logged as faults


def test_ten_concurrent_clients_all_get_their_images(server, masks):
    results, errors = {}, []

    def one(i):
        try:
            c = Client(server.url, verbose=False)
            tiles, _, _, info = c.predict(handle_file(str(masks["ids"])), 100 + i, 1, "", api_name="/synthesize")
            results[i] = (info["seeds"], _tile(tiles[0]))
        except Exception as e:  # collected, so one failure does not hide the others
            errors.append(f"client {i}: {e!r}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert not errors, errors
    assert sorted(results) == list(range(10))
    assert all(results[i][0] == [100 + i] and results[i][1].shape == (256, 256, 3) for i in results)
    assert len({results[i][1].tobytes() for i in results}) == 10  # each got its own seed's tile
    assert time.perf_counter() - start < 170 and server.alive()


def test_app_without_checkpoints_says_so(tmp_path):
    """Built in-process and launched in a thread: the endpoint names the folders searched and what to do."""
    import app as app_module
    from pathgan.app.actions import AppSettings, PathGANApp

    empty = PathGANApp(AppSettings(checkpoint_search=(str(tmp_path / "none"),), output_dir=tmp_path / "exports",
                                   study_db=str(tmp_path / "studies.sqlite"), finetune_dir=str(tmp_path / "finetuned")))
    demo = app_module.build_demo(empty)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, show_error=True)
    try:
        mask = tmp_path / "m.png"
        Image.fromarray(random_mask()).save(mask)
        with pytest.raises(AppError, match="No checkpoint found"):
            Client(url, verbose=False).predict(handle_file(str(mask)), 0, 1, "", api_name="/synthesize")
    finally:
        demo.close()


def test_plain_start_serves_the_shipped_checkpoints_with_their_card_and_figures(tmp_path):
    """The README's `python app.py` on a fresh clone: the best-evaluated shipped checkpoint, its headline numbers and figures.
    The shipped folder is named, so checkpoints a developer has under runs/ cannot change which one that is."""
    import urllib.request

    env = {"PATHGAN_DEVICE": "cpu", "PATHGAN_CHECKPOINTS": "checkpoints", "PATHGAN_COMPARE_DATA": ""}
    with AppProcess([], env=env, log_path=tmp_path / "app.log") as proc:
        with urllib.request.urlopen(proc.url + "config", timeout=30) as r:
            config = json.load(r)
        props = {c["props"].get("elem_id"): c["props"] for c in config["components"] if c.get("props", {}).get("elem_id")}
        summary = props["card-summary"]["value"]
        assert "### consep-vanilla" in summary and "| FID ↓ | 141.43 | 91.16 |" in summary and "`checkpoints/consep-vanilla.safetensors`" in summary
        for elem, name in (("card-samples", "consep-vanilla.samples.jpg"), ("card-curve", "fid_vs_step.png")):
            value = props[elem]["value"]
            assert props[elem]["visible"] and value["orig_name"] == name
            with urllib.request.urlopen(value["url"], timeout=30) as r:
                assert r.status == 200 and len(r.read()) > 10_000
        assert "Traceback" not in proc.log(tail=None)
