"""Embedder configuration without running a model (fast)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from matchmaker import embedding, embedding_onnx
from matchmaker.embedding import (HashingEmbedder, SentenceTransformerEmbedder, choose_precision, default_model_path,
                                  normalize_rows)
from matchmaker.embedding_onnx import default_cache_dir


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    for var in ("MATCHMAKER_EMBEDDING_PRECISION", "MATCHMAKER_MODEL_CACHE_DIR", "MATCHMAKER_EMBEDDING_MODEL"):
        monkeypatch.delenv(var, raising=False)


def test_precision_aliases_and_env(monkeypatch):
    assert choose_precision("fp32") == "float32"
    assert choose_precision("bf16") == "bfloat16"
    assert choose_precision("onnx") == "onnx-fp32"
    monkeypatch.setenv("MATCHMAKER_EMBEDDING_PRECISION", "fp32")
    assert choose_precision() == "float32"


@pytest.mark.parametrize("native_bf16", [False, True], ids=["avx2", "avx512-bf16"])
def test_auto_prefers_onnx_on_every_cpu_and_falls_back_to_torch(monkeypatch, native_bf16):
    # The rule of thumb before a machine has measured, for both CPU kinds our machines have.
    monkeypatch.setattr(embedding, "fast_bfloat16_available", lambda: native_bf16)
    monkeypatch.setattr(embedding, "onnx_runtime_available", lambda: True)
    assert choose_precision("auto") == "onnx-fp32"
    monkeypatch.setattr(embedding, "onnx_runtime_available", lambda: False)
    assert choose_precision("auto") == ("bfloat16" if native_bf16 else "float32")


def test_name_encodes_configuration():
    plain = SentenceTransformerEmbedder(precision="fp32")
    assert plain.precision == "float32" and "@" not in plain.name  # vectors stored before keep their key
    assert SentenceTransformerEmbedder(precision="bfloat16").name == plain.name + "@bfloat16"
    if embedding.onnx_runtime_available():
        assert SentenceTransformerEmbedder(precision="onnx-fp32").name == plain.name + "@onnx-fp32"
    with pytest.raises(ValueError):
        SentenceTransformerEmbedder(precision="int8")


def test_default_model_is_mean_pooled_with_256_word_pieces():
    assert embedding_onnx._st_config(default_model_path()) == (256, True)


def test_cache_dir_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("MATCHMAKER_MODEL_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path
    assert SentenceTransformerEmbedder(cache_dir=tmp_path / "x").cache_dir == tmp_path / "x"


def test_import_stays_light():
    code = "import sys, matchmaker.embedding; print('torch' in sys.modules, 'onnxruntime' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_normalize_rows_and_hashing():
    x = normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert x.dtype == np.float32 and np.allclose(x, [[0.6, 0.8], [0, 0]])
    v = HashingEmbedder(32).encode(["solar power", "solar power"])
    assert v.shape == (2, 32) and np.allclose(v[0], v[1])


def test_env_overrides_auto(monkeypatch):
    monkeypatch.setenv("MATCHMAKER_EMBEDDING_PRECISION", "fp32")
    assert SentenceTransformerEmbedder().precision == "float32"


@pytest.mark.parametrize("native_bf16, expected", [(False, "float32"), (True, "bfloat16")],
                         ids=["avx2-only-cpu", "avx512-bf16-cpu"])
def test_auto_falls_back_to_torch_for_folders_onnx_cannot_run(monkeypatch, tmp_path, native_bf16, expected):
    # The rule, stated for both CPU kinds our machines have: a folder without tokenizer.json never gets
    # onnx-fp32; it runs in torch, in bfloat16 only where the CPU has native bfloat16 instructions.
    monkeypatch.setattr(embedding, "fast_bfloat16_available", lambda: native_bf16)
    (tmp_path / "config.json").write_text("{}")
    assert SentenceTransformerEmbedder(str(tmp_path)).precision == expected


def test_auto_uses_the_precision_measured_on_this_machine(tmp_path):
    import json

    from matchmaker.embedding import calibration_file, choose_precision, default_model_path, stored_calibration

    path = default_model_path()
    assert stored_calibration(path, tmp_path) is None
    file = calibration_file(path, tmp_path)
    file.write_text(json.dumps({"chosen": "float32", "why": "measured", "results": {}}))
    assert choose_precision("auto", path, tmp_path) == "float32"
    assert choose_precision("bf16", path, tmp_path) == "bfloat16"  # an explicit choice wins
    file.write_text("not json")
    assert stored_calibration(path, tmp_path) is None  # a broken file is ignored, the rule of thumb applies
