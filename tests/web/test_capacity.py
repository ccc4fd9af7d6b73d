"""Capacity: one connection per request, a fast 503 past capacity, pool time-outs as 503, recovery, shutdown."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from tests.conftest import CSRF_RE as CSRF
from tests.factories import PASSWORD, login
from tests.web.live_support import free_port
from tests.web.requests_support import make_request, member, soup
from web.app import create_app


@contextmanager
def counting_checkouts(engine):
    """Count connections taken from the engine's pool while the block runs."""
    counts = []

    def checkout(*_args):
        counts.append(threading.get_ident())

    event.listen(engine, "checkout", checkout)
    try:
        yield counts
    finally:
        event.remove(engine, "checkout", checkout)


@contextmanager
def serving(app):
    """The app served by uvicorn on a free port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _stalled_post(base_url: str) -> socket.socket:
    """A form post whose body never arrives: it holds one request slot until the socket closes."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(b"POST /language HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: 100\r\n\r\nlanguage=")
    return sock


@pytest.mark.parametrize("path", ["/prematching", "/requests/received", "/notifications", "/profile"])
def test_logged_in_page_checks_out_one_connection(client, app, session, settings, path):
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    make_request(session, settings, alice, bob)  # bob has an unread notification: the layout counts it
    session.commit()
    login(client, bob)
    with counting_checkouts(app.state.engine) as checkouts:
        response = client.get(path)
    assert response.status_code == 200
    assert soup(response).select_one("#nav-unread-count").get_text(strip=True) == "1"
    assert len(checkouts) == 1


def test_error_page_opens_no_second_connection(client, app, session):
    user = member(session, "Alpha")
    session.commit()
    login(client, user)
    with counting_checkouts(app.state.engine) as checkouts:
        response = client.get("/requests/999999")
    assert response.status_code == 404
    assert len(checkouts) == 1


