"""Engine and session helpers; no module-level engine."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

# Execution option read by the SQLite "begin" hook: "IMMEDIATE" for units of work that write.
BEGIN_OPTION = "sqlite_begin"
# A database server's pooled connection unused this long is tested before use (make_engine).
PING_IDLE_SECONDS = 10.0



def make_engine(url: str, pool_size: int = 40, max_overflow: int = 10, pool_timeout: float = 30.0,
                busy_timeout: float = 15, ping_idle_seconds: float = PING_IDLE_SECONDS) -> Engine:
    """Create an engine with a pool of pool_size (+ max_overflow) connections; SQLite gets WAL and real transactions.

    The web app sizes the pool to its request threads (web.capacity): every request holds at most one connection.
    busy_timeout: seconds an SQLite connection waits for another's write lock before "database is locked".
    ping_idle_seconds: a database server's connection that sat in the pool longer is tested before use
    (_ping_after_idle).
    """
    parsed = make_url(url)
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        pool = {}  # one in-memory database: SQLAlchemy's own single-connection pool, which takes no sizes
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout}, **pool)
        gate = WriteGate(Path(parsed.database + "-writers"), busy_timeout) \
            if parsed.database and parsed.database != ":memory:" else None
        _use_real_sqlite_transactions(engine, gate)
        return engine
    engine = create_engine(url, **pool)
    _ping_after_idle(engine, ping_idle_seconds)
    return engine


def _ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Test a pooled connection before use only when it sat unused longer than idle_seconds.

    SQLAlchemy's pool_pre_ping tests every checkout: on PostgreSQL one more round trip per request (about a tenth
    of a page view's statements, with its share of the GIL), though under load a connection comes back to work
    milliseconds after its last use. A connection the server dropped while it sat idle (a restart, an idle
    timeout, a proxy) is what the test is for; a dead one raises DisconnectionError here, and the pool replaces
    it with a fresh connection before the request gets it (SQLAlchemy's documented pessimistic recipe). A
    connection the server closed while in use or within idle_seconds of its last use fails the request that meets
    it (web.app answers 503 with Retry-After), and SQLAlchemy then drops the pool's older connections, so a
    restart costs the requests in flight at that moment and no more.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, _proxy):
        since = record.info.get("checked_in")  # None: a connection opened for this checkout
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"a pooled connection idle {time.monotonic() - since:.0f} s was closed") from exc


# Statements that make pysqlite open a transaction (and so take SQLite's write lock).
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class WriteGate:
    """Writers of one SQLite file take turns: a lock per process, then an flock on `<database>-writers` between
    processes, taken before BEGIN IMMEDIATE and given back when the connection returns to the pool.

    Without it writers wait in SQLite's busy handler, which polls with sleeps growing to 100 ms: a writer that has
    waited long sleeps longest, and newcomers keep taking the lock first. With two server processes
    (MATCHMAKER_WORKERS=2) on 64 clients, accepts reached p95 4.5 s and some waited past the clients' 10 s timeout.
    Here a process's writers queue on a thread lock (its wait bounded by the busy timeout, then "database is
    locked": 503), and only the one holding it waits for the flock, which the kernel hands on as soon as it is
    released. Units of work that start reading and then write (a read mark on a page view) take their turn at
    their first write.
    """

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._local = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child gets its own open file (and flock)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self) -> None:
        if not self._local.acquire(timeout=self.timeout):
            raise OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)  # one thread per process waits here
        except BaseException:
            self._local.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._local.release()


def _use_real_sqlite_transactions(engine: Engine, gate: WriteGate | None = None) -> None:
    """SQLAlchemy's pysqlite recipe for units of work that write; pysqlite's own handling for those that read.

    pysqlite by default runs SELECTs outside any transaction and sends BEGIN just before the first write, so a
    request's "check, then insert" is not one transaction and two requests both pass the check (20 parallel
    sign-ups with one email: 14 answered 500 with IntegrityError). A unit of work that may write therefore gets
    the documented recipe: the driver in autocommit, and BEGIN IMMEDIATE emitted here, which takes the write lock
    before the first read, so writers queue (busy timeout) and each sees the previous one's commit. A plain
    DEFERRED BEGIN would not do: a transaction that reads and later writes cannot upgrade once another connection
    has committed since its snapshot (SQLITE_BUSY_SNAPSHOT, "database is locked" at once; the timeout does not help).

    Units of work that only read (page views) keep pysqlite's handling: each SELECT sees the latest commit, as
    PostgreSQL's READ COMMITTED does, and a write there (a read mark) opens the transaction at that write, so it
    never hits a stale snapshot. Starting page views IMMEDIATE too was measured (benchmarks/sqlite_begin.py, 8
    readers, 2 cores shared with other work): 48 -> 33 page views/s with 2 writers alongside (p95 0.5 -> 1.4 s,
    writes 7.3 -> 2.5/s), 53 -> 32/s with none (p95 0.5 -> 1.7 s): readers then queue behind each other, and
    SQLite's busy handler polls with sleeps of up to 100 ms, so waits are long and unfair.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor the writer readers
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        dbapi_connection = connection.connection.dbapi_connection
        if connection.get_execution_options().get(BEGIN_OPTION) == "IMMEDIATE":
            dbapi_connection.isolation_level = None  # the driver starts nothing; the whole unit is ours
            info = connection.connection.info
            if gate is not None and not info.get("write_gate"):
                gate.acquire()
                info["write_gate"] = True
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            dbapi_connection.isolation_level = ""  # pysqlite's own: BEGIN just before the first write

    if gate is not None:
        @event.listens_for(engine, "before_cursor_execute")
        def _before_write(connection, _cursor, statement, _parameters, _context, _executemany):
            # A unit of work that started reading (DEFERRED) and now writes takes its turn too, before pysqlite's
            # implicit BEGIN: it holds no lock of SQLite's yet (its reads ran outside a transaction).
            info = connection.connection.info
            if not info.get("write_gate") and statement.lstrip()[:7].upper().startswith(_WRITES):
                gate.acquire()
                info["write_gate"] = True

        def _end(connection):
            # The transaction ends (SQLAlchemy tells just before its COMMIT or ROLLBACK): the next writer's turn.
            # A writer let in a moment early meets SQLite's lock for that moment in the busy handler.
            if connection.connection.info.pop("write_gate", False):
                gate.release()

        event.listen(engine, "commit", _end)
        event.listen(engine, "rollback", _end)

        @event.listens_for(engine, "checkin")
        def _on_checkin(_dbapi_connection, record):
            # Whatever ended the connection's use (an invalidated connection, a dropped one), its turn ends with it.
            if record.info.pop("write_gate", False):
                gate.release()


def writing(engine: Engine) -> Engine:
    """The engine for units of work that write: on SQLite their transactions take the write lock at BEGIN."""
    return engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory that keeps loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def writing_session(factory: sessionmaker[Session]) -> Session:
    """A session from the factory whose transactions start IMMEDIATE on SQLite (see _use_real_sqlite_transactions)."""
    return factory(bind=writing(factory.kw["bind"]))


def begin_reading(session: Session) -> None:
    """Start the session's next transaction DEFERRED (a read) even if the session was made for writing."""
    session.connection(execution_options={BEGIN_OPTION: "DEFERRED"})


@contextmanager
def session_scope(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """A unit of work for jobs and commands: commit on success, roll back on error (IMMEDIATE when it writes)."""
    session = writing_session(factory) if write else factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def opened_database(url: str, pool_size: int = 5) -> Iterator[sessionmaker[Session]]:
    """A session factory on an engine of its own, for one command or script; the engine is disposed at the end.

    The one way the command line opens a database (the web app sizes its pool to its threads in web.app).
    """
    engine = make_engine(url, pool_size=pool_size)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def insert_for(session: Session, table: Any):
    """An INSERT that supports ON CONFLICT (upsert) on the session's database, SQLite or PostgreSQL."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
