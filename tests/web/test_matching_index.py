"""The published matching index: built off the request path, refreshed in the background, never waited on."""

from __future__ import annotations

import time

from matchmaker import DEFAULT_WEIGHTS
from tests.factories import login
from tests.web.matching_support import answered_request, embed, make_market, member_of
from web.matching_state import matching_cache_of
from web.services.matching_index import MatchingCache


def test_index_leaves_out_organizations_without_vectors(session_factory, embedder):
    with session_factory() as session:
        orgs = make_market(session, "textile", "chiller")
        session.commit()
    cache = MatchingCache(session_factory)
    with session_factory() as session:
        state = cache.refresh(session, embedder.name).state
        assert state.index is None and state.waiting == {orgs["textile"].id, orgs["chiller"].id}
    embed(session_factory, embedder)
    with session_factory() as session:
        published = cache.refresh(session, embedder.name)
        assert orgs["textile"].id in published.state and orgs["chiller"].id in published.state
        assert cache.refresh(session, embedder.name) is published  # unchanged: the same index is reused


def test_refresh_updates_a_changed_organization_without_a_rebuild(session_factory, embedder):
    with session_factory() as session:
        orgs = make_market(session)
        session.commit()
    embed(session_factory, embedder)
    cache = MatchingCache(session_factory)
    with session_factory() as session:
        first = cache.refresh(session, embedder.name).state
        textile = session.get(type(orgs["textile"]), orgs["textile"].id)
        textile.country = "VN"  # not a text: vectors stay valid, the profile is refreshed at once
        session.commit()
    with session_factory() as session:
        second = cache.refresh(session, embedder.name).state
        assert second is not first and second.serial == first.serial + 1
        assert second.index.profile("th-textile").country == "VN"
        assert second.index.lexical is first.index.lexical  # a refresh, not a rebuild


def test_view_returns_the_published_state_and_refreshes_in_the_background(session_factory, embedder):
    with session_factory() as session:
        orgs = make_market(session)
        session.commit()
    embed(session_factory, embedder)
    cache = MatchingCache(session_factory)
    try:
        with session_factory() as session:
            assert cache.view(session, embedder.name) is None  # nothing published yet: the page says "preparing"
        cache.wait()
        first = cache.current(embedder.name)
        assert first is not None and orgs["textile"].id in first.state
        with session_factory() as session:
            textile = session.get(type(orgs["textile"]), orgs["textile"].id)
            textile.country = "VN"
            session.commit()
        with session_factory() as session:
            # Out of date: the page still gets the previous state at once, and a refresh is queued.
            assert cache.view(session, embedder.name) is first
        cache.wait()
        assert cache.current(embedder.name).state.index.profile("th-textile").country == "VN"
    finally:
        cache.close()


def test_view_never_waits_for_a_running_build(session_factory, embedder):
    with session_factory() as session:
        orgs = make_market(session)
        session.commit()
    embed(session_factory, embedder)
    cache = MatchingCache(session_factory)
    with session_factory() as session:
        first = cache.refresh(session, embedder.name)
        answered_request(session, orgs["textile"], orgs["chiller"], "accepted")
        session.commit()
    # A build holds the refresh lock (as a long one would); a page view must not wait for it.
    cache._refresh_lock.acquire()
    try:
        with session_factory() as session:
            started = time.perf_counter()
            assert cache.view(session, embedder.name) is first
            assert time.perf_counter() - started < 1.0
    finally:
        cache._refresh_lock.release()
        cache.wait()
        cache.close()
    assert cache.current(embedder.name) is not first  # the queued refresh ran once the lock was free


def test_refresh_relearns_weights_when_feedback_arrives(session_factory, embedder):
    with session_factory() as session:
        orgs = make_market(session)
        session.commit()
    embed(session_factory, embedder)
    cache = MatchingCache(session_factory, min_examples=30)
    with session_factory() as session:
        assert cache.refresh(session, embedder.name).weights == DEFAULT_WEIGHTS
        for _ in range(20):
            answered_request(session, orgs["textile"], orgs["chiller"], "accepted")
            answered_request(session, orgs["textile"], orgs["waste"], "declined")
        session.commit()
        learned = cache.refresh(session, embedder.name).weights
        assert learned != DEFAULT_WEIGHTS
        assert learned.exact_rank == DEFAULT_WEIGHTS.exact_rank  # only the component weights are learned


