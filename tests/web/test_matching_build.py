"""Whole index builds in a child process: the same index as in the server, stopped with the server, errors said."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from tests.web.matching_support import embed, make_market
from web.services.matching_index import MatchingCache

def _recommended(state, ext_id: str) -> list[tuple[str, float]]:
    from matchmaker import recommend

    return [(m.id, round(m.score, 6)) for m in recommend(state.index, ext_id, 10)]


def test_a_full_build_in_a_child_process_publishes_what_a_build_in_the_server_does(session_factory, embedder):
    import os

    with session_factory() as session:
        orgs = make_market(session)
        session.commit()
    embed(session_factory, embedder)
    in_child, in_thread = MatchingCache(session_factory, build_process=True), MatchingCache(session_factory)
    with session_factory() as session:
        child_state = in_child.refresh(session, embedder.name).state
        thread_state = in_thread.refresh(session, embedder.name).state
    # It ran in another process (a spawned child, done and exited cleanly), not in this one.
    assert in_child._child is not None and in_child._child.pid != os.getpid() and in_child._child.exitcode == 0
    assert in_thread._child is None
    assert (child_state.version, child_state.snapshot, child_state.db_id, child_state.ext_id, child_state.waiting) \
        == (thread_state.version, thread_state.snapshot, thread_state.db_id, thread_state.ext_id,
            thread_state.waiting)
    assert orgs["textile"].id in child_state
    for ext_id in child_state.db_id:
        assert _recommended(child_state, ext_id) == _recommended(thread_state, ext_id)


def test_a_rebuild_after_many_changes_runs_in_a_child_too(session_factory, embedder, monkeypatch):
    from web.services import matching_build

    monkeypatch.setattr(matching_build, "REFRESH_MIN", 0)  # any change is "many": refresh_state rebuilds
    monkeypatch.setattr(matching_build, "REFRESH_SHARE", 0.0)
    with session_factory() as session:
        orgs = make_market(session)
        session.commit()
    embed(session_factory, embedder)
    cache = MatchingCache(session_factory, build_process=True)
    with session_factory() as session:
        first = cache.refresh(session, embedder.name).state
        first_child = cache._child
        session.get(type(orgs["textile"]), orgs["textile"].id).country = "VN"
        session.commit()
    with session_factory() as session:
        second = cache.refresh(session, embedder.name).state
    assert second.serial == first.serial + 1 and second.index.lexical is not first.index.lexical  # rebuilt
    assert cache._child is not first_child and cache._child.exitcode == 0
    assert second.index.profile("th-textile").country == "VN"


def test_a_failed_build_in_a_child_says_why_and_keeps_the_previous_index(session_factory, embedder, tmp_path):
    import pytest

    from web.services.matching_build import build_state_in_child

    with pytest.raises(RuntimeError, match="index build process failed"):
        build_state_in_child(f"sqlite:///{tmp_path / 'no-such-folder' / 'x.db'}", embedder.name)


def test_an_in_memory_database_is_built_in_the_server_process():
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from web.services.matching_build import child_database_url

    with Session(create_engine("sqlite://")) as session:
        assert child_database_url(session) is None
    with Session(create_engine("sqlite:////tmp/some.db")) as session:
        assert child_database_url(session) == "sqlite:////tmp/some.db"
    with Session(create_engine("postgresql+psycopg://user:secret@127.0.0.1:5432/db")) as session:
        assert child_database_url(session) == "postgresql+psycopg://user:secret@127.0.0.1:5432/db"


def test_close_stops_a_running_build_process(session_factory, embedder):
    with session_factory() as session:
        make_market(session)
        session.commit()
    embed(session_factory, embedder)
    cache = MatchingCache(session_factory, build_process=True)
    assert cache.trigger(embedder.name)
    deadline = time.monotonic() + 30
    while cache._child is None and time.monotonic() < deadline:
        time.sleep(0.01)
    child = cache._child
    assert child is not None
    cache.close()  # a stopping server: the child (still importing, a second or more) is killed at once
    # The refresher thread joins the child too. Two threads waiting on one process race (one reaps it, the
    # other's waitpid fails and reads "still alive" until the first records the code): so poll the exit code.
    deadline = time.monotonic() + 10
    while child.exitcode is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child.exitcode is not None and child.exitcode < 0
    assert cache.current(embedder.name) is None


_STARTING = threading.Event()


class _SlowStartProcess(multiprocessing.get_context("spawn").Process):
    """A spawned process whose start takes half a second, as a spawn does on a loaded machine."""

    def start(self) -> None:
        _STARTING.set()
        time.sleep(0.5)
        super().start()


def test_close_while_a_build_process_starts_stops_it_once_started(session_factory):
    # Before: close() stopped only a child already started; a server stopping while its refresher was spawning
    # one exited in the middle, and the child died reading its start-up data (EOFError, a traceback in the log).
    import signal

    cache = MatchingCache(session_factory, build_process=True)
    _STARTING.clear()
    process = _SlowStartProcess(target=time.sleep, args=(60,), daemon=True)
    starter = threading.Thread(target=cache._start_child, args=(process,))
    starter.start()
    assert _STARTING.wait(10)
    cache.close()  # waits for the start, then stops the child
    starter.join(10)
    process.join(10)
    assert process.exitcode == -signal.SIGKILL
    later = _SlowStartProcess(target=time.sleep, args=(60,), daemon=True)
    with pytest.raises(RuntimeError, match="stopping"):
        cache._start_child(later)  # closed: no child is started any more
    assert later.pid is None


def _send_index_with_half_copies(connection) -> None:
    """A spawned child's side: an index holding half-precision copies (torch tensors), sent as a build sends it."""
    from matchmaker import build_index
    from tests.matchmaker.test_ann import _clustered
    from web.services.matching_build import send_answer

    profiles, vectors = _clustered(n=300)
    index = build_index(profiles, vectors, half_threshold=0)
    assert index.half_offer is not None
    send_answer(connection, ("built", index))
    connection.close()


