"""The house rules: the library never imports Gradio or the app, each rule has one home, registries drive the
CLI, configs refuse what they do not know, and the benchmark times the real trainer."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pathgan.dataclass_cli import dataclass_from_dict
from pathgan.dataset import dataset_fingerprint, scan_dataset
from pathgan.models import DISCRIMINATORS, GENERATORS
from pathgan.paths import PROJECT_ROOT
from pathgan.post_processing import PostProcessing
from pathgan.schemes import CONSEP, ClassScheme, SchemeMismatch, check_same_classes
from pathgan.seeds import MAX_SEED, consecutive_seeds, parse_seeds
from pathgan.training.config import TrainConfig

PACKAGE = PROJECT_ROOT / "pathgan"


def modules(folder: Path = PACKAGE):
    for path in sorted(folder.rglob("*.py")):
        yield path, ast.parse(path.read_text(), str(path))


def imported_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names |= {base} | {f"{base}.{a.name}" for a in node.names}
    return names


def test_no_library_module_imports_gradio():
    offenders = [str(p.relative_to(PROJECT_ROOT)) for p, tree in modules() if "app" not in p.relative_to(PACKAGE).parts[:1]
                 and any(n == "gradio" or n.startswith("gradio.") for n in imported_names(tree))]
    assert not offenders, f"only app.py wires Gradio; these library modules import it: {offenders}"


def test_the_library_never_imports_the_app():
    offenders = []
    for path, tree in modules():
        if path.relative_to(PACKAGE).parts[0] == "app":
            continue
        if any(n.startswith(("pathgan.app", ".app")) or ("app" in n.split(".") and n.startswith("..")) for n in imported_names(tree)):
            offenders.append(str(path.relative_to(PROJECT_ROOT)))
    assert not offenders, offenders


def test_importing_pathgan_sets_no_gradio_variable_and_loads_no_gradio():
    code = "import os, sys, pathgan, pathgan.synthesis, pathgan.evaluation, pathgan.training.trainer; " \
           "print(sorted(k for k in os.environ if k.startswith('GRADIO'))); print('gradio' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADIO")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "False"]


def test_the_library_has_no_import_cycle():
    """Imports run one way (the cache folder once sat in the metrics package and closed a loop through it); function-level
    imports count too, since they only hide a loop."""
    names = {".".join(p.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__"): (p, tree) for p, tree in modules()}
    graph = {}
    for name, (path, tree) in names.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
                deps |= {f"{module}.{a.name}" if f"{module}.{a.name}" in names else module for a in node.names} & names.keys()
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names} & names.keys()
        graph[name] = deps - {name}

    def in_a_loop(start: str) -> bool:
        seen, todo = set(), list(graph[start])
        while todo:
            name = todo.pop()
            if name == start:
                return True
            if name not in seen:
                seen.add(name)
                todo += graph[name]
        return False

    assert [n for n in graph if in_a_loop(n)] == []


@pytest.mark.parametrize("name", ["best_device", "tile_starts", "parse_seeds", "check_same_classes", "data_root", "command_line"])
def test_each_rule_is_defined_once(name):
    homes = [str(p.relative_to(PROJECT_ROOT)) for p, tree in modules()
             if any(isinstance(n, ast.FunctionDef) and n.name == name for n in ast.walk(tree))]
    assert len(homes) == 1, f"{name} is defined in {homes}"


@pytest.mark.parametrize("constant", ["TILE", "PROJECT_ROOT", "MAX_SEED", "EVAL_DIR", "DEFAULT_DATA_ROOT"])
def test_each_constant_has_one_home(constant):
    homes = [str(p.relative_to(PROJECT_ROOT)) for p, tree in modules()
             if any(isinstance(n, ast.Assign) and any(getattr(t, "id", None) == constant for t in n.targets) for n in tree.body)]
    assert len(homes) == 1, f"{constant} is assigned in {homes}"


def test_every_error_class_is_a_user_error():
    """Exceptions defined in the library are what a user must act on: each derives from PathGANError, the one
    class the app and the CLI show without a traceback."""
    import importlib

    from pathgan.errors import PathGANError

    classes = []
    for path, tree in modules():
        module = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
        defined = [getattr(importlib.import_module(module), n.name) for n in tree.body if isinstance(n, ast.ClassDef)]
        classes += [c for c in defined if issubclass(c, Exception) and not issubclass(c, Warning)]
    assert len(classes) >= 15 and PathGANError in classes
    assert [c.__name__ for c in classes if not issubclass(c, PathGANError)] == []


def test_the_cli_prints_a_user_error_and_lets_a_bug_raise(tmp_path, monkeypatch, capsys):
    import pathgan.commands.generate as generate
    from pathgan.cli import main

    args = ["generate", "--checkpoint", str(tmp_path / "gone.safetensors"), "--masks", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "gone.safetensors: no such checkpoint file" in err and "Traceback" not in err
    monkeypatch.setattr(generate, "run", lambda args: np.zeros(2) + np.zeros(3))  # a ValueError that no user caused
    with pytest.raises(ValueError, match="could not be broadcast"):
        main(args)
    monkeypatch.setattr(generate, "run", lambda args: [][0])
    with pytest.raises(IndexError):
        main(args)


def test_tests_import_helpers_and_conftest_keeps_fixtures():
    tests = PROJECT_ROOT / "tests"
    offenders = [p.name for p, tree in modules(tests) if any(n == "conftest" or n.startswith("conftest.") for n in imported_names(tree))]
    assert offenders == [], f"import helpers from helpers.py, not conftest: {offenders}"


def test_registries_drive_the_cli_choices(capsys):
    from pathgan.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert "--disc {" + ",".join(sorted(DISCRIMINATORS)) + "}" in text
    assert "--generator-arch {" + ",".join(sorted(GENERATORS)) + "}" in text


def test_train_config_refuses_unknown_keys_at_every_level():
    good = TrainConfig().to_dict()
    assert TrainConfig.from_dict(good) == TrainConfig()
    with pytest.raises(ValueError, match=r"unknown TrainConfig fields \['stepz'\]"):
        TrainConfig.from_dict({**good, "stepz": 10})
    with pytest.raises(ValueError, match=r"unknown GeneratorConfig fields \['ngff'\]"):
        TrainConfig.from_dict({**good, "generator": {**good["generator"], "ngff": 8}})
    with pytest.raises(ValueError, match="must be a JSON object"):
        dataclass_from_dict(TrainConfig, ["not", "a", "dict"])


def test_one_class_count_check_with_one_wording():
    three = ClassScheme(("bg", "a", "b", "c"), ((0, 0, 0), (1, 1, 1), (2, 2, 2), (3, 3, 3)))
    check_same_classes(CONSEP, CONSEP, "x", "y")
    with pytest.raises(SchemeMismatch, match=r"ck: trained for 3 classes \(a, b, c\), but the canvas has 4 classes \(miscellaneous, .*same class scheme"):
        check_same_classes(three, CONSEP, "ck", "the canvas")
    renamed = ClassScheme(("bg", "x", "b", "c"), three.colors)  # same count, other classes: refused too
    with pytest.raises(SchemeMismatch, match=r"trained for 3 classes \(a, b, c\), but the data has 3 classes \(x, b, c\)"):
        check_same_classes(three, renamed, "ck", "the data")


def test_seed_rules():
    assert parse_seeds("0-3,9") == [0, 1, 2, 3, 9] and parse_seeds(5) == [5]
    assert consecutive_seeds(3, 2, 8) == [3, 4] and consecutive_seeds(MAX_SEED, 2, 8) == [MAX_SEED, 0]
    for bad, message in [("0-9", "at most 8 seeds"), ("1,1", "repeats seeds"), (str(MAX_SEED + 1), "at most 2147483647")]:
        with pytest.raises(ValueError, match=message):
            parse_seeds(bad, max_count=8, unique=True)
    for args, message in [((0, 9, 8), "between 1 and 8"), ((-1, 1, 8), "between 0 and"), (("x", 1, 8), "whole numbers")]:
        with pytest.raises(ValueError, match=message):
            consecutive_seeds(*args)


def test_post_processing_is_one_value_with_its_config():
    from pathgan.colour_calibration import ColourCalibration
    from pathgan.compression_matching import CompressionMatch

    post = PostProcessing(ColourCalibration((1.1, 1.0, 0.9), (-3.0, 0.0, 2.0), {"split": "train"}),
                          CompressionMatch(((8,) * 64,), 2, {"split": "train"}), {"kept": True})
    config = {"format": "x", **post.to_config()}
    assert PostProcessing.from_config(config) == post and PostProcessing.from_config({"format": "x"}) == PostProcessing()
    assert post.description == "colour map fitted on train; then JPEG with custom quantisation tables, 4:2:0 chroma, as the train tiles"
    assert post.without_compression().compression is None and PostProcessing().to_config() == {}
    image = np.full((16, 16, 3), 100, np.uint8)
    assert np.array_equal(post.apply([image])[0], post.compression.apply(post.colour.apply([image]))[0])
    with pytest.raises(ValueError, match="ck.safetensors: calibration scale .* re-run `python -m pathgan calibrate`"):
        PostProcessing.from_config({"calibration": {**post.colour.to_dict(), "scale": [0, 1, 1]}}, "ck.safetensors")


def test_dataset_fingerprint_names_the_data_and_changes_with_it(mini_dataset):
    a = dataset_fingerprint(scan_dataset(mini_dataset, "train"))
    assert a["name"] == "mini" and a["split"] == "train" and a["pairs"] == 6 and len(a["sha256"]) == 64
    assert dataset_fingerprint(scan_dataset(mini_dataset, "train")) == a
    mask = next((mini_dataset / "masks" / "train").iterdir())
    mask.write_bytes(mask.read_bytes() + b"\0")
    assert dataset_fingerprint(scan_dataset(mini_dataset, "train", check_content=False))["sha256"] != a["sha256"]


def test_git_commit_is_unknown_without_history(tmp_path, monkeypatch):
    from pathgan.training import trainer

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.setattr(trainer, "PROJECT_ROOT", tmp_path)
    assert trainer.git_commit() == "unknown"  # not 'HEAD', as a copy of the checkout without history once recorded
    monkeypatch.setattr(trainer, "PROJECT_ROOT", PROJECT_ROOT)
    commit = trainer.git_commit()
    assert commit == "unknown" or len(commit.removesuffix("+changes")) == 40


def test_default_checkpoint_search_finds_what_the_trainer_writes(tmp_path):
    from pathgan.app.checkpoints_index import DEFAULT_SEARCH, find_checkpoints
    from pathgan.checkpoint import save_generator
    from helpers import make_tiny_generator

    save_generator(tmp_path / "runs" / "mine" / "generator.safetensors", make_tiny_generator(), CONSEP)
    found = find_checkpoints(DEFAULT_SEARCH, tmp_path)
    assert [e.path.relative_to(tmp_path).as_posix() for e in found] == ["runs/mine/generator.safetensors"]
    assert all("checkpoints" not in p or p == "checkpoints" for p in DEFAULT_SEARCH)  # no pattern for a folder nothing writes


def test_bench_times_the_real_train_step(monkeypatch, capsys):
    from pathgan.cli import main
    from pathgan.training.trainer import Trainer

    calls = []
    real_step = Trainer.train_step

    def counted(self):
        calls.append((self.cfg.batch_size, self.cfg.discriminator.arch, self.cfg.generator.ngf))
        return real_step(self)

    monkeypatch.setattr(Trainer, "train_step", counted)
    assert main(["bench", "train", "--ngf", "4", "--ndf", "4", "--batch-sizes", "2", "--discs", "vanilla", "--steps", "1", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert calls == [(2, "vanilla", 4)] * 6  # fp32, then the fast path: 2 warm-up steps and 1 timed each, all through Trainer.train_step
    assert "Trainer.train_step" in out and "threads" in out and "vanilla" in out.splitlines()[-1]


def test_report_loads_from_older_versions_and_refuses_others():
    from pathgan.evaluation_report import EvaluationReport, ReportError

    shipped = json.loads((PROJECT_ROOT / "checkpoints" / "consep-vanilla.report.json").read_text())
    assert EvaluationReport.from_dict(shipped).to_dict() == shipped
    old = {k: v for k, v in shipped.items() if k not in ("checkerboard", "post_processing")}
    md = EvaluationReport.from_dict(old).markdown()
    assert "not recorded (report from an older PathGAN)" in md and "post-processing: not recorded" in md
    for bad, message in [({"kind": "other", "fid": 1.0}, "is not 'pathgan-evaluation'"), ({"score": 3}, "no FID"),
                         ({**shipped, "version": 99}, "newer than this PathGAN"), ([1, 2], "JSON object")]:
        with pytest.raises(ReportError, match=message):
            EvaluationReport.from_dict(bad)