def test_failed_refresh_keeps_the_previous_state(session_factory, embedder, monkeypatch):
    with session_factory() as session:
        orgs = make_market(session)
        session.commit()
    embed(session_factory, embedder)
    cache = MatchingCache(session_factory)
    with session_factory() as session:
        first = cache.refresh(session, embedder.name)
        session.get(type(orgs["textile"]), orgs["textile"].id).country = "LA"
        session.commit()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("web.services.matching_index.refresh_state", broken)
    with session_factory() as session:
        assert cache.view(session, embedder.name) is first
    cache.wait()
    cache.close()
    assert cache.current(embedder.name) is first and isinstance(cache.last_error, RuntimeError)


def test_page_shows_previous_recommendations_while_the_index_refreshes(app, client, session_factory, embedder,
                                                                       settings):
    app.state.settings = settings.model_copy(update={"matching_inline_refresh": False})
    with session_factory() as session:
        orgs = make_market(session)
        user = member_of(session, orgs["textile"])
        session.commit()
    embed(session_factory, embedder)
    cache = matching_cache_of(app)
    try:
        with session_factory() as session:
            cache.refresh(session, embedder.name)
        login(client, user)
        assert "Nippon Chiller Works" in client.get("/prematching").text
        with session_factory() as session:
            chiller = session.get(type(orgs["chiller"]), orgs["chiller"].id)
            chiller.name = "Nippon Chiller Works Renamed"
            chiller.offers = [*chiller.offers, "Absorption chillers for hotels"]
            session.commit()
        # Being re-embedded: the page keeps showing the published recommendations, not "being prepared".
        page = client.get("/prematching").text
        assert "being prepared" not in page and "Nippon Chiller Works" in page
    finally:
        cache.wait()
        cache.close()


def test_answers_alone_relearn_the_weights_at_most_every_learn_seconds(session_factory, embedder, monkeypatch):
    with session_factory() as session:
        orgs = make_market(session)
        session.commit()
    embed(session_factory, embedder)
    cache = MatchingCache(session_factory, min_examples=30, learn_seconds=300)
    clock = [1_000_000.0]
    monkeypatch.setattr("web.services.matching_index.time.time", lambda: clock[0])
    with session_factory() as session:
        first = cache.refresh(session, embedder.name)
        assert first.weights == DEFAULT_WEIGHTS
        for _ in range(20):
            answered_request(session, orgs["textile"], orgs["chiller"], "accepted")
            answered_request(session, orgs["textile"], orgs["waste"], "declined")
        session.commit()
        clock[0] += 60
        # A minute later the answers are not due: nothing to rebuild, the page keeps its rankings.
        assert not cache.is_stale(session, first)
        assert cache.refresh(session, embedder.name) is first
        # A profile change refreshes the index at once and keeps the weights.
        session.get(type(orgs["textile"]), orgs["textile"].id).country = "LA"
        session.commit()
        assert cache.is_stale(session, first)
        moved = cache.refresh(session, embedder.name)
        assert moved.state is not first.state and moved.weights == DEFAULT_WEIGHTS
        clock[0] += 300
        # Due: the answers are learned.
        assert cache.is_stale(session, moved)
        learned = cache.refresh(session, embedder.name)
        assert learned.weights != DEFAULT_WEIGHTS and learned.state is moved.state
        assert cache.refresh(session, embedder.name) is learned


def test_views_within_check_seconds_of_a_check_ask_nothing(session_factory, embedder, monkeypatch):
    with session_factory() as session:
        orgs = make_market(session)
        session.commit()
    embed(session_factory, embedder)
    cache = MatchingCache(session_factory, check_seconds=2.0)
    clock = [100.0]
    monkeypatch.setattr("web.services.matching_index.time.monotonic", lambda: clock[0])
    checks = []
    real = cache.is_stale
    monkeypatch.setattr(cache, "is_stale", lambda *a: checks.append(1) or real(*a))
    with session_factory() as session:
        first = cache.refresh(session, embedder.name)
        assert cache.view(session, embedder.name) is first and len(checks) == 1
        session.get(type(orgs["textile"]), orgs["textile"].id).country = "LA"
        session.commit()
        clock[0] += 1.0
        assert cache.view(session, embedder.name) is first and len(checks) == 1  # not asked: within 2 s
        clock[0] += 1.5
        cache.view(session, embedder.name)  # asked again: stale, so a refresh is queued
        assert len(checks) >= 2
    cache.wait()
    cache.close()
    assert cache.current(embedder.name) is not first
