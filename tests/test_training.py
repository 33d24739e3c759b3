import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from pathgan.checkpoint import load_generator
from pathgan.dataset import DatasetError
from pathgan.models import DiscriminatorConfig, GeneratorConfig
from pathgan.training import trainer as trainer_module
from pathgan.training.config import TrainConfig
from pathgan.training.trainer import Trainer, TrainingError


def tiny_config(data, out, steps, **kw) -> TrainConfig:
    return TrainConfig(data=str(data), out=str(out), steps=steps, batch_size=2, sample_every=1000, checkpoint_every=1000,
                       log_every=1, diversity_weight=kw.pop("diversity_weight", 0.5),
                       generator=GeneratorConfig(ngf=4), discriminator=DiscriminatorConfig(ndf=4, arch=kw.pop("disc", "patchgan")), **kw)


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module, exact=True):
    for (name, x), (_, y) in zip(a.named_parameters(), b.named_parameters()):
        if exact:
            assert torch.equal(x, y), name
        else:
            assert torch.allclose(x, y, atol=1e-5, rtol=1e-4), (name, (x - y).abs().max())


@pytest.mark.parametrize("disc", ["patchgan", "vanilla"])
def test_resume_continues_exactly(mini_dataset, tmp_path, disc):
    straight = Trainer(tiny_config(mini_dataset, tmp_path / "a", 20, disc=disc))
    straight.run()
    Trainer(tiny_config(mini_dataset, tmp_path / "b", 10, disc=disc)).run()
    resumed = Trainer(tiny_config(mini_dataset, tmp_path / "b", 20, disc=disc), resume=True)
    resumed.run()
    assert resumed.step == 20
    assert_same_weights(straight.G, resumed.G)
    assert_same_weights(straight.D, resumed.D)


def test_run_folder_has_config_metrics_samples_and_a_loadable_checkpoint(mini_dataset, tmp_path):
    out = tmp_path / "run"
    cfg = tiny_config(mini_dataset, out, 4, l1_weight=50.0)
    cfg.sample_every = cfg.checkpoint_every = 2
    cfg.keep_snapshots = True
    Trainer(cfg).run()
    saved = json.loads((out / "config.json").read_text())
    assert saved["l1_weight"] == 50.0 and saved["generator"]["ngf"] == 4
    lines = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines] == [1, 2, 3, 4]
    assert all(l["images_per_s"] > 0 and l["loss_l1"] > 0 for l in lines)
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_000002.png", "step_000004.png"]
    g, config = load_generator(out / "generator.safetensors")
    assert config.provenance["steps"] == 4 and config.train_config["l1_weight"] == 50.0
    assert (out / "generator-step000002.safetensors").exists()


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(mini_dataset, tmp_path, monkeypatch):
    cfg = tiny_config(mini_dataset, tmp_path / "nan", 10)
    cfg.checkpoint_every = 2
    trainer = Trainer(cfg)
    real = trainer_module.gan_loss
    monkeypatch.setattr(trainer_module, "gan_loss", lambda logits, target: real(logits, target) * (float("nan") if trainer.step >= 3 else 1.0))
    with pytest.raises(TrainingError, match=r"became nan at step 4.*step 2"):
        trainer.run()
    _, config = load_generator(tmp_path / "nan" / "generator.safetensors")
    assert config.provenance["steps"] == 2


def test_settings_that_cannot_train_are_refused_before_the_data_is_read(tmp_path):
    from pathgan.errors import ConfigError

    for settings, message in [({"ema_decay": 1.0}, "ema-decay must be in"), ({"steps": 2, "lr_decay_steps": 5}, "lr-decay-steps must be between"),
                              ({"batch_size": 0}, "batch-size must be 1 or more"), ({"data_workers": -1}, "data-workers must be 0 or more"),
                              ({"class_map": "nucleus=epithelial"}, "give --init-generator too")]:
        with pytest.raises(ConfigError, match=message):
            Trainer(TrainConfig(data=str(tmp_path / "no such data"), out=str(tmp_path / "out"), **settings))
    assert not (tmp_path / "out").exists()


def test_dataset_problems_are_refused_before_step_one(mini_dataset, tmp_path):
    next((mini_dataset / "masks" / "train").iterdir()).unlink()
    (mini_dataset / "images" / "train" / "junk.png").write_text("not an image")
    with pytest.raises(DatasetError, match=r"(?s)2 problem.*no mask.*no mask"):
        Trainer(tiny_config(mini_dataset, tmp_path / "x", 2))
    assert not (tmp_path / "x").exists()


