"""A real `matchmaker serve` under a burst of logged-in page loads stops within seconds of SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.web.process_support import (_accepting_process, _children, _is_spawned_worker, _listening, _wait_until_up,
                                       kill_with_workers, start_serve)

CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')
PASSWORD = "demo-password-2026"


def _log_in(base: str) -> httpx.Cookies:
    """The demo partner's session cookies, through the real login form."""
    with httpx.Client(base_url=base) as client:
        token = CSRF_RE.search(client.get("/login").text).group(1)
        response = client.post("/login", data={"email": "partner@example.com", "password": PASSWORD,
                                               "csrf_token": token, "next": "/prematching"})
        assert response.status_code == 303
        return client.cookies


async def _burst(base: str, cookies: httpx.Cookies, clients: int, seconds: float, process: subprocess.Popen,
                 sigterm_after: float) -> tuple[list, float]:
    """`clients` loops loading logged-in pages; SIGTERM goes to the server mid-burst.

    Returns the status codes (or error names) and the moment the signal was sent."""
    results: list = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, cookies=cookies, limits=limits, timeout=60) as client:
        stop = time.monotonic() + seconds

        async def loop():
            while time.monotonic() < stop and process.poll() is None:
                try:
                    results.append((await client.get("/prematching")).status_code)
                except httpx.HTTPError as exc:
                    results.append(type(exc).__name__)
                    await asyncio.sleep(0.05)

        tasks = [asyncio.create_task(loop()) for _ in range(clients)]
        await asyncio.sleep(sigterm_after)
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        await asyncio.wait(tasks, timeout=seconds)
        for task in tasks:
            task.cancel()
    return results, sent


def test_serve_under_burst_exits_soon_after_sigterm(tmp_path):
    process, port = start_serve(tmp_path, "burst", seed=True)
    base = f"http://127.0.0.1:{port}"
    exited: list[float] = []
    threading.Thread(target=lambda: (process.wait(), exited.append(time.monotonic())), daemon=True).start()
    try:
        _wait_until_up(base, process)
        cookies = _log_in(base)
        # 120 clients, far past capacity; SIGTERM lands after 3 s while requests are queued and running.
        results, sent = asyncio.run(_burst(base, cookies, 120, 20.0, process, sigterm_after=3.0))
        try:
            process.wait(timeout=max(1.0, sent + 15 - time.monotonic()))
        except subprocess.TimeoutExpired:
            pytest.fail("matchmaker serve was still running 15 s after SIGTERM")
        time.sleep(0.1)
        stopped_after = exited[0] - sent
        output = (tmp_path / "serve.log").read_text(errors="replace")
        assert "Fatal Python error" not in output and "Traceback" not in output, output[-3000:]
        codes = [code for code in results if isinstance(code, int)]
        assert 200 in codes
        assert set(codes) <= {200, 503}, sorted(set(codes))
        assert stopped_after < 8, f"stopped {stopped_after:.1f} s after SIGTERM"
    finally:
        kill_with_workers(process)


def _describe(pids: list[int], tmp_path) -> str:
    """What a failed wait saw: each process's state, what it waits in, whether it listens; the log's end."""
    lines = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as status:
                state = next(line.strip() for line in status if line.startswith("State:"))
            with open(f"/proc/{pid}/wchan") as wchan:
                state += f" wchan={wchan.read().strip()}"
        except OSError as exc:
            state = repr(exc)
        lines.append(f"{pid}: {state} listening={_listening(pid)}")
    log = (tmp_path / "serve.log").read_text(errors="replace")
    return "\n".join(lines) + "\n" + log[-2000:]


