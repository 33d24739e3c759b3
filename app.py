"""PathGAN demo (Gradio 6): draw or upload a nucleus-class mask, synthesize H&E tiles, compare with real pairs.

`python app.py [--host H] [--port P] [--share] [--checkpoints DIRS] [--data PAIRED_DIR]`.
This file only lays out widgets and wires them; every action is a plain function in pathgan/app/ (a module per tab).
"""
from __future__ import annotations

import functools
import logging
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402

from pathgan.app.actions import PathGANApp, default_concurrency, parse_args  # noqa: E402
from pathgan.app.errors import UserError  # noqa: E402
from pathgan.app.finetune_jobs import SCHEME_CHOICES, JobManager, Limits  # noqa: E402
from pathgan.app.finetune_tab import FinetuneTab  # noqa: E402
from pathgan.app.limits import CANVAS_SIZES, MAX_UPLOAD_BYTES, MAX_UPLOAD_SIDE, MAX_VARIATIONS  # noqa: E402
from pathgan.app.mask_canvas import TEMPLATE, page_css, page_script  # noqa: E402
from pathgan.app.reading_tab import ReadingTests, owner_link, page_address, reader_link, resume_link, session_from_link  # noqa: E402
from pathgan.errors import PathGANError  # noqa: E402
from pathgan.finetune import DISCRIMINATOR_CHOICES, FinetuneConfig  # noqa: E402
from pathgan.masks import ids_to_palette  # noqa: E402
from pathgan.reading.design import ANSWERS, MODES  # noqa: E402
from pathgan.schemes import ClassScheme  # noqa: E402

log = logging.getLogger("pathgan.app")

CSS = """
#compare-gallery .grid-wrap, #tiles .grid-wrap {height: auto !important; min-height: 0 !important; max-height: 80vh}
"""


def _fault_text(fn, e: Exception) -> str:
    """A bug: its traceback goes to the log once, and the page says so without taking the server down."""
    log.exception("unexpected error in %s", fn.__name__)
    return f"Something went wrong ({e.__class__.__name__}: {e}). The app is still running; try again."


def _raise(error: Exception):
    raise error from None


