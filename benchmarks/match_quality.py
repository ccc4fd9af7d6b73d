"""Recall@1/5/10 and MRR of the engine and baselines on the JCM benchmark folds (dev and dev-ja).

Usage: python benchmarks/match_quality.py [DIR ...] [--path cli|engine] [--weights dense=0.4,...] [--lexical ...]
       python benchmarks/match_quality.py --cv            # choose weights by cross-validation over the dev folds

DIR defaults to benchmarks/data/jcm-benchmark/dev and dev-ja. With --path cli (the default) the engine's rankings
come from the real `matchmaker db upgrade`, `import` and `matches` commands on a scratch SQLite database; the
baselines are computed in-process on the same folds:
  random  every candidate tied (seeded random tie-breaks)
  rules   shared technology category + the candidate targets the query's country
  tfidf   plain English word 1-2 gram TF-IDF of the query's need against each candidate's offer text
  dense   the engine's dense signal alone (MiniLM, need vector against offer vectors)
  engine  the engine's full ranking (no score floor)
  floored the engine as the page lists it: matches at or below the score floor left out (they count as misses)
"""

from __future__ import annotations

import argparse
import csv
import itertools
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
from matchmaker.engine import DEFAULT_FLOOR  # noqa: E402
from matchmaker.index import MatchIndex  # noqa: E402
from matchmaker.lexical import ANALYZERS, LexicalModel  # noqa: E402
from matchmaker.text import build_lexical_texts  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "jcm-benchmark"
DEFAULT_DIRS = (DATA / "dev", DATA / "dev-ja")
KS = (1, 5, 10)
TIE_SEEDS = 20
METHODS = ("random", "rules", "tfidf", "dense", "engine", "floored")


