"""Recall@1/5/10 and MRR of the engine and baselines on the JCM benchmark folds.

Usage: python benchmarks/match_quality.py [DIR] [--path cli|engine] [--weights dense=0.4,...] [--lexical word|char_wb]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matchmaker import FusionWeights, build_index, embed_profiles, profile_from_dict, recommend  # noqa: E402
from matchmaker.embedding import SentenceTransformerEmbedder  # noqa: E402
from matchmaker.index import MatchIndex  # noqa: E402
from matchmaker.lexical import LexicalModel  # noqa: E402
from matchmaker.text import build_texts  # noqa: E402

DEFAULT_DIR = Path(__file__).resolve().parent / "data" / "jcm-benchmark" / "dev"
KS = (1, 5, 10)
TIE_SEEDS = 20


def load_fold(folder: Path):
    """Return (profiles, {query id: set of relevant ids}) of one fold."""
    with open(folder / "organizations.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    gold: dict[str, set[str]] = {}
    with open(folder / "gold.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            gold[row["query_id"]] = set(row["relevant_ids"].replace(";", " ").split())
    return [profile_from_dict(r) for r in rows], gold


def metrics_from_ranking(ranking: list[str], relevant: set[str]) -> dict[str, float]:
    """Return recall@k and reciprocal rank of one ranked list."""
    out = {f"R@{k}": len(relevant & set(ranking[:k])) / len(relevant) for k in KS}
    first = next((i for i, c in enumerate(ranking) if c in relevant), None)
    out["MRR"] = 0.0 if first is None else 1.0 / (first + 1)
    return out


def metrics_from_scores(candidates: list[str], scores: np.ndarray, relevant: set[str]) -> dict[str, float]:
    """Average metrics over seeded random tie-breaks, so coarse scores (rules) are not flattered by id order."""
    total: dict[str, float] = {}
    for seed in range(TIE_SEEDS):
        noise = np.random.default_rng(seed).random(len(candidates)) * 1e-9
        order = np.lexsort((noise, -np.asarray(scores, dtype=np.float64)))
        for key, v in metrics_from_ranking([candidates[i] for i in order], relevant).items():
            total[key] = total.get(key, 0.0) + v / TIE_SEEDS
    return total


def baselines(index: MatchIndex, q: str, candidates: list[str]) -> dict[str, np.ndarray]:
    """Return each baseline's scores of the candidates for query q."""
    a = index.row[q]
    rows = np.array([index.row[c] for c in candidates])
    p = index.profiles[a]
    cats = set(p.technology_categories)
    rules = np.array([len(cats & set(index.profiles[r].technology_categories)) > 0 for r in rows], float)
    rules += np.array([p.country in index.profiles[r].target_countries for r in rows], float)
    tfidf = (index.lex_offer[rows] @ index.lex_need[a].T).toarray().ravel()
    dense = index.offer[rows] @ index.need[a]
    return {"random": np.zeros(len(rows)), "rules": rules, "tfidf": tfidf, "dense": dense}


def run_engine(profiles, embedder, weights: FusionWeights, analyzer: str, cache: dict) -> tuple[MatchIndex, dict]:
    """Build the index in-process and return (index, {query: ranked ids})."""
    vectors = embed_profiles(profiles, embedder, cache)
    corpus = [t for p in profiles for t in (build_texts(p).offer, build_texts(p).need)]
    index = build_index(profiles, vectors, LexicalModel.fit(corpus, analyzer))
    return index, {p.id: [m.id for m in recommend(index, p.id, k=len(profiles), weights=weights, with_reasons=False)]
                   for p in profiles if p.kind == "partner_company"}


def run_cli(folder: Path, k: int) -> dict[str, list[str]]:
    """Run db upgrade, import and matches as subprocesses on a scratch SQLite database."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MATCHMAKER_DATABASE_URL=f"sqlite:///{tmp}/scratch.db")
        # The console script installed next to this interpreter, unless MATCHMAKER_CLI names another.
        exe = [os.environ.get("MATCHMAKER_CLI") or str(Path(sys.executable).with_name("matchmaker"))]
        for args in (["db", "upgrade"], ["import", str(folder / "organizations.jsonl")]):
            subprocess.run(exe + args, env=env, check=True, capture_output=True, text=True)
        out = subprocess.run(exe + ["matches", "--all", "--k", str(k), "--format", "jsonl"],
                             env=env, check=True, capture_output=True, text=True).stdout
    result = {}
    for line in out.splitlines():
        if line.strip().startswith("{"):
            row = json.loads(line)
            result[row["id"]] = [m["id"] for m in row["matches"]]
    return result


def parse_weights(text: str | None) -> FusionWeights:
    """Parse 'dense=0.4,lexical=0.3' into FusionWeights (unnamed fields keep their defaults)."""
    if not text:
        return FusionWeights()
    return FusionWeights(**{k: float(v) for k, v in (kv.split("=") for kv in text.split(","))})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dir", nargs="?", default=str(DEFAULT_DIR))
    ap.add_argument("--path", choices=("engine", "cli"), default="cli")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--lexical", default="word", choices=("word", "char_wb"))
    args = ap.parse_args()
    weights = parse_weights(args.weights)
    embedder = SentenceTransformerEmbedder()
    cache: dict = {}
    methods = ("random", "rules", "tfidf", "dense", "engine")
    per_fold: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    print(f"path={args.path} model={embedder.name} precision={embedder.precision} weights={weights}")
    for folder in sorted(p for p in Path(args.dir).iterdir() if p.is_dir()):
        profiles, gold = load_fold(folder)
        index, ranked = run_engine(profiles, embedder, weights, args.lexical, cache)
        if args.path == "cli":
            ranked = run_cli(folder, k=len(profiles))
        fold_rows: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
        for q, relevant in gold.items():
            candidates = [p.id for p in profiles if p.kind == "japanese_company"]
            for name, scores in baselines(index, q, candidates).items():
                fold_rows[name].append(metrics_from_scores(candidates, scores, relevant))
            ranking = [c for c in ranked.get(q, []) if c in set(candidates)]
            fold_rows["engine"].append(metrics_from_ranking(ranking, relevant))
        for m in methods:
            per_fold[m].extend(fold_rows[m])
            mean = {key: np.mean([r[key] for r in fold_rows[m]]) for key in fold_rows[m][0]}
            print(f"{folder.name:6s} n={len(gold):2d} {m:7s} " + " ".join(f"{k}={v:.3f}" for k, v in mean.items()))
    print("overall (mean over all queries)")
    for m in methods:
        mean = {key: np.mean([r[key] for r in per_fold[m]]) for key in per_fold[m][0]}
        print(f"all    n={len(per_fold[m]):2d} {m:7s} " + " ".join(f"{k}={v:.3f}" for k, v in mean.items()))


if __name__ == "__main__":
    main()
