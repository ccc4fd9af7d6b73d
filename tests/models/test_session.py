"""Engines: the command line's one way to open a database (always disposed), and pooled server connections
tested only after they sat idle."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event, text

from models.session import make_engine, opened_database


def test_opened_database_disposes_its_engine_after_the_block_and_after_an_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'commands.db'}"
    disposed = []
    with opened_database(url) as factory:
        event.listen(factory.kw["bind"], "engine_disposed", lambda engine: disposed.append(engine))
        with factory() as session:
            assert session.execute(text("select 1")).scalar() == 1
    assert len(disposed) == 1

    with pytest.raises(RuntimeError), opened_database(url) as factory:
        event.listen(factory.kw["bind"], "engine_disposed", lambda engine: disposed.append(engine))
        raise RuntimeError("a command failed")
    assert len(disposed) == 2


@pytest.fixture
def server_url(database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("connections to a database server (PostgreSQL: MATCHMAKER_TEST_DATABASE_URL)")
    return database_url


def _count_pings(engine) -> list[int]:
    pings = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection):
        pings.append(1)
        return real(dbapi_connection)

    engine.dialect.do_ping = counted
    return pings


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("select pg_backend_pid()")).scalar()


def test_a_connection_back_at_work_soon_after_its_last_use_is_not_pinged(server_url):
    # pool_pre_ping sent one more round trip with every checkout: under load, every request.
    engine = make_engine(server_url, pool_size=1, max_overflow=0, ping_idle_seconds=60)
    try:
        pings = _count_pings(engine)
        first = _backend_pid(engine)
        assert [_backend_pid(engine) for _ in range(5)] == [first] * 5
        assert pings == []
    finally:
        engine.dispose()


def test_a_connection_the_server_closed_while_it_sat_idle_is_replaced_before_use(server_url):
    engine = make_engine(server_url, pool_size=1, max_overflow=0, ping_idle_seconds=0.05)
    killer = make_engine(server_url, pool_size=1, max_overflow=0)
    try:
        pings = _count_pings(engine)
        idle = _backend_pid(engine)
        with killer.connect() as connection:  # what a server restart or an idle timeout does to it
            assert connection.execute(text("select pg_terminate_backend(:pid)"), {"pid": idle}).scalar()
        time.sleep(0.2)
        fresh = _backend_pid(engine)  # no error: the ping found it dead and the pool opened another
        assert fresh != idle
        assert len(pings) == 1
    finally:
        engine.dispose()
        killer.dispose()
