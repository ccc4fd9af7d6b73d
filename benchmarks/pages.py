"""Speed of the member and visitor pages at scale, next to a bare FastAPI + Jinja page measured in the same run.

Usage: python benchmarks/pages.py [--sizes 10000,100000] [--rounds 3] [--single 40] [--seconds 3] [--clients 8]
                                  [--workdir DIR] [--reuse] [--pages NAME,...] [--workers N]

For each size: a scratch SQLite database is migrated (`matchmaker db upgrade`), n generated organizations are
imported through the real `matchmaker import`, embedded by `matchmaker reindex` (MATCHMAKER_EMBEDDING_MODEL=hashing:
no model loads) and given activity (a logged-in member with sent, received and accepted requests and a thread;
background requests between other organizations). The real app is served by uvicorn in a subprocess, as
`matchmaker serve` serves it (one process, scheduler off so no job competes), and the bare page
(benchmarks/pages_bare.py) in another. Each round measures every page: single-client p50/p95 over --single
sequential requests on one keep-alive connection, then throughput with --clients connections for --seconds.
The table shows medians over rounds; ratio = the page's throughput / the bare page's throughput in the same round
(median over rounds), which is far less sensitive to a busy machine than the absolute figures.
Last line: n=N worst_page=NAME worst_p95_ms=X min_ratio_plain=R1 prematching_ratio=R2
Targets at 100k on 2 cores: every p95 <= 100 ms; ratio >= 0.5 for plain pages, >= 0.2 for Pre-Matching.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import httpx  # noqa: E402

import pages_data  # noqa: E402

PYTHON = sys.executable
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')
PREPARING = 'hx-trigger="load delay:'  # Pre-Matching's "being prepared" state polls itself


def pages(ids: dict) -> dict[str, str]:
    """Every page a member or visitor uses, by name (the bare page comes first)."""
    return {
        "bare": "/bare",
        "prematching": "/prematching",
        "prematching_filtered": "/prematching?" + urlencode({"country": "VN", "category": "energy_efficiency"}),
        "directory": "/directory",
        "directory_filtered": "/directory?" + urlencode({"country": "ID", "category": "energy_efficiency"}),
        "directory_search": "/directory?q=solar+industry",
        "directory_search_rare": "/directory?q=mineralisation",  # 0.6% of the organizations hold it
        "directory_deep": "/directory?page=500",
        "technologies": "/technologies",
        "technologies_category": "/technologies?category=energy_efficiency",
        "technologies_visitor": "/technologies?visitor",
        "organization": f"/organizations/{ids['other_org']}",
        "profile": "/profile",
        "requests_sent": "/requests/sent",
        "requests_received": "/requests/received",
        "matches": "/matches",
        "match_thread": f"/matches/{ids['match']}",
        "api_requests": "/api/v1/requests?box=received",
        "api_matches": "/api/v1/matches",
        "api_messages": f"/api/v1/matches/{ids['match']}/messages",
        "api_me": "/api/v1/me",
    }


# --- database --------------------------------------------------------------------------------------------------

def run(args: list[str], env: dict) -> None:
    started = time.perf_counter()
    result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    print(f"  {' '.join(Path(a).name if a == PYTHON else a for a in args[:4])}: {time.perf_counter() - started:.0f} s"
          f" {result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ''}", flush=True)


def prepare(n: int, folder: Path, env: dict, reuse: bool) -> dict:
    """The scratch database of n organizations with activity; ids the URLs need."""
    from sqlalchemy import select

    from models import MeetingMessage, Organization, User
    from models.session import make_engine, make_session_factory, session_scope

    db = folder / "pages.db"
    cli = [PYTHON, "-m", "web.cli"]
    if not (reuse and db.exists()):
        for stale in folder.glob("pages.db*"):
            stale.unlink()
        run(cli + ["db", "upgrade"], env)
        source = pages_data.write_jsonl(pages_data.generate(n), folder / "organizations.jsonl")
        run(cli + ["import", str(source)], env)
        run(cli + ["reindex"], env)
    else:
        run(cli + ["db", "upgrade"], env)
    engine = make_engine(env["MATCHMAKER_DATABASE_URL"], pool_size=2)
    try:
        with session_scope(make_session_factory(engine)) as session:
            user = session.scalar(select(User).where(User.email == pages_data.MEMBER_EMAIL))
            if user is None:
                return pages_data.add_activity(session)
            match = session.scalar(select(MeetingMessage.request_id).limit(1))
            other = session.scalar(select(Organization.id).where(Organization.status == "approved",
                                                                 Organization.kind != "japanese_company")
                                   .order_by(Organization.id).offset(n // 4).limit(1))
            return {"own_org": user.organization_id, "other_org": other, "match": match}
    finally:
        engine.dispose()


# --- servers ---------------------------------------------------------------------------------------------------

def serve(app: str, port: int, env: dict, app_dir: Path | None = None, workers: int = 1) -> subprocess.Popen:
    if workers > 1:
        # As `matchmaker serve` runs several processes (web.processes: a socket each, Nagle off), the bare page
        # alike: uvicorn's own --workers socket leaves Nagle on, which adds up to 40 ms to a small page.
        code = ("import uvicorn; from web.processes import SpreadMultiprocess; "
                f"SpreadMultiprocess(uvicorn.Config({app!r}, host='127.0.0.1', port={port}, workers={workers}, "
                "log_level='warning', access_log=False)).run()")
        args = [PYTHON, "-c", code]
        if app_dir is not None:
            env = env | {"PYTHONPATH": os.pathsep.join([str(app_dir), env.get("PYTHONPATH", str(ROOT))])}
    else:
        args = [PYTHON, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                "--no-access-log"]
        if app_dir is not None:
            args += ["--app-dir", str(app_dir)]
    process = subprocess.Popen(args, env=env, cwd=ROOT)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/openapi.json" if app_dir is None else f"http://127.0.0.1:{port}/bare",
                      timeout=2)
            return process
        except httpx.HTTPError:
            if process.poll() is not None:
                raise SystemExit(f"{app} exited with {process.returncode}")
            time.sleep(0.3)
    process.terminate()
    raise SystemExit(f"{app} did not start")


def login(base: str) -> str:
    """The session cookie of the benchmark member, through the real login form."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        token = CSRF_RE.search(client.get("/login").text).group(1)
        response = client.post("/login", data={"email": pages_data.MEMBER_EMAIL, "password": pages_data.PASSWORD,
                                                "csrf_token": token})
        if response.status_code != 303:
            raise SystemExit(f"login failed: {response.status_code} {response.text[:300]}")
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def wait_for_recommendations(url: str, cookie: str, timeout: float = 900) -> None:
    """Wait until Pre-Matching shows recommendations: its index is built in the background after the first view,
    and until then the page says "being prepared" (a cheap page that would flatter the figures)."""
    deadline = time.time() + timeout
    ready = 0
    while time.time() < deadline:
        # A new connection each time: with --workers every process builds its own index, and 12 ready answers in
        # a row make it unlikely that one of them is still preparing.
        with httpx.Client(headers={"Cookie": cookie}, timeout=60) as client:
            page = client.get(url)
        if page.status_code == 200 and PREPARING not in page.text:
            ready += 1
            if ready >= 12:
                return
        else:
            ready = 0
            time.sleep(2)
    raise SystemExit(f"Pre-Matching still preparing after {timeout:.0f} s: {url}")


