"""Server processes even out their connections (web.balance): the table they share, the balancer, a real server."""

from __future__ import annotations

import asyncio
import http.client
import os
import subprocess
import tempfile
import time

import pytest

from tests.web.process_support import (_accepting_process, _children, _is_spawned_worker, _wait_until_up,
                                       kill_with_workers, start_serve)
from web.balance import REFRESH_SECONDS, SLOT_ENV, STALE_SECONDS, TABLE_ENV, ConnectionBalancer, ProcessTable


@pytest.fixture
def table_path():
    path = ProcessTable.create(2)
    yield path
    path.unlink(missing_ok=True)


async def _ok(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _get(balancer: ConnectionBalancer, client_port: int) -> dict:
    """One request from 127.0.0.1:client_port through the balancer; returns the response headers."""
    started = {}

    async def send(message):
        if message["type"] == "http.response.start":
            started.update((name.decode(), value.decode()) for name, value in message["headers"])

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("127.0.0.1", client_port)}
    asyncio.run(balancer(scope, receive, send))
    return started


def test_the_process_with_more_connections_closes_its_surplus_and_the_other_none(table_path):
    busy, quiet = (ConnectionBalancer(_ok, ProcessTable(table_path, slot)) for slot in (0, 1))
    for port in range(1000, 1012):  # twelve connections on the busy process (it compared at its first request)
        assert "connection" not in _get(busy, port)
    for port in range(2000, 2004):  # four on the quiet one, which then publishes them
        assert "connection" not in _get(quiet, port)
    quiet.next_look = 0
    assert "connection" not in _get(quiet, 2000)  # 4 against the busy one's last count, 1: nothing to shed
    # Its next look: 12 against 4, a share of 8; half the surplus over share + 1 goes: (12 - 8 - 1) / 2 -> 2.
    busy.next_look = 0
    closed = [port for port in range(1000, 1012) if _get(busy, port).get("connection") == "close"]
    assert len(closed) == 2
    assert all(("127.0.0.1", port) not in busy.seen for port in closed)  # forgotten: their clients reconnect
    assert busy.table.others(time.monotonic()) == [4]
    # The quiet process sees the busy one's 12 and closes nothing.
    quiet.next_look = 0
    assert not any(_get(quiet, port).get("connection") for port in range(2000, 2004))
    assert quiet.table.others(time.monotonic()) == [12]


def test_an_idle_process_counts_as_having_no_connections(table_path):
    busy = ConnectionBalancer(_ok, ProcessTable(table_path, 0))
    other = ProcessTable(table_path, 1)
    other.publish(10, time.monotonic() - STALE_SECONDS - 1)  # it counted 10 long ago, nothing since
    for port in range(1000, 1010):
        _get(busy, port)
    busy.next_look = 0
    closed = [port for port in range(1000, 1010) if _get(busy, port).get("connection") == "close"]
    assert busy.table.others(time.monotonic()) == [0]
    assert len(closed) == 2  # 10 against none: a share of 5, and (10 - 5 - 1) / 2 go at this look


def test_balanced_processes_close_nothing(table_path):
    first, second = (ConnectionBalancer(_ok, ProcessTable(table_path, slot)) for slot in (0, 1))
    for balancer, ports in ((first, range(1000, 1008)), (second, range(2000, 2007))):
        for port in ports:
            _get(balancer, port)
    for balancer, port in ((first, 1000), (second, 2000)):  # both publish what they serve: 8 and 7
        balancer.next_look = 0
        _get(balancer, port)
    for _ in range(3):
        time.sleep(REFRESH_SECONDS)
        for port in range(1000, 1008):
            assert "connection" not in _get(first, port)
        for port in range(2000, 2007):
            assert "connection" not in _get(second, port)


def test_a_single_process_has_no_balancer(monkeypatch):
    from web.app import create_app

    monkeypatch.delenv(TABLE_ENV, raising=False)
    monkeypatch.delenv(SLOT_ENV, raising=False)
    app = create_app()
    assert all(middleware.cls is not ConnectionBalancer for middleware in app.user_middleware)


def _request(conn: http.client.HTTPConnection) -> str:
    """GET /login on a keep-alive connection (reopened by http.client after a close); returns its Connection."""
    conn.request("GET", "/login")
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    return response.getheader("connection", "")


def test_connections_piled_on_one_process_spread_to_both(tmp_path):
    temp_before = set(os.listdir(tempfile.gettempdir()))
    tables: set[str] = set()
    process, port = start_serve(tmp_path, "balance", workers="2", run_scheduler="false")
    conns: list[http.client.HTTPConnection] = []
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", process, seconds=60)
        workers = [pid for pid in _children(process.pid) if _is_spawned_worker(pid)]
        assert len(workers) == 2, workers
        tables = {name for name in set(os.listdir(tempfile.gettempdir())) - temp_before
                  if name.startswith("matchmaker-processes-")}
        assert len(tables) == 1, tables
        # Twelve keep-alive connections, all on one process: keep those the kernel gave the first one.
        for _ in range(400):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.connect()
            owner = None
            while owner is None:
                owner = _accepting_process(conn.sock.getsockname()[1], workers)
            if owner == workers[0]:
                conns.append(conn)
            else:
                conn.close()
            if len(conns) == 12:
                break
        assert len(conns) == 12
        # They all send requests for a while, reconnecting when told to close (as browsers do).
        closes = 0
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            for conn in conns:
                closes += _request(conn).lower() == "close"
        for conn in conns:  # reopen the ones closed last, so each has a connection to count
            if conn.sock is None:
                conn.connect()
        owners = [_accepting_process(conn.sock.getsockname()[1], workers) for conn in conns]
        assert closes > 0
        # Evened out: before, all twelve stayed on the first process for as long as they lived.
        assert min(owners.count(workers[0]), owners.count(workers[1])) >= 3, owners
    finally:
        for conn in conns:
            conn.close()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill_with_workers(process)
    output = (tmp_path / "serve.log").read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]
    assert not tables & set(os.listdir(tempfile.gettempdir())), "the supervisor left its table behind"
