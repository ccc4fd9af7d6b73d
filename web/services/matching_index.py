"""The match index kept per process: published for pages, refreshed in the background when organizations change.

Building it (whole, or by refreshing the changed rows) is web.services.matching_build's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matchmaker import DEFAULT_WEIGHTS, FusionWeights, can_match, learn_weights
from matchmaker.engine import blas_threads, score_pairs
from models import MeetingRequest
from models.session import session_scope
from web.services.matching_build import (
    BuildDeferred,
    IndexState,
    build_state,
    build_state_in_child,
    child_database_url,
    index_version,
    read_kept,
    refresh_state,
    shared_build,
)
from web.services.matching_share import KeptIndexes, usable_folder
from web.services.requests import feedback_pairs
from web.threads import DaemonThreadPool

FEEDBACK_STATUSES = ("accepted", "declined", "expired")
# The newest answered requests are enough to learn five weights; older ones describe an older platform.
MAX_FEEDBACK = 5000
log = logging.getLogger(__name__)



def feedback_version(session: Session) -> tuple:
    """A fingerprint of answered meeting requests: learned weights change only when it does."""
    return tuple(session.execute(select(func.count(MeetingRequest.id), func.max(MeetingRequest.updated_at))
                                 .where(MeetingRequest.status.in_(FEEDBACK_STATUSES))).one())


def feedback_examples(session: Session, state: IndexState) -> list[tuple[dict[str, float], int]]:
    """(score components, accepted 0/1) of answered requests between organizations the index holds.

    Bounded: the newest MAX_FEEDBACK answers, each pair scored on its own (score_pairs), never a ranking of the
    whole index per requester.
    """
    if state.index is None:
        return []
    index = state.index
    by_requester: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for requester, recipient, label in feedback_pairs(session)[-MAX_FEEDBACK:]:
        a, b = state.ext_id.get(requester), state.ext_id.get(recipient)
        if a in index and b in index and can_match(index.profile(a), index.profile(b)):
            by_requester[a].append((b, label))
    examples = []
    for a, pairs in by_requester.items():
        scored = score_pairs(index, a, {b for b, _ in pairs})
        examples.extend((scored.get(b, {}), label) for b, label in pairs)
    return examples


def weights_for(session: Session, state: IndexState, min_examples: int = 30) -> FusionWeights:
    """Fusion weights learned from accepted and declined requests (the defaults while there are few)."""
    examples = feedback_examples(session, state)
    return learn_weights(examples, min_examples=min_examples) if examples else DEFAULT_WEIGHTS


@dataclass(frozen=True)
class Published:
    """What pages read: one index state and the weights learned for it, never changed once published."""

    state: IndexState
    weights: FusionWeights
    feedback: tuple = ()  # the feedback version the weights were learned from
    published_at: float = 0.0
    learned_at: float = 0.0  # when the weights were learned (time.time())


class MatchingCache:
    """Per-process published index and weights, per embedding model.

    Pages call view(): it returns the last published state at once and, when the database has moved on, asks the
    background refresher to build the next one; the page keeps showing the previous recommendations meanwhile.
    Builds, refreshes and weight learning run only in refresh(), one at a time, on the refresher's thread (or in
    the caller with inline=True: commands and tests without a background thread).
    """

    def __init__(self, session_factory: Any = None, min_examples: int = 30, inline: bool = False,
                 learn_seconds: float = 0.0, check_seconds: float = 0.0, gil_turn_seconds: float = 0.0,
                 build_process: bool = False, index_dir: Path | None = None) -> None:
        self.session_factory = session_factory
        self.min_examples = min_examples
        self.inline = inline
        # Answers alone re-learn the weights at most this often. On a seminar morning requests are accepted every
        # few seconds: re-learning after each one scored every answered pair again and, with new weights, made
        # every member's next Pre-Matching view rank afresh (a tenth of the server's CPU under benchmarks/load.py).
        # Profile changes still refresh the index at once.
        self.learn_seconds = learn_seconds
        # A view within check_seconds of the last check that found the published state current shows it without
        # asking again (the check is four queries; under the load mix a twenty-fifth of the server's CPU). A change
        # is then noticed that much later; the refresh itself takes longer anyway.
        self.check_seconds = check_seconds
        # While the refresher builds, request threads get the GIL back within this many seconds (web.threads).
        self.gil_turn_seconds = gil_turn_seconds
        # Full builds in a child process (build_state_in_child) when the database is one another process can open.
        self.build_process = build_process
        # Whole builds go through the index kept in this folder, shared with the server's other processes and its
        # next start (web.services.matching_share); None: this process builds its own.
        self.index_dir = index_dir
        self._child: Any = None  # the running build's process, stopped by close()
        self._closed = False
        self._child_lock = threading.Lock()  # a child is started, or the cache closed, never both at once
        self._checked: dict[str, tuple[Published, float]] = {}
        self._published: dict[str, Published] = {}
        self._refresh_lock = threading.Lock()  # taken by refresh() only; pages never wait on it
        self._pending: set[str] = set()
        self._pending_lock = threading.Lock()
        self._executor: DaemonThreadPool | None = None
        self.last_error: BaseException | None = None

    def current(self, model: str) -> Published | None:
        """The last published state of a model (None before the first build); never blocks."""
        return self._published.get(model)

    def is_stale(self, session: Session, published: Published) -> bool:
        """Whether organizations or their vectors changed since `published` was built, or the feedback did and the
        weights are due to be learned again (learn_seconds)."""
        return (index_version(session, published.state.model) != published.state.version
                or self._relearn(feedback_version(session), published))

    def _relearn(self, feedback: tuple, published: Published) -> bool:
        return feedback != published.feedback and time.time() - published.learned_at >= self.learn_seconds

    def view(self, session: Session, model: str) -> Published | None:
        """What a page shows: the last published state; a stale or missing one is rebuilt in the background."""
        published = self.current(model)
        if published is not None:
            checked = self._checked.get(model)
            if checked is not None and checked[0] is published and time.monotonic() - checked[1] < self.check_seconds:
                return published
            if not self.is_stale(session, published):
                self._checked[model] = (published, time.monotonic())
                return published
        if self.inline:
            return self.refresh(session, model)
        self.trigger(model)
        return published

    def refresh(self, session: Session, model: str, build: Any = None) -> Published:
        """Build or refresh the model's index and learn its weights if anything changed, then publish both.
        build(session, model, serial) makes a whole index (default: _builder's)."""
        with self._refresh_lock:
            old = self.current(model)
            if old is not None and not self.is_stale(session, old):
                return old
            started = time.perf_counter()
            build = build or self._builder(session)
            state = build(session, model) if old is None else refresh_state(session, old.state, build)
            feedback = feedback_version(session)
            relearn = old is None or self._relearn(feedback, old)
            if old is not None and state is old.state and not relearn:
                return old
            if relearn:
                weights, learned_at = weights_for(session, state, self.min_examples), time.time()
            else:  # the index moved, the answers are not due yet: the weights stay what they were
                weights, learned_at, feedback = old.weights, old.learned_at, old.feedback
            published = Published(state, weights, feedback, time.time(), learned_at)
            self._published[model] = published  # one reference swap: readers see the old or the new, whole
            log.info("matching index for %s published (serial %d, %d organizations) in %.2f s", model,
                     state.serial, len(state.index) if state.index is not None else 0,
                     time.perf_counter() - started)
            return published

    def preload(self, session: Session, model: str) -> bool:
        """Publish the kept index now if it is current or a refresh away (a process starting: its first pages then
        show recommendations, and a restart's new process takes over with its index ready); never builds a whole
        index, which the background refresher does as before. Returns whether an index was published."""
        kept = self._kept(self._child_url(session))
        if kept is None or self.current(model) is not None:
            return False
        try:
            self.refresh(session, model, read_kept(kept))
        except BuildDeferred:
            return False
        return True

    def _child_url(self, session: Session) -> str | None:
        """The database URL a build's child process opens; None when whole builds stay in this process."""
        return child_database_url(session) if self.build_process and not self.inline else None

    def _kept(self, url: str | None) -> KeptIndexes | None:
        """The folder of kept indexes for the database at url, when whole builds go through one."""
        if url is None or self.index_dir is None or not usable_folder(self.index_dir):
            return None
        return KeptIndexes(self.index_dir, url)

    def _builder(self, session: Session) -> Any:
        """How refresh() builds a whole index: in a child process (build_process), through the kept index when
        there is a folder for it (index_dir), else in this thread."""
        url = self._child_url(session)
        if url is None:
            return build_state
        kept = self._kept(url)
        if kept is not None:
            return shared_build(kept, url, blas_threads(), self._start_child, lambda: self._closed)

        def build(session: Session, model: str, serial: int = 0) -> IndexState:
            return build_state_in_child(url, model, serial, blas_threads(), start=self._start_child)

        return build

    def _start_child(self, process: Any) -> None:
        """Start a build's child unless closed, under the lock close() takes. A server stopping while a child
        was being spawned left it reading its start-up data from a closed pipe (EOFError and a traceback in
        the server's log); now close() waits the few milliseconds the start takes and then stops it."""
        with self._child_lock:
            if self._closed:
                raise RuntimeError("the server is stopping: no index build started")
            process.start()
            self._child = process

    def trigger(self, model: str) -> bool:
        """Ask the background refresher to refresh a model soon; False if one is already queued for it."""
        if self.session_factory is None:
            return False
        with self._pending_lock:
            if model in self._pending:
                return False
            self._pending.add(model)
            if self._executor is None:
                # Daemon: a long build never holds a stopping process; short GIL turns: nor starves the pages.
                self._executor = DaemonThreadPool(1, "matching-refresh", self.gil_turn_seconds)
        self._executor.submit(self._run, model)
        return True

    def _run(self, model: str) -> None:
        with self._pending_lock:
            self._pending.discard(model)
        try:
            # A read-only unit of work: a build reads for a minute at 100,000 organizations, and a writing one
            # (BEGIN IMMEDIATE on SQLite) would hold the write lock all that time, so every post, read mark and
            # login touch meanwhile waited out the busy timeout and got 503.
            with session_scope(self.session_factory, write=False) as session:
                self.refresh(session, model)
            self.last_error = None
        except Exception as exc:  # noqa: BLE001 - a failed refresh keeps the previous state published
            self.last_error = exc
            if self._closed:
                return  # stopped by close(): the server is stopping
            log.exception("matching index refresh for %s failed; pages keep the previous recommendations", model)

    def wait(self, timeout: float = 60.0) -> None:
        """Wait until queued refreshes are done (tests and shutdown)."""
        if self._executor is not None:
            self._executor.submit(lambda: None).result(timeout=timeout)

    def close(self) -> None:
        """Stop the refresher thread (queued refreshes are dropped) and a build's child process."""
        with self._child_lock:
            self._closed = True
            child = self._child
        if child is not None and child.is_alive():
            child.kill()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)


def published_or_empty(cache: MatchingCache, session: Session, model: str) -> Published:
    """The last published index and weights of a model (never waits for a build; an empty state before the first)."""
    return cache.view(session, model) or Published(IndexState(model), DEFAULT_WEIGHTS)