def guarded(fn, on_user_error, on_fault):
    """`fn` with a user error answered by on_user_error(e) and a bug by on_fault(message), after logging its traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PathGANError as e:
            return on_user_error(e)
        except Exception as e:
            return on_fault(_fault_text(fn, e))
    return wrapper


def shown_errors(fn, outputs: int = 1):
    """For page events: a user error is one warning toast, and every output keeps what it showed (no error pills)."""
    def warn(e):
        gr.Warning(str(e), duration=12)
        return gr.skip() if outputs == 1 else tuple(gr.skip() for _ in range(outputs))
    return guarded(fn, warn, lambda text: _raise(gr.Error(text, print_exception=False)))


def on(event, fn, inputs, outputs, **options):
    """Wires a page event: `fn` under shown_errors for as many outputs as it has, kept out of the API page."""
    count = len(outputs) if isinstance(outputs, (list, tuple, set)) else int(outputs is not None)
    return event(shown_errors(fn, count), inputs, outputs, **{"api_visibility": "undocumented", **options})


def api_errors(fn):
    """For the API endpoint: a user error is an error the client receives (AppError in gradio_client), logged without a traceback."""
    return guarded(fn, lambda e: _raise(gr.Error(str(e), duration=12, print_exception=False)),
                   lambda text: _raise(gr.Error(text, print_exception=False)))


def preview_errors(fn):
    """For the canvas's live preview, called from the page outside the queue: any error is the reply's `error`."""
    return guarded(fn, lambda e: {"error": str(e)}, lambda text: {"error": text})


def example_items(app: PathGANApp, s: ClassScheme) -> list:
    return [(ids_to_palette(ids, s), caption) for ids, caption in app.synthesis.example_masks(s)]


def build_demo(app: PathGANApp) -> gr.Blocks:
    s = app.settings
    reading = ReadingTests(app.catalog, app.exports, app.compare.paired_data(), s.study_db)
    finetune = FinetuneTab(app.catalog, JobManager(s.finetune_dir, s.device), s.allow_local_paths, s.job_token)
    limit = s.concurrency or default_concurrency(s.device)
    synth_queue = dict(concurrency_id="synthesis", concurrency_limit=limit)
    first_scheme = app.catalog.scheme_for(app.catalog.default())  # the canvas draws the chosen checkpoint's classes

    with gr.Blocks(title="PathGAN", delete_cache=(1800, 3600)) as demo:
        gr.Markdown("# PathGAN: nucleus masks → synthetic H&E tiles\n"
                    "Draw nuclei class by class (or upload, pick an example, or make a random layout), then generate.")
        with gr.Row():
            checkpoint = gr.Dropdown(app.catalog.choices(), value=app.catalog.default(), label="Checkpoint (discriminator · steps · folder)",
                                     scale=5, allow_custom_value=False)
            rescan = gr.Button("Rescan", scale=0, min_width=110, size="sm")
        ckpt_status = gr.Markdown(app.catalog.status())

        with gr.Tabs() as tabs:
            with gr.Tab("Synthesize", id="synthesize"):
                with gr.Row():
                    with gr.Column(scale=3):
                        canvas = gr.HTML(
                            app.synthesis.blank_canvas(256, first_scheme), html_template=TEMPLATE, css_template=page_css(), js_on_load=page_script(),
                            server_functions=[preview_errors(app.synthesis.live_preview)], elem_id="mask-canvas", apply_default_css=False,
                            checkpoint=app.catalog.default() or "", seed=0, overlay=False,  # what the live preview asks for
                        )
                        with gr.Row():
                            size = gr.Dropdown([(f"{n}×{n}", n) for n in CANVAS_SIZES if n <= s.max_side], value=256,
                                               label="Canvas size (larger ones use seamless tiling)", elem_id="canvas-size", min_width=160)
                            random_btn = gr.Button("Random layout", elem_id="random-layout", min_width=120)
                            upload = gr.UploadButton("Upload mask", file_types=["image"], type="filepath", elem_id="upload-mask", min_width=120)
                        gr.Markdown(f"Uploads: an id PNG (pixel = class id) or a palette PNG in the canvas's class colours; "
                                    f"at most {MAX_UPLOAD_BYTES // 2**20} MB and {MAX_UPLOAD_SIDE}×{MAX_UPLOAD_SIDE} px, "
                                    f"synthesized up to {s.max_side}×{s.max_side}. Keys: 1–9 class, [ ] brush size, B brush, "
                                    "F fill, E eraser, O contours, + − zoom, Ctrl+Z undo, Ctrl+Shift+Z redo.")
                        mask_info = gr.Markdown("", elem_id="mask-info")
                        examples = gr.Gallery(example_items(app, first_scheme),
                                              label="Examples (click to load)", columns=5, height=150, allow_preview=False, elem_id="examples", format="png",
                                              object_fit="contain", interactive=False)
                    with gr.Column(scale=2):
                        with gr.Row(equal_height=True):
                            seed = gr.Number(0, precision=0, minimum=0, label="Seed", scale=3, elem_id="seed")
                            dice = gr.Button("Randomize", scale=0, min_width=120, size="sm", elem_id="randomize-seed")
                        variations = gr.Slider(1, MAX_VARIATIONS, value=4, step=1, label="Variations (seeds seed…seed+n−1; a seed gives the same tile whatever else is made with it)", elem_id="variations")
                        overlay = gr.Checkbox(False, label="Overlay mask contours", elem_id="overlay")
                        generate = gr.Button("Generate", variant="primary", elem_id="generate")
                        status = gr.Markdown("", elem_id="synth-status")
                        tiles = gr.Gallery(label="Synthetic tiles", columns=2, format="png", object_fit="contain",
                                           buttons=["download", "fullscreen"], interactive=False, elem_id="tiles")
                        with gr.Row():
                            snapped = gr.Image(label="Snapped mask (exact class map used)", format="png", type="numpy",
                                               interactive=False, height=256, elem_id="snapped")
                            pair_zip = gr.File(label="Mask + tiles (zip)", interactive=False)
                        result = gr.State(None)

            with gr.Tab("Compare", id="compare") as compare_tab:
                gr.Markdown(app.compare.status())
                stems, splits, first_split = _compare_choices(app)
                with gr.Row(equal_height=True):
                    split = gr.Dropdown(splits, value=first_split, label="Split", scale=1)
                    stem = gr.Dropdown(stems, value=stems[0] if stems else None, label="Pair (type to filter)", scale=3)
                    prev_btn, next_btn, rand_btn = gr.Button("◀ Previous", scale=1), gr.Button("Next ▶", scale=1), gr.Button("Random", scale=1)
                with gr.Row(equal_height=True):
                    jump = gr.Textbox(label="Jump to stem", placeholder="e.g. test_3_003", scale=2, elem_id="jump")
                    cmp_seeds = gr.Textbox("0-2", label="Seeds (e.g. 0-2 or 1,5)", scale=1)
                    cmp_overlay = gr.Checkbox(False, label="Overlay mask contours", scale=1, elem_id="compare-overlay")
                    show = gr.Button("Show", variant="primary", scale=1)
                pair_view = gr.Gallery(label="Real · mask · synthetic (same size)", columns=5, object_fit="contain", height="auto",
                                       format="png", interactive=False, elem_id="compare-gallery")
                pair_status = gr.Markdown("", elem_id="compare-status")

            with gr.Tab("Model", id="model"):
                first = app.cards.card(app.catalog.default())
                card_summary = gr.Markdown(first.summary, elem_id="card-summary")
                with gr.Row():
                    card_sheet = gr.Image(first.sample_sheet, label="Test masks: mask · real · synthetic (3 seeds)", type="filepath",
                                          interactive=False, visible=first.sample_sheet is not None, elem_id="card-samples", scale=3)
                    card_curve = gr.Image(first.curve, label="Metrics against training step", type="filepath",
                                          interactive=False, visible=first.curve is not None, elem_id="card-curve", scale=2)
                with gr.Accordion("Details: architecture, training, post-processing, full evaluation report, model card", open=False):
                    card_details = gr.Markdown(first.details, elem_id="card-details")
                card = [card_summary, card_sheet, card_curve, card_details]

            with gr.Tab("Reading test", id="reading"):
                reading_tab(app, reading, demo, tabs)

            with gr.Tab("Fine-tune", id="finetune"):
                finetune_tab(app, finetune, checkpoint)

        # The named API endpoint: a mask file in, tiles out. Hidden widgets give it typed inputs for gradio_client.
        with gr.Row(visible=False):
            api_mask = gr.File(label="mask", type="filepath")
            api_seed = gr.Number(0, precision=0, label="seed")
            api_n = gr.Number(1, precision=0, label="variations")
            api_ckpt = gr.Textbox("", label="checkpoint")
            api_tiles = gr.Gallery(label="tiles", format="png")
            api_snapped = gr.Image(label="snapped_mask", format="png", type="numpy")
            api_zip = gr.File(label="zip")
            api_info = gr.JSON(label="info")
            api_button = gr.Button("synthesize")

        # -- wiring ---------------------------------------------------------------------------------

        def refresh_checkpoints(current):
            app.catalog.rescan()
            values = [v for _, v in app.catalog.choices()]
            value = current if current in values else app.catalog.default()
            return gr.Dropdown(choices=app.catalog.choices(), value=value), app.catalog.status(), *card_values(app, value)

        on(rescan.click, refresh_checkpoints, checkpoint, [checkpoint, ckpt_status, *card])
        on(demo.load, refresh_checkpoints, checkpoint, [checkpoint, ckpt_status, *card])
        def on_checkpoint(c, value):
            """Another checkpoint: its card, the preview's checkpoint and, when its classes differ, the canvas and examples."""
            new = app.catalog.scheme_for(c)
            redrawn, note = app.synthesis.canvas_for_scheme(value, new)
            if redrawn is None:
                return (*card_values(app, c), gr.HTML(checkpoint=c or ""), gr.skip(), gr.skip())
            return (*card_values(app, c), gr.HTML(value=redrawn, checkpoint=c or ""), gr.Gallery(example_items(app, new)), note)

        on(checkpoint.change, on_checkpoint, [checkpoint, canvas], [*card, canvas, examples, mask_info])

        def canvas_with(ids, c, note):
            return app.synthesis.canvas_value(ids, app.catalog.scheme_for(c)), note

        def on_size(value, n, c):
            return app.synthesis.canvas_for_size(value, n, app.catalog.scheme_for(c)), f"Canvas {int(n)}×{int(n)}"

        def on_random(n, c):
            ids, layout_seed = app.synthesis.random_mask(n, app.catalog.scheme_for(c))
            return canvas_with(ids, c, f"Random layout {int(n)}×{int(n)} (layout seed {layout_seed}); edit it or press Generate.")

        def on_upload(path, c):
            ids = app.synthesis.mask_from_upload(path, app.catalog.scheme_for(c))
            return canvas_with(ids, c, f"Loaded {os.path.basename(path)}: {app.synthesis.describe_mask(ids, app.catalog.scheme_for(c))}")

        def on_example(c, evt: gr.SelectData):
            ids, caption = app.synthesis.load_example(evt.index, app.catalog.scheme_for(c))
            return canvas_with(ids, c, f"Example {caption}: {app.synthesis.describe_mask(ids, app.catalog.scheme_for(c))}")

        on(size.change, on_size, [canvas, size, checkpoint], [canvas, mask_info])
        on(random_btn.click, on_random, [size, checkpoint], [canvas, mask_info])
        on(upload.upload, on_upload, [upload, checkpoint], [canvas, mask_info])
        on(examples.select, on_example, checkpoint, [canvas, mask_info])
        on(dice.click, lambda: int(np.random.default_rng().integers(1_000_000)), None, seed)
        # The live preview asks for the seed and overlay the page shows.
        on(seed.change, lambda v: gr.HTML(seed=int(v)) if v is not None else gr.skip(), seed, canvas)

        on(generate.click, app.synthesis.generate_from_canvas, [canvas, checkpoint, seed, variations, overlay],
           [tiles, snapped, pair_zip, status, result], **synth_queue)

        def on_overlay(r, o):
            return (app.synthesis.gallery(r, o) if r is not None else gr.skip()), gr.HTML(overlay=bool(o))

        on(overlay.change, on_overlay, [result, overlay], [tiles, canvas])

        api_button.click(api_errors(app.synthesis.api_synthesize), [api_mask, api_seed, api_n, api_ckpt],
                         [api_tiles, api_snapped, api_zip, api_info], api_name="synthesize",
                         api_description="Synthesize H&E tiles for a mask file (id or palette PNG): seed, variations (1-8), "
                                         "checkpoint (name, label or path; empty = the app's default, the best-evaluated one). "
                                         "Returns tiles, snapped mask, zip, info.",
                         **synth_queue)

        view_inputs = [split, stem, checkpoint, cmp_seeds, cmp_overlay]
        for event in (stem.change, show.click, cmp_overlay.change, cmp_seeds.submit):
            on(event, app.compare.view, view_inputs, [pair_view, pair_status], **synth_queue)
        on(compare_tab.select, app.compare.view_if_ready, view_inputs, [pair_view, pair_status], **synth_queue)

        def on_split(sp):
            names = app.compare.paired_folder(sp).stems
            return gr.Dropdown(choices=names, value=names[0] if names else None)

        on(split.change, on_split, split, stem)
        on(prev_btn.click, lambda sp, st: app.compare.step(sp, st, -1), [split, stem], stem)
        on(next_btn.click, lambda sp, st: app.compare.step(sp, st, 1), [split, stem], stem)
        on(rand_btn.click, lambda sp, st: app.compare.random(sp, st), [split, stem], stem)
        on(jump.submit, lambda sp, q: app.compare.find(sp, q), [split, jump], stem)
    # Light canvas and navigation events share a roomier default; synthesis has its own limit above.
    demo.queue(default_concurrency_limit=max(4, limit), max_size=s.queue_size)
    return demo


