"""A pool of daemon threads, for background work that must never keep a stopping process alive."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from queue import SimpleQueue

_switch_lock = threading.Lock()
_switch_holders: list[float] = []  # the intervals asked for by jobs running now
_switch_default: float | None = None  # the interval before the first of them started


@contextmanager
def short_gil_turns(seconds: float) -> Iterator[None]:
    """While a long pure-Python job runs on a background thread, request threads get the GIL back sooner.

    A thread that gives the GIL up (every query: sqlite3 and psycopg release it) waits up to the switch interval
    (5 ms by default) to get it back from a thread that keeps computing. While the match index was built at
    100,000 organizations (110 s of Python: profiles decoded, TF-IDF fitted), a requests tab that makes a dozen
    queries served 16 requests a second instead of 144, p95 over 700 ms. With 1 ms turns it served 45 (the
    build took 155 s); docs/architecture.md has the figures. The interval is process-wide: it is shortened while
    any such job runs (the shortest asked for) and given back when the last one ends. 0 leaves it alone.
    DaemonThreadPool runs each of its jobs in it (the match index refresher, the scheduled jobs) with
    MATCHMAKER_BACKGROUND_GIL_TURN_SECONDS.
    """
    global _switch_default
    if seconds <= 0:
        yield
        return
    with _switch_lock:
        if not _switch_holders:
            _switch_default = sys.getswitchinterval()
        _switch_holders.append(seconds)
        sys.setswitchinterval(min(min(_switch_holders), _switch_default))
    try:
        yield
    finally:
        with _switch_lock:
            _switch_holders.remove(seconds)
            assert _switch_default is not None
            sys.setswitchinterval(min([*_switch_holders, _switch_default]))


class DaemonThreadPool(Executor):
    """A fixed pool of daemon threads for scheduled jobs: a job still running cannot keep a stopping process alive.

    (concurrent.futures' own pool joins its threads at interpreter exit, so one long embedding run held SIGINT
    and any stop after the event loop had ended.) Jobs are safe to cut short: each commits its own small
    transactions and claims rows, and the outbox marks a send cut off mid-way instead of repeating it.
    """

    def __init__(self, workers: int, name: str = "job", gil_turn_seconds: float = 0.0) -> None:
        self._queue: SimpleQueue = SimpleQueue()
        self._gil_turn_seconds = gil_turn_seconds  # each job runs in short_gil_turns(this)
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if self._closed:
            raise RuntimeError("cannot run jobs after shutdown")
        future: Future = Future()
        self._queue.put((future, fn, args, kwargs))
        return future

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                with short_gil_turns(self._gil_turn_seconds):
                    result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the future, as concurrent.futures does
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False, timeout: float | None = None) -> None:
        """Stop taking jobs; with wait, give running ones up to `timeout` seconds (None: as long as they take)."""
        if not self._closed:
            self._closed = True
            for _ in self._threads:
                self._queue.put(None)
        if wait:
            self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to `timeout` seconds (None: for ever) for the workers to end; True when they all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)
