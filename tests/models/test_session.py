"""The command line's one way to open a database: its engine is always disposed."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from models.session import opened_database


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