READING_INTRO = (
    "A blinded real-vs-synthetic reading study. **Readers**: open the link you were sent, enter your name and read; "
    "your answers are saved as you go, and your resume link brings you back to the same place. **Owners**: set a study "
    "up below, send its reader link, and open the results with the owner link (it carries your secret owner token).")
TRIAL_OUTPUTS = 9  # state, progress, left, right, confidence, answer a, answer b, resume line, end text


def reading_tab(app: PathGANApp, reading: ReadingTests, demo: gr.Blocks, tabs: gr.Tabs) -> None:
    """The Reading test tab: a reader's trials, an owner's set-up and results. Nothing here sees a trial's truth."""
    gr.Markdown(READING_INTRO)
    with gr.Group():
        with gr.Row(equal_height=True):
            code = gr.Textbox(label="Study code", elem_id="rt-code", scale=1)
            name = gr.Textbox(label="Your name or initials", elem_id="rt-name", scale=2)
            start = gr.Button("Start reading", variant="primary", elem_id="rt-start", scale=1)
        about = gr.Markdown("", elem_id="rt-about")
        progress = gr.Markdown("", elem_id="rt-progress")
        with gr.Row():
            left = gr.Image(label="A", type="filepath", interactive=False, visible=False, elem_id="rt-left", buttons=[], height=420)
            right = gr.Image(label="B", type="filepath", interactive=False, visible=False, elem_id="rt-right", buttons=[], height=420)
        confidence = gr.Radio(["1", "2", "3", "4", "5"], label="Confidence (optional): 1 a guess … 5 certain", visible=False,
                              elem_id="rt-confidence")
        with gr.Row():
            answer_a = gr.Button("Left is synthetic", visible=False, elem_id="rt-answer-a")
            answer_b = gr.Button("Right is synthetic", visible=False, elem_id="rt-answer-b")
        resume = gr.Markdown("", elem_id="rt-resume")
        done = gr.Markdown("", elem_id="rt-done")
        with gr.Accordion("Continue an earlier session", open=False):
            with gr.Row(equal_height=True):
                resume_token = gr.Textbox(label="Resume link or its session code", elem_id="rt-resume-token", scale=3)
                resume_btn = gr.Button("Continue", elem_id="rt-resume-button", scale=1)
        state = gr.State(None)  # the reader's session token and current trial, kept on the server
    with gr.Accordion("Set up a study (owner)", open=False):
        with gr.Row():
            study_name = gr.Textbox(label="Study name", elem_id="rs-name")
            mode = gr.Radio(list(MODES), value="side-by-side", label="Mode", elem_id="rs-mode")
        study_ckpts = gr.CheckboxGroup(app.catalog.choices(), value=[app.catalog.default()] if app.catalog.default() else [],
                                       label="Checkpoints under test", elem_id="rs-checkpoints")
        with gr.Row():
            trials = gr.Number(20, precision=0, label="Trials per reader", elem_id="rs-trials")
            study_seed = gr.Number(0, precision=0, label="Seed", elem_id="rs-seed")
            create = gr.Button("Create study", elem_id="rs-create")
        gr.Markdown(f"Tiles come from the app's paired data: {app.compare.status()}")
        created = gr.Markdown("", elem_id="rs-created")
    with gr.Accordion("Results (owner)", open=False) as results_box:
        with gr.Row(equal_height=True):
            owner_code = gr.Textbox(label="Study code", elem_id="rs-code")
            owner_token = gr.Textbox(label="Owner token", type="password", elem_id="rs-token")
            show = gr.Button("Show results", elem_id="rs-show")
        results = gr.Markdown("", elem_id="rs-results")
        plot = gr.Image(label="Accuracy per reader", type="filepath", interactive=False, visible=False, elem_id="rs-plot")
        export = gr.File(label="answers.csv + summary.json", interactive=False, visible=False, elem_id="rs-export")

    def page(request: gr.Request | None) -> str:
        return page_address(request.headers.get("referer") if request else None)

    def trial_outputs(view, request=None):
        two = view.mode == "side-by-side"
        labels = ("Left is synthetic", "Right is synthetic") if two else ("Real", "Synthetic")
        live = not view.finished
        tiles = view.tiles + [None] * (2 - len(view.tiles))
        return ({"token": view.session, "index": view.index, "mode": view.mode}, view.progress,
                gr.Image(tiles[0], visible=live), gr.Image(tiles[1], visible=live and two), gr.Radio(value=None, visible=live),
                gr.Button(labels[0], visible=live), gr.Button(labels[1], visible=live),
                f"Your resume link (keep it to continue later; it is yours alone): `{resume_link(page(request), view)}`" if live else "",
                view.finished_text)

    def on_start(c, n, request: gr.Request):
        return trial_outputs(reading.start(c, n), request)

    def on_resume(link, request: gr.Request):
        return trial_outputs(reading.view(session_from_link(link)), request)

    def on_answer(which):
        def answer(st, conf, request: gr.Request):
            if not st:
                raise UserError("start a session first")
            choice = ANSWERS[st["mode"]][which]
            return trial_outputs(reading.answer(st["token"], st["index"], choice, conf), request)
        return answer

    def on_create(nm, md, cks, n, sd, request: gr.Request):
        study = reading.create(nm, md, cks or [], n, sd)
        return (f"Created **{study.name}** (code `{study.code}`).\n\n- Reader link, to send: `{reader_link(page(request), study.code)}`\n"
                f"- Owner link, keep it private (it opens the results): `{owner_link(page(request), study)}`")

    def on_results(c, t):
        md, png, archive = reading.results(c, t)
        return md, gr.Image(str(png), visible=True), gr.File(str(archive), visible=True)

    def on_load(request: gr.Request):
        q = request.query_params if request else {}
        study, owner, session = q.get("study"), q.get("owner"), q.get("session")
        if not study:
            return (gr.skip(),) * (6 + TRIAL_OUTPUTS)
        first = (gr.Tabs(selected="reading"), study, reading.describe(study), study if owner else gr.skip(), owner or gr.skip(),
                 gr.Accordion(open=True) if owner else gr.skip())
        if session:
            return (*first, *trial_outputs(reading.view(session), request))
        return (*first, *(gr.skip(),) * TRIAL_OUTPUTS)

    trial = [state, progress, left, right, confidence, answer_a, answer_b, resume, done]
    on(start.click, on_start, [code, name], trial)
    on(answer_a.click, on_answer(0), [state, confidence], trial)
    on(answer_b.click, on_answer(1), [state, confidence], trial)
    on(resume_btn.click, on_resume, resume_token, trial)
    on(code.submit, reading.describe, code, about)
    on(create.click, on_create, [study_name, mode, study_ckpts, trials, study_seed], created)
    on(show.click, on_results, [owner_code, owner_token], [results, plot, export])
    on(demo.load, on_load, None, [tabs, code, about, owner_code, owner_token, results_box, *trial])


