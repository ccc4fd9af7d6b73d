"""Load: the real `matchmaker serve` under a rising number of logged-in clients, then back down.

Usage: python benchmarks/load.py [--step-seconds 20] [--steps 8,32,64,128,8] [--organizations 20000]
                                 [--users 160] [--database-url postgresql+psycopg://...] [--workdir DIR]
                                 [--env MATCHMAKER_WORKERS=2]

Builds a scratch database (SQLite in a temporary folder, or the empty database of --database-url) through the
real commands: `matchmaker db upgrade`, `matchmaker seed` (the demo), `matchmaker import` of generated
organizations and `matchmaker reindex`, all with MATCHMAKER_EMBEDDING_MODEL=hashing so no model loads. It then
gives some imported organizations a member (password demo-password-2026, like the demo accounts), each with a
few pending requests to accept and two matches with message threads, starts `matchmaker serve` on a free port
of 127.0.0.1, logs every member in (the demo members among them) and waits until Pre-Matching shows
recommendations (each server process builds its match index in the background after a start).

Each step runs that many clients in a closed loop (no think time) for --step-seconds; a client is one member
on one keep-alive connection, picking from the mix: Pre-Matching, the directory, technologies, the request
tabs, a match thread, a message post, an accept. The client is raw asyncio HTTP/1.1 to keep its CPU small: it
shares the machine's cores with the server, and its CPU seconds are printed beside the server's. Latency
percentiles are over the responses the app served (503s are counted apart); a request without an answer within
--timeout is a timeout. `recovered` means the last step (back at the first step's clients) had no 5xx, no
timeout, no connection error and at least half the first step's throughput.
Throughput (rps) counts answered requests. Last line: clients=64 rps=R p99_ms=P errors_5xx=E timeouts=T
recovered=yes|no (errors_5xx counts 503s too).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_client import Client, Stats, http_request, percentile  # noqa: E402
from load_data import DEMO_MEMBERS, PASSWORD, prepare_members, write_organizations  # noqa: E402
from pages import PREPARING as PAGES_PREPARING  # noqa: E402

CSRF_RE = re.compile(rb'name="csrf-token" content="([^"]+)"')
PREPARING = PAGES_PREPARING.encode()
# (weight, operation) of the logged-in mix.
MIX = ((3, "prematching"), (2, "directory"), (1, "technologies"), (1, "sent"), (1, "received"), (1, "matches"),
       (1, "thread"), (0.5, "message"), (0.5, "accept"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "web.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"matchmaker {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def _postgres_template(url: str, *, restore: bool) -> bool:
    """PostgreSQL: keep the prepared database as the template NAME_prepared, or (restore) recreate the database
    from it; False when restoring and there is no template. A load run changes its database (accepts, messages),
    so every run starts from a copy of the same prepared state."""
    from sqlalchemy import create_engine, make_url, text  # noqa: PLC0415

    target = make_url(url)
    name, template = target.database, f"{target.database}_prepared"
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": template})
            if restore and not exists:
                return False
            source, copy = (template, name) if restore else (name, template)
            connection.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"'))
    finally:
        engine.dispose()
    return True


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu_seconds(pid: int) -> float:
    """CPU seconds of the server: its own and its worker processes' (MATCHMAKER_WORKERS > 1)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _stat(int(entry.name))
            except OSError:
                continue
            if int(entry.name) == pid or int(fields[1]) == pid:
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _machine_times() -> tuple[int, int]:
    """(all CPU time, the part the hypervisor gave to other guests: steal) of the machine, in clock ticks."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields[:8]), fields[7]


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _login(port: int, email: str) -> dict:
    """Log one member in; returns its cookie header and CSRF token."""
    status, headers, body = await http_request(port, "GET", "/login")
    cookie = headers["set-cookie"].split(";", 1)[0]
    token = CSRF_RE.search(body).group(1).decode()
    form = f"email={email}&password={PASSWORD}&csrf_token={token}&next=/".encode()
    status, headers, _ = await http_request(port, "POST", "/login", {"Cookie": cookie}, form)
    if status != 303:
        raise SystemExit(f"login of {email} answered {status}")
    cookie = headers["set-cookie"].split(";", 1)[0]
    status, headers, body = await http_request(port, "GET", "/prematching", {"Cookie": cookie})
    if "set-cookie" in headers:
        cookie = headers["set-cookie"].split(";", 1)[0]
    return {"email": email, "cookie": cookie, "csrf": CSRF_RE.search(body).group(1).decode()}


async def _wait_for_recommendations(port: int, cookie: str, timeout: float = 900) -> float:
    """Seconds until Pre-Matching shows recommendations. Each server process builds its match index in the
    background after its first Pre-Matching view and until then answers "being prepared": a cheap page, and the
    build competes for the cores: steps measured before it ends would mix the two states (at 20,000 organizations
    the warm-up has always outlasted the build; at larger --organizations it may not)."""
    started = time.monotonic()
    ready = 0
    while ready < 12:  # a new connection each time: 12 ready answers in a row from any process
        if time.monotonic() - started > timeout:
            raise SystemExit(f"Pre-Matching still preparing after {timeout:.0f} s")
        status, _, body = await http_request(port, "GET", "/prematching", {"Cookie": cookie})
        if status == 200 and PREPARING not in body:
            ready += 1
        else:
            ready = 0
            await asyncio.sleep(2)
    return time.monotonic() - started


def _operations(member: dict, rng: random.Random):
    """The next (operation, method, path, body) of this member's mix."""
    weights = [w for w, _ in MIX]
    names = [n for _, n in MIX]
    token = member["csrf"]
    while True:
        name = rng.choices(names, weights)[0]
        if name == "prematching":
            yield name, "GET", f"/prematching?page={rng.randint(1, 3)}", None
        elif name == "directory":
            yield name, "GET", f"/directory?page={rng.randint(1, 50)}", None
        elif name == "technologies":
            yield name, "GET", "/technologies", None
        elif name in ("sent", "received"):
            yield name, "GET", f"/requests/{name}", None
        elif name == "matches":
            yield name, "GET", "/matches", None
        elif name == "thread" and member["matches"]:
            yield name, "GET", f"/matches/{rng.choice(member['matches'])}", None
        elif name == "message" and member["matches"]:
            body = f"body=See+you+at+the+seminar+{rng.randint(1, 10**6)}&csrf_token={token}".encode()
            yield name, "POST", f"/matches/{rng.choice(member['matches'])}", body
        elif name == "accept" and member["pending"]:
            yield name, "POST", f"/requests/{member['pending'].pop()}/accept", f"csrf_token={token}".encode()
        else:
            yield "prematching", "GET", "/prematching", None


