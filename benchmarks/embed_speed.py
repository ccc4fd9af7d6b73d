"""Embedding throughput of float32 and the chosen configuration, and their agreement.

Usage: python benchmarks/embed_speed.py [--n 1000] [--compare bfloat16]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matchmaker.embedding import SentenceTransformerEmbedder, choose_precision  # noqa: E402

WORDS = ("solar rooftop power factory chiller cooling boiler waste heat recovery biomass rice husk textile "
         "cement kiln efficiency inverter LED lighting refrigeration fluorocarbon recovery landfill methane "
         "hydropower transmission loss grid battery storage electric bus logistics cold chain irrigation "
         "water pump desalination wastewater treatment aerator hospital hotel shopping mall brewery dairy "
         "steel mill furnace compressor motor heat pump insulation glass plant district cooling forest "
         "mangrove peatland monitoring digital twin smart meter hydrogen ammonia co-firing carbon capture").split()


def synthetic_profiles(n: int, words: int = 150, seed: int = 0) -> list[str]:
    """Return n synthetic ~150-word profile texts."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=words)) for _ in range(n)]


def throughput(embedder: SentenceTransformerEmbedder, texts: list[str]) -> tuple[float, np.ndarray]:
    """Return (profiles per second, vectors), after a warm-up batch."""
    embedder.encode(texts[:16])
    start = time.perf_counter()
    vectors = embedder.encode(texts)
    return len(texts) / (time.perf_counter() - start), vectors


def top_overlap(a: np.ndarray, b: np.ndarray, k: int = 20) -> float:
    """Return the mean share of each row's top-k neighbours that two embeddings agree on."""
    k = min(k, len(a) - 1)
    na, nb = a @ a.T, b @ b.T
    np.fill_diagonal(na, -np.inf)
    np.fill_diagonal(nb, -np.inf)
    ta, tb = np.argpartition(-na, k, axis=1)[:, :k], np.argpartition(-nb, k, axis=1)[:, :k]
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(ta, tb)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--compare", default=None, help="precision to compare besides the chosen one")
    args = ap.parse_args()
    texts = synthetic_profiles(args.n)
    base_rate, base = throughput(SentenceTransformerEmbedder(precision="float32"), texts)
    print(f"float32: {base_rate:.1f} profiles/s (n={args.n}, batch 16)")
    configs = [choose_precision("auto")] + ([args.compare] if args.compare else [])
    for precision in dict.fromkeys(configs):
        rate, vecs = (base_rate, base) if precision == "float32" else throughput(
            SentenceTransformerEmbedder(precision=precision), texts)
        label = "chosen " if precision == configs[0] else "compare"
        print(f"{label} {precision}: {rate:.1f} profiles/s, mean cosine to float32 "
              f"{float(np.mean(np.sum(vecs * base, axis=1))):.5f}, top-20 overlap {top_overlap(vecs, base):.3f}")


if __name__ == "__main__":
    main()
