"""What a page asks the database: the statements of a request, and SQLite's plan for one of them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def recorded(engine) -> Iterator[list[tuple[str, object]]]:
    """Every (statement, parameters) the engine runs inside the block."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_of(client, engine, path: str, **kwargs) -> list[tuple[str, object]]:
    """The statements one GET of path runs (the answer must be 200)."""
    with recorded(engine) as seen:
        response = client.get(path, **kwargs)
    assert response.status_code == 200, response.text[:500]
    return seen


def sqlite_plan(engine, statement: str, parameters) -> str:
    """SQLite's EXPLAIN QUERY PLAN of a statement, one step a line."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return "\n".join(row[-1] for row in rows)
