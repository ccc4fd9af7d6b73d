"""Embedding throughput of configurations against torch float32 (measured in the same run), and their agreement.

Usage: python benchmarks/embed_speed.py [--n 1000] [--batch 16] [--rounds 3] [--configs float32,onnx-fp32,...]

Every configuration embeds the same n synthetic ~150-word profiles (~186 word pieces each) once per round; rounds
interleave the configurations (rotating their order) so that load from other processes on a shared machine hits
all of them alike, and the median over rounds is reported, with the process CPU milliseconds per profile (less
sensitive to other processes than wall time). Agreement is against the torch float32 vectors: mean
(and minimum) cosine of each text's two vectors, and the mean share of each text's top-20 neighbours kept.

Configurations: the embedder's precisions (float32, bfloat16, onnx-fp32; "auto" = what the embedder picks here)
and experiments that are not embedder options: onnx-fp32-spin (idle worker threads spin, ONNX Runtime's default),
onnx-int8-ffn (dynamic int8 of the FFN input matmuls only,
per-channel), onnx-int8-all (every matmul, per-channel), onnx-fp32-len128 (truncating at 128 word pieces),
torch-compile (inductor, dynamic shapes; compile time is printed as the warm-up time).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matchmaker.embedding import (  # noqa: E402
    SentenceTransformerEmbedder,
    _OnnxModel,
    calibrate_precision,
    choose_precision,
    default_model_path,
    normalize_rows,
    top_overlap,
)

WORDS = ("solar rooftop power factory chiller cooling boiler waste heat recovery biomass rice husk textile "
         "cement kiln efficiency inverter LED lighting refrigeration fluorocarbon recovery landfill methane "
         "hydropower transmission loss grid battery storage electric bus logistics cold chain irrigation "
         "water pump desalination wastewater treatment aerator hospital hotel shopping mall brewery dairy "
         "steel mill furnace compressor motor heat pump insulation glass plant district cooling forest "
         "mangrove peatland monitoring digital twin smart meter hydrogen ammonia co-firing carbon capture").split()

EMBEDDER_PRECISIONS = ("float32", "bfloat16", "onnx-fp32")
EXPERIMENTS = ("onnx-fp32-spin", "onnx-int8-ffn", "onnx-int8-all", "onnx-fp32-len128", "torch-compile")


def synthetic_profiles(n: int, words: int = 150, seed: int = 0) -> list[str]:
    """Return n synthetic ~150-word profile texts."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=words)) for _ in range(n)]


def _quantized_onnx(embedder: SentenceTransformerEmbedder, which: str, folder: str) -> _OnnxModel:
    """An onnx-fp32 model whose cached fused file is dynamically quantized (int8 weights, per-channel)."""
    import onnx  # noqa: PLC0415
    from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415

    model = embedder._model()  # makes (or finds) the fused float32 file
    graph = onnx.load(str(model.file)).graph
    nodes = [n.name for n in graph.node if n.op_type in ("MatMul", "Attention")]
    if which == "ffn":
        nodes = [n for n in nodes if "/intermediate/dense/" in n]
    target = Path(folder) / f"int8-{which}.onnx"
    quantize_dynamic(str(model.file), str(target), nodes_to_quantize=nodes, per_channel=True, reduce_range=True,
                     weight_type=QuantType.QInt8,
                     extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT})
    quantized = _OnnxModel.__new__(_OnnxModel)
    quantized.__dict__.update(model.__dict__)
    import onnxruntime as ort  # noqa: PLC0415

    options = ort.SessionOptions()
    options.intra_op_num_threads = model.session.get_session_options().intra_op_num_threads
    options.inter_op_num_threads = 1
    quantized.session = ort.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])
    return quantized


