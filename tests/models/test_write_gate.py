"""SQLite writers take turns through models.session.WriteGate: a thread lock per process, an flock between them."""

from __future__ import annotations

import fcntl
import os
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from models.session import make_engine, make_session_factory, writing_session


def _flock_free(path) -> bool:
    """Whether another open file (as another process has) can take the writers' flock now."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


@pytest.fixture
def factory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}", pool_size=4, busy_timeout=0.5)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield make_session_factory(engine)
    engine.dispose()


def test_a_unit_of_work_holds_the_writers_flock_from_its_first_write_until_it_ends(factory, tmp_path):
    gate_file = tmp_path / "gate.db-writers"
    session = writing_session(factory)
    session.execute(text("INSERT INTO t VALUES (1)"))
    assert not _flock_free(gate_file)  # another process's writer waits for it
    session.commit()
    assert _flock_free(gate_file)
    session.execute(text("INSERT INTO t VALUES (2)"))  # the same session writing again takes its turn again
    assert not _flock_free(gate_file)
    session.rollback()
    assert _flock_free(gate_file)
    session.close()
    with factory() as reader:  # page views (DEFERRED) take it only when they write (a read mark)
        reader.execute(text("SELECT count(*) FROM t")).scalar()
        assert _flock_free(gate_file)
        reader.execute(text("UPDATE t SET n = n + 1"))
        assert not _flock_free(gate_file)
        reader.commit()
        assert _flock_free(gate_file)
    with factory.kw["bind"].connect() as connection:  # commit as you go: each transaction gives its turn back
        connection.execute(text("INSERT INTO t VALUES (3)"))
        assert not _flock_free(gate_file)
        connection.commit()
        assert _flock_free(gate_file)
        connection.execute(text("DELETE FROM t WHERE n = 3"))
        connection.rollback()
        assert _flock_free(gate_file)


def test_a_writer_waits_its_turn_then_gets_database_is_locked(factory):
    holder = writing_session(factory)
    holder.execute(text("INSERT INTO t VALUES (1)"))
    outcome = []

    def second_writer():
        with writing_session(factory) as other:
            try:
                other.execute(text("INSERT INTO t VALUES (2)"))
                other.commit()
                outcome.append("wrote")
            except OperationalError as exc:
                outcome.append(str(exc.orig))

    thread = threading.Thread(target=second_writer)
    thread.start()
    thread.join(5)
    assert outcome == ["database is locked"]  # after the busy timeout (0.5 s): the app answers 503
    holder.commit()
    holder.close()
    thread = threading.Thread(target=second_writer)
    thread.start()
    thread.join(5)
    assert outcome[-1] == "wrote"
    with factory() as reader:
        assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 2
