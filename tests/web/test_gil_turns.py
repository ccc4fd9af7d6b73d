"""Background builds shorten the GIL switch interval while they run, so pages get the interpreter back sooner."""

from __future__ import annotations

import sys
import threading

import pytest

from tests.web.matching_support import embed, make_market
from web.matching_state import matching_cache_of
from web.services import matching_index
from web.services.matching_index import MatchingCache
from web.threads import DaemonThreadPool, short_gil_turns


@pytest.fixture
def default_interval():
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield 0.005
    sys.setswitchinterval(before)


def test_the_interval_is_short_while_a_job_runs_and_given_back_after(default_interval):
    with short_gil_turns(0.001):
        assert sys.getswitchinterval() == pytest.approx(0.001)
    assert sys.getswitchinterval() == pytest.approx(default_interval)


def test_overlapping_jobs_keep_the_shortest_until_the_last_ends(default_interval):
    first_in, second_in, first_may_leave, first_left = (threading.Event() for _ in range(4))
    seen = {}

    def first():
        with short_gil_turns(0.002):
            first_in.set()
            first_may_leave.wait(5)
        first_left.set()

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with short_gil_turns(0.0005):
        second_in.set()
        seen["both"] = sys.getswitchinterval()
        first_may_leave.set()
        first_left.wait(5)
        seen["second alone"] = sys.getswitchinterval()
    thread.join(5)
    assert seen == {"both": pytest.approx(0.0005), "second alone": pytest.approx(0.0005)}
    assert sys.getswitchinterval() == pytest.approx(default_interval)


def test_zero_or_a_longer_interval_leaves_it_alone(default_interval):
    with short_gil_turns(0):
        assert sys.getswitchinterval() == pytest.approx(default_interval)
    with short_gil_turns(0.05):
        assert sys.getswitchinterval() == pytest.approx(default_interval)  # shortened only, never lengthened
    assert sys.getswitchinterval() == pytest.approx(default_interval)


def test_an_error_in_the_job_still_gives_the_interval_back(default_interval):
    with pytest.raises(RuntimeError), short_gil_turns(0.001):
        raise RuntimeError("build failed")
    assert sys.getswitchinterval() == pytest.approx(default_interval)


def test_the_background_refresher_builds_with_short_turns(session_factory, embedder, monkeypatch, default_interval):
    with session_factory() as session:
        make_market(session)
        session.commit()
    embed(session_factory, embedder)
    seen = []
    real_build = matching_index.build_state

    def recording_build(*args, **kwargs):
        seen.append(sys.getswitchinterval())
        return real_build(*args, **kwargs)

    monkeypatch.setattr(matching_index, "build_state", recording_build)
    cache = MatchingCache(session_factory, gil_turn_seconds=0.0007)
    try:
        with session_factory() as session:
            assert cache.view(session, embedder.name) is None
        cache.wait()
    finally:
        cache.close()
    assert seen == [pytest.approx(0.0007)] and cache.current(embedder.name) is not None
    assert sys.getswitchinterval() == pytest.approx(default_interval)


def test_the_app_cache_takes_the_setting(app):
    assert matching_cache_of(app).gil_turn_seconds == app.state.settings.background_gil_turn_seconds > 0


def test_each_job_of_a_daemon_pool_runs_with_short_turns(default_interval):
    pool = DaemonThreadPool(2, "test", gil_turn_seconds=0.0008)
    try:
        seen = [pool.submit(sys.getswitchinterval).result(5) for _ in range(3)]
    finally:
        pool.shutdown(timeout=5)
    assert seen == [pytest.approx(0.0008)] * 3
    assert sys.getswitchinterval() == pytest.approx(default_interval)


def test_the_schedulers_jobs_run_with_the_setting(app, default_interval):
    from web.jobs import start_scheduler, stop_scheduler

    start_scheduler(app)
    try:
        seen = app.state.job_executor._pool.submit(sys.getswitchinterval).result(5)
    finally:
        stop_scheduler(app, 5)
    assert seen == pytest.approx(app.state.settings.background_gil_turn_seconds)
