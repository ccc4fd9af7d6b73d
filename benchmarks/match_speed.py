"""Latency of one organization's top-10 through the engine, next to a bare numpy scan (the floor).

Usage: python benchmarks/match_speed.py --n 100000 [--queries 200] [--dim 384]
Synthetic organizations with random unit vectors and random-word texts: no model is loaded.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matchmaker import Profile, ProfileVectors, build_index, recommend  # noqa: E402
from matchmaker.profiles import TECHNOLOGY_CATEGORIES  # noqa: E402

COUNTRIES = ["ID", "VN", "TH", "PH", "MN", "BD", "KH", "LA", "MM", "KE", "CL", "CR", "MX", "SA", "LK", "PW",
             "MV", "ET", "UZ", "TN", "SN", "GE", "AZ", "KG", "UA", "MD", "PG", "AE", "TZ", "IN"]
KINDS = ["partner_company"] * 9 + ["japanese_company"] * 9 + ["financial_institution", "consultant"]


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """Return n random unit vectors."""
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def synthetic(n: int, dim: int, seed: int = 0):
    """Return (profiles, vectors) of n synthetic organizations."""
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(20000)])
    zipf = 1.0 / np.arange(1, len(vocab) + 1)
    zipf /= zipf.sum()
    words = rng.choice(vocab, size=(n, 4, 8), p=zipf)
    kinds = rng.choice(KINDS, size=n)
    vec = unit(rng, 4 * n, dim)
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
            target_countries=tuple(rng.choice(COUNTRIES, size=1 + i % 3, replace=False)) if kind != "partner_company" else (),
        ))
        v = vec[4 * i:4 * i + 4]
        vectors[pid] = ProfileVectors(v[0] if offers else None, v[1] if needs else None,
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
    args = ap.parse_args()
    t0 = time.perf_counter()
    profiles, vectors = synthetic(args.n, args.dim)
    t1 = time.perf_counter()
    index = build_index(profiles, vectors)
    t2 = time.perf_counter()
    del vectors
    print(f"synthetic data {t1 - t0:.1f}s, index build {t2 - t1:.1f}s (incl. TF-IDF fit)")
    rng = np.random.default_rng(1)
    queries = [profiles[i].id for i in rng.choice(args.n, size=args.queries, replace=False)]
    for q in queries[:5]:
        recommend(index, q, args.k)  # warm-up
    engine = []
    for q in queries:
        s = time.perf_counter()
        recommend(index, q, args.k)
        engine.append(time.perf_counter() - s)
    floor = []
    matrix = index.offer
    # Same BLAS setting as the engine (one thread): on the shared 2-core box it is the faster floor too.
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    limiter = threadpool_limits(1, user_api="blas")
    for q in queries:
        vec = index.need[index.row[q]] if index.need[index.row[q]].any() else index.offer[index.row[q]]
        s = time.perf_counter()
        scores = matrix @ vec
        top = np.argpartition(-scores, args.k)[:args.k]
        top[np.argsort(-scores[top])]
        floor.append(time.perf_counter() - s)
    limiter.restore_original_limits()
    e50, e95, f50, f95 = (percentile_ms(engine, 50), percentile_ms(engine, 95),
                          percentile_ms(floor, 50), percentile_ms(floor, 95))
    print(f"engine top-{args.k}: p50={e50:.2f} ms p95={e95:.2f} ms over {len(engine)} queries")
    print(f"floor (numpy {args.n}x{args.dim} matvec + argpartition): p50={f50:.2f} ms p95={f95:.2f} ms")
    if args.n <= 20000:
        s = time.perf_counter()
        for p in profiles:
            recommend(index, p.id, args.k)
        print(f"rank all {args.n}: {time.perf_counter() - s:.1f} s (measured, with reasons)")
    else:
        print(f"rank all {args.n}: ~{np.mean(engine) * args.n:.0f} s (extrapolated: mean of the sample x N, one core path)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")
    print(f"n={args.n} engine_p95_ms={e95:.2f} floor_p95_ms={f95:.2f} ratio={e95 / f95:.2f}")


if __name__ == "__main__":
    main()
