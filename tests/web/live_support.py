"""A real uvicorn server and real HTTP clients in threads, for tests of concurrent requests."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import uvicorn

from tests.factories import PASSWORD
from web.app import create_app

CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def live_server(settings, embedder=None) -> Iterator[str]:
    """The app served by uvicorn in a thread (its own engine and threadpool); yields the base URL."""
    port = free_port()
    app = create_app(settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"}), embedder=embedder)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        thread.join(timeout=10)


def new_client(base: str, cookies: httpx.Cookies | None = None) -> httpx.Client:
    """A client of its own (own connection, own cookies); long timeout so a stuck request shows as one."""
    return httpx.Client(base_url=base, cookies=cookies, timeout=60, follow_redirects=False)


def page_csrf(client: httpx.Client, path: str) -> str:
    match = CSRF_RE.search(client.get(path).text)
    assert match, f"{path} has no csrf-token meta tag"
    return match.group(1)


def logged_in_client(base: str, email: str, password: str = PASSWORD) -> tuple[httpx.Client, str]:
    """A client logged in through the login form, and its CSRF token."""
    client = new_client(base)
    token = page_csrf(client, "/login")
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text
    return client, page_csrf(client, "/profile")


def run_together(calls: list[Callable[[], httpx.Response]]) -> list[int | str]:
    """Run the calls at the same moment, one thread each; their status codes (or the exception's name)."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            return call().status_code
        except httpx.HTTPError as exc:  # a timeout is a failure the test must see, not a crash of the test
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def server_errors(statuses: list[int | str]) -> Counter:
    """The 5xx answers and client-side failures among the statuses."""
    return Counter(s for s in statuses if not isinstance(s, int) or s >= 500)