def finetune_tab(app: PathGANApp, tab: FinetuneTab, checkpoint: gr.Dropdown) -> None:
    """The Fine-tune tab: adapt the checkpoint chosen above to your own pairs, in a background worker."""
    d = FinetuneConfig()
    gr.Markdown("Adapt the checkpoint chosen at the top to your own image/mask pairs. Upload a zip with `images/` and `masks/` "
                "(with or without `train/` inside) and say what its masks' classes are: a `scheme.json` in the zip, or a choice "
                "below; binary masks then need a class map such as `nucleus=epithelial`. Every 8th pair is held out of training, "
                "and the result is whichever of the base and the fine-tuned network scores better on those pairs. Jobs run one "
                "at a time in a worker process; closing this page does not stop them. The result appears in the checkpoint "
                "list when it is done.")
    with gr.Row():
        upload = gr.File(label="Pairs (zip)", file_types=[".zip"], type="filepath", elem_id="ft-upload")
        local = gr.Textbox(label="…or a folder on the server", visible=tab.allow_local_paths, elem_id="ft-local")
    with gr.Row():
        name = gr.Textbox(label="Name of the new checkpoint", placeholder="e.g. my-lab-vanilla", elem_id="ft-name")
        scheme = gr.Dropdown(list(SCHEME_CHOICES), value="", label="Your masks' classes",
                             elem_id="ft-scheme")
        class_map = gr.Textbox(label="Class map, when your classes differ from the checkpoint's (e.g. nucleus=epithelial)",
                               elem_id="ft-class-map")
    with gr.Row():
        steps = gr.Number(d.steps, precision=0, label="Steps", elem_id="ft-steps")
        lr = gr.Number(d.lr, label="Learning rate", elem_id="ft-lr")
        batch = gr.Number(d.batch_size, precision=0, label="Batch size", elem_id="ft-batch")
        warmup = gr.Number(d.d_warmup_steps, precision=0, label="Discriminator warm-up steps", elem_id="ft-warmup")
        ema = gr.Number(d.ema_decay, label="EMA decay", elem_id="ft-ema")
        disc = gr.Radio(list(DISCRIMINATOR_CHOICES), value=d.discriminator, label="Discriminator", elem_id="ft-disc")
    disc_note = gr.Markdown(tab.discriminator_note(app.catalog.default(), d.discriminator), elem_id="ft-disc-note")
    with gr.Row():
        calibrate = gr.Checkbox(False, label="Then calibrate on my data (colour map + JPEG matching, fitted on my train split)",
                                elem_id="ft-calibrate")
        token = gr.Textbox(label="Job token", type="password", visible=tab.job_token is not None, elem_id="ft-token")
    with gr.Row():
        check = gr.Button("Check the data", elem_id="ft-check")
        start = gr.Button("Start fine-tuning", variant="primary", elem_id="ft-start")
    report = gr.Markdown("", elem_id="ft-report")
    with gr.Row(equal_height=True):
        job = gr.Dropdown(tab.choices(), label="Jobs (newest first)", elem_id="ft-job", scale=4)
        cancel = gr.Button("Cancel", elem_id="ft-cancel", scale=1)
        resume = gr.Button("Resume", elem_id="ft-resume", scale=1)
    status = gr.Markdown("", elem_id="ft-status")
    with gr.Row():
        losses = gr.Image(label="Losses", type="filepath", interactive=False, elem_id="ft-losses", buttons=[])
        samples = gr.Image(label="Samples: mask · real · synthetic, refreshed as it trains", type="filepath", interactive=False,
                           elem_id="ft-samples", buttons=["fullscreen"])
    timer = gr.Timer(2.0)

    def on_start(*args):
        text, job_id = tab.start(*args)
        return text, gr.Dropdown(choices=tab.choices(), value=job_id)

    def on_tick(job_id):
        return (gr.Dropdown(choices=tab.choices()), *tab.poll(job_id))

    on(check.click, tab.check, [upload, local, checkpoint, class_map, scheme, disc], report)
    on(start.click, on_start, [upload, local, checkpoint, name, class_map, steps, lr, batch, warmup, ema, disc, token, calibrate, scheme],
       [report, job])
    on(job.change, tab.view, job, [status, losses, samples])
    for source in (checkpoint, disc):
        on(source.change, tab.discriminator_note, [checkpoint, disc], disc_note)
    on(timer.tick, on_tick, job, [job, status, losses, samples])
    on(cancel.click, tab.cancel, job, report)
    on(resume.click, tab.resume, job, report)


