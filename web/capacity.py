"""Capacity: how many requests run at once, what a request past that gets, and the pool and threads sized to match.

The invariant that keeps a busy morning from locking up: at most `request_threads` requests are inside the
application at once (ConcurrencyGate), each holds at most one database connection (the request's session, which
the layout uses too), and the pool has a connection for each of them plus the jobs'. So a request never waits
for a connection behind a request that waits for a thread, and everything past capacity gets a quick 503 with
Retry-After instead of a 30-second wait and a 500.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Awaitable, Callable

import anyio
import anyio.to_thread
from apscheduler.executors.pool import BasePoolExecutor

from web.threads import DaemonThreadPool

# Scheduler threads (web.jobs) and so the connections their jobs may hold at once, on top of the request threads.
JOB_WORKERS = 2
# One more connection than the jobs need: a streamed export opens its own session, and a spare never hurts.
SPARE_CONNECTIONS = 1

Reject = Callable[[dict, Callable, Callable], Awaitable[None]]


def pool_size(settings: Any) -> int:
    """Connections the web process keeps: one per request thread, plus the jobs' and a spare."""
    return settings.request_threads + JOB_WORKERS + SPARE_CONNECTIONS


def retry_after_seconds(settings: Any) -> int:
    """What a 503 tells the client to wait before trying again."""
    return max(1, math.ceil(settings.request_queue_seconds))


def limit_request_threads(threads: int) -> None:
    """Size the worker threads that run sync dependencies and routes (call from the event loop that serves)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads


class ConcurrencyGate:
    """Pure ASGI: at most `limit` HTTP requests inside the app at once, the rest wait a bounded time or get `reject`.

    A request past the limit waits in a FIFO queue of at most `queue_size` for up to `queue_seconds`; a full
    queue or a longer wait sends it to `reject` (a 503 with Retry-After). Paths starting with `exempt` (static
    files: no database, no page code) pass without a slot.
    """

    def __init__(self, app: Any, limit: int, queue_seconds: float, queue_size: int, reject: Reject,
                 exempt: tuple[str, ...] = ("/static/",)) -> None:
        self.app = app
        self.limit = limit
        self.queue_seconds = queue_seconds
        self.queue_size = queue_size
        self.reject = reject
        self.exempt = exempt
        self.in_flight = 0
        self._waiters: deque[anyio.Event] = deque()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        if not await self._enter():
            await self.reject(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._leave()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def _enter(self) -> bool:
        """Take a slot now, or wait for one handed over by _leave; False when the queue is full or the wait too long."""
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return True
        if len(self._waiters) >= self.queue_size or self.queue_seconds <= 0:
            return False
        waiter = anyio.Event()
        self._waiters.append(waiter)
        try:
            with anyio.move_on_after(self.queue_seconds):
                await waiter.wait()
        except BaseException:
            self._give_up(waiter)
            raise
        if waiter.is_set():
            return True  # _leave handed its slot over (in_flight already counts it)
        self._give_up(waiter)
        return False

    def _give_up(self, waiter: anyio.Event) -> None:
        if waiter.is_set():
            self._leave()  # the slot arrived as we stopped waiting: pass it on
        else:
            self._waiters.remove(waiter)

    def _leave(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()  # the slot goes straight to the longest waiter
        else:
            self.in_flight -= 1


class DaemonPoolExecutor(BasePoolExecutor):
    """APScheduler's thread pool executor on DaemonThreadPool; join() waits a bounded time for running jobs."""

    def __init__(self, workers: int = JOB_WORKERS, gil_turn_seconds: float = 0.0) -> None:
        super().__init__(DaemonThreadPool(workers, gil_turn_seconds=gil_turn_seconds))

    def join(self, timeout: float | None) -> bool:
        return self._pool.join(timeout)
