"""Reading studies through the running app: a killed server loses no answer, and no endpoint, documented or
not, hands out the truth of a trial that has not been answered."""
from __future__ import annotations

import json
import re
import urllib.request
from contextlib import contextmanager

import pytest
from gradio_client import Client

from app_server import AppProcess, free_port
from helpers import make_tiny_generator
from pathgan.checkpoint import save_generator
from pathgan.reading.store import StudyStore
from pathgan.schemes import CONSEP

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(tmp_path):
    d = tmp_path / "checkpoints"
    save_generator(d / "tiny.safetensors", make_tiny_generator(), CONSEP, {"disc": "patchgan", "steps": 1})
    return d, tmp_path / "studies.sqlite"


def start(ckpts, db, log, port=None) -> AppProcess:
    return AppProcess(["--checkpoints", str(ckpts), "--db", str(db), "--device", "cpu"], port=port or free_port(), log_path=log)


def create_study(client: Client, ckpts, mode="side-by-side", trials=4) -> tuple[str, str]:
    text = client.predict("Pilot", mode, [str(ckpts / "tiny.safetensors")], trials, 5, api_name="/on_create")
    code, owner = re.search(r"\?study=(\w[\w-]*)&owner=([\w-]+)", text).groups()
    return code, owner


@contextmanager
def reading_session(ckpts, db, log, reader: str):
    """A running app with a 4-trial study and one reader's session at trial 1: (process, client, code, owner token, outputs, session token)."""
    with start(ckpts, db, log) as proc:
        client = Client(proc.url, verbose=False)
        code, owner = create_study(client, ckpts)
        out = client.predict(code, reader, api_name="/on_start")
        yield proc, client, code, owner, out, re.search(r"session=([\w-]+)", out[4]).group(1)


def test_a_killed_server_loses_no_answer_and_the_session_resumes(setup, tmp_path):
    ckpts, db = setup
    with reading_session(ckpts, db, tmp_path / "a.log", "kim") as (proc, client, code, _, out, token):
        assert out[0] == "Trial 1 of 4"
        assert client.predict("4", api_name="/answer")[0] == "Trial 2 of 4"
        assert client.predict("2", api_name="/answer_1")[0] == "Trial 3 of 4"
        proc.proc.kill()  # SIGKILL between answers: no shutdown, no flush
        proc.proc.wait(10)
    store = StudyStore(db)
    kept = store.answers(code)
    assert [(r["trial"], r["choice"], r["confidence"]) for r in kept] == [(1, "left", 4), (2, "right", 2)]
    with start(ckpts, db, tmp_path / "b.log") as proc:
        client = Client(proc.url, verbose=False)
        out = client.predict(token, api_name="/on_resume")
        assert out[0] == "Trial 3 of 4"
        client.predict(None, api_name="/answer")
        out = client.predict(None, api_name="/answer")
        assert out[0] == "Done: 4 of 4 answered." and "You answered" in out[-1]
        client.predict(None, api_name="/answer")  # after the end: refused (a warning in the page), nothing written
    assert len(StudyStore(db).answers(code)) == 4


DUMMY = {"textbox": "", "number": 0, "dropdown": None, "file": None, "image": None, "imageeditor": None, "checkbox": False,
         "radio": None, "slider": 1, "gallery": None, "checkboxgroup": [], "uploadbutton": None, "markdown": "", "html": "", "json": None}


def test_no_endpoint_reveals_an_unanswered_trial(setup, tmp_path):
    ckpts, db = setup
    with reading_session(ckpts, db, tmp_path / "a.log", "lee") as (proc, client, code, owner, out, token):
        left, right = out[1]["value"], out[2]["value"]
        # The two tiles of a trial: same size, format and JPEG headers; opaque names of one length.
        a, b = open(left, "rb").read(), open(right, "rb").read()
        assert a[: a.index(b"\xff\xda")] == b[: b.index(b"\xff\xda")]
        assert len(left.rsplit("/", 1)[1]) == len(right.rsplit("/", 1)[1]) == 28

        store = StudyStore(db)
        session = store.session(token)
        plans = [store.plan(session, i) for i in range(4)]
        config = json.loads(urllib.request.urlopen(proc.url + "config").read())
        types = {c["id"]: c["type"] for c in config["components"]}
        seen = []
        for dep in config["dependencies"]:
            args = [DUMMY.get(types[i], None) for i in dep["inputs"] if types[i] != "state"]
            if dep.get("api_name") in ("on_start", "on_resume", "describe"):
                args = [code, "mallory"][: len(args)] if dep["api_name"] != "on_resume" else ["not-a-session"]
            try:
                seen.append(json.dumps(client.predict(*args, fn_index=dep["id"]), default=str))
            except Exception as e:  # refusals are answers too: they must not leak either
                seen.append(str(e))
        text = "\n".join(seen)
        for p in plans:  # trial 1 is being shown, none is answered
            assert json.dumps(p) not in text and f'"synthetic": "{p["synthetic"]}"' not in text
        assert owner not in text and token not in text.replace(f"session={token}", "")
        assert "correct answer" not in text  # the reader's own table appears only after the last answer
        assert StudyStore(db).trial_count(session) > StudyStore(db).next_index(session)  # the session was still running throughout
        assert proc.alive()
