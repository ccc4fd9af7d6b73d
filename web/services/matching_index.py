"""The match index built from stored vectors, kept per process and refreshed when organizations change."""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import threading
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matchmaker import (
    DEFAULT_WEIGHTS,
    FusionWeights,
    MatchIndex,
    build_index,
    can_match,
    learn_weights,
    refresh_index,
)
from matchmaker.engine import blas_threads, score_pairs
from matchmaker.index import SIDE_ORDER
from models import MeetingRequest, Organization, OrganizationEmbedding
from models.session import make_engine, make_session_factory, session_scope
from web.services.matching_vectors import (
    approved_rows,
    interchange_id,
    profile_of,
    ready_vectors,
)
from web.services.requests import feedback_pairs
from web.threads import DaemonThreadPool

# Above this share of changed organizations a full rebuild (with a fresh TF-IDF fit) beats a refresh.
REFRESH_SHARE = 0.05
REFRESH_MIN = 20
FEEDBACK_STATUSES = ("accepted", "declined", "expired")
# The newest answered requests are enough to learn five weights; older ones describe an older platform.
MAX_FEEDBACK = 5000
# How much lower the child process that builds an index runs than the server (os.nice): the cores serve pages
# first and the build takes what they leave.
BUILD_NICENESS = 10
log = logging.getLogger(__name__)


@dataclass
class IndexState:
    """One model's index with the maps between interchange ids and database ids."""

    model: str
    version: tuple = ()
    index: MatchIndex | None = None
    # db id -> (updated_at, embedded_at) when last loaded: what a refresh compares against.
    snapshot: dict[int, tuple] = field(default_factory=dict)
    db_id: dict[str, int] = field(default_factory=dict)
    ext_id: dict[int, str] = field(default_factory=dict)
    waiting: set[int] = field(default_factory=set)
    serial: int = 0

    def __contains__(self, org_id: int) -> bool:
        return self.index is not None and self.ext_id.get(org_id, "") in self.index


def index_version(session: Session, model: str) -> tuple:
    """A cheap fingerprint of approved organizations and their vectors: count, last update, last embedding."""
    # Asked on every Pre-Matching view: each part is answered from an index alone (ix_organization_status_updated_at,
    # the embeddings' (model, embedded_at)); max() over a range is one probe, the count a scan of the narrow index.
    approved = Organization.status == "approved"
    count = select(func.count()).select_from(Organization).where(approved).scalar_subquery()
    updated = select(func.max(Organization.updated_at)).where(approved).scalar_subquery()
    embedded = select(func.max(OrganizationEmbedding.embedded_at)).where(OrganizationEmbedding.model == model) \
        .scalar_subquery()
    return tuple(session.execute(select(count, updated, embedded)).one())


def _snapshot(session: Session, model: str) -> dict[int, tuple]:
    rows = session.execute(
        select(Organization.id, Organization.updated_at, OrganizationEmbedding.embedded_at)
        .outerjoin(OrganizationEmbedding, (OrganizationEmbedding.organization_id == Organization.id)
                   & (OrganizationEmbedding.model == model))
        .where(Organization.status == "approved"))
    return {org_id: (updated, embedded) for org_id, updated, embedded in rows}


def _load(session: Session, model: str, ids: list[int] | None) -> tuple[list, dict, list[int], dict[str, int]]:
    """(ready profiles, their vectors, db ids still waiting for vectors, ext -> db id) of approved organizations."""
    rows = list(approved_rows(session, ids))
    profiles = [profile_of(row) for row in rows]
    db_id = {interchange_id(row): row.id for row in rows}
    vectors, waiting = ready_vectors(session, model, profiles)
    return [p for p in profiles if p.id in vectors], vectors, [db_id[i] for i in waiting], db_id


def _prepare_ann(index: MatchIndex | None) -> MatchIndex | None:
    """Build the approximate-search structures now (large indexes only), not in the first user's request."""
    if index is not None and any(index.uses_ann(side) for side in SIDE_ORDER):
        index.ann().build()
    return index


def build_state(session: Session, model: str, serial: int = 0, ann: bool = True) -> IndexState:
    """A fresh index of every approved organization whose vectors are stored under the model.

    ann=False leaves the approximate-search structures to be built where the index is used (they cannot be
    pickled: build_state_in_child)."""
    version = index_version(session, model)
    snapshot = _snapshot(session, model)
    profiles, vectors, waiting, db_id = _load(session, model, None)
    index = build_index(profiles, vectors) if profiles else None
    if ann:
        index = _prepare_ann(index)
    ready_ids = {db_id[p.id] for p in profiles}
    return IndexState(model, version, index, snapshot, {k: v for k, v in db_id.items() if v in ready_ids},
                      {v: k for k, v in db_id.items() if v in ready_ids}, set(waiting), serial)


def child_database_url(session: Session) -> str | None:
    """The session's database as a URL another process can open (password included); None for an in-memory
    SQLite database, which only this process sees."""
    url = session.get_bind().url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


