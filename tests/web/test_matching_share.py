"""A whole match index kept in a folder: built once for a server's processes and its next start, brought up to date
when read, never read from a folder others can write to, a torn file rebuilt, a wait for the lock ended by close()."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from tests.web.matching_support import embed, make_market
from web.services import matching_share
from web.services.matching_index import MatchingCache
from web.services.matching_share import KeptIndexes
from web.settings import Settings


def _recommended(state, ext_id: str) -> list[tuple[str, float]]:
    from matchmaker import recommend

    return [(m.id, round(m.score, 6)) for m in recommend(state.index, ext_id, 10)]


@pytest.fixture
def market(session_factory, embedder):
    with session_factory() as session:
        orgs = make_market(session)
        session.commit()
    embed(session_factory, embedder)
    return orgs


def _cache(session_factory, folder: Path) -> MatchingCache:
    return MatchingCache(session_factory, build_process=True, index_dir=folder)


def _refresh(cache: MatchingCache, session_factory, model: str):
    with session_factory() as session:
        return cache.refresh(session, model).state


def _kept_file(folder: Path) -> Path:
    files = list(folder.glob("*.pickle"))
    assert len(files) == 1, files
    return files[0]


def test_a_second_process_reads_the_index_the_first_built(session_factory, embedder, market, tmp_path):
    folder = tmp_path / "match-index"
    first, second = _cache(session_factory, folder), _cache(session_factory, folder)
    built = _refresh(first, session_factory, embedder.name)
    assert first._child is not None and first._child.exitcode == 0  # built in a child process
    kept = _kept_file(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(kept.stat().st_mode) == 0o600
    read = _refresh(second, session_factory, embedder.name)
    assert second._child is None  # no build: read from the folder
    assert read is not built and (read.version, read.snapshot, read.db_id, read.ext_id, read.waiting) \
        == (built.version, built.snapshot, built.db_id, built.ext_id, built.waiting)
    for ext_id in built.db_id:
        assert _recommended(read, ext_id) == _recommended(built, ext_id)


def test_processes_starting_together_build_once(session_factory, embedder, market, tmp_path):
    folder = tmp_path / "match-index"
    caches = [_cache(session_factory, folder) for _ in range(3)]
    states, errors = {}, []

    def run(cache):
        try:
            states[id(cache)] = _refresh(cache, session_factory, embedder.name)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(cache,)) for cache in caches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert sum(cache._child is not None for cache in caches) == 1  # one child built; the others waited and read
    assert len({state.version for state in states.values()}) == 1 and len(states) == 3


def test_a_kept_index_is_brought_up_to_date_when_read(session_factory, embedder, market, tmp_path):
    folder = tmp_path / "match-index"
    _refresh(_cache(session_factory, folder), session_factory, embedder.name)
    with session_factory() as session:  # a profile changes while no process runs
        session.get(type(market["textile"]), market["textile"].id).country = "VN"
        session.commit()
    later = _cache(session_factory, folder)
    state = _refresh(later, session_factory, embedder.name)
    assert later._child is None  # a refresh of the changed row, not a build
    assert state.index.profile("th-textile").country == "VN"
    with session_factory() as session:
        from web.services.matching_build import index_version

        assert state.version == index_version(session, embedder.name)


def test_a_torn_file_is_removed_and_the_index_built_again(session_factory, embedder, market, tmp_path, caplog):
    folder = tmp_path / "match-index"
    _refresh(_cache(session_factory, folder), session_factory, embedder.name)
    kept = _kept_file(folder)
    kept.write_bytes(kept.read_bytes()[:1000])  # a copy cut short
    again = _cache(session_factory, folder)
    state = _refresh(again, session_factory, embedder.name)
    assert again._child is not None and again._child.exitcode == 0  # built again
    assert "is not usable" in caplog.text
    assert _kept_file(folder).stat().st_size > 1000 and state.index is not None


def test_a_folder_others_can_write_to_is_not_used(session_factory, embedder, market, tmp_path, caplog):
    folder = tmp_path / "match-index"
    folder.mkdir()
    folder.chmod(0o777)  # anyone could plant a pickle there
    cache = _cache(session_factory, folder)
    state = _refresh(cache, session_factory, embedder.name)
    assert cache._child is not None and state.index is not None  # built as before, in a child
    assert not list(folder.iterdir())  # nothing kept, nothing read
    assert "not a folder of this user closed to others" in caplog.text


def test_the_file_is_named_by_database_model_and_code(tmp_path, monkeypatch):
    one = KeptIndexes(tmp_path, "postgresql+psycopg://app:secret@db/one")
    assert one.path("m") != KeptIndexes(tmp_path, "postgresql+psycopg://app:secret@db/two").path("m")
    assert one.path("m") != one.path("other-model")
    assert "secret" not in one.path("m").name
    before = one.path("m")
    monkeypatch.setattr(matching_share, "_fingerprint", "other code or libraries")
    assert one.path("m") != before  # an upgrade never reads an older file


def test_close_ends_a_wait_for_another_process_build(session_factory, embedder, market, tmp_path):
    folder = tmp_path / "match-index"
    folder.mkdir(mode=0o700)
    cache = _cache(session_factory, folder)
    holder = KeptIndexes(folder, str(session_factory.kw["bind"].url.render_as_string(hide_password=False)))
    outcome: list = []
    with holder.locked(embedder.name, lambda: False):  # another process is building

        def run():
            try:
                outcome.append(_refresh(cache, session_factory, embedder.name))
            except RuntimeError as exc:
                outcome.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.5)
        assert not outcome  # waiting for the lock
        stopped = time.monotonic()
        cache.close()
        thread.join(10)
        assert time.monotonic() - stopped < 2
    assert isinstance(outcome[0], RuntimeError) and "stopping" in str(outcome[0])
    assert cache._child is None


def test_the_folder_setting(tmp_path):
    assert Settings(data_dir=str(tmp_path)).index_path == tmp_path / "match-index"
    assert Settings(data_dir=str(tmp_path), index_dir=str(tmp_path / "elsewhere")).index_path == tmp_path / "elsewhere"
    assert Settings(index_dir="off").index_path is None
    assert os.sep in str(Settings().index_path)


def test_a_new_file_replaces_the_models_older_ones_and_leaves_other_models_alone(tmp_path, monkeypatch):
    kept = KeptIndexes(tmp_path, "sqlite:////data/app.db")
    kept.write("hashing-64", b"old code's index")
    older = kept.path("hashing-64")
    kept.write("hashing", b"another model")
    other_model = kept.path("hashing")
    piece = tmp_path / f"{older.stem}x1y2.tmp"  # what a write killed half-way leaves
    piece.write_bytes(b"...")
    os.utime(piece, (time.time() - 7200, time.time() - 7200))
    monkeypatch.setattr(matching_share, "_fingerprint", "the upgraded code")
    kept.write("hashing-64", b"new code's index")
    assert kept.path("hashing-64").read_bytes() == b"new code's index"
    assert not older.exists() and not piece.exists()
    assert other_model.read_bytes() == b"another model"  # "hashing-" begins "hashing-64": not one of its files
    os.utime(other_model, (time.time() - 8 * 86400, time.time() - 8 * 86400))  # a model not used for a week
    kept.write("hashing-64", b"the next index")
    assert not other_model.exists()


def test_a_folder_that_cannot_be_locked_still_gets_its_index(session_factory, embedder, market, tmp_path, caplog,
                                                              monkeypatch):
    import errno

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")  # as some network file systems answer

    monkeypatch.setattr(matching_share.fcntl, "flock", no_locks)
    folder = tmp_path / "match-index"
    cache = _cache(session_factory, folder)
    state = _refresh(cache, session_factory, embedder.name)
    assert state.index is not None and cache._child.exitcode == 0
    assert _kept_file(folder).stat().st_size > 0
    assert "cannot be locked" in caplog.text


def test_a_starting_process_publishes_the_kept_index_before_its_first_page(session_factory, embedder, market,
                                                                          tmp_path):
    folder = tmp_path / "match-index"
    _refresh(_cache(session_factory, folder), session_factory, embedder.name)
    starting = _cache(session_factory, folder)
    with session_factory() as session:
        assert starting.preload(session, embedder.name) is True
    assert starting.current(embedder.name) is not None and starting._child is None


def test_a_start_never_builds_a_whole_index(session_factory, embedder, market, tmp_path, monkeypatch):
    from web.services import matching_build

    folder = tmp_path / "match-index"
    nothing_kept = _cache(session_factory, folder)
    with session_factory() as session:
        assert nothing_kept.preload(session, embedder.name) is False
    assert nothing_kept.current(embedder.name) is None and nothing_kept._child is None
    _refresh(_cache(session_factory, folder), session_factory, embedder.name)
    monkeypatch.setattr(matching_build, "REFRESH_MIN", 0)  # any change is "many": too much for a refresh
    monkeypatch.setattr(matching_build, "REFRESH_SHARE", 0.0)
    with session_factory() as session:
        session.get(type(market["textile"]), market["textile"].id).country = "VN"
        session.commit()
    too_old = _cache(session_factory, folder)
    with session_factory() as session:
        assert too_old.preload(session, embedder.name) is False  # left to the background refresher
    assert too_old.current(embedder.name) is None and too_old._child is None


def test_the_app_reads_the_kept_index_as_it_starts(settings, engine, embedder, market, session_factory, tmp_path):
    from fastapi.testclient import TestClient

    from web.app import create_app

    folder = tmp_path / "match-index"
    _refresh(_cache(session_factory, folder), session_factory, embedder.name)
    served = settings.model_copy(update={"matching_inline_refresh": False, "index_dir": str(folder)})
    app = create_app(served, embedder=embedder)
    with TestClient(app):
        published = app.state.matching_cache.current(embedder.name)
        assert published is not None and len(published.state.index) == len(market)
        assert app.state.matching_cache._child is None