async def _step(port: int, members: list[dict], clients: int, seconds: float, timeout: float, seed: int) -> Stats:
    stats = Stats()
    stop = time.monotonic() + seconds

    async def run(i: int) -> None:
        member = members[i % len(members)]
        ops = _operations(member, random.Random(seed * 1000 + i))
        client = Client(port, member["cookie"], timeout)
        try:
            while time.monotonic() < stop:
                operation, method, path, body = next(ops)
                await client.call(method, path, body, stats, operation)
        finally:
            client.close()

    await asyncio.gather(*(run(i) for i in range(clients)))
    stats.seconds = seconds
    return stats


def _line(clients: int, s: Stats, server_cpu: float, client_cpu: float) -> str:
    lat = sorted(s.latencies)
    return (f"clients={clients:<4} requests={s.count:<6} rps={s.answered / s.seconds:7.1f} "
            f"p50_ms={percentile(lat, 50):6.0f} p95_ms={percentile(lat, 95):6.0f} p99_ms={percentile(lat, 99):6.0f} "
            f"5xx={s.errors_5xx:<4} 503={s.busy:<5} timeouts={s.timeouts:<3} conn_errors={s.conn_errors:<3} "
            f"other={s.unexpected:<3} server_cpu_s={server_cpu:5.1f} client_cpu_s={client_cpu:4.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--step-seconds", type=float, default=20.0)
    parser.add_argument("--steps", default="8,32,64,128,8", help="Clients per step; the last is the recovery check.")
    parser.add_argument("--organizations", type=int, default=20000, help="Generated organizations to import.")
    parser.add_argument("--users", type=int, default=160, help="Members made in imported organizations.")
    parser.add_argument("--database-url", default="", help="An empty database (default: SQLite in --workdir).")
    parser.add_argument("--workdir", default="", help="Folder for the scratch database and logs (default: temporary).")
    parser.add_argument("--timeout", type=float, default=10.0, help="Seconds before a request counts as a timeout.")
    parser.add_argument("--env", action="append", default=[], help="Extra NAME=VALUE for the server (repeatable).")
    parser.add_argument("--reuse", action="store_true",
                        help="Start from the database an earlier run prepared with the same --workdir: SQLite from "
                             "its copy there, PostgreSQL from the template database NAME_prepared it left.")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    work = Path(args.workdir or tempfile.mkdtemp(prefix="matchmaker-load-"))
    work.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{work / 'load.db'}"
    env = {**os.environ, "MATCHMAKER_DATABASE_URL": url, "MATCHMAKER_EMBEDDING_MODEL": "hashing",
           "MATCHMAKER_SECRET_KEY": "load-benchmark-key", "PYTHONFAULTHANDLER": "1"}
    env.update(dict(item.split("=", 1) for item in args.env))
    print(f"# load benchmark: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
          f"database {url.split('@')[-1]}; work folder {work}", flush=True)

    started = time.monotonic()
    snapshot = work / "prepared.db"
    members_file = work / "members.txt"
    if args.reuse and members_file.exists() and (snapshot.exists() if not args.database_url
                                                 else _postgres_template(url, restore=True)):
        if not args.database_url:
            shutil.copyfile(snapshot, work / "load.db")
        emails = members_file.read_text().split()
        print(f"# reusing the database prepared earlier ({work})", flush=True)
    else:
        _cli(env, "db", "upgrade")
        _cli(env, "seed")
        orgs_file = write_organizations(work / "organizations.jsonl", args.organizations)
        print(f"# import: {_cli(env, 'import', str(orgs_file))}", flush=True)
        _cli(env, "reindex")
        emails = prepare_members(url, args.users)
        print(f"# prepared in {time.monotonic() - started:.0f} s: {args.organizations} organizations, "
              f"{len(emails)} members with pending requests and matches", flush=True)
        if args.database_url:
            _postgres_template(url, restore=False)
        else:
            shutil.copyfile(work / "load.db", snapshot)
        members_file.write_text("\n".join(emails))

    port = _free_port()
    log = open(work / "serve.log", "wb")
    server = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "web.cli", "serve", "--port", str(port)],
                              env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        asyncio.run(_run(server, port, url, emails, steps, args))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    crash = [ln for ln in (work / "serve.log").read_text(errors="replace").splitlines()
             if "Fatal Python error" in ln or "Segmentation fault" in ln]
    if crash:
        print(f"# SERVER CRASHED: {crash[0]} (see {work / 'serve.log'})")


