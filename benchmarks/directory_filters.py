"""First-visit cost of directory filter combinations at scale: the way the directory reads each one, next to the
plain walk by name (no index, holder list or trigram hits chosen), measured in the same run.

Usage: python benchmarks/directory_filters.py [--size 100000] [--combinations 300] [--repeat 3] [--workdir DIR]
                                              [--reuse]

The database is the one benchmarks/pages.py builds (the same generator, `matchmaker import` and `reindex`; pass
the same --workdir and --reuse to share it). A seeded sample of --combinations filter combinations is drawn from
every kind, four countries (Japan, where half the organizations are, and three partner countries), the rarest, a
middling and the most common technology category, three sectors, words (a common one, a rare one, a two-letter
one too short for the trigram index, two words) and pages 1 and 10. Each is asked of the directory's search
service directly, without the answers it keeps, as a first visit is (median of --repeat), and of the plain walk:
the same conditions counted and paged by name, the planner left to itself. Both must give the same page.
Last line: n=N combinations=C p90_ms=X p99_ms=Y max_ms=Z over_100ms=K plain_p90_ms=X0 plain_max_ms=Z0
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import pages  # noqa: E402

KINDS = ["", "japanese_company", "partner_company", "consultant", "financial_institution", "public_body"]
COUNTRIES = ["", "JP", "VN", "ID", "MN"]
SECTORS = ["", "industry", "energy", "transport"]
WORDS = ["", "solar", "mineralisation", "pv", "solar industry"]


def combinations(categories: list[str], count: int) -> list[dict[str, str]]:
    """A seeded sample of filter combinations (query parameters), each at pages 1 and 10."""
    grid = list(itertools.product(KINDS, COUNTRIES, ["", *categories], SECTORS, WORDS))
    chosen = random.Random(7).sample(grid, min(count // 2, len(grid)))
    return [{key: value for key, value in zip(("kind", "country", "category", "sector", "q"), values) if value}
            | ({"page": str(page)} if page > 1 else {}) for values in chosen for page in (1, 10)]


def timed(call, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def summary(times: list[float]) -> tuple[float, float, float, float]:
    ordered = sorted(times)
    return (statistics.median(ordered), ordered[int(len(ordered) * 0.9)], ordered[int(len(ordered) * 0.99)],
            ordered[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="Organizations in the scratch database.")
    parser.add_argument("--combinations", type=int, default=300, help="Filter combinations (half at page 10).")
    parser.add_argument("--repeat", type=int, default=3, help="Visits per combination; the median counts.")
    parser.add_argument("--workdir", type=Path, default=None, help="Where the scratch database goes.")
    parser.add_argument("--reuse", action="store_true", help="Reuse a database left in --workdir by an earlier run.")
    options = parser.parse_args()
    folder = (options.workdir or Path(tempfile.mkdtemp(prefix="directory-bench-"))) / str(options.size)
    folder.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"MATCHMAKER_DATABASE_URL": f"sqlite:///{folder / 'pages.db'}",
                        "MATCHMAKER_EMBEDDING_MODEL": "hashing", "MATCHMAKER_RUN_SCHEDULER": "false",
                        "MATCHMAKER_SECRET_KEY": "benchmark-secret-key", "PYTHONPATH": str(ROOT)}
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    print(f"== n={options.size}: preparing {folder}", flush=True)
    pages.prepare(options.size, folder, env, options.reuse)
    os.environ.update({key: env[key] for key in ("MATCHMAKER_DATABASE_URL", "MATCHMAKER_EMBEDDING_MODEL",
                                                 "MATCHMAKER_RUN_SCHEDULER", "MATCHMAKER_SECRET_KEY")})
    from starlette.datastructures import QueryParams

    from models.session import make_engine, make_session_factory
    from web.services import directory

    engine = make_engine(env["MATCHMAKER_DATABASE_URL"], pool_size=2)
    factory = make_session_factory(engine)
    rows: list[tuple[float, float, str]] = []
    with factory() as session:
        choices = directory.directory_choices(session)
        by_count = sorted(choices.per_category, key=lambda slug: choices.per_category[slug])
        categories = [by_count[0], by_count[len(by_count) // 2], by_count[-1]]
        print(f"categories: {', '.join(f'{c} ({choices.per_category[c]})' for c in categories)}; "
              f"{choices.approved} approved organizations", flush=True)
        for params in combinations(categories, options.combinations):
            query = QueryParams(params)
            filters, page = directory.Filters.from_params(query), directory.parse_page(query.get("page"))
            chosen, shown = timed(lambda: directory._search(session, filters, page, 20, choices), options.repeat)
            plain, walked = timed(lambda: directory._page_of(session, directory.directory_conditions(filters), page,
                                                             20), options.repeat)
            if ([o.id for o in shown.items], shown.total, shown.page) != \
                    ([o.id for o in walked.items], walked.total, walked.page):
                raise SystemExit(f"{query}: the page differs from the plain walk's")
            rows.append((chosen, plain, str(query)))
    engine.dispose()
    chosen_times, plain_times = [r[0] for r in rows], [r[1] for r in rows]
    print(f"\n{'':8} {'median':>8} {'p90':>8} {'p99':>8} {'max':>8} {'>50ms':>6} {'>100ms':>7}")
    for name, times in (("chosen", chosen_times), ("plain", plain_times)):
        median, p90, p99, top = summary(times)
        print(f"{name:8} {median:8.1f} {p90:8.1f} {p99:8.1f} {top:8.1f} {sum(t > 50 for t in times):6d} "
              f"{sum(t > 100 for t in times):7d}")
    print("\nslowest as chosen (ms, chosen / plain):")
    for chosen, plain, query in sorted(rows, reverse=True)[:8]:
        print(f"  {chosen:7.1f} {plain:7.1f}  {query}")
    ratios = sorted(((c / p, c, p, q) for c, p, q in rows), reverse=True)
    print(f"chosen/plain per combination: median {statistics.median(r[0] for r in ratios):.2f}; the highest:")
    for ratio, chosen, plain, query in ratios[:5]:
        print(f"  {ratio:5.2f} {chosen:7.1f} {plain:7.1f}  {query}")
    _m, p90, p99, top = summary(chosen_times)
    _pm, plain_p90, _pp99, plain_top = summary(plain_times)
    print(f"n={options.size} combinations={len(rows)} p90_ms={p90:.1f} p99_ms={p99:.1f} max_ms={top:.1f} "
          f"over_100ms={sum(t > 100 for t in chosen_times)} plain_p90_ms={plain_p90:.1f} "
          f"plain_max_ms={plain_top:.1f}")


if __name__ == "__main__":
    main()