def make_encoder(config: str, batch: int, folder: str):
    """Return encode(texts) -> unit rows for a configuration name."""
    if config in EMBEDDER_PRECISIONS or config == "auto":
        embedder = SentenceTransformerEmbedder(precision=config, batch_size=batch)
        return embedder.encode
    if config.startswith("onnx-int8-"):
        model = _quantized_onnx(SentenceTransformerEmbedder(precision="onnx-fp32"), config.rsplit("-", 1)[1], folder)
        return lambda texts: normalize_rows(model.encode(texts, batch))
    if config == "onnx-fp32-spin":
        import onnxruntime as ort  # noqa: PLC0415

        base = SentenceTransformerEmbedder(precision="onnx-fp32")._model()
        model = _OnnxModel.__new__(_OnnxModel)
        model.__dict__.update(base.__dict__)
        options = ort.SessionOptions()
        options.intra_op_num_threads = base.session.get_session_options().intra_op_num_threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "1")
        model.session = ort.InferenceSession(str(base.file), options, providers=["CPUExecutionProvider"])
        return lambda texts: normalize_rows(model.encode(texts, batch))
    if config == "onnx-fp32-len128":
        base = SentenceTransformerEmbedder(precision="onnx-fp32")._model()
        model = _OnnxModel.__new__(_OnnxModel)
        model.__dict__.update(base.__dict__)
        from tokenizers import Tokenizer  # noqa: PLC0415

        model.tokenizer = Tokenizer.from_str(base.tokenizer.to_str())
        model.tokenizer.enable_truncation(max_length=128)
        return lambda texts: normalize_rows(model.encode(texts, batch))
    if config == "torch-compile":
        import torch  # noqa: PLC0415

        from matchmaker.embedding import _load_model, resolve_model_path  # noqa: PLC0415

        # Its own model object: the float32 baseline's shared one must stay uncompiled.
        st = _load_model(resolve_model_path(None), "float32")
        st[0].auto_model = torch.compile(st[0].auto_model, dynamic=True)

        def encode(texts):
            with torch.inference_mode():
                out = st.encode(list(texts), batch_size=batch, convert_to_tensor=True, show_progress_bar=False)
            return normalize_rows(out.float().numpy())

        return encode
    raise SystemExit(f"unknown configuration {config!r}; known: {', '.join(EMBEDDER_PRECISIONS + EXPERIMENTS)}, auto")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="profiles to embed per round")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timed passes per configuration (median)")
    ap.add_argument("--configs", default="auto", help="comma-separated configurations compared with float32")
    ap.add_argument("--no-calibrate", action="store_true",
                    help="skip measuring (and storing) the auto choice for this machine first")
    args = ap.parse_args()
    if not args.no_calibrate:
        # What "auto" runs from now on on this machine: the fastest configuration keeping >= 0.97 top-20 overlap.
        measured = calibrate_precision()
        print(f"auto picks {measured['chosen']} on this machine (cpu {measured['cpu']}): {measured['why']}",
              flush=True)
    texts = synthetic_profiles(args.n)
    configs = ["float32"] + [c for c in dict.fromkeys(args.configs.split(",")) if c and c != "float32"]
    print(f"n={args.n} batch={args.batch} rounds={args.rounds} auto={choose_precision('auto', default_model_path())} "
          f"cores={os.cpu_count()} load={os.getloadavg()[0]:.2f}", flush=True)
    encoders, rates, cpu, vectors = {}, {}, {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for config in configs:
            start = time.perf_counter()
            encoders[config] = make_encoder(config, args.batch, folder)
            encoders[config](texts[:args.batch])  # warm-up (and compile, load or export)
            print(f"{config}: ready in {time.perf_counter() - start:.1f}s", flush=True)
            rates[config], cpu[config] = [], []
        for r in range(args.rounds):
            order = configs[r % len(configs):] + configs[:r % len(configs)]
            for config in order:
                start, start_cpu = time.perf_counter(), time.process_time()
                vectors[config] = encoders[config](texts)
                rates[config].append(args.n / (time.perf_counter() - start))
                cpu[config].append(1000 * (time.process_time() - start_cpu) / args.n)
    base = vectors["float32"]
    print(f"load at end={os.getloadavg()[0]:.2f}")
    print(f"{'config':18s} {'profiles/s':>10s} {'x fp32':>6s} {'cosine':>8s} {'min cos':>8s} {'top-20':>6s} "
          f"{'cpu ms':>7s}  rounds")
    for config in configs:
        v = vectors[config]
        cos = np.sum(v * base, axis=1)
        rate = float(np.median(rates[config]))
        print(f"{config:18s} {rate:10.1f} {rate / np.median(rates['float32']):6.2f} {cos.mean():8.5f} "
              f"{cos.min():8.5f} {top_overlap(v, base):6.3f} {np.median(cpu[config]):7.1f}  "
              f"{' '.join(f'{x:.1f}' for x in rates[config])}")


if __name__ == "__main__":
    main()
