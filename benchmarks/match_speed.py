"""Latency of one organization's top-10 through the engine, next to a bare numpy scan (the floor).

Usage: python benchmarks/match_speed.py --n 100000 [--queries 200] [--dim 384] [--rank-all-sample 2000] [--clustered]
Synthetic organizations with random unit vectors and random-word texts: no model is loaded. With --clustered,
vectors come from a mixture of 200 topic centroids plus noise and each text draws most of its words from its
topic's vocabulary, so approximate search has structure to find (on random vectors recall means nothing). When
a side has more candidates than the ANN threshold (--ann-threshold), the engine line times the approximate path;
the exact path is timed too and ann_recall_at_10 compares their top-k ids. Sides between the half-precision and
the ANN thresholds scan half-precision copies (matchmaker/halfscan.py): the float32 scan is timed beside it and
their top-k compared. The side mix
follows the directory (45% Japanese companies, 45% partners, 10% supporters) and, as build_texts does,
every profile gets an offer vector (technologies alone make an offer text) and a need vector only when it
has needs (all partners and supporters, one Japanese company in five).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

# OpenBLAS's worker threads spin for about 2^28 cycles (~0.1 s) after each call before they sleep. The floor's
# 2-thread GEMV runs right before every engine query here, and its spinning worker then held the core the engine's
# second scan thread needs (supporters p50 14 ms against 10 ms with the queries alone). 2^4 cycles: the workers
# sleep at once, for the floor's calls and the engine's alike. Read by OpenBLAS when numpy loads it, so set first.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matchmaker import Profile, ProfileVectors, build_index, recommend, recommend_all  # noqa: E402
from matchmaker.engine import blas_threads  # noqa: E402
from matchmaker.profiles import TECHNOLOGY_CATEGORIES  # noqa: E402

COUNTRIES = ["ID", "VN", "TH", "PH", "MN", "BD", "KH", "LA", "MM", "KE", "CL", "CR", "MX", "SA", "LK", "PW",
             "MV", "ET", "UZ", "TN", "SN", "GE", "AZ", "KG", "UA", "MD", "PG", "AE", "TZ", "IN"]
SUPPORTER_KINDS = ("financial_institution", "consultant", "public_body")


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """Return n random unit vectors."""
    x = rng.standard_normal((n, dim), dtype=np.float32)  # float32 from the start: 1M x 4 vectors is 6 GB
    for lo in range(0, n, 65536):
        x[lo:lo + 65536] /= np.linalg.norm(x[lo:lo + 65536], axis=1, keepdims=True)
    return x


TOPICS = 200
TOPIC_WORDS = 100


def clustered(rng: np.random.Generator, topic: np.ndarray, dim: int) -> np.ndarray:
    """Return 4 unit vectors per organization around its topic: centroid, an organization offset, then noise."""
    centroids = unit(rng, TOPICS, dim)
    out = np.empty((4 * len(topic), dim), np.float32)
    for lo in range(0, len(topic), 16384):
        t = topic[lo:lo + 16384]
        org = centroids[t] + 0.8 * rng.standard_normal((len(t), dim), dtype=np.float32) / np.float32(np.sqrt(dim))
        x = np.repeat(org, 4, axis=0)
        x += 0.6 * rng.standard_normal(x.shape, dtype=np.float32) / np.float32(np.sqrt(dim))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[4 * lo:4 * lo + len(x)] = x
    return out


def synthetic(n: int, dim: int, seed: int = 0, topics: bool = False):
    """Return (profiles, vectors) of n synthetic organizations (topic-clustered vectors and words if `topics`)."""
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(20000)] + [f"t{i}" for i in range(TOPICS * TOPIC_WORDS)])
    zipf = 1.0 / np.arange(1, 20001)
    zipf /= zipf.sum()
    words = rng.choice(20000, size=(n, 4, 8), p=zipf)
    topic = rng.integers(0, TOPICS, size=n)
    if topics:
        # Five of each item's eight words come from its topic's own vocabulary (Zipf inside the topic).
        inner = 1.0 / np.arange(1, TOPIC_WORDS + 1)
        inner /= inner.sum()
        words[:, :, :5] = 20000 + topic[:, None, None] * TOPIC_WORDS + rng.choice(TOPIC_WORDS, size=(n, 4, 5), p=inner)
    words = vocab[words]
    kinds = rng.choice(np.array(["partner_company", "japanese_company", "supporter"], dtype=object), size=n,
                       p=[0.45, 0.45, 0.10])
    kinds[kinds == "supporter"] = rng.choice(SUPPORTER_KINDS, size=int((kinds == "supporter").sum()))
    vec = clustered(rng, topic, dim) if topics else unit(rng, 4 * n, dim)
    profiles, vectors = [], {}
    for i in range(n):
        kind = str(kinds[i])
        item = lambda j: " ".join(words[i, j])  # noqa: E731
        offers = (item(0), item(1)) if kind != "partner_company" else ()
        needs = (item(2), item(3)) if kind != "japanese_company" or i % 5 == 0 else ()
        pid = f"org{i}"
        profiles.append(Profile(
            id=pid, name=pid, kind=kind, country="JP" if kind == "japanese_company" else COUNTRIES[i % 30],
            offers=offers, needs=needs, sectors=(f"sector{i % 12}",),
            technology_categories=tuple(rng.choice(TECHNOLOGY_CATEGORIES, size=1 + i % 2, replace=False)),
            target_countries=(tuple(rng.choice(COUNTRIES, size=1 + i % 3, replace=False))
                              if kind != "partner_company" else ()),
        ))
        v = vec[4 * i:4 * i + 4]
        # Technologies alone make an offer text (build_offer_text), so every profile has an offer vector.
        vectors[pid] = ProfileVectors(v[0], v[1] if needs else None,
                                      v[2:2 + len(offers)] if offers else np.zeros((0, dim), np.float32),
                                      v[2:2 + len(needs)] if needs else np.zeros((0, dim), np.float32))
    return profiles, vectors


def percentile_ms(samples: list[float], q: float) -> float:
    """Return the q-th percentile of samples in milliseconds."""
    return float(np.percentile(np.array(samples) * 1000, q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--rank-all-sample", type=int, default=2000,
                    help="above 20k organizations, time recommend_all on this many ids and extrapolate")
    ap.add_argument("--clustered", action="store_true", help="topic-clustered vectors and words (see above)")
    ap.add_argument("--ann-threshold", type=int, default=None,
                    help="candidates on a side above which the approximate path runs (default: the engine's)")
    ap.add_argument("--recall-queries", type=int, default=100, help="queries compared with the exact path")
    args = ap.parse_args()
    t0 = time.perf_counter()
    profiles, vectors = synthetic(args.n, args.dim, topics=args.clustered)
    t1 = time.perf_counter()
    index = build_index(profiles, vectors, ann_threshold=args.ann_threshold)
    t2 = time.perf_counter()
    del vectors
    print(f"synthetic data {t1 - t0:.1f}s, index build {t2 - t1:.1f}s (incl. TF-IDF fit)")
    rng = np.random.default_rng(1)
    queries = [profiles[i].id for i in rng.choice(args.n, size=args.queries, replace=False)]
    ann_sides = [s_ for s_ in sorted(index.candidates) if index.uses_ann(s_)]
    if ann_sides:
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        s = time.perf_counter()
        index.ann().build(tuple(ann_sides))
        print(f"ANN path on sides {','.join(ann_sides)} (threshold {index.ann_threshold} candidates): "
              f"IVF build {time.perf_counter() - s:.1f}s, peak RSS {rss0:.0f} -> "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    for q in queries[:5]:
        recommend(index, q, args.k)  # warm-up
    half_sides = [s_ for s_ in sorted(index.candidates) if index.scans_half(s_)]
    # Engine, floor and (where the engine scans half-precision copies) the float32 reference scan, query by query
    # in turn, so a change of load on a shared machine weighs on all three alike.
    engine, sides, floor, reference, same = [], [], [], [], 0
    matrix = index.offer
    # Same BLAS thread count as the engine's queries, so the ratio compares like with like.
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    limiter = threadpool_limits(blas_threads(), user_api="blas")
    for q in queries:
        s = time.perf_counter()
        got = recommend(index, q, args.k)
        engine.append(time.perf_counter() - s)
        sides.append(index.profile(q).side)
        vec = index.need[index.row[q]] if index.need[index.row[q]].any() else index.offer[index.row[q]]
        s = time.perf_counter()
        scores = matrix @ vec
        top = np.argpartition(-scores, args.k)[:args.k]
        top[np.argsort(-scores[top])]
        floor.append(time.perf_counter() - s)
        if index.profile(q).side in half_sides:
            s = time.perf_counter()
            want = recommend(index, q, args.k, exact=True)
            reference.append(time.perf_counter() - s)
            same += ([m.id for m in got] == [m.id for m in want]
                     and [m.reasons for m in got] == [m.reasons for m in want]
                     and bool(np.allclose([m.score for m in got], [m.score for m in want], rtol=0, atol=1e-6)))
    limiter.restore_original_limits()
    recall = None
    if ann_sides:
        exact, hits, total = [], 0, 0
        for q in queries[:args.recall_queries]:
            s = time.perf_counter()
            want = [m.id for m in recommend(index, q, args.k, exact=True)]
            exact.append(time.perf_counter() - s)
            got = {m.id for m in recommend(index, q, args.k)}
            hits += len(got.intersection(want))
            total += len(want)
        recall = hits / max(total, 1)
        print(f"exact path top-{args.k}: p50={percentile_ms(exact, 50):.2f} ms p95={percentile_ms(exact, 95):.2f} ms "
              f"over {len(exact)} queries")
    e50, e95, f50, f95 = (percentile_ms(engine, 50), percentile_ms(engine, 95),
                          percentile_ms(floor, 50), percentile_ms(floor, 95))
    print(f"engine top-{args.k}: p50={e50:.2f} ms p95={e95:.2f} ms over {len(engine)} queries")
    for side in sorted(set(sides)):
        times = [t for t, s_ in zip(engine, sides) if s_ == side]
        print(f"  {side:9s} n={len(times):3d} p50={percentile_ms(times, 50):.2f} ms "
              f"p95={percentile_ms(times, 95):.2f} ms")
    print(f"floor (numpy {args.n}x{args.dim} matvec + argpartition, {blas_threads()} BLAS threads as the engine): "
          f"p50={f50:.2f} ms p95={f95:.2f} ms")
    if reference:
        print(f"float32 scan (recommend(exact=True), the reference) on sides {','.join(half_sides)}: "
              f"p50={percentile_ms(reference, 50):.2f} ms p95={percentile_ms(reference, 95):.2f} ms; "
              f"the half-precision scan's top-{args.k} (ids, scores, reasons) equals it on "
              f"{same}/{len(reference)} queries")
    ids = [p.id for p in profiles]
    if args.n > 20000:
        ids = [ids[i] for i in rng.choice(args.n, size=min(args.rank_all_sample, args.n), replace=False)]
    s = time.perf_counter()
    recommend_all(index, args.k, ids=ids)
    took = time.perf_counter() - s
    if len(ids) == args.n:
        print(f"rank all {args.n}: {took:.1f} s (recommend_all, measured, with reasons)")
    else:
        print(f"rank all {args.n}: ~{took / len(ids) * args.n:.0f} s (recommend_all on {len(ids)} random ids "
              f"took {took:.1f} s, x N/{len(ids)})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")
    if recall is not None:
        print(f"ann_recall_at_{args.k}={recall:.3f} over {min(args.recall_queries, len(queries))} queries")
    print(f"n={args.n} engine_p95_ms={e95:.2f} floor_p95_ms={f95:.2f} ratio={e95 / f95:.2f}")


if __name__ == "__main__":
    main()
