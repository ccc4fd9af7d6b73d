"""A pool of daemon threads, for background work that must never keep a stopping process alive."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Executor, Future
from queue import SimpleQueue


class DaemonThreadPool(Executor):
    """A fixed pool of daemon threads for scheduled jobs: a job still running cannot keep a stopping process alive.

    (concurrent.futures' own pool joins its threads at interpreter exit, so one long embedding run held SIGINT
    and any stop after the event loop had ended.) Jobs are safe to cut short: each commits its own small
    transactions and claims rows, and the outbox marks a send cut off mid-way instead of repeating it.
    """

    def __init__(self, workers: int, name: str = "job") -> None:
        self._queue: SimpleQueue = SimpleQueue()
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