def test_requests_past_capacity_get_fast_503_then_pages_serve_again(settings, engine, clean_db, embedder):
    tight = settings.model_copy(update={"request_threads": 2, "request_queue_seconds": 0.3, "request_queue_size": 2})
    with serving(create_app(tight, embedder=embedder)) as base:
        stalled = [_stalled_post(base) for _ in range(2)]
        time.sleep(0.3)  # both are inside the app, waiting for their bodies
        results: list[tuple[int, float, str | None]] = []

        def fetch():
            started = time.monotonic()
            response = httpx.get(base + "/login", timeout=10)
            results.append((response.status_code, time.monotonic() - started, response.headers.get("retry-after")))

        threads = [threading.Thread(target=fetch) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [code for code, _, _ in results] == [503] * 6
        assert max(seconds for _, seconds, _ in results) < 2
        assert all(retry and int(retry) >= 1 for _, _, retry in results)
        for sock in stalled:
            sock.close()
        time.sleep(0.3)
        assert [httpx.get(base + "/login", timeout=10).status_code for _ in range(5)] == [200] * 5


def test_busy_page_is_a_page_and_api_gets_json(settings, engine, clean_db, embedder):
    tight = settings.model_copy(update={"request_threads": 1, "request_queue_seconds": 0, "request_queue_size": 0})
    with serving(create_app(tight, embedder=embedder)) as base:
        stalled = _stalled_post(base)
        time.sleep(0.3)
        page = httpx.get(base + "/login", headers={"Accept-Language": "ja"}, timeout=10)
        api = httpx.get(base + "/api/me", timeout=10)
        stalled.close()
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert soup(page).select_one("html")["lang"] == "ja"
    assert api.status_code == 503 and api.json()["error"]["code"] == "busy"


def test_pool_timeout_is_503_not_500(settings, engine, clean_db, embedder, session):
    user = member(session, "Alpha")
    session.commit()
    app = create_app(settings.model_copy(update={"request_threads": 1, "database_pool_timeout": 0.5}),
                     embedder=embedder)
    with TestClient(app) as client:
        login(client, user)
        pool = app.state.engine.pool
        held = [app.state.engine.connect() for _ in range(pool.size() + pool._max_overflow)]
        started = time.monotonic()
        response = client.get("/profile")
        assert response.status_code == 503
        assert time.monotonic() - started < 3
        assert int(response.headers["retry-after"]) >= 1
        for connection in held:
            connection.close()
        assert client.get("/profile").status_code == 200


def test_pool_and_threads_follow_the_setting(settings, engine, clean_db, embedder):
    import anyio.to_thread

    app = create_app(settings.model_copy(update={"request_threads": 7}), embedder=embedder)
    assert app.state.engine.pool.size() >= 7
    seen = {}

    # The thread limiter belongs to the event loop that runs the app: read it from inside a request.
    @app.get("/_tokens_probe")
    async def probe():
        seen["tokens"] = anyio.to_thread.current_default_thread_limiter().total_tokens
        return {}

    with TestClient(app) as client:
        client.get("/_tokens_probe")
    assert seen["tokens"] == 7


def test_no_connection_is_used_by_two_threads_at_once(settings, engine, clean_db, embedder, session):
    """sqlite3 connections are shared across threads (check_same_thread=False): only ever one after the other."""
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    make_request(session, settings, alice, bob)
    session.commit()
    # A long queue: this test is about threads sharing connections, not about the gate (a busy box must not 503).
    app = create_app(settings.model_copy(update={"request_threads": 6, "request_queue_seconds": 60}), embedder=embedder)
    active: dict[int, int] = {}  # id of the DBAPI connection -> thread inside it
    overlaps: list[tuple[int, int]] = []
    guard = threading.Lock()

    def before(conn, *_args):
        with guard:
            key = id(conn.connection.dbapi_connection)
            if key in active and active[key] != threading.get_ident():
                overlaps.append((active[key], threading.get_ident()))
            active[key] = threading.get_ident()

    def after(conn, *_args):
        with guard:
            active.pop(id(conn.connection.dbapi_connection), None)

    event.listen(app.state.engine, "before_cursor_execute", before)
    event.listen(app.state.engine, "after_cursor_execute", after)
    with serving(app) as base:
        clients = []
        for user in (alice, bob):
            client = httpx.Client(base_url=base, timeout=30)
            token = CSRF.search(client.get("/login").text).group(1)
            client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
            clients.append(client)
        paths = ["/prematching", "/requests/received", "/requests/sent", "/notifications", "/profile", "/nope"]
        codes: list[int] = []

        def browse(client, offset):
            for i in range(12):
                codes.append(client.get(paths[(i + offset) % len(paths)]).status_code)

        threads = [threading.Thread(target=browse, args=(clients[i % 2], i)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for client in clients:
            client.close()
    assert overlaps == []
    assert set(codes) <= {200, 404} and 200 in codes, sorted(set(codes))


def _pooled_backend_pids(engine) -> list[int]:
    """The server-side process ids of the connections in engine's pool (checked out and back in)."""
    connections = [engine.connect() for _ in range(engine.pool.checkedin())]
    try:
        return [c.execute(text("SELECT pg_backend_pid()")).scalar() for c in connections]
    finally:
        for connection in connections:
            connection.close()


def test_a_database_connection_lost_under_a_page_is_503_and_the_next_page_serves(settings, engine, clean_db, embedder,
                                                                                 session, database_url):
    # A database restart or failover: the pool's connections were used a moment ago, so none is pinged
    # (models.session) and the first page to use one meets the closed connection.
    if database_url.startswith("sqlite"):
        pytest.skip("connections to a database server (PostgreSQL: MATCHMAKER_TEST_DATABASE_URL)")
    user = member(session, "Alpha")
    session.commit()
    app = create_app(settings, embedder=embedder)
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, user)
        assert client.get("/profile").status_code == 200
        pids = _pooled_backend_pids(app.state.engine)
        assert pids
        with engine.connect() as connection:  # what the restart does to the app's connections
            for pid in pids:
                assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        response = client.get("/profile")
        assert response.status_code == 503  # was 500: only lock waits counted as temporary
        assert int(response.headers["retry-after"]) >= 1
        assert client.get("/profile").status_code == 200