def load_fold(folder: Path):
    """Return (profiles, {query id: set of relevant ids}) of one fold."""
    with open(folder / "organizations.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    gold: dict[str, set[str]] = {}
    with open(folder / "gold.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            gold[row["query_id"]] = set(row["relevant_ids"].replace(";", " ").split())
    return [profile_from_dict(r) for r in rows], gold


def folds(directory: Path) -> list[Path]:
    """Return the fold folders of a benchmark directory, in order."""
    return sorted(p for p in directory.iterdir() if p.is_dir())


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


def baselines(index: MatchIndex, plain: LexicalModel, q: str, candidates: list[str]) -> dict[str, np.ndarray]:
    """Return each baseline's scores of the candidates for query q."""
    a = index.row[q]
    rows = np.array([index.row[c] for c in candidates])
    p = index.profiles[a]
    cats = set(p.technology_categories)
    rules = np.array([len(cats & set(index.profiles[r].technology_categories)) > 0 for r in rows], float)
    rules += np.array([p.country in index.profiles[r].target_countries for r in rows], float)
    need = plain.transform([build_lexical_texts(p)[1]])
    offers = plain.transform([build_lexical_texts(index.profiles[r])[0] for r in rows])
    tfidf = (offers @ need.T).toarray().ravel()
    dense = index.offer[rows] @ index.need[a]
    return {"random": np.zeros(len(rows)), "rules": rules, "tfidf": tfidf, "dense": dense}


def build_fold_index(profiles, embedder, analyzer: str, cache: dict) -> MatchIndex:
    """Build the engine's index of one fold in-process (embeddings cached across calls)."""
    vectors = embed_profiles(profiles, embedder, cache)
    corpus = [t for p in profiles for t in build_lexical_texts(p)]
    return build_index(profiles, vectors, LexicalModel.fit(corpus, analyzer))


def engine_rankings(index: MatchIndex, weights: FusionWeights, floor: float = 0.0) -> dict[str, list[str]]:
    """Return {query: ranked candidate ids} of the engine over a fold's index (floor 0: the full ranking)."""
    return {p.id: [m.id for m in recommend(index, p.id, k=len(index), weights=weights, with_reasons=False,
                                           floor=floor)]
            for p in index.profiles if p.kind == "partner_company"}


def run_cli(folder: Path, k: int) -> dict[str, list[str]]:
    """Run db upgrade, import and matches as subprocesses on a scratch SQLite database."""
    with tempfile.TemporaryDirectory() as tmp:
        # Floor 0: full rankings, comparable with the baselines' (the floor's own effect is the "floored" line).
        env = dict(os.environ, MATCHMAKER_DATABASE_URL=f"sqlite:///{tmp}/scratch.db", MATCHMAKER_MATCH_FLOOR="0")
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


def evaluate_fold(index: MatchIndex, plain: LexicalModel, gold: dict[str, set[str]],
                  ranked: dict[str, list[str]], floored: dict[str, list[str]]) -> dict[str, list[dict[str, float]]]:
    """Return per-method lists of per-query metrics of one fold."""
    rows: dict[str, list[dict[str, float]]] = {m: [] for m in METHODS}
    candidates = [p.id for p in index.profiles if p.kind == "japanese_company"]
    allowed = set(candidates)
    for q, relevant in gold.items():
        for name, scores in baselines(index, plain, q, candidates).items():
            rows[name].append(metrics_from_scores(candidates, scores, relevant))
        for name, lists in (("engine", ranked), ("floored", floored)):
            rows[name].append(metrics_from_ranking([c for c in lists.get(q, []) if c in allowed], relevant))
    return rows


def mean(rows: list[dict[str, float]]) -> dict[str, float]:
    """Return the per-key mean of metric dicts."""
    return {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}


def line(label: str, n: int, method: str, m: dict[str, float]) -> str:
    """Format one table line."""
    return f"{label:10s} n={n:2d} {method:7s} " + " ".join(f"{k}={v:.3f}" for k, v in m.items())


def plain_model(profiles) -> LexicalModel:
    """Fit the plain English TF-IDF baseline on a fold's texts."""
    return LexicalModel.fit([t for p in profiles for t in build_lexical_texts(p)], "word")


def report(directory: Path, path: str, weights: FusionWeights, analyzer: str, embedder, cache: dict) -> dict:
    """Print per-fold and overall tables of one benchmark directory; return the overall means per method."""
    per_method: dict[str, list[dict[str, float]]] = {m: [] for m in METHODS}
    for folder in folds(directory):
        profiles, gold = load_fold(folder)
        index = build_fold_index(profiles, embedder, analyzer, cache)
        ranked = run_cli(folder, k=len(profiles)) if path == "cli" else engine_rankings(index, weights)
        # "floored": the engine in-process with the shipped score floor, as the page lists it.
        floored = engine_rankings(index, weights, DEFAULT_FLOOR)
        rows = evaluate_fold(index, plain_model(profiles), gold, ranked, floored)
        for m in METHODS:
            per_method[m].extend(rows[m])
            print(line(f"{directory.name}/{folder.name}", len(gold), m, mean(rows[m])))
    overall = {m: mean(per_method[m]) for m in METHODS}
    for m in METHODS:
        print(line(f"{directory.name}/all", len(per_method[m]), m, overall[m]))
    return overall


# --- Cross-validation of the defaults --------------------------------------------------------------------------

GRID = {
    "dense": (0.15, 0.25, 0.35),
    "lexical": (0.35, 0.45, 0.6),
    "country": (0.1, 0.15),
    "category": (0.1, 0.2),
    "item_share": (0.3, 0.5),
    "exact_rank": (-1, 0, 1),
}


def cross_validate(directory: Path, embedder, analyzer: str, cache: dict) -> None:
    """Fit settings on three folds, report the fourth; print what each split chose.

    The objective is the issue's: first the smallest margin over plain TF-IDF (MRR and recall@10, per training
    fold), then the mean of MRR and recall@10 over the training queries.
    """
    fold_data = []
    for folder in folds(directory):
        profiles, gold = load_fold(folder)
        index = build_fold_index(profiles, embedder, analyzer, cache)
        plain = plain_model(profiles)
        candidates = [p.id for p in profiles if p.kind == "japanese_company"]
        tfidf = mean([metrics_from_scores(candidates, baselines(index, plain, q, candidates)["tfidf"], rel)
                      for q, rel in gold.items()])
        fold_data.append((folder.name, index, gold, tfidf))
    keys = list(GRID)
    grid = [dict(zip(keys, values)) for values in itertools.product(*(GRID[k] for k in keys))]
    # Per fold and setting: the per-query metrics (computed once, reused by every split).
    results: list[list[list[dict[str, float]]]] = []
    for _, index, gold, _ in fold_data:
        per_setting = []
        for setting in grid:
            ranked = engine_rankings(index, FusionWeights(**setting))
            per_setting.append([metrics_from_ranking(ranked[q], rel) for q, rel in gold.items()])
        results.append(per_setting)

    def objective(s: int, train: list[int]) -> tuple[float, float]:
        margins = []
        for i in train:
            m, t = mean(results[i][s]), fold_data[i][3]
            margins.append(min(m["MRR"] - t["MRR"], m["R@10"] - t["R@10"]))
        m = mean([r for i in train for r in results[i][s]])
        return min(margins), (m["MRR"] + m["R@10"]) / 2

    held_out: list[dict[str, float]] = []
    for f, (name, _, _, tfidf) in enumerate(fold_data):
        train = [i for i in range(len(fold_data)) if i != f]
        best = max(range(len(grid)), key=lambda s: objective(s, train))
        held_out.extend(results[f][best])
        m = mean(results[f][best])
        print(f"{name}: chose {grid[best]} (train min margin {objective(best, train)[0]:+.3f}) -> held-out "
              + " ".join(f"{k}={v:.3f}" for k, v in m.items())
              + f" | tfidf MRR={tfidf['MRR']:.3f} R@10={tfidf['R@10']:.3f}")
    print(line(f"{directory.name}/cv", len(held_out), "engine", mean(held_out)))
    everywhere = max(range(len(grid)), key=lambda s: objective(s, list(range(len(fold_data)))))
    print(f"fitted on all folds: {grid[everywhere]} "
          f"(min margin {objective(everywhere, list(range(len(fold_data))))[0]:+.3f})")


def parse_weights(text: str | None) -> FusionWeights:
    """Parse 'dense=0.4,lexical=0.3' into FusionWeights (unnamed fields keep their defaults)."""
    if not text:
        return FusionWeights()
    return FusionWeights(**{k: float(v) for k, v in (kv.split("=") for kv in text.split(","))})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="*", default=[str(d) for d in DEFAULT_DIRS])
    ap.add_argument("--path", choices=("engine", "cli"), default="cli")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--lexical", default="bilingual", choices=ANALYZERS + ("bilingual-noconcepts",))
    ap.add_argument("--cv", action="store_true", help="choose the weights by leave-one-fold-out cross-validation")
    args = ap.parse_args()
    weights = parse_weights(args.weights)
    embedder = SentenceTransformerEmbedder()
    cache: dict = {}
    print(f"path={args.path} model={embedder.name} precision={embedder.precision} lexical={args.lexical} "
          f"weights={weights}")
    if args.cv:
        for d in args.dirs:
            cross_validate(Path(d), embedder, args.lexical, cache)
        return
    overall = {Path(d).name: report(Path(d), args.path, weights, args.lexical, embedder, cache) for d in args.dirs}
    if "dev" in overall and "dev-ja" in overall:
        ratio = overall["dev-ja"]["engine"]["MRR"] / max(overall["dev"]["engine"]["MRR"], 1e-9)
        print(f"engine MRR dev-ja / dev = {ratio:.2f}")


if __name__ == "__main__":
    main()