def card_values(app: PathGANApp, checkpoint: str | None):
    """The Model tab's four widgets: summary, sample sheet, metric curve (hidden when absent), folded details."""
    card = app.cards.card(checkpoint)
    return (card.summary, gr.Image(card.sample_sheet, visible=card.sample_sheet is not None),
            gr.Image(card.curve, visible=card.curve is not None), card.details)


def _compare_choices(app: PathGANApp):
    """(stems, splits, first split) for the Compare tab, empty when no dataset is set."""
    from pathgan.app.compare import list_splits

    try:
        folder = app.compare.paired_folder()
    except UserError:
        return [], [], None
    return folder.stems, list_splits(folder.root), folder.split


def launch_kwargs(options) -> dict:
    # Gradio takes one upload limit for every component: the largest, a fine-tuning zip (streamed to disk). Masks and
    # images are held to MAX_UPLOAD_BYTES by the app's own checks before they are decoded.
    return dict(server_name=options.host, server_port=options.port, share=options.share, show_error=True,
                max_file_size=Limits().max_zip_bytes, css=CSS, footer_links=["api", "gradio"])


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings, options = parse_args(argv)
    app = PathGANApp(settings)
    log.info("%s", app.catalog.status())
    demo = build_demo(app)
    demo.launch(**launch_kwargs(options))


if __name__ == "__main__":
    main(sys.argv[1:])
