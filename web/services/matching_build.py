"""Building the match index from stored vectors: whole (in this process or a child process) or by refreshing rows.

web.services.matching_index keeps the published index per process and decides when to build; this module builds.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matchmaker import MatchIndex, build_index, refresh_index
from matchmaker.index import SIDE_ORDER
from models import Organization, OrganizationEmbedding
from models.session import make_engine, make_session_factory, session_scope
from web.services.matching_share import KeptIndexes
from web.services.matching_vectors import (
    approved_rows,
    interchange_id,
    profile_of,
    ready_vectors,
)

# Above this share of changed organizations a full rebuild (with a fresh TF-IDF fit) beats a refresh.
REFRESH_SHARE = 0.05
REFRESH_MIN = 20
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
                         start: Any = None, keep: Any = None) -> IndexState:
    """build_state run by a child process of lower priority (BUILD_NICENESS), the result pickled back.

    A full build is a minute of pure Python at 100,000 organizations. In a thread of the server it held the GIL
    against every page of the process (short GIL turns brought the pages to a third of their speed, not more);
    in a child the pages keep their process's GIL, and the kernel gives the cores to the server first. The
    child reads in a transaction of its own, so the version, the snapshot and the vectors agree as they do in
    one session. The approximate-search structures are built here afterwards (faiss gives the GIL up while it
    trains). start(process) starts the child (default: process.start()); MatchingCache starts it under the lock
    its close() takes, to stop it there, and raises instead once closed. keep(data), if given, receives the
    child's pickled answer for KeptIndexes.write.
    """
    context = multiprocessing.get_context("spawn")  # never fork a server with threads and open connections
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child_build, args=(send, database_url, model, serial, blas, os.getpid()),
                              name=f"matching-build-{model}", daemon=True)  # ends with the server, even mid-build
    started = False
    try:
        try:
            if start is None:
                process.start()
            else:
                start(process)
            started = True
        finally:
            send.close()  # ours: only the child writes, so a child that dies gives EOFError below, not a wait for ever
        try:
            (outcome, value), data = receive_answer(receive)
        except EOFError:
            process.join(5)
            raise RuntimeError(f"the index build process ended without an answer (exit code {process.exitcode})")
    finally:
        receive.close()
        if started:
            process.join(30)
            if process.is_alive():
                process.kill()
    if outcome != "built":
        raise RuntimeError(f"the index build process failed:\n{value}")
    if keep is not None:
        keep(data)
    value.index = _prepare_ann(value.index)
    return value


class BuildDeferred(Exception):
    """The kept index is missing, or too much changed to refresh it: a whole build is needed."""


def read_kept(kept: KeptIndexes) -> Any:
    """A build for MatchingCache that only reads: the kept index brought up to date (refresh_state: as it is when
    the organizations did not change, the changed rows when few did); BuildDeferred when that cannot be done."""

    def refuse(session: Session, model: str, serial: int = 0) -> IndexState:
        raise BuildDeferred(model)

    def read(session: Session, model: str, serial: int = 0) -> IndexState:
        state = kept.read(model)
        if state is None:
            raise BuildDeferred(model)
        state.serial = serial
        current = refresh_state(session, state, refuse)
        if current is state:  # as kept: its approximate search is built here, as after a child's build
            state.index = _prepare_ann(state.index)
        return current

    return read


def shared_build(kept: KeptIndexes, database_url: str, blas: int, start: Any, stopping: Any) -> Any:
    """A whole build for MatchingCache that goes through the index kept in a folder (web.services.matching_share).

    Under the model's lock in the folder: the kept index brought up to date (read_kept), else a whole build in a
    child process, kept for the server's other processes and its next start. stopping() ends a wait for the
    lock."""
    read = read_kept(kept)

    def shared(session: Session, model: str, serial: int = 0) -> IndexState:
        with kept.locked(model, stopping):
            try:
                return read(session, model, serial)
            except BuildDeferred:
                return build_state_in_child(database_url, model, serial, blas, start=start,
                                            keep=lambda data: kept.write(model, data))

    return shared


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


def receive_answer(connection: Any) -> tuple[tuple, bytes]:
    """The answer send_answer sent, and its pickled bytes."""
    data = connection.recv_bytes()
    started = time.perf_counter()
    answer = pickle.loads(data)
    log.info("index build process answered %.0f MB, unpickled in %.2f s", len(data) / 2**20,
             time.perf_counter() - started)
    return answer, data


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