def test_an_index_with_half_precision_copies_arrives_after_its_child_exited():
    # Before: Connection.send let torch share the half-precision tensors as file descriptors fetched from the
    # child later; the child had exited by then and the server got FileNotFoundError (at 100,000 organizations).
    import multiprocessing
    import pickle

    from matchmaker import recommend

    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_send_index_with_half_copies, args=(send,))
    child.start()
    send.close()
    assert receive.poll(60)
    data = receive.recv_bytes()
    child.join(60)
    assert child.exitcode == 0  # gone before the answer is unpickled (receive_answer's order)
    outcome, index = pickle.loads(data)
    assert outcome == "built" and index.half_offer is not None
    query = index.profiles[0].id
    assert recommend(index, query, 5)  # ranks with the copies


def _server_that_builds(database_url: str, model: str, pids) -> None:
    """A spawned stand-in for a server process: it starts a build in a child and reports the child's pid."""
    from web.services.matching_build import build_state_in_child

    def start(process) -> None:
        process.start()
        pids.put(process.pid)

    build_state_in_child(database_url, model, start=start)


def _harness(database_url: str, model: str, answer) -> None:
    """Adopts orphans (a subreaper), starts a stand-in server, kills it once its build child runs, and reports how
    the orphaned child ended (its exit code; minus the signal that stopped it)."""
    import ctypes
    import multiprocessing
    import os
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    context = multiprocessing.get_context("spawn")
    pids = context.Queue()
    server = context.Process(target=_server_that_builds, args=(database_url, model, pids))
    server.start()
    child = pids.get(timeout=60)
    os.kill(server.pid, signal.SIGKILL)
    server.join(10)
    _pid, status = os.waitpid(child, 0)  # the orphan is ours now
    answer.put(os.waitstatus_to_exitcode(status))


def test_a_build_process_stops_when_its_server_is_killed(session_factory, embedder, database_url):
    # Before: a server killed outright (SIGKILL, the out-of-memory killer) left its build running with nobody to
    # answer (it ended with an error only once it had built and could not send), next to the build of the
    # process that replaced it. Now the kernel stops it as its server dies.
    import multiprocessing
    import signal

    with session_factory() as session:
        make_market(session)
        session.commit()
    embed(session_factory, embedder)
    context = multiprocessing.get_context("spawn")
    answer = context.Queue()
    harness = context.Process(target=_harness, args=(database_url, embedder.name, answer))
    harness.start()
    exit_code = answer.get(timeout=90)
    harness.join(30)
    assert exit_code == -signal.SIGTERM
