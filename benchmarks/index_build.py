"""The match index build at scale: how long it takes, and what it leaves the pages while it runs.

Usage: python benchmarks/index_build.py [--organizations 100000] [--workdir DIR] [--reuse] [--clients 8]
                                        [--slice 3] [--variants child,thread,thread-turns0]

The scratch database is benchmarks/pages.py's (n generated organizations with activity; --reuse takes one left in
--workdir by either script). First the build alone: `build_state` in a fresh process, as after a server start,
timed. Then, for each of --variants, the app is served (one process, scheduler off), the requests tab is loaded
by --clients connections in --slice-second slices three times, one Pre-Matching view starts the build in the
background, and the slices go on until Pre-Matching shows recommendations. The variants: `child` (the default
settings: the build in a child process of lower priority, MATCHMAKER_INDEX_BUILD_PROCESS=true), `thread` (in a
thread of the server with short GIL turns, as before the child), `thread-turns0` (a thread with Python's own 5 ms
switch interval: the first baseline), all measured in the same run. Per variant it prints the build's time as
served, the tab's throughput before and during the build (median and lowest slice) and the non-200 answers.
Last line, per variant:
build=V n=N build_inprocess_s=B build_served_s=S tab_before_rps=A tab_during_rps=D during_ratio=D/A
lowest_ratio=(lowest slice)/A slow_slices=(share of slices under A/2) non_200=E
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pages import PREPARING, PYTHON, load, login, prepare, request_bytes, serve  # noqa: E402

TAB = "/requests/sent"
BUILD_ALONE = """
import sys, time
from models.session import make_engine, make_session_factory
from web.services.matching_vectors import embedder_from_settings
from web.services.matching_index import build_state
from web.settings import Settings
settings = Settings()
engine = make_engine(settings.database_url, pool_size=2)
started = time.perf_counter()
with make_session_factory(engine)() as session:
    state = build_state(session, embedder_from_settings(settings).name)
print(f"{time.perf_counter() - started:.1f} {len(state.index) if state.index is not None else 0}")
"""


def build_alone(env: dict) -> float:
    """Seconds of one full build in a fresh process (no server, nothing else competing)."""
    result = subprocess.run([PYTHON, "-c", BUILD_ALONE], env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"build failed:\n{result.stderr}")
    seconds, size = result.stdout.split()
    print(f"  build alone: {seconds} s for {size} organizations", flush=True)
    return float(seconds)


def slices_until_ready(port: int, cookie: str, clients: int, seconds: float) -> tuple[list[float], int, float]:
    """Tab throughput per slice from the first Pre-Matching view until recommendations show; (rates, non-200,
    seconds the build took as seen from outside)."""
    base = f"http://127.0.0.1:{port}"
    tab = request_bytes(TAB, cookie)
    rates, bad = [], 0
    with httpx.Client(base_url=base, headers={"Cookie": cookie}, timeout=120) as client:
        started = time.perf_counter()
        if PREPARING not in client.get("/prematching").text:
            raise SystemExit("Pre-Matching was ready before its first view: not a fresh server")
        while True:
            rate, failed = asyncio.run(load(port, tab, clients, seconds))
            rates.append(rate)
            bad += failed
            ready = PREPARING not in client.get("/prematching").text
            print(f"    t={time.perf_counter() - started:6.1f} s  {rate:6.1f} req/s  non-200 {failed}", flush=True)
            if ready:
                return rates, bad, time.perf_counter() - started


VARIANTS = {
    "child": {"MATCHMAKER_INDEX_BUILD_PROCESS": "true"},
    "thread": {"MATCHMAKER_INDEX_BUILD_PROCESS": "false"},
    "thread-turns0": {"MATCHMAKER_INDEX_BUILD_PROCESS": "false", "MATCHMAKER_BACKGROUND_GIL_TURN_SECONDS": "0"},
}


def measure(variant: str, env: dict, options: argparse.Namespace) -> dict:
    print(f"== {variant}: {' '.join(f'{k}={v}' for k, v in VARIANTS[variant].items())}", flush=True)
    # No kept index (MATCHMAKER_INDEX_DIR=off): a start would read the one the previous variant built, and this
    # measures a build.
    server = serve("web.main:app", options.port, env | {"MATCHMAKER_INDEX_DIR": "off"} | VARIANTS[variant])
    try:
        cookie = login(f"http://127.0.0.1:{options.port}")
        tab = request_bytes(TAB, cookie)
        before = [asyncio.run(load(options.port, tab, options.clients, options.slice))[0] for _ in range(3)]
        print(f"    before: {' '.join(f'{r:.1f}' for r in before)} req/s", flush=True)
        during, bad, built = slices_until_ready(options.port, cookie, options.clients, options.slice)
    finally:
        server.terminate()
        server.wait(30)
    result = {"before": statistics.median(before), "during": statistics.median(during), "lowest": min(during),
              "bad": bad, "served": built}
    # The build's pure-Python phases starve the pages; its SQLite reads and C parts (numpy, faiss) hardly do, so
    # the median over the whole build hides the first: the share of slices under half the tab's speed shows it.
    result["slow"] = sum(rate < result["before"] / 2 for rate in during) / len(during)
    print(f"  build as served {built:.0f} s; tab before {result['before']:.1f} req/s, during {result['during']:.1f} "
          f"(lowest slice {result['lowest']:.1f}, {result['slow']:.0%} of slices under half speed), non-200 {bad}",
          flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organizations", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=None, help="Where the scratch database goes (default: temp).")
    parser.add_argument("--reuse", action="store_true", help="Reuse a database left in --workdir.")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--slice", type=float, default=3.0, help="Seconds per throughput slice.")
    parser.add_argument("--variants", default="child,thread,thread-turns0",
                        help=f"Where the build runs, to compare: {', '.join(VARIANTS)}.")
    parser.add_argument("--port", type=int, default=8741)
    options = parser.parse_args()
    n = options.organizations
    folder = (options.workdir or Path(tempfile.mkdtemp(prefix="index-build-"))) / str(n)
    folder.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"MATCHMAKER_DATABASE_URL": f"sqlite:///{folder / 'pages.db'}",
                        "MATCHMAKER_EMBEDDING_MODEL": "hashing", "MATCHMAKER_RUN_SCHEDULER": "false",
                        "MATCHMAKER_SECRET_KEY": "benchmark-secret-key", "PYTHONPATH": str(ROOT)}
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    prepare(n, folder, env, options.reuse)
    alone = build_alone(env)
    lines = []
    for variant in options.variants.split(","):
        r = measure(variant, env, options)
        lines.append(f"build={variant} n={n} build_inprocess_s={alone:.1f} build_served_s={r['served']:.0f} "
                     f"tab_before_rps={r['before']:.1f} tab_during_rps={r['during']:.1f} "
                     f"during_ratio={r['during'] / r['before']:.2f} lowest_ratio={r['lowest'] / r['before']:.2f} "
                     f"slow_slices={r['slow']:.2f} non_200={r['bad']}")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