def build_state_in_child(database_url: str, model: str, serial: int = 0, blas: int = 1,
                         on_start: Any = None) -> IndexState:
    """build_state run by a child process of lower priority (BUILD_NICENESS), the result pickled back.

    A full build is a minute of pure Python at 100,000 organizations. In a thread of the server it held the GIL
    against every page of the process (short GIL turns brought the pages to a third of their speed, not more);
    in a child the pages keep their process's GIL, and the kernel gives the cores to the server first. The
    child reads in a transaction of its own, so the version, the snapshot and the vectors agree as they do in
    one session. The approximate-search structures are built here afterwards (faiss gives the GIL up while it
    trains). on_start(process) is called once the child runs (MatchingCache keeps it to stop it on close()).
    """
    context = multiprocessing.get_context("spawn")  # never fork a server with threads and open connections
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child_build, args=(send, database_url, model, serial, blas, os.getpid()),
                              name=f"matching-build-{model}", daemon=True)  # ends with the server, even mid-build
    process.start()
    send.close()  # ours: only the child writes, so a child that dies gives EOFError below, not a wait for ever
    try:
        if on_start is not None:
            on_start(process)
        try:
            outcome, value = receive_answer(receive)
        except EOFError:
            process.join(5)
            raise RuntimeError(f"the index build process ended without an answer (exit code {process.exitcode})")
    finally:
        receive.close()
        process.join(30)
        if process.is_alive():
            process.kill()
    if outcome != "built":
        raise RuntimeError(f"the index build process failed:\n{value}")
    value.index = _prepare_ann(value.index)
    return value


def _child_build(send: Any, database_url: str, model: str, serial: int, blas: int, server: int) -> None:
    """The child's side of build_state_in_child: build, send ("built", state) or ("failed", traceback)."""
    from matchmaker.engine import set_blas_threads  # noqa: PLC0415 - the child's own BLAS, as the server's
    from web.processes import stop_when_parent_dies  # noqa: PLC0415 - the child's only use of it

    # A server killed outright (SIGKILL, the out-of-memory killer) would otherwise leave its build running on
    # for a minute with nobody to answer, next to the build of the process that replaces it.
    stop_when_parent_dies(server)
    try:
        os.nice(BUILD_NICENESS)
        set_blas_threads(blas)
        engine = make_engine(database_url, pool_size=1, max_overflow=0)
        try:
            with session_scope(make_session_factory(engine), write=False) as session:
                answer = ("built", build_state(session, model, serial, ann=False))
        finally:
            engine.dispose()
    except BaseException:  # noqa: BLE001 - the server logs it and keeps its previous index
        answer = ("failed", traceback.format_exc())
    send_answer(send, answer)
    send.close()


def send_answer(connection: Any, answer: tuple) -> None:
    """Send the child's answer as plain pickle bytes. Connection.send pickles with multiprocessing's pickler,
    with which torch shares a tensor (the half-precision copies) as a file descriptor to fetch from the sender
    later: by then the child has exited, and the server got FileNotFoundError instead of the index."""
    connection.send_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


def receive_answer(connection: Any) -> tuple:
    """The answer send_answer sent."""
    data = connection.recv_bytes()
    started = time.perf_counter()
    answer = pickle.loads(data)
    log.info("index build process answered %.0f MB, unpickled in %.2f s", len(data) / 2**20,
             time.perf_counter() - started)
    return answer


def refresh_state(session: Session, state: IndexState, build: Any = build_state) -> IndexState:
    """The state brought up to date: a refresh of the changed rows when few changed, else a rebuild by
    build(session, model, serial) (build_state, or one that runs it in a child process)."""
    version = index_version(session, state.model)
    if version == state.version:
        return state
    snapshot = _snapshot(session, state.model)
    changed = [i for i, stamp in snapshot.items() if state.snapshot.get(i) != stamp]
    removed = [i for i in state.snapshot if i not in snapshot]
    limit = max(REFRESH_MIN, int(REFRESH_SHARE * len(snapshot)))
    if state.index is None or len(changed) + len(removed) > limit:
        return build(session, state.model, state.serial + 1)
    profiles, vectors, waiting, db_id = _load(session, state.model, changed)
    gone = [state.ext_id[i] for i in (*removed, *changed) if i in state.ext_id]
    ext_id = {i: e for i, e in state.ext_id.items() if i not in set(removed) | set(changed)}
    ext_id.update({db_id[p.id]: p.id for p in profiles})
    kept = len(state.index) - len(set(gone)) + len(profiles)
    index = _prepare_ann(refresh_index(state.index, profiles, vectors, removed=gone) if kept else None)
    still_waiting = (state.waiting - set(changed) - set(removed)) | set(waiting)
    return IndexState(state.model, version, index, snapshot, {e: i for i, e in ext_id.items()}, ext_id,
                      still_waiting, state.serial + 1)


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
                 build_process: bool = False) -> None:
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
        self._child: Any = None  # the running build's process, stopped by close()
        self._closed = False
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

    def refresh(self, session: Session, model: str) -> Published:
        """Build or refresh the model's index and learn its weights if anything changed, then publish both."""
        with self._refresh_lock:
            old = self.current(model)
            if old is not None and not self.is_stale(session, old):
                return old
            started = time.perf_counter()
            build = self._builder(session)
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

    def _builder(self, session: Session) -> Any:
        """How refresh() builds a whole index: in a child process (build_process), else in this thread."""
        url = child_database_url(session) if self.build_process and not self.inline else None
        if url is None:
            return build_state

        def build(session: Session, model: str, serial: int = 0) -> IndexState:
            return build_state_in_child(url, model, serial, blas_threads(), on_start=self._started)

        return build

    def _started(self, process: Any) -> None:
        self._child = process
        if self._closed:  # closed while the child started: stop it too
            process.kill()

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
        self._closed = True
        child = self._child
        if child is not None and child.is_alive():
            child.kill()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)


def published_or_empty(cache: MatchingCache, session: Session, model: str) -> Published:
    """The last published index and weights of a model (never waits for a build; an empty state before the first)."""
    return cache.view(session, model) or Published(IndexState(model), DEFAULT_WEIGHTS)
