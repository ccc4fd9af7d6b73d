"""Page-view throughput on SQLite when page views start DEFERRED (the app's choice) or IMMEDIATE like writes.

Usage: python benchmarks/sqlite_begin.py [--readers 8] [--writers 2] [--seconds 6] [--rounds 2]

Serves the app with uvicorn on a scratch SQLite file holding 40 members and 60 requests, logs in one member per
client, and for each mode runs `readers` threads fetching /requests/received and /matches in a loop (and
`writers` threads posting messages to a match) for `seconds`; rounds interleave the modes so other load on a
shared machine hits both alike. Prints page views per second, their median and p95 latency, and writes per second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import web.deps  # noqa: E402
from models.session import make_engine, make_session_factory, session_scope  # noqa: E402
from seeds.reference import load_reference  # noqa: E402
from tests.factories import create_user  # noqa: E402
from tests.web.live_support import live_server, logged_in_client  # noqa: E402
from tests.web.requests_support import make_match, make_request, member  # noqa: E402
from web.db import upgrade_database  # noqa: E402
from web.settings import Settings  # noqa: E402

_writes = web.deps.request_writes


def _seed(url: str, settings: Settings) -> tuple[list[str], int]:
    engine = make_engine(url, pool_size=5)
    upgrade_database(engine)
    with session_scope(make_session_factory(engine)) as session:
        load_reference(session)
        users = [member(session, f"Org {i}") for i in range(40)]
        for i in range(1, 40):
            make_request(session, settings, users[i], users[0])
        match = make_match(session, settings, create_user(session, users[3].organization), users[4])
        emails = [users[0].email] + [u.email for u in users[3:5]]
        match_id = match.id
    engine.dispose()
    return emails, match_id


def _run(base: str, emails: list[str], match_id: int, readers: int, writers: int, seconds: float) -> dict:
    latencies: list[float] = []
    writes = [0]
    errors: list[int] = []
    lock = threading.Lock()

    def read(client):
        while time.monotonic() < stop:
            for path in ("/requests/received", "/matches"):
                start = time.perf_counter()
                status = client.get(path).status_code
                with lock:
                    latencies.append(time.perf_counter() - start)
                    if status != 200:
                        errors.append(status)

    def write(client, token):
        while time.monotonic() < stop:
            status = client.post(f"/matches/{match_id}", data={"body": "hello", "csrf_token": token}).status_code
            with lock:
                writes[0] += 1
                if status != 303:
                    errors.append(status)

    reader_clients = [logged_in_client(base, emails[0])[0] for _ in range(readers)]
    writer_clients = [logged_in_client(base, emails[1 + i % 2]) for i in range(writers)]
    stop = time.monotonic() + seconds
    threads = [threading.Thread(target=read, args=(c,)) for c in reader_clients]
    threads += [threading.Thread(target=write, args=c) for c in writer_clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {"views_per_s": len(latencies) / seconds, "median_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))], "writes_per_s": writes[0] / seconds,
            "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(database_url=url, secret_key="benchmark", run_scheduler=False,
                            login_max_failures=1000)
        emails, match_id = _seed(url, settings)
        modes = {"deferred page views": _writes, "immediate page views": lambda request: True}
        results: dict[str, list[dict]] = {name: [] for name in modes}
        with live_server(settings) as base:
            for _round in range(args.rounds):
                for name, choose in modes.items():
                    web.deps.request_writes = choose
                    results[name].append(_run(base, emails, match_id, args.readers, args.writers, args.seconds))
        for name, runs in results.items():
            print(f"{name:22s} views/s {statistics.median(r['views_per_s'] for r in runs):7.1f}  "
                  f"median {statistics.median(r['median_ms'] for r in runs):6.1f} ms  "
                  f"p95 {statistics.median(r['p95_ms'] for r in runs):7.1f} ms  "
                  f"writes/s {statistics.median(r['writes_per_s'] for r in runs):6.1f}  "
                  f"errors {sum(len(r['errors']) for r in runs)}")


if __name__ == "__main__":
    main()