def _train_cmd(data, out, steps, *extra):
    return [sys.executable, "-m", "pathgan", "train", "--data", str(data), "--out", str(out), "--steps", str(steps),
            "--batch-size", "2", "--ngf", "4", "--ndf", "4", "--log-every", "1", "--sample-every", "1000",
            "--checkpoint-every", "1000", "--device", "cpu", *extra]


@pytest.mark.slow
def test_sigterm_saves_a_resumable_checkpoint(mini_dataset, tmp_path):
    out = tmp_path / "term"
    proc = subprocess.Popen(_train_cmd(mini_dataset, out, 100000), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while not (out / "metrics.jsonl").exists() or not (out / "metrics.jsonl").read_text().count("\n") >= 3:
        assert time.time() < deadline and proc.poll() is None, proc.stdout.read() if proc.poll() is not None else "timeout"
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, text
    assert "saved a resumable checkpoint" in text
    state = torch.load(out / "train_state.pt", weights_only=True)
    assert state["step"] >= 3
    resumed = Trainer(tiny_config(mini_dataset, out, state["step"] + 2), resume=True)
    assert resumed.step == state["step"]
    resumed.run()
    assert resumed.step == state["step"] + 2


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(mini_dataset, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # fp32: on a CPU with bf16 units the default is bf16 autocast, whose rounding differs between a batch of 2 and two of 1
    flags = ("--diversity-weight", "0.5", "--no-bf16")
    single = subprocess.run(_train_cmd(mini_dataset, tmp_path / "one", 4, *flags), capture_output=True, text=True, env=env)
    assert single.returncode == 0, single.stderr[-2000:]
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533", "-m", "pathgan",
                          *_train_cmd(mini_dataset, tmp_path / "two", 4, *flags)[3:]],
                         capture_output=True, text=True, env=env)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    a = load_file(str(tmp_path / "one" / "generator.safetensors"))
    b = load_file(str(tmp_path / "two" / "generator.safetensors"))
    params = [k for k in a if "running" not in k and "num_batches" not in k]
    diffs = torch.cat([(a[k] - b[k]).abs().flatten() for k in params])
    # Adam divides by sqrt(v): rounding noise in near-zero gradients can move a weight by up to ~lr per step,
    # but the typical weight must agree to float precision.
    assert diffs.quantile(0.99) < 1e-4, diffs.quantile(0.99)
    assert diffs.median() < 1e-5, diffs.median()
    # Same data shards and noise: the losses (averaged over ranks) agree step by step.
    la = [json.loads(l) for l in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    lb = [json.loads(l) for l in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    for x, y in zip(la, lb):
        for key in ("loss_d", "loss_g_gan", "loss_l1", "loss_div"):
            assert x[key] == pytest.approx(y[key], rel=1e-3, abs=1e-4), (x["step"], key)


def test_cli_flags_map_onto_the_config(mini_dataset, tmp_path):
    from pathgan.cli import main

    out = tmp_path / "cli"
    assert main(_train_cmd(mini_dataset, out, 1, "--disc", "vanilla", "--l1-weight", "10", "--no-augment")[3:]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["discriminator"]["arch"] == "vanilla" and saved["l1_weight"] == 10.0 and saved["augment"] is False
    assert saved["lr"] == TrainConfig.lr and saved["steps"] == 1


def test_fine_tuning_starts_from_a_checkpoint_and_keeps_its_architecture(mini_dataset, tmp_path, tiny_checkpoint):
    from pathgan.checkpoint import load_generator as load

    start, _ = load(tiny_checkpoint)
    cfg = tiny_config(mini_dataset, tmp_path / "ft", 0, init_generator=str(tiny_checkpoint))
    cfg.generator = GeneratorConfig(ngf=16)  # ignored: the checkpoint's architecture wins
    t = Trainer(cfg)
    assert t.G.cfg.ngf == start.cfg.ngf
    assert_same_weights(t.G, start)
    t.cfg.steps = 2
    t.run()
    assert json.loads((tmp_path / "ft" / "config.json").read_text())["init_generator"] == str(tiny_checkpoint)
    assert any(not torch.equal(a, b) for a, b in zip(t.G.parameters(), start.parameters()))


def test_a_run_from_a_checkpoint_counts_the_steps_behind_it(mini_dataset, tmp_path, tiny_checkpoint):
    from pathgan.app.checkpoints_index import CheckpointEntry
    from pathgan.checkpoint import CheckpointConfig, read_config

    first = tmp_path / "first" / "generator.safetensors"
    Trainer(tiny_config(mini_dataset, first.parent, 3)).run()
    Trainer(tiny_config(mini_dataset, tmp_path / "second", 2, init_generator=str(first))).run()
    second = tmp_path / "second" / "generator.safetensors"
    assert read_config(second)["provenance"]["steps"] == 2 and read_config(second)["provenance"]["total_steps"] == 5
    Trainer(tiny_config(mini_dataset, tmp_path / "third", 1, init_generator=str(second))).run()
    third = tmp_path / "third" / "generator.safetensors"
    assert read_config(third)["provenance"]["total_steps"] == 6
    assert "6 steps" in CheckpointEntry(third, CheckpointConfig.read(third)).label  # what the app's dropdown shows
    Trainer(tiny_config(mini_dataset, tmp_path / "fourth", 1, init_generator=str(tiny_checkpoint))).run()
    assert "total_steps" not in read_config(tmp_path / "fourth" / "generator.safetensors")["provenance"]  # no steps recorded


def test_discriminator_warmup_leaves_the_generator_alone_then_trains_it(mini_dataset, tmp_path, tiny_checkpoint):
    start, _ = load_generator(tiny_checkpoint)
    t = Trainer(tiny_config(mini_dataset, tmp_path / "ft", 3, init_generator=str(tiny_checkpoint), d_warmup_steps=3))
    d_before = [p.detach().clone() for p in t.D.parameters()]
    t.run()
    assert_same_weights(t.G, start)
    assert any(not torch.equal(a, b) for a, b in zip(d_before, t.D.parameters()))
    lines = [json.loads(l) for l in (tmp_path / "ft" / "metrics.jsonl").read_text().splitlines()]
    assert all(l["loss_g_gan"] == 0 and l["loss_d"] > 0 and l["loss_l1"] > 0 for l in lines)
    t.cfg.steps = 4
    t.run()
    assert any(not torch.equal(a, b) for a, b in zip(t.G.parameters(), start.parameters()))


def test_moving_average_is_saved_and_resumes_exactly(mini_dataset, tmp_path):
    straight = Trainer(tiny_config(mini_dataset, tmp_path / "a", 6, ema_decay=0.5))
    straight.run()
    saved, config = load_generator(tmp_path / "a" / "generator.safetensors")
    assert config.provenance["ema_decay"] == 0.5
    assert_same_weights(saved, straight.G_ema)
    raw, raw_config = load_generator(tmp_path / "a" / "generator-raw.safetensors")
    assert_same_weights(raw, straight.G)
    assert "ema_decay" not in raw_config.provenance
    assert any(not torch.equal(a, b) for a, b in zip(straight.G_ema.parameters(), straight.G.parameters()))
    Trainer(tiny_config(mini_dataset, tmp_path / "b", 3, ema_decay=0.5)).run()
    resumed = Trainer(tiny_config(mini_dataset, tmp_path / "b", 6, ema_decay=0.5), resume=True)
    resumed.run()
    assert_same_weights(straight.G_ema, resumed.G_ema)
    assert_same_weights(straight.G, resumed.G)


def test_linear_decay_reaches_zero_on_the_last_step_and_resumes_exactly(mini_dataset, tmp_path):
    straight = Trainer(tiny_config(mini_dataset, tmp_path / "a", 6, lr=1e-3, lr_decay_steps=4))
    straight.run()
    rates = [json.loads(l)["lr"] for l in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    # steps 1-2 at full rate, then 4/4 .. 1/4 of it: never zero, so the last update still counts
    assert rates == pytest.approx([1e-3, 1e-3, 1e-3, 7.5e-4, 5e-4, 2.5e-4])
    interrupted = Trainer(tiny_config(mini_dataset, tmp_path / "b", 6, lr=1e-3, lr_decay_steps=4))
    step = interrupted.train_step

    def stop_after_three():  # as SIGTERM would, mid-decay
        losses = step()
        if interrupted.step == 3:
            interrupted._stop_signal = 15
        return losses

    interrupted.train_step = stop_after_three
    with pytest.raises(KeyboardInterrupt):
        interrupted.run()
    resumed = Trainer(tiny_config(mini_dataset, tmp_path / "b", 6, lr=1e-3, lr_decay_steps=4), resume=True)
    resumed.run()
    assert_same_weights(straight.G, resumed.G)
    assert_same_weights(straight.D, resumed.D)
    constant = Trainer(tiny_config(mini_dataset, tmp_path / "c", 6, lr=1e-3))
    constant.run()
    assert any(not torch.equal(a, b) for a, b in zip(constant.G.parameters(), straight.G.parameters()))


def test_critic_codec_shows_the_discriminator_jpeg_tiles_and_passes_the_gradient_through(mini_dataset, tmp_path, monkeypatch):
    from pathgan.compression_matching import read_compression
    from pathgan.dataset import scan_dataset
    from pathgan.tensors import image_to_tensor, tensor_to_images

    t = Trainer(tiny_config(mini_dataset, tmp_path / "a", 2, critic_codec=True, l1_weight=0.0, diversity_weight=0.0))
    codec = read_compression([p.image_path for p in scan_dataset(mini_dataset, "train", None).pairs], {"split": "train"})
    assert t.codec == codec and codec.fitted_on["ijg_quality"] == 75  # the training tiles' own encoding
    seen = []
    forward = t.D.forward
    monkeypatch.setattr(t.D, "forward", lambda onehot, image: seen.append(image.detach().clone()) or forward(onehot, image))
    generated = []
    g_forward = t.G.forward
    monkeypatch.setattr(t.G, "forward", lambda onehot, rngs=None: generated.append(out := g_forward(onehot, rngs)) or out)
    g_before = [p.detach().clone() for p in t.G.parameters()]
    t.train_step()
    fakes = generated[0].detach()
    expected = torch.stack([image_to_tensor(a) for a in codec.apply(tensor_to_images(fakes))])
    assert torch.allclose(seen[0][len(fakes):], expected, atol=1e-6)  # the critic's turn: real tiles, then these
    assert torch.allclose(seen[-1], expected, atol=1e-6)  # the generator's turn: its tiles, as JPEG
    assert not torch.allclose(seen[-1], fakes, atol=1 / 255)  # and JPEG really changed them
    # The adversarial term alone (L1 and diversity off) still moves the generator: the gradient got through.
    assert any(not torch.equal(a, b) for a, b in zip(g_before, t.G.parameters()))


def test_critic_codec_on_lossless_tiles_is_refused(mini_dataset, tmp_path):
    from PIL import Image

    for image in (mini_dataset / "images" / "train").iterdir():  # re-store the tiles losslessly
        Image.open(image).save(image.with_suffix(".png"))
        image.unlink()
    with pytest.raises(ValueError, match="--critic-codec: most train tiles .* are stored losslessly"):
        Trainer(tiny_config(mini_dataset, tmp_path / "a", 1, critic_codec=True))


def test_lr_decay_longer_than_the_run_is_refused(mini_dataset, tmp_path):
    with pytest.raises(ValueError, match="lr-decay-steps"):
        Trainer(tiny_config(mini_dataset, tmp_path / "a", 3, lr_decay_steps=4))


def test_ema_decay_out_of_range_is_refused(mini_dataset, tmp_path):
    with pytest.raises(ValueError, match="ema-decay"):
        Trainer(tiny_config(mini_dataset, tmp_path / "a", 1, ema_decay=1.0))


@pytest.mark.parametrize("disc", ["patchgan", "vanilla"])
def test_feature_matching_is_logged_and_moves_the_generator_differently(mini_dataset, tmp_path, disc):
    plain = Trainer(tiny_config(mini_dataset, tmp_path / "plain", 3, disc=disc))
    plain.run()
    matched = Trainer(tiny_config(mini_dataset, tmp_path / "fm", 3, disc=disc, feature_matching_weight=10.0))
    matched.run()
    fm = [json.loads(l)["loss_fm"] for l in (tmp_path / "fm" / "metrics.jsonl").read_text().splitlines()]
    off = [json.loads(l)["loss_fm"] for l in (tmp_path / "plain" / "metrics.jsonl").read_text().splitlines()]
    assert all(v > 0 for v in fm) and all(v == 0 for v in off)
    # Same seed, data and first discriminator update: only the extra generator term can separate them.
    assert any(not torch.equal(a, b) for a, b in zip(plain.G.parameters(), matched.G.parameters()))


def test_feature_matching_loss_matches_each_draw_to_its_tile():
    from pathgan.training.losses import feature_matching_loss

    real = [torch.arange(8.0).reshape(2, 4), torch.ones(2, 3)]
    assert feature_matching_loss([torch.cat([r, r]) for r in real], real).item() == 0.0
    shifted = [torch.cat([r, r + 2]) for r in real]  # second draw off by 2 everywhere: mean |diff| = 1 per layer
    assert feature_matching_loss(shifted, real).item() == pytest.approx(1.0)


def test_loader_workers_read_from_disk_and_train_exactly_as_the_pairs_held_in_memory(mini_dataset, tmp_path):
    held = Trainer(tiny_config(mini_dataset, tmp_path / "held", 6))
    held.run()
    assert held.data.in_memory
    # Two workers, reading each pair from disk; stopped halfway and resumed, so the loader restarts mid-run.
    Trainer(tiny_config(mini_dataset, tmp_path / "workers", 3, data_workers=2)).run()
    read = Trainer(tiny_config(mini_dataset, tmp_path / "workers", 6, data_workers=2), resume=True)
    assert not read.data.in_memory and read.data.images is None
    read.run()
    assert_same_weights(held.G, read.G)
    with pytest.raises(ValueError, match="--data-workers must be 0 or more"):
        Trainer(tiny_config(mini_dataset, tmp_path / "bad", 1, data_workers=-1))


def test_cpu_training_runs_bf16_and_channels_last_where_the_cpu_has_bf16_units(mini_dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)  # as on a Xeon with AMX (bf16 is emulated here: slow, same maths)
    fast = Trainer(tiny_config(mini_dataset, tmp_path / "fast", 2, device="cpu"))
    assert fast.precision == "bf16" and fast.fmt == torch.channels_last
    fast.run()
    exact = Trainer(tiny_config(mini_dataset, tmp_path / "exact", 2, device="cpu", bf16=False, channels_last=False))
    assert exact.precision == "fp32" and exact.fmt == torch.contiguous_format
    exact.run()
    metrics = [json.loads(l) for l in (tmp_path / "fast" / "metrics.jsonl").read_text().splitlines()]
    reference = [json.loads(l) for l in (tmp_path / "exact" / "metrics.jsonl").read_text().splitlines()]
    # Same data and noise; bf16 rounding moves the losses a little, never far.
    for a, b in zip(metrics, reference):
        assert a["loss_l1"] == pytest.approx(b["loss_l1"], rel=0.02) and a["loss_d"] == pytest.approx(b["loss_d"], abs=0.02)
    assert any(a[k] != b[k] for a, b in zip(metrics, reference) for k in ("loss_d", "loss_g_gan", "loss_l1")), "bf16 did not run"
    assert load_generator(tmp_path / "fast" / "generator.safetensors")[1].provenance["precision"] == "bf16"


def test_diffaugment_shows_the_critic_transformed_pairs_and_resumes_exactly(mini_dataset, tmp_path, monkeypatch):
    policy = "color,translation,cutout"
    t = Trainer(tiny_config(mini_dataset, tmp_path / "seen", 1, diffaugment=policy))
    seen = []
    forward = t.D.forward
    monkeypatch.setattr(t.D, "forward", lambda onehot, image: seen.append(onehot.detach().clone()) or forward(onehot, image))
    t.train_step()
    # Cutout blanks whole pixels of the mask, which a one-hot mask never has; both turns (critic's, generator's) are augmented.
    assert len(seen) == 2 and all((s.sum(1) == 0).any() for s in seen)
    straight = Trainer(tiny_config(mini_dataset, tmp_path / "a", 6, diffaugment=policy))
    straight.run()
    Trainer(tiny_config(mini_dataset, tmp_path / "b", 3, diffaugment=policy)).run()
    resumed = Trainer(tiny_config(mini_dataset, tmp_path / "b", 6, diffaugment=policy), resume=True)
    resumed.run()
    assert_same_weights(straight.G, resumed.G)
    assert_same_weights(straight.D, resumed.D)


def test_diffaugment_settings_are_checked(mini_dataset, tmp_path):
    with pytest.raises(ValueError, match="unknown transform 'flip'"):
        Trainer(tiny_config(mini_dataset, tmp_path / "a", 1, diffaugment="flip"))
    with pytest.raises(ValueError, match="--diffaugment with --feature-matching-weight"):
        Trainer(tiny_config(mini_dataset, tmp_path / "b", 1, diffaugment="color", feature_matching_weight=1.0))


def test_r1_penalty_is_half_gamma_times_the_squared_input_gradient(mini_dataset, tmp_path):
    t = Trainer(tiny_config(mini_dataset, tmp_path / "a", 1, r1_gamma=4.0))
    onehot, real, _, _ = t._batch()
    x = real.detach().float().requires_grad_(True)
    mean_logits = t.D(onehot.float(), x).flatten(1).mean(1)
    (grad,) = torch.autograd.grad(mean_logits.sum(), x)
    expected = 0.5 * 4.0 * grad.square().flatten(1).sum(1).mean()
    assert torch.allclose(t._r1_penalty(onehot, real), expected, rtol=1e-5)
    # It enters the critic's update: the same step without it leaves a different discriminator.
    with_r1 = Trainer(tiny_config(mini_dataset, tmp_path / "b", 2, r1_gamma=4.0))
    with_r1.run()
    without = Trainer(tiny_config(mini_dataset, tmp_path / "c", 2))
    without.run()
    assert any(not torch.equal(a, b) for a, b in zip(with_r1.D.parameters(), without.D.parameters()))
    with pytest.raises(ValueError, match="--r1-gamma must be 0 or more"):
        Trainer(tiny_config(mini_dataset, tmp_path / "d", 1, r1_gamma=-1.0))


def test_spade_added_to_a_trained_generator_starts_as_it_and_then_learns(mini_dataset, tmp_path):
    base = Trainer(tiny_config(mini_dataset, tmp_path / "base", 2))
    base.run()
    cfg = tiny_config(mini_dataset, tmp_path / "spade", 2, init_generator=str(tmp_path / "base" / "generator.safetensors"))
    cfg.generator.decoder_norm = "spade"
    t = Trainer(cfg)
    assert t.cfg.generator.decoder_norm == "spade" and t.cfg.generator.ngf == 4
    modulation = [m for m in t.G.modules() if type(m).__name__ == "MaskModulation"]
    assert len(modulation) == 7 and all(m.gamma.weight.abs().sum() == 0 for m in modulation)  # init_weights kept the zero start
    onehot, _, _, _ = t._batch()
    from pathgan.seeds import torch_generator
    same = [torch_generator(5, i) for i in range(len(onehot))], [torch_generator(5, i) for i in range(len(onehot))]
    with torch.no_grad():
        assert torch.equal(t.G(onehot, same[0]), base.G(onehot, same[1]))
    t.run()
    assert any(m.gamma.weight.abs().sum() > 0 for m in modulation)  # the mask's scale and shift get trained
    g, config = load_generator(tmp_path / "spade" / "generator.safetensors")  # and the file says what it holds
    assert config.generator.decoder_norm == "spade" and len([m for m in g.modules() if type(m).__name__ == "MaskModulation"]) == 7


def test_oasis_critic_trains_beside_the_discriminator_and_resumes_exactly(mini_dataset, tmp_path):
    straight = Trainer(tiny_config(mini_dataset, tmp_path / "a", 4, oasis_weight=1.0, oasis_ndf=4))
    start = [p.detach().clone() for p in straight.D_seg.parameters()]
    straight.run()
    assert any(not torch.equal(a, b) for a, b in zip(start, straight.D_seg.parameters()))
    lines = [json.loads(l) for l in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert all(l["loss_oasis_d"] > 0 for l in lines)
    Trainer(tiny_config(mini_dataset, tmp_path / "b", 2, oasis_weight=1.0, oasis_ndf=4)).run()
    resumed = Trainer(tiny_config(mini_dataset, tmp_path / "b", 4, oasis_weight=1.0, oasis_ndf=4), resume=True)
    resumed.run()
    assert_same_weights(straight.G, resumed.G)
    assert_same_weights(straight.D_seg, resumed.D_seg)
    # Its term reaches the generator: the same run without it ends elsewhere.
    plain = Trainer(tiny_config(mini_dataset, tmp_path / "c", 4))
    plain.run()
    assert any(not torch.equal(a, b) for a, b in zip(plain.G.parameters(), straight.G.parameters()))
    with pytest.raises(ValueError, match="--oasis-weight must be 0 or more"):
        Trainer(tiny_config(mini_dataset, tmp_path / "d", 1, oasis_weight=-1.0))