def test_serve_with_two_processes_shares_the_load_runs_jobs_once_and_stops_on_sigterm(tmp_path):
    from web.jobs import take_jobs_lock

    process, port = start_serve(tmp_path, "workers", seed=True, workers="2")
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, seconds=60)
        workers = [pid for pid in _children(process.pid) if _is_spawned_worker(pid)]
        assert len(workers) == 2, workers
        # One of them holds the jobs lock: this process cannot take it.
        deadline = time.monotonic() + 20
        while (held := take_jobs_lock(tmp_path / "data" / "jobs.lock")) is not None and time.monotonic() < deadline:
            held.close()
            time.sleep(0.2)
        assert held is None, "no server process runs the scheduled jobs"
        # A session made by one process is good in the other: logins live in the database, not in memory.
        cookies = _log_in(base)
        codes = []
        for _ in range(20):
            # A new connection each time, so both processes answer some of them.
            with httpx.Client(base_url=base, cookies=cookies) as client:
                codes.append(client.get("/requests/sent").status_code)
        assert codes == [200] * 20
        # The match index is built once for both processes: one builds it in a child and keeps it in the data
        # folder, the other waits for it and reads it (web.services.matching_share; the processes log at INFO as
        # the supervisor does).
        ready, deadline = 0, time.monotonic() + 120
        while ready < 12 and time.monotonic() < deadline:
            with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
                page = client.get("/prematching")
            ready = ready + 1 if page.status_code == 200 and 'hx-trigger="load delay:' not in page.text else 0
            if not ready:
                time.sleep(0.5)
        assert ready == 12, "Pre-Matching was still being prepared after 120 s"
        assert len(list((tmp_path / "data" / "match-index").glob("*.pickle"))) == 1
        output = (tmp_path / "serve.log").read_text(errors="replace")
        assert "index build process answered" in output and "read from" in output, output[-3000:]
        # A burst of new connections is spread over both processes (a listening socket each): with one shared
        # socket, the process that woke first accepted the whole burst and the other core stayed idle.
        burst = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
        try:
            deadline = time.monotonic() + 10
            while True:
                owners = [_accepting_process(conn.getsockname()[1], workers) for conn in burst]
                if None not in owners or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert None not in owners, owners
            assert set(owners) == set(workers), owners
        finally:
            for conn in burst:
                conn.close()
        # A process that dies is replaced on its socket: connections the kernel hands that socket are answered.
        killed = workers[0]
        os.kill(killed, signal.SIGKILL)

        def replaced() -> bool:  # the killed one still listens (or is a zombie) a moment after the signal
            return killed not in workers and len(workers) == 2 and all(_listening(pid) for pid in workers)

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            workers = [pid for pid in _children(process.pid) if _is_spawned_worker(pid)]
            if replaced():
                break
            time.sleep(0.2)
        assert replaced(), _describe(workers, tmp_path)
        # Listening is not ready: a replacement takes seconds to import the app (about 4 s on an idle 2-core
        # machine, more under load), and the connections its socket gets wait in its backlog until then.
        for _ in range(20):
            with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
                assert client.get("/requests/sent").status_code == 200
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("matchmaker serve with two processes was still running 15 s after SIGTERM")
        assert time.monotonic() - sent < 10
        assert not [pid for pid in workers if os.path.exists(f"/proc/{pid}") and _is_spawned_worker(pid)]
        lock = take_jobs_lock(tmp_path / "data" / "jobs.lock")
        assert lock is not None, "the jobs lock outlived the server"
        lock.close()
        output = (tmp_path / "serve.log").read_text(errors="replace")
        assert "Traceback" not in output and "Fatal Python error" not in output, output[-3000:]
    finally:
        kill_with_workers(process)


def test_server_processes_stop_when_their_supervisor_is_killed(tmp_path):
    process, port = start_serve(tmp_path, "orphans", workers="2", run_scheduler="false")
    workers: list[int] = []
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", process, seconds=60)
        workers = [pid for pid in _children(process.pid) if _is_spawned_worker(pid)]
        assert len(workers) == 2, workers
        process.kill()  # SIGKILL: the supervisor passes nothing on
        process.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and [pid for pid in workers if _is_spawned_worker(pid)]:
            time.sleep(0.1)
        # Before, both went on serving on their sockets, with nobody left to restart or stop them.
        assert not [pid for pid in workers if _is_spawned_worker(pid)], "server processes outlived their supervisor"
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
    finally:
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_process_whose_supervisor_is_already_gone_stops_at_once():
    code = ("import time; from web.processes import stop_with_supervisor; "
            "print(stop_with_supervisor(2 ** 22 + 1), flush=True); time.sleep(20)")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGTERM, (done.returncode, done.stderr[-2000:])
    assert time.monotonic() - started < 15