# --- load client: raw HTTP/1.1 keep-alive on asyncio, so the client costs as little CPU as possible --------------

class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader = self.writer = None

    async def get(self, request: bytes) -> tuple[int, int]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, close = 0, False
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
            elif line.lower() == b"connection: close":
                close = True  # with --workers the processes even out their connections (web.balance)
        body = await self.reader.readexactly(length)
        if close:
            self.close()
            self.reader = self.writer = None
        return status, len(body)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def request_bytes(path: str, cookie: str | None) -> bytes:
    if path.endswith("?visitor"):
        path, cookie = path[: -len("?visitor")], None
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: text/html"]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def single(port: int, request: bytes, count: int, seconds: float = float("inf")) -> list[float]:
    """Latencies of `count` sequential requests (fewer, but at least 3, when they take longer than `seconds`)."""
    connection = Connection(port)
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    try:
        for _ in range(count):
            if len(times) >= 3 and time.perf_counter() > deadline:
                break
            started = time.perf_counter()
            status, _size = await connection.get(request)
            times.append(time.perf_counter() - started)
            if status != 200:
                raise SystemExit(f"status {status} for {request[:80]!r}")
    finally:
        connection.close()
    return times


async def load(port: int, request: bytes, clients: int, seconds: float) -> tuple[float, int]:
    """(requests per second over `clients` connections for `seconds`, non-200 answers)."""
    deadline = time.perf_counter() + seconds
    done, bad = 0, 0

    async def one() -> None:
        nonlocal done, bad
        connection = Connection(port)
        try:
            while time.perf_counter() < deadline:
                status, _size = await connection.get(request)
                done += 1
                bad += status != 200
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    return done / (time.perf_counter() - started), bad


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


# --- one size --------------------------------------------------------------------------------------------------

