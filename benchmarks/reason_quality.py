"""Precision and recall of the "their need is met by your offer" reason on labelled need/offer pairs.

Usage: python benchmarks/reason_quality.py [--pairs benchmarks/data/reason-pairs.csv] [--hashing]

The pairs (benchmarks/data/reason-pairs.csv) are needs and offers from the dev benchmark (English and Japanese
offers) and the demo, each labelled 1 when the offer plainly provides what the need asks for and 0 otherwise;
most negatives are hard ones (the closest offers the model found for the need). The engine quotes a pair when the
cosine of their embeddings is at least matchmaker.reasons.MIN_QUOTE_SIMILARITY; this prints precision and recall
over a range of thresholds, picks the lowest cosine-only threshold whose precision is at least --precision on each
source (dev and demo separately, so neither set alone decides), and reports the engine's rule
(matchmaker.reasons.quotable: a high cosine, or a lower one when both texts name the same technology) on dev, demo and
all pairs.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matchmaker.embedding import HashingEmbedder, SentenceTransformerEmbedder  # noqa: E402
from matchmaker.language import embedding_text  # noqa: E402
from matchmaker.reasons import MIN_QUOTE_SIMILARITY, MIN_QUOTE_WITH_TECHNOLOGY, quotable  # noqa: E402

PAIRS = Path(__file__).resolve().parent / "data" / "reason-pairs.csv"


def load_pairs(path: Path) -> list[dict]:
    """Return the labelled pairs as dicts with source, need, offer and an int label."""
    with open(path, encoding="utf-8") as f:
        return [dict(r, label=int(r["label"])) for r in csv.DictReader(f)]


def cosines(pairs: list[dict], embedder) -> np.ndarray:
    """Return each pair's cosine as the engine computes it (Japanese texts through their English gloss)."""
    needs = embedder.encode([embedding_text(p["need"]) for p in pairs])
    offers = embedder.encode([embedding_text(p["offer"]) for p in pairs])
    return (needs * offers).sum(axis=1)


def precision_recall(sims: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float, int]:
    """Return (precision, recall, pairs quoted) of quoting pairs at or above the threshold."""
    shown = sims >= threshold
    tp = int((shown & (labels == 1)).sum())
    precision = tp / shown.sum() if shown.any() else 1.0
    recall = tp / max(1, int((labels == 1).sum()))
    return precision, recall, int(shown.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=Path, default=PAIRS)
    ap.add_argument("--hashing", action="store_true", help="measure the tests' HashingEmbedder instead of the model")
    ap.add_argument("--precision", type=float, default=0.9, help="precision the chosen threshold must reach")
    args = ap.parse_args()
    pairs = load_pairs(args.pairs)
    embedder = HashingEmbedder() if args.hashing else SentenceTransformerEmbedder()
    sims = cosines(pairs, embedder)
    labels = np.array([p["label"] for p in pairs])
    groups = {"dev": np.array([p["source"].startswith("dev") for p in pairs])}
    groups["demo"] = ~groups["dev"]
    groups["all"] = np.ones(len(pairs), bool)
    print(f"model={embedder.name} pairs={len(pairs)} positives={int(labels.sum())} "
          f"(dev {int(groups['dev'].sum())}, demo {int(groups['demo'].sum())})")
    print("threshold " + " ".join(f"{g:>20s}" for g in groups))
    thresholds = np.round(np.arange(0.2, 0.81, 0.05), 2)
    for t in thresholds:
        cells = []
        for mask in groups.values():
            p, r, n = precision_recall(sims[mask], labels[mask], t)
            cells.append(f"P={p:.2f} R={r:.2f} n={n:3d}")
        print(f"{t:9.2f} " + " ".join(f"{c:>20s}" for c in cells))
    ok = [t for t in thresholds
          if all(precision_recall(sims[groups[g]], labels[groups[g]], t)[0] >= args.precision for g in ("dev", "demo"))]
    chosen = float(min(ok)) if ok else float(thresholds[-1])
    for name in ("dev", "demo", "all"):
        p, r, n = precision_recall(sims[groups[name]], labels[groups[name]], chosen)
        print(f"chosen {chosen:.2f} on {name}: precision {p:.3f} recall {r:.3f} ({n} quoted)")
    # The engine's rule: the cosine alone at MIN_QUOTE_SIMILARITY, or a lower cosine with the same technology named.
    engine = np.array([quotable(float(s), q["need"], q["offer"]) for s, q in zip(sims, pairs)])
    print(f"engine rule (cosine >= {MIN_QUOTE_SIMILARITY}, or >= {MIN_QUOTE_WITH_TECHNOLOGY} with a shared "
          "technology):")
    for name in ("dev", "demo", "all"):
        m = groups[name]
        p, r, n = precision_recall(engine[m].astype(float), labels[m], 0.5)
        print(f"  {name:4s} precision {p:.3f} recall {r:.3f} ({n} of {int(m.sum())} pairs quoted)")
    wrong = [(float(s), q) for s, q, lab, e in zip(sims, pairs, labels, engine) if lab == 0 and e]
    for s, q in sorted(wrong, key=lambda w: -w[0])[:8]:
        print(f"  false reason at {s:.2f}: {q['need'][:60]!r} <- {q['offer'][:60]!r}")


if __name__ == "__main__":
    main()