async def _run(server: subprocess.Popen, port: int, url: str, emails: list[str], steps: list[int], args) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if (await http_request(port, "GET", "/login"))[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit("server did not start")
        await asyncio.sleep(0.2)
    from load_data import member_work  # noqa: PLC0415

    members = []
    for email in [*DEMO_MEMBERS, *emails]:
        members.append(await _login(port, email) | member_work(url, email))
    # Warm up: the match index is built by the first Pre-Matching page; then every page once per member.
    for member in members:
        client = Client(port, member["cookie"], 120)
        for path in ("/prematching", "/directory", "/technologies", "/requests/received"):
            await client.call("GET", path, None, Stats())
        client.close()
    waited = await _wait_for_recommendations(port, members[0]["cookie"])
    print(f"# Pre-Matching showed recommendations in every process after {waited:.0f} s", flush=True)
    print(f"# {len(members)} members logged in; load average {os.getloadavg()[0]:.2f}; raw asyncio HTTP/1.1 "
          f"client, one keep-alive connection per client, no think time", flush=True)
    results = []
    machine_before = _machine_times()
    for i, clients in enumerate(steps):
        server_cpu, client_cpu = _cpu_seconds(server.pid), _client_cpu()
        stats = await _step(port, members, clients, args.step_seconds, args.timeout, seed=i)
        line = _line(clients, stats, _cpu_seconds(server.pid) - server_cpu, _client_cpu() - client_cpu)
        print(line, flush=True)
        results.append((clients, stats))
        if server.poll() is not None:
            print(f"# server exited with {server.returncode}", flush=True)
            break
    print("# served latency by operation, all steps (p50 / p95 ms, count):")
    merged: dict[str, list[float]] = {}
    for _, stats in results:
        for operation, values in stats.by_operation.items():
            merged.setdefault(operation, []).extend(values)
    print("# " + "  ".join(f"{op} {percentile(sorted(v), 50):.0f}/{percentile(sorted(v), 95):.0f} ({len(v)})"
                           for op, v in sorted(merged.items())))
    failed: dict[str, int] = {}
    for _, stats in results:
        for operation, n in stats.failed_by_operation.items():
            failed[operation] = failed.get(operation, 0) + n
    if failed:
        print("# timeouts and non-503 5xx by operation: " + "  ".join(f"{op} {n}" for op, n in sorted(failed.items())))
    first, last = results[0][1], results[-1][1]
    recovered = (len(results) == len(steps) and last.errors_5xx == 0 and last.timeouts == 0
                 and last.conn_errors == 0 and last.answered >= 0.5 * first.answered)
    at64 = next((s for c, s in results if c == 64), last)
    lat = sorted(at64.latencies)
    total, steal = (after - before for after, before in zip(_machine_times(), machine_before))
    # On a shared virtual machine the host may run other guests on "our" cores: figures from runs with much
    # stolen time are not comparable with the others.
    print(f"# load average {os.getloadavg()[0]:.2f} at the end; CPU time stolen by the host during the steps: "
          f"{100 * steal / max(total, 1):.1f}%")
    print(f"clients=64 rps={at64.answered / at64.seconds:.1f} p99_ms={percentile(lat, 99):.0f} "
          f"errors_5xx={at64.errors_5xx} timeouts={at64.timeouts} recovered={'yes' if recovered else 'no'}")


if __name__ == "__main__":
    main()