def measure(n: int, options: argparse.Namespace, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"MATCHMAKER_DATABASE_URL": f"sqlite:///{folder / 'pages.db'}",
                        "MATCHMAKER_EMBEDDING_MODEL": "hashing", "MATCHMAKER_RUN_SCHEDULER": "false",
                        "MATCHMAKER_SECRET_KEY": "benchmark-secret-key", "PYTHONPATH": str(ROOT)}
    print(f"== n={n}: preparing {folder}", flush=True)
    ids = prepare(n, folder, env, options.reuse)
    app_port, bare_port = options.port, options.port + 1
    # --workers: both served by that many processes, so the bare page stays the same yardstick.
    servers = [serve("web.main:app", app_port, env | {"MATCHMAKER_WORKERS": str(options.workers)},
                     workers=options.workers),
               serve("pages_bare:app", bare_port, env, ROOT / "benchmarks", workers=options.workers)]
    try:
        cookie = login(f"http://127.0.0.1:{app_port}")
        urls = pages(ids)
        if options.pages:
            urls = {name: url for name, url in urls.items() if name == "bare" or name in options.pages}
        requests = {name: request_bytes(url, cookie) for name, url in urls.items()}
        port_of = {name: bare_port if name == "bare" else app_port for name in urls}
        for name, request in requests.items():
            started = time.perf_counter()
            if name.startswith("prematching"):
                wait_for_recommendations(f"http://127.0.0.1:{app_port}{urls[name]}", cookie)
            asyncio.run(single(port_of[name], request, 2))
            print(f"  warm-up {name}: {time.perf_counter() - started:.1f} s", flush=True)
        results: dict[str, list] = {name: [] for name in urls}
        for round_ in range(options.rounds):
            print(f"  round {round_ + 1}/{options.rounds}, load average {os.getloadavg()[0]:.1f}", flush=True)
            for name, request in requests.items():
                times = asyncio.run(single(port_of[name], request, options.single, 4 * options.seconds))
                rate, bad = asyncio.run(load(port_of[name], request, options.clients, options.seconds))
                if bad:
                    print(f"  {name}: {bad} answers were not 200 under load", flush=True)
                results[name].append((percentile(times, 0.5), percentile(times, 0.95), rate))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    return report(n, results)


def report(n: int, results: dict[str, list]) -> str:
    bare_rates = [rate for _p50, _p95, rate in results["bare"]]
    print(f"\n{'page':24} {'p50 ms':>8} {'p95 ms':>8} {'req/s@8':>9} {'ratio':>7}")
    summary = {}
    for name, rows in results.items():
        p50 = statistics.median(r[0] for r in rows) * 1000
        p95 = statistics.median(r[1] for r in rows) * 1000
        rate = statistics.median(r[2] for r in rows)
        ratio = statistics.median(r[2] / bare for r, bare in zip(rows, bare_rates))
        summary[name] = (p50, p95, rate, ratio)
        print(f"{name:24} {p50:8.1f} {p95:8.1f} {rate:9.1f} {ratio:7.3f}")
    members = {k: v for k, v in summary.items() if k != "bare"}
    worst = max(members, key=lambda k: members[k][1])
    plain = [v[3] for k, v in members.items() if not k.startswith("prematching")]
    prematching = [v[3] for k, v in members.items() if k.startswith("prematching")]
    return (f"n={n} worst_page={worst} worst_p95_ms={members[worst][1]:.1f} "
            f"min_ratio_plain={min(plain, default=float('nan')):.3f} "
            f"prematching_ratio={min(prematching, default=float('nan')):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="Comma-separated organization counts.")
    parser.add_argument("--rounds", type=int, default=3, help="Measurement rounds; the table shows medians.")
    parser.add_argument("--single", type=int, default=40, help="Sequential requests per page for p50/p95.")
    parser.add_argument("--seconds", type=float, default=3.0, help="Seconds of concurrent load per page.")
    parser.add_argument("--clients", type=int, default=8, help="Concurrent connections for throughput.")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="Where the scratch databases go (default: a temp dir).")
    parser.add_argument("--reuse", action="store_true", help="Reuse a database left in --workdir by an earlier run.")
    parser.add_argument("--pages", default="", help="Only these pages (comma-separated names), plus the bare one.")
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--workers", type=int, default=1,
                        help="Server processes for the app and the bare page alike (MATCHMAKER_WORKERS).")
    options = parser.parse_args()
    options.pages = {p for p in options.pages.split(",") if p}
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="pages-bench-"))
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    lines = []
    try:
        for n in (int(s) for s in options.sizes.split(",")):
            lines.append(measure(n, options, workdir / str(n)))
            print(lines[-1], flush=True)
    finally:
        if options.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
