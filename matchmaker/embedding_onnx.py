"""Running a sentence-transformers model in ONNX Runtime float32: the export from the packaged weights (made here,
offline, never downloaded) fused once and cached on disk, and the tokenizer and mean pooling around the session.

Also the pieces the torch path shares: whether ONNX Runtime is installed, the thread count and the cache folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

import numpy as np

ONNX_OPSET = 17


def onnx_runtime_available() -> bool:
    """Tell whether onnxruntime (to run) and onnx (to export and fuse once) are installed, without importing them."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def _threads() -> int:
    # Two cores are shared with other work; more threads than cores only adds contention.
    wanted = int(os.environ.get("MATCHMAKER_TORCH_THREADS", "0") or 0)
    return max(1, min(wanted or (os.cpu_count() or 1), 4))


def default_cache_dir() -> Path:
    """Folder for derived model files: MATCHMAKER_MODEL_CACHE_DIR, else var/models/ of the project (if writable)."""
    env = os.environ.get("MATCHMAKER_MODEL_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    project_var = Path(__file__).resolve().parents[1] / "var"
    if project_var.is_dir() and os.access(project_var, os.W_OK):
        return project_var / "models"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jcm-matchmaker" / "models"


def _st_config(path: Path) -> tuple[int, bool]:
    """Return (max_seq_length, mean pooling followed by Normalize or nothing) of a sentence-transformers folder."""
    max_len = 256
    cfg = path / "sentence_bert_config.json"
    if cfg.is_file():
        max_len = int(json.loads(cfg.read_text()).get("max_seq_length") or max_len)
    mean_pooling = True
    modules = path / "modules.json"
    if modules.is_file():
        for module in json.loads(modules.read_text()):
            kind = module.get("type", "").rsplit(".", 1)[-1]
            if kind == "Pooling":
                pooling = json.loads((path / module["path"] / "config.json").read_text())
                modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
                mean_pooling = mean_pooling and modes == ["pooling_mode_mean_tokens"]
            elif kind not in ("Transformer", "Normalize"):
                mean_pooling = False
    return max_len, mean_pooling


def onnx_supported(path: Path) -> bool:
    """Tell whether the ONNX path reproduces this model folder: a fast tokenizer and plain mean pooling."""
    return onnx_runtime_available() and (path / "tokenizer.json").is_file() and _st_config(path)[1]


def onnx_file_key(path: Path) -> str:
    """A short hash of what the exported file depends on: the weights, the config and the export recipe."""
    h = hashlib.sha256(f"opset{ONNX_OPSET}-fused-v1".encode())
    for name in ("config.json", "model.safetensors", "pytorch_model.bin"):
        f = path / name
        if f.is_file():
            st = f.stat()
            h.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
    h.update((path / "config.json").read_bytes() if (path / "config.json").is_file() else b"")
    return h.hexdigest()[:12]


def export_onnx(path: Path, target: Path) -> Path:
    """Export the model's transformer to ONNX (legacy exporter) and fuse it with onnxruntime's BERT optimizer."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import tempfile  # noqa: PLC0415
    import warnings  # noqa: PLC0415

    import torch  # noqa: PLC0415
    from onnxruntime.transformers.optimizer import optimize_model  # noqa: PLC0415
    from transformers import AutoModel  # noqa: PLC0415

    # Eager attention exports as plain ops that the optimizer fuses into one Attention node per layer.
    model = AutoModel.from_pretrained(str(path), attn_implementation="eager").eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    axes = {0: "batch", 1: "tokens"}
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = Path(tmp) / "raw.onnx"
        ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 2023, 102, 0, 0, 0]])
        torch.onnx.export(LastHidden(model), (ids, (ids > 0).long()), str(raw), dynamo=False,
                          opset_version=ONNX_OPSET, input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes})
        cfg = model.config
        fused = optimize_model(str(raw), model_type="bert", num_heads=cfg.num_attention_heads,
                               hidden_size=cfg.hidden_size, opt_level=0)
        partial = Path(tmp) / "fused.onnx"
        fused.save_model_to_file(str(partial))
        os.replace(partial, target)  # atomic: concurrent processes see the old file or the whole new one
    return target


class _OnnxModel:
    """An ONNX Runtime session plus the tokenizer and mean pooling that sentence-transformers would apply."""

    def __init__(self, path: Path, cache_dir: Path) -> None:
        import onnxruntime as ort  # noqa: PLC0415
        from tokenizers import Tokenizer  # noqa: PLC0415

        self.max_len, _ = _st_config(path)
        label = path.name if path.name != "model" else path.parent.name
        file = Path(cache_dir) / f"{label}-{onnx_file_key(path)}-fp32-fused.onnx"
        if not file.is_file():
            export_onnx(path, file)
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads sleep instead of spinning: the cores are shared with the web process and other work
        # (measured no slower here, and a little less CPU per profile).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
        self.file = file
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_len)
        self.dim = int(json.loads((path / "config.json").read_text())["hidden_size"])

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Return mean-pooled (not normalised) embeddings, batching texts of similar length together."""
        # sentence-transformers strips texts before tokenizing; sorting by length keeps padding small.
        ids = [e.ids for e in self.tokenizer.encode_batch([str(t).strip() for t in texts])]
        order = np.argsort([-len(i) for i in ids], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            width = max(len(ids[i]) for i in rows)
            input_ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, :len(ids[i])] = ids[i]
                mask[r, :len(ids[i])] = 1
            hidden = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
            weights = mask[:, :, None].astype(np.float32)
            out[rows] = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return out
