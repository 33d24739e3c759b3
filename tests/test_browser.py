"""End to end in headless Chromium: draw with every canvas tool, the live preview and its figures, generate, the other tabs."""
from __future__ import annotations

import base64
import io
import json
import re
import os
import shutil
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import make_tiny_generator
from app_server import AppProcess, free_port
from pathgan.app.finetune_jobs import zip_dataset
from pathgan.checkpoint import save_generator
from pathgan.schemes import BINARY, CONSEP

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-dev-shm-usage"]
OUTPUT = Path(__file__).resolve().parent.parent / "test-output" / "browser"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`python app.py` with command-line flags, a tiny checkpoint and nothing else."""
    d = tmp_path_factory.mktemp("checkpoints")
    save_generator(d / "tiny.safetensors", make_tiny_generator(), CONSEP, {"disc": "patchgan", "steps": 1})
    save_generator(d / "tiny_nuclei.safetensors", make_tiny_generator(1, num_classes=1), BINARY, {"disc": "vanilla", "steps": 2})
    port = free_port()
    args = ["--host", "127.0.0.1", "--port", str(port), "--checkpoints", str(d), "--device", "cpu", "--db", str(d / "studies.sqlite"),
            "--finetune-dir", str(d / "finetuned")]
    with AppProcess(args, port=port, log_path=tmp_path_factory.mktemp("log") / "app.log") as proc:
        yield proc


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: install it with `apt-get install chromium` (the browser test needs it; it is not skipped)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


CANVAS = "#mask-canvas canvas.mc-view"
API = "document.querySelector('[data-mask-canvas]').maskCanvas"


def stroke(page, offsets, steps: int = 4, settle_ms: int = 0):
    """Drag through points given relative to the canvas centre, in screen pixels."""
    page.locator(CANVAS).scroll_into_view_if_needed()  # pressing Generate may have scrolled the page
    box = page.locator(CANVAS).bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx + offsets[0][0], cy + offsets[0][1])
    page.mouse.down()
    for dx, dy in offsets[1:]:
        page.mouse.move(cx + dx, cy + dy, steps=steps)
    page.mouse.up()
    if settle_ms:
        page.wait_for_timeout(settle_ms)


def click_canvas(page, dx: float = 0, dy: float = 0):
    box = page.locator(CANVAS).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)


def canvas_counts(page) -> dict:
    """Pixels per class id on the canvas, as the page holds them."""
    ids = np.asarray(page.evaluate(f"Array.from({API}.ids)"), np.uint8)
    values, counts = np.unique(ids, return_counts=True)
    return {int(v): int(n) for v, n in zip(values, counts)}


def settled(page, timeout: int = 60_000):
    """Until the canvas has no load and no preview under way."""
    page.wait_for_function(f"() => !{API}.busy", timeout=timeout)


def open_synthesize(browser, url: str, **viewport):
    page = browser.new_page(viewport=viewport or {"width": 1400, "height": 1100})
    page.goto(url)
    page.wait_for_selector(CANVAS, timeout=60_000)
    page.wait_for_function(f"() => {API} && {API}.size[0] > 0", timeout=30_000)
    return page


def preview_tile(page) -> np.ndarray:
    src = page.get_attribute("[data-tile]", "src")
    assert src and src.startswith("data:image/png;base64,"), src
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"))


def fetch(url: str) -> np.ndarray:
    with urllib.request.urlopen(url, timeout=30) as r:
        return np.asarray(Image.open(io.BytesIO(r.read())).convert("RGB"))


def snapped_counts(page) -> dict:
    snapped = fetch(page.eval_on_selector("#snapped img", "e => e.src"))
    colours, counts = np.unique(snapped.reshape(-1, 3), axis=0, return_counts=True)
    return {tuple(int(v) for v in c): int(n) for c, n in zip(colours, counts)}


def save_screenshot(page, tmp_path: Path, name: str) -> Path:
    """A full-page screenshot, kept in test-output/browser/ for a person to look at."""
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, OUTPUT / name)
    return shot


def first_tile(page) -> np.ndarray:
    return fetch(page.eval_on_selector("#tiles img", "e => e.src"))


def upload(page, path: Path):
    with page.expect_file_chooser() as chooser:
        page.click("#upload-mask")
    chooser.value.set_files(str(path))


def generate(page, first_seed: int):
    """Set the seed, press Generate, wait for that result (each call uses a new seed, so an old result never matches)."""
    page.fill("#seed input", str(first_seed))
    page.click("#generate")
    page.wait_for_selector(f"#synth-status >> text=/seeds? {first_seed}[–,]/", timeout=90_000)
    page.wait_for_function("() => document.querySelector('#tiles img') && document.querySelector('#tiles img').complete", timeout=30_000)


def test_draw_generate_and_reseed(browser, served, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    outside, page_errors = [], []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((served.url, "data:", "blob:")) else None)
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.goto(served.url)
    page.wait_for_selector(CANVAS, timeout=60_000)

    # An empty canvas is refused with a message, and the page keeps working.
    page.click("#generate")
    page.wait_for_selector("[data-testid='toast-text']:has-text('canvas is empty')", timeout=30_000)
    assert page.locator("[data-testid='toast-text']").count() == 1  # one message, and no error pills on the outputs
    assert page.locator("#tiles, #snapped, #synth-status").get_by_text("Error", exact=True).count() == 0
    page.click("[data-testid='toast-close']")

    page.click("#mask-canvas [data-class='2']")  # inflammatory, by its button
    stroke(page, [(-150, -120), (-80, -100), (-30, -60)])
    page.keyboard.press("4")  # spindle-shaped, by its key
    stroke(page, [(30, 40), (140, 130)])
    page.fill("#variations input[type='number']", "2")

    generate(page, 0)
    tile0 = first_tile(page)
    assert tile0.shape == (256, 256, 3)
    assert tile0.std() > 5 and len(np.unique(tile0.reshape(-1, 3), axis=0)) > 100, "the synthetic tile is blank"
    assert page.locator("#tiles img").count() == 2
    assert "2 tiles of 256×256" in page.inner_text("#synth-status")

    snapped = fetch(page.eval_on_selector("#snapped img", "e => e.src"))
    colours = {tuple(c) for c in np.unique(snapped.reshape(-1, 3), axis=0)}
    assert colours == {(0, 0, 0), CONSEP.colors[2], CONSEP.colors[4]}, colours  # exact palette: black, red, blue only
    counts = canvas_counts(page)
    assert (snapped == CONSEP.colors[2]).all(-1).sum() == counts[2] > 100 and (snapped == CONSEP.colors[4]).all(-1).sum() == counts[4] > 100

    generate(page, 5)
    tile5 = first_tile(page)
    assert np.abs(tile5.astype(int) - tile0.astype(int)).mean() > 1, "a new seed gave the same picture"

    assert save_screenshot(page, tmp_path, "synthesize.png").stat().st_size > 10_000
    assert not outside, f"the page fetched from outside the app: {outside[:5]}"
    assert not page_errors, page_errors
    page.close()


def test_every_canvas_tool(browser, served, tmp_path):
    """Brush per class (buttons and keys 1-9), [ ] sizes, fill, eraser, undo/redo, clear, zoom and contours."""
    page = open_synthesize(browser, served.url)
    page.uncheck("#mask-canvas [data-live]")  # the tools alone; the preview has its own test
    page.keyboard.press("3")
    assert page.get_attribute("#mask-canvas [data-class='3']", "aria-pressed") == "true"
    page.keyboard.press("9")  # CoNSeP has 4 classes: no class 9, nothing changes
    assert page.get_attribute("#mask-canvas [data-class='3']", "aria-pressed") == "true"
    size = lambda: int(page.input_value("#mask-canvas [data-size]"))
    assert size() == 7
    for _ in range(3):
        page.keyboard.press("]")
    assert size() == 10
    page.keyboard.press("[")
    assert size() == 9

    # A closed ring of class 3, then fill its inside with class 1: the ring stays, the hole becomes class 1.
    ring = [(60 * np.cos(a), 60 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 25)]
    stroke(page, ring, steps=3)
    ringed = canvas_counts(page)
    assert set(ringed) == {0, 3} and ringed[3] > 1000, ringed
    page.keyboard.press("1")
    page.click("#mask-canvas [data-tool='fill']")
    click_canvas(page)
    filled = canvas_counts(page)
    assert filled[3] == ringed[3] and filled[1] > 3000 and filled[0] == ringed[0] - filled[1], filled

    # Undo brings the fill back out; redo (Ctrl+Shift+Z, then the button after another undo) puts it back.
    page.keyboard.press("Control+z")
    assert canvas_counts(page) == ringed
    page.keyboard.press("Control+Shift+z")
    assert canvas_counts(page) == filled
    page.click("#mask-canvas [data-act='undo']")
    page.click("#mask-canvas [data-act='redo']")
    assert canvas_counts(page) == filled

    # The eraser paints background through the ring and its inside.
    page.keyboard.press("e")
    stroke(page, [(-90, 0), (90, 0)])
    erased = canvas_counts(page)
    assert erased[0] > filled[0] + 500 and erased[1] < filled[1] and erased[3] < filled[3], erased
    page.keyboard.press("2")  # a class key takes the brush back up
    assert page.get_attribute("#mask-canvas [data-tool='brush']", "aria-pressed") == "true"

    # Zoom doubles the drawn size of the canvas; a stroke then still lands where the pointer is.
    width = page.locator(CANVAS).bounding_box()["width"]
    page.click("#mask-canvas [data-act='zoom-in']")
    page.keyboard.press("+")
    assert page.inner_text("#mask-canvas [data-zoom-out]") == "200%"
    assert abs(page.locator(CANVAS).bounding_box()["width"] - 2 * width) < 2
    page.keyboard.press("-")
    page.keyboard.press("-")
    assert abs(page.locator(CANVAS).bounding_box()["width"] - width) < 2

    # Contours: the same mask drawn as outlines; the mask itself is unchanged.
    before = page.locator(CANVAS).screenshot()
    page.keyboard.press("o")
    assert page.is_checked("#mask-canvas [data-outlines]")
    assert page.locator(CANVAS).screenshot() != before and canvas_counts(page) == erased

    # Clear empties the canvas, and is undoable too; Generate then reads exactly the canvas.
    page.click("#mask-canvas [data-act='clear']")
    assert canvas_counts(page) == {0: 256 * 256}
    page.keyboard.press("Control+z")
    assert canvas_counts(page) == erased
    generate(page, 3)
    snapped = fetch(page.eval_on_selector("#snapped img", "e => e.src"))
    for k, n in erased.items():
        assert (snapped == CONSEP.colors[k]).all(-1).sum() == n
    # Typing in a field is typing: keys there do not reach the canvas.
    page.fill("#seed input", "")
    page.type("#seed input", "31")
    assert page.get_attribute("#mask-canvas [data-class='2']", "aria-pressed") == "true"
    save_screenshot(page, tmp_path, "canvas_tools.png")
    page.close()


def test_live_preview_follows_each_stroke_and_never_loses_one(browser, tmp_path_factory, tmp_path):
    """With the shipped checkpoints: the preview after single strokes (the figures for docs/performance.md), and after
    20 quick strokes the tile Generate gives for the final canvas."""
    import platform

    import torch
    from pathgan.devices import describe_hardware

    d = tmp_path_factory.mktemp("live")
    args = ["--host", "127.0.0.1", "--device", "cpu", "--db", str(d / "studies.sqlite"), "--finetune-dir", str(d / "finetuned")]
    with AppProcess(args, log_path=d / "app.log") as served:
        page = open_synthesize(browser, served.url)
        page.keyboard.press("2")
        stroke(page, [(-150, -120), (-60, -80)])  # the first preview also loads the network: not counted
        page.wait_for_function(f"{API}.stats.strokes.length >= 1", timeout=120_000)
        settled(page)
        for i in range(24):  # one stroke at a time, each waited for: the latency of a stroke on its own
            seen = page.evaluate(f"{API}.stats.strokes.length")
            y = -100 + 8 * i
            stroke(page, [(-140, y), (-40, y + 10), (60, y)])
            page.wait_for_function(f"{API}.stats.strokes.length > {seen}", timeout=60_000)
            settled(page)
        singles = page.evaluate(f"{API}.stats.strokes.slice(1)")

        requests_before = page.evaluate(f"{API}.stats.requests")
        page.keyboard.press("4")
        for i in range(20):  # quick strokes, no waiting: at most one request in flight, the newest canvas last
            stroke(page, [(-120 + 12 * i, 40), (-100 + 12 * i, 130)], steps=2)
        settled(page)
        requests = page.evaluate(f"{API}.stats.requests") - requests_before
        live_tile = preview_tile(page)
        counts = canvas_counts(page)
        page.fill("#variations input[type='number']", "1")
        generate(page, 0)
        assert np.array_equal(first_tile(page), live_tile), "the live tile is not Generate's for the final canvas"
        snapped = fetch(page.eval_on_selector("#snapped img", "e => e.src"))
        assert (snapped == CONSEP.colors[4]).all(-1).sum() == counts[4] > 20 * 100  # all 20 strokes are in the mask
        assert requests <= 20 and page.evaluate(f"{API}.stats.maxInFlight") == 1, requests  # one request at a time, none per move

        # The largest canvas: its preview is the whole 1024² mask, synthesized in seamless tiles.
        page.click("#canvas-size input")
        page.click("li[role='option']:has-text('1024×1024')")
        page.wait_for_selector("#mask-info >> text=/Canvas 1024×1024/", timeout=30_000)
        page.click("#random-layout")
        page.wait_for_selector("#mask-info >> text=/Random layout 1024×1024/", timeout=30_000)
        page.wait_for_function(f"() => {API}.size[0] === 1024 && !{API}.busy", timeout=60_000)
        settled(page)
        page.keyboard.press("2")
        seen = page.evaluate(f"{API}.stats.strokes.length")
        stroke(page, [(-100, 0), (100, 0)])
        page.wait_for_function(f"{API}.stats.strokes.length > {seen}", timeout=60_000)
        large = page.evaluate(f"{API}.stats.strokes.at(-1)")
        assert preview_tile(page).shape == (1024, 1024, 3)
        page.close()

    def pct(key, q):
        return float(np.percentile([e[key] for e in singles], q))

    parts = ("page_ms", "request_ms", "server_ms", "synthesis_ms", "decode_ms")
    figures = {"stroke_to_tile_p50_ms": pct("stroke_to_tile_ms", 50), "stroke_to_tile_p90_ms": pct("stroke_to_tile_ms", 90),
               "p50_split_ms": {k: round(pct(k, 50), 1) for k in parts}, "strokes": len(singles),
               "quick_strokes": 20, "quick_stroke_requests": requests,
               "canvas_1024": {k: round(large[k], 1) for k in ("stroke_to_tile_ms", *parts)},
               "latencies_ms": [round(e["stroke_to_tile_ms"], 1) for e in singles], "checkpoint": "shipped default",
               "hardware": describe_hardware(torch.device("cpu")), "python": platform.python_version()}
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "live_preview.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"live preview, stroke end to tile on screen: p50 {figures['stroke_to_tile_p50_ms']:.0f} ms, "
          f"p90 {figures['stroke_to_tile_p90_ms']:.0f} ms over {len(singles)} strokes on {figures['hardware']}; "
          f"p50 split {figures['p50_split_ms']}; 20 quick strokes took {requests} requests; 1024² canvas: {figures['canvas_1024']}")


def test_the_canvas_fits_a_phone(browser, served, tmp_path):
    page = open_synthesize(browser, served.url, width=390, height=844)
    box = page.locator(CANVAS).bounding_box()
    assert 250 < box["width"] <= 390 and box["x"] >= 0, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1, "the page scrolls sideways on a phone"
    page.keyboard.press("2")
    stroke(page, [(-80, -40), (80, 40)])
    page.wait_for_selector("[data-tile][src^='data:image/png']", timeout=60_000)
    settled(page)
    assert canvas_counts(page)[2] > 300
    save_screenshot(page, tmp_path, "synthesize_phone.png")
    page.close()


def test_examples_random_upload_and_other_tabs(browser, served, tmp_path):
    from pathgan.layouts import random_layout
    from pathgan.masks import ids_to_palette

    page = open_synthesize(browser, served.url)
    page.click("#examples button[aria-label='Thumbnail 2 of 5']")  # the examples gallery
    page.wait_for_selector("#mask-info >> text=/Example 2 mixed: 256×256 px/", timeout=30_000)
    settled(page)
    generate(page, 1)
    loaded = snapped_counts(page)
    assert set(loaded) == {(0, 0, 0), CONSEP.colors[2], CONSEP.colors[3], CONSEP.colors[4]}
    # A red stroke over the loaded mask, half of it erased again; the eraser paints loaded nuclei out too.
    page.click("#mask-canvas [data-class='2']")
    stroke(page, [(-160, 0), (160, 0)])
    generate(page, 2)
    drawn = snapped_counts(page)
    page.click("#mask-canvas [data-tool='eraser']")
    stroke(page, [(0, -40), (0, 40)], steps=2)
    stroke(page, [(-160, -140), (160, -140)], steps=3)
    generate(page, 3)
    edited = snapped_counts(page)
    red = CONSEP.colors[2]
    assert drawn[red] > loaded[red] + 500 and edited[red] < drawn[red] - 100, (loaded, drawn, edited)
    assert edited[(0, 0, 0)] > drawn[(0, 0, 0)] + 500, (drawn, edited)  # painted-out nuclei are background now
    as_colours = lambda counts: {tuple(CONSEP.colors[k]): n for k, n in counts.items()}
    page.keyboard.press("Control+z")  # undo the two eraser strokes, the red stroke, then the example's load itself
    page.keyboard.press("Control+z")
    assert as_colours(canvas_counts(page)) == drawn
    page.keyboard.press("Control+z")
    assert as_colours(canvas_counts(page)) == loaded
    page.keyboard.press("Control+z")
    assert canvas_counts(page) == {0: 256 * 256}
    page.keyboard.press("Control+Shift+z")

    page.click("#random-layout")
    page.wait_for_selector("#mask-info >> text=/Random layout 256×256/", timeout=30_000)

    palette = tmp_path / "upload.png"
    Image.fromarray(ids_to_palette(random_layout(256, 9), CONSEP)).save(palette)
    upload(page, palette)
    page.wait_for_selector("#mask-info >> text=/Loaded upload.png/", timeout=30_000)
    generate(page, 10)
    snapped = fetch(page.eval_on_selector("#snapped img", "e => e.src"))
    assert np.array_equal(snapped, ids_to_palette(random_layout(256, 9), CONSEP))  # through the canvas and back, exactly

    # A larger canvas from the size selector: synthesized with seamless tiling at full size.
    page.click("#canvas-size input")
    page.click("li[role='option']:has-text('512×512')")
    page.wait_for_selector("#mask-info >> text=/Canvas 512×512/", timeout=30_000)
    page.click("#random-layout")
    page.wait_for_selector("#mask-info >> text=/Random layout 512×512/", timeout=30_000)
    generate(page, 11)
    assert "of 512×512 px" in page.inner_text("#synth-status")
    assert fetch(page.eval_on_selector("#tiles img", "e => e.src")).shape == (512, 512, 3)
    assert page.evaluate(f"{API}.size") == [512, 512]

    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    upload(page, corrupt)
    page.wait_for_selector("[data-testid='toast-text']:has-text('not a readable image')", timeout=30_000)
    page.wait_for_timeout(500)
    # The failed upload is one message; the canvas and the mask line stay as they were, with no error pills.
    assert page.locator("[data-testid='toast-text']").count() == 1
    assert page.locator("#mask-canvas, #mask-info").get_by_text("Error", exact=True).count() == 0
    assert "Random layout 512×512" in page.inner_text("#mask-info") and page.locator("#mask-canvas canvas").count() > 0

    page.click("button[role='tab']:has-text('Compare')")
    page.wait_for_selector("text=/48 pairs of the bundled CoNSeP test-split sample/", timeout=30_000)  # no --data: the bundled sample
    page.wait_for_selector("#compare-gallery img", timeout=60_000)
    body = page.inner_text("body")
    assert body.count("bundled CoNSeP test-split sample") == 1 and "images/<split>/ and masks/<split>/" in body
    page.click("button[role='tab']:has-text('Model')")
    page.wait_for_selector("#card-summary h3:has-text('tiny')", timeout=30_000)
    assert "patchgan" in page.inner_text("#card-summary") and "Parameters" not in page.inner_text("#card-summary")
    page.click("button:has-text('Details')")  # the details are folded until asked for
    page.wait_for_selector("#card-details >> text=/Parameters/", timeout=30_000)
    save_screenshot(page, tmp_path, "model.png")
    page.close()


def test_a_one_class_checkpoint_redraws_the_palette_and_generates(browser, served, tmp_path):
    page = open_synthesize(browser, served.url)
    assert "inflammatory" in page.inner_text("#mask-canvas .mc-classes")
    page.click("#examples button[aria-label='Thumbnail 2 of 5']")  # a CoNSeP example on the canvas
    page.wait_for_selector("#mask-info >> text=/Example 2 mixed/", timeout=30_000)

    page.click("input[aria-label^='Checkpoint']")
    page.click("li[role='option']:has-text('tiny_nuclei')")
    page.wait_for_selector("#mask-canvas .mc-classes >> text=nucleus", timeout=30_000)  # its classes only
    assert "inflammatory" not in page.inner_text("#mask-canvas .mc-classes")
    page.wait_for_selector("#mask-info >> text=/now draws 1 class \\(nucleus\\); what was drawn was kept/", timeout=30_000)
    swatches = page.eval_on_selector_all("#mask-canvas .mc-classes .swatch", "ss => ss.map(s => s.style.backgroundColor)")
    assert swatches == ["rgb(255, 255, 255)"], swatches
    settled(page)
    assert set(canvas_counts(page)) == {0, 1}
    page.keyboard.press("1")
    stroke(page, [(-150, 100), (150, 100)])
    page.wait_for_function(f"() => {API}.stats.strokes.length > 0", timeout=60_000)  # its preview, for its classes
    settled(page)
    generate(page, 4)
    assert "tiny_nuclei" in page.inner_text("#synth-status")
    page.wait_for_selector("[data-tile][data-seed='4']", timeout=60_000)  # the preview follows the seed field
    settled(page)
    assert np.array_equal(preview_tile(page), first_tile(page))
    colours = snapped_counts(page)
    assert set(colours) == {(0, 0, 0), (255, 255, 255)} and colours[(255, 255, 255)] > 3000, colours  # example nuclei + the stroke
    page.close()


def test_a_reading_study_from_set_up_through_a_reader_to_the_owners_results(browser, served, tmp_path):
    import re

    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(served.url)
    page.wait_for_selector("#mask-canvas canvas", timeout=60_000)
    page.click("button[role='tab']:has-text('Reading test')")
    page.click("button:has-text('Set up a study')")
    page.fill("#rs-name textarea, #rs-name input", "Pilot")
    page.fill("#rs-trials input", "4")
    page.click("#rs-create")
    page.wait_for_selector("#rs-created >> text=/Reader link/", timeout=30_000)
    text = page.inner_text("#rs-created")
    reader_link = re.search(r"Reader link, to send: (\S+)", text).group(1)
    owner_link = re.search(r"Owner link.*?: (\S+)", text).group(1)
    assert "owner=" not in reader_link and "owner=" in owner_link

    reader = browser.new_page(viewport={"width": 1400, "height": 1100})
    outside = []
    reader.on("request", lambda r: outside.append(r.url) if not r.url.startswith((served.url, "data:", "blob:")) else None)
    reader.goto(reader_link)  # the link opens the Reading test with the study filled in
    reader.wait_for_selector("#rt-about >> text=/Pilot/", timeout=30_000)
    reader.fill("#rt-name textarea, #rt-name input", "Dr A")
    reader.click("#rt-start")
    for i in range(4):
        reader.wait_for_selector(f"#rt-progress >> text=/Trial {i + 1} of 4/", timeout=60_000)
        sources = reader.eval_on_selector_all("#rt-left img, #rt-right img", "es => es.map(e => e.src)")
        assert len(sources) == 2 and all(re.search(r"/[0-9a-f]{24}\.jpg$", s) for s in sources), sources  # opaque names
        tiles = [fetch(s) for s in sources]
        assert tiles[0].shape == tiles[1].shape == (256, 256, 3)
        if i == 1:
            reader.click("#rt-confidence label:has-text('4')")
        reader.click("#rt-answer-a" if i % 2 else "#rt-answer-b")
    reader.wait_for_selector("#rt-done >> text=/You answered/", timeout=60_000)
    assert not outside, outside
    reader.close()

    page.goto(owner_link)
    page.wait_for_selector("#rs-token input", timeout=30_000)
    page.wait_for_timeout(1000)  # the page fills in the code and token from the link
    page.click("#rs-show")
    page.wait_for_selector("#rs-results >> text=/all readers/", timeout=60_000)
    body = page.inner_text("#rs-results")
    assert re.search(r"reader Dr A\s+4\s+[01]\.\d\d", body), body  # the reader's 4 answers and accuracy
    assert "Readers: 1 started, 1 finished." in body and "95 % CI" in body
    page.wait_for_selector("#rs-plot img", timeout=30_000)
    save_screenshot(page, tmp_path, "reading-owner.png")
    page.close()


def open_finetune_tab_with(browser, served, upload_zip: Path):
    """A new page on the Fine-tune tab with `upload_zip` uploaded."""
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(served.url)
    page.wait_for_selector("#mask-canvas canvas", timeout=60_000)
    page.click("button[role='tab']:has-text('Fine-tune')")
    page.set_input_files("#ft-upload input[type='file']", str(upload_zip))
    page.wait_for_selector(f"#ft-upload >> text={upload_zip.name}", timeout=120_000)
    return page


def test_a_fine_tuning_job_runs_in_the_background_and_its_progress_and_samples_move(browser, served, tmp_path):
    from pathgan.synthetic_data import write_synthetic_dataset

    data = write_synthetic_dataset(tmp_path / "pairs", pairs=4, splits=("train",))
    page = open_finetune_tab_with(browser, served, zip_dataset(data, tmp_path / "pairs.zip"))
    page.fill("#ft-name textarea, #ft-name input", "browser-job")
    page.fill("#ft-steps input", "20")
    page.fill("#ft-warmup input", "2")
    page.fill("#ft-batch input", "2")
    page.click("#ft-start")
    page.wait_for_selector("#ft-report >> text=/Queued as job/", timeout=60_000)
    page.wait_for_selector("#ft-status >> text=/running/", timeout=60_000)
    page.wait_for_selector("#ft-samples img", timeout=90_000)
    first_step = int(re.search(r"Step (\d+)", page.inner_text("#ft-status")).group(1))
    first_sample = page.eval_on_selector("#ft-samples img", "e => e.src")
    page.wait_for_function(f"() => document.querySelector('#ft-samples img') && document.querySelector('#ft-samples img').src !== {first_sample!r}",
                           timeout=90_000)  # the samples refresh as it trains
    page.wait_for_selector("#ft-status >> text=/done/", timeout=120_000)
    assert int(re.search(r"Step (\d+)", page.inner_text("#ft-status")).group(1)) == 20 > first_step
    assert page.locator("#ft-losses img").count() == 1
    page.close()


def test_a_large_binary_zip_uploads_and_gets_the_clis_advice_until_its_classes_are_named(browser, served, tmp_path):
    from pathgan.layouts import random_layout

    data = tmp_path / "lab"
    for sub in ("images/train", "masks/train"):
        (data / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(6):  # incompressible 1200 x 1200 tiles: the zip is over Gradio's old 20 MB limit
        Image.fromarray(rng.integers(0, 256, (1200, 1200, 3), dtype=np.uint8)).save(data / "images" / "train" / f"tile_{i}.png")
        Image.fromarray((random_layout(1200, i, BINARY) > 0).astype(np.uint8)).save(data / "masks" / "train" / f"tile_{i}.png")
    upload_zip = zip_dataset(data, tmp_path / "my-lab.zip")
    assert upload_zip.stat().st_size > 20 * 2**20
    page = open_finetune_tab_with(browser, served, upload_zip)
    page.click("#ft-check")
    page.wait_for_selector("#ft-report >> text=/states no class scheme/", timeout=120_000)
    report = page.inner_text("#ft-report")
    assert "Data: my-lab.zip" in report and "{0, 1}" in report and 'choose "binary" under' in report, report
    page.click("#ft-scheme input")
    page.click("ul[role='listbox'] >> text=/binary: nucleus/")
    page.fill("#ft-class-map textarea, #ft-class-map input", "nucleus=epithelial")
    page.click("#ft-check")
    page.wait_for_selector("#ft-report >> text=/6 pairs, all readable/", timeout=120_000)
    assert "Class map: nucleus=epithelial" in page.inner_text("#ft-report")
    save_screenshot(page, tmp_path, "finetune_binary_zip.png")
    page.close()
