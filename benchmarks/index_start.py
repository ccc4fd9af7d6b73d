"""How soon every process of a two-process server shows recommendations after a start and after a restart, with the
match index kept for all of them (MATCHMAKER_INDEX_DIR) and with each process building its own ("off").

Usage: python benchmarks/index_start.py [--size 100000] [--workdir DIR] [--reuse] [--workers 2] [--rounds 1]

The database is benchmarks/pages.py's (n generated organizations through the real import and reindex; --reuse keeps
it in --workdir). For each way, in turn: `matchmaker serve`'s process supervisor is started with --workers
processes and a fresh, empty index folder (or "off"); the benchmark member logs in and Pre-Matching is asked on new
connections until 12 answers in a row show recommendations (every process has its index: "start" seconds); then
SIGHUP replaces each process (web.processes.SpreadMultiprocess.restart_all), and once every process is new the
same wait gives "restart" seconds. "cpu" is the CPU seconds of the whole server (supervisor, processes and their
build children) from start to stop. With the kept index, a second server is then started on the folder the first
one filled ("start again"). Last line: n=N start_kept_s=A start_own_s=B restart_kept_s=C restart_own_s=D
cpu_kept_s=E cpu_own_s=F start_again_kept_s=G
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import pages  # noqa: E402


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_way(index_dir: str, env: dict, port: int, workers: int,
            restart: bool = True) -> tuple[float, float, float]:
    """(start seconds, restart seconds, CPU seconds) of one server with this MATCHMAKER_INDEX_DIR; restart=False
    stops after the start (restart and CPU then 0)."""
    env = env | {"MATCHMAKER_WORKERS": str(workers), "MATCHMAKER_INDEX_DIR": index_dir}
    cpu_before = _children_cpu()
    started = time.monotonic()
    server = pages.serve("web.main:app", port, env, workers=workers)
    try:
        url = f"http://127.0.0.1:{port}/prematching"
        cookie = pages.login(f"http://127.0.0.1:{port}")
        pages.wait_for_recommendations(url, cookie)
        start = time.monotonic() - started
        if not restart:
            return start, 0.0, 0.0
        old = _children(server.pid)
        restarted = time.monotonic()
        server.send_signal(signal.SIGHUP)
        deadline = restarted + 300
        # Each process is replaced once its successor is ready (the supervisor's other child, multiprocessing's
        # resource tracker, stays).
        while len(old - _children(server.pid)) < workers:
            if time.monotonic() > deadline:
                raise SystemExit("the processes were not replaced within 300 s")
            time.sleep(0.2)
        pages.wait_for_recommendations(url, cookie)
        restart = time.monotonic() - restarted
    finally:
        server.terminate()
        server.wait(60)
    return start, restart, _children_cpu() - cpu_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--workdir", default="")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--port", type=int, default=8761)
    options = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    folder = Path(options.workdir or tempfile.mkdtemp(prefix="index-start-")) / str(options.size)
    folder.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"MATCHMAKER_DATABASE_URL": f"sqlite:///{folder / 'pages.db'}",
                        "MATCHMAKER_EMBEDDING_MODEL": "hashing", "MATCHMAKER_RUN_SCHEDULER": "false",
                        "MATCHMAKER_SECRET_KEY": "benchmark-secret-key", "PYTHONPATH": str(ROOT)}
    pages.prepare(options.size, folder, env, options.reuse)
    figures: dict[str, list[tuple[float, float, float]]] = {"kept": [], "own": []}
    again: list[float] = []
    for round_ in range(options.rounds):
        for way in figures:
            with tempfile.TemporaryDirectory(prefix="match-index-") as kept:
                result = one_way(kept if way == "kept" else "off", env, options.port, options.workers)
                figures[way].append(result)
                print(f"round {round_ + 1} {way:5s} start {result[0]:6.1f} s  restart {result[1]:6.1f} s  "
                      f"cpu {result[2]:6.1f} s  (load average {os.getloadavg()[0]:.1f})", flush=True)
                if way == "kept":
                    # A whole server started again on the folder the last one filled.
                    again.append(one_way(kept, env, options.port, options.workers, restart=False)[0])
                    print(f"round {round_ + 1} kept  start again on the kept index {again[-1]:6.1f} s", flush=True)
    median = {way: [statistics.median(r[i] for r in rows) for i in range(3)] for way, rows in figures.items()}
    print(f"n={options.size} start_kept_s={median['kept'][0]:.1f} start_own_s={median['own'][0]:.1f} "
          f"restart_kept_s={median['kept'][1]:.1f} restart_own_s={median['own'][1]:.1f} "
          f"cpu_kept_s={median['kept'][2]:.1f} cpu_own_s={median['own'][2]:.1f} "
          f"start_again_kept_s={statistics.median(again):.1f}")


if __name__ == "__main__":
    main()
