"""Page speed at scale: work a page view does (or must not do) whatever the number of organizations.

benchmarks/pages.py measures the figures at 100,000 organizations; these tests pin the causes it found.
"""

from __future__ import annotations

from datetime import timedelta

import anyio.to_thread
import pytest
from sqlalchemy import select

from matchmaker import engine as matchmaker_engine
from models import MeetingRequest, UserSession
from models.base import utcnow
from tests.conftest import csrf_token
from tests.factories import login
from tests.web import test_prematching
from tests.web.query_support import recorded, sqlite_plan, statements_of
from tests.web.requests_support import make_request, member
from web.services import prematching, request_lists, sessions
from web.services.matching_index import MatchingCache, index_version

PATHS = ("/requests/sent", "/api/v1/requests?box=sent")  # a request tab and the API's list
market = test_prematching.market  # the fixture: the hand-made market, embedded, with a user at the textile plant


def test_index_refresh_runs_while_another_request_holds_the_write_lock(engine, session_factory, market, embedder):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    cache = MatchingCache(session_factory)
    with engine.connect() as writer:
        # A request writing meanwhile (a post, a read mark). The build only reads: it must not queue for the lock,
        # and, above all, must not hold it for the length of a build (a minute at 100,000 organizations).
        writer.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            cache._run(embedder.name)
        finally:
            writer.exec_driver_sql("ROLLBACK")
    assert cache.last_error is None
    assert market[0]["textile"].id in cache.current(embedder.name).state


def test_index_change_check_reads_an_index_only(engine, session):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    with recorded(engine) as seen:
        index_version(session, "any-model")
    statement, parameters = seen[-1]
    plan = sqlite_plan(engine, statement, parameters)
    # Asked on every Pre-Matching view: never a pass over the organization rows themselves.
    assert "SCAN organization" not in plan, plan
    assert plan.count("COVERING INDEX") == 3, plan


def test_prematching_exclusions_look_up_the_organizations_requests_by_their_indexes(engine, session, market):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    orgs, _user = market
    with recorded(engine) as seen:
        prematching.excluded_org_ids(session, orgs["textile"].id)
    statement, parameters = next((s, p) for s, p in seen if "meeting_request" in s)
    plan = sqlite_plan(engine, statement, parameters)
    # Read on every Pre-Matching view: the organization's own requests, not every open request on the platform.
    assert "ix_meeting_request_requester_org_id" in plan and "ix_meeting_request_recipient_org_id" in plan, plan
    assert "ix_meeting_request_status" not in plan, plan


def test_matches_tab_looks_up_the_organizations_requests_by_their_indexes(engine, session, settings):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    alice, bob, carol = member(session, "Alpha"), member(session, "Beta"), member(session, "Gamma")
    for requester, recipient in ((alice, bob), (carol, alice), (bob, carol)):
        make_request(session, settings, requester, recipient).status = "accepted"
    session.commit()
    with recorded(engine) as seen:
        rows, counts = request_lists.list_tab(session, alice, "matches")
    assert {row.other_org(alice.organization_id).name for row in rows} == {"Beta", "Gamma"}
    assert counts["accepted"] == 2 == counts["all"]
    listed = [(s, p) for s, p in seen if "FROM meeting_request" in s]
    assert len(listed) == 2  # the counts and the rows
    for statement, parameters in listed:
        plan = sqlite_plan(engine, statement, parameters)
        # Every accepted request on the platform was read through the status index, and the organization's kept.
        assert "ix_meeting_request_requester_org_id" in plan and "ix_meeting_request_recipient_org_id" in plan, plan
        assert "ix_meeting_request_status" not in plan, plan


def test_prematching_ranks_once_for_repeated_views_and_again_after_a_change(app, client, market, session,
                                                                              monkeypatch):
    orgs, user = market
    calls = []
    real = matchmaker_engine.recommend

    def counting(*args, **kwargs):
        calls.append(kwargs.get("exclude"))
        return real(*args, **kwargs)

    monkeypatch.setattr(prematching, "recommend", counting)
    login(client, user)
    first = client.get("/prematching")
    assert first.status_code == 200 and "Nippon Chiller Works" in first.text
    assert client.get("/prematching").text.count("match-card") == first.text.count("match-card")
    assert len(calls) == 1  # the second view reused the ranking
    client.get("/prematching?country=JP")
    assert len(calls) == 2  # other filters: another ranking
    # Not interested: the exclusions are read on every view and are part of what a ranking is kept by.
    response = client.post(f"/prematching/dismiss/{orgs['chiller'].id}", data={"csrf_token": csrf_token(client)},
                           follow_redirects=False)
    assert response.status_code == 303
    after = client.get("/prematching")
    assert len(calls) == 3 and "Nippon Chiller Works" not in after.text


def count_hops(monkeypatch) -> list[str]:
    """The functions handed to a worker thread from now on."""
    hops: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(func, *args, **kwargs):
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return hops


def test_a_page_view_takes_one_worker_thread_hop_on_sqlite_and_a_post_two(engine, client, session, market,
                                                                         monkeypatch):
    _orgs, user = market
    login(client, user)
    hops = count_hops(monkeypatch)
    # SQLite: the login's read runs on the event loop and the route's own thread commits: one hop. PostgreSQL: a
    # round trip on the loop would stop it, so the session opens in a thread too: two.
    view = 1 if engine.dialect.name == "sqlite" else 2
    assert client.get("/directory").status_code == 200
    assert len(hops) == view, hops
    assert client.get("/requests/received").status_code == 200
    assert len(hops) == 2 * view, hops
    assert not any("Session.commit" in hop for hop in hops), hops
    # A write waits its turn for the lock in a worker thread (BEGIN IMMEDIATE), then the route commits in its own.
    token = csrf_token(client)
    hops.clear()
    response = client.post(f"/prematching/dismiss/{_orgs['chiller'].id}", data={"csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    assert len(hops) == 2 and "_open_session" in hops[0] and "Session.commit" not in hops[1], hops
    # Committed before the answer went out: the next page already shows the change.
    assert "Nippon Chiller Works" not in client.get("/prematching").text


def test_an_api_write_answered_with_a_model_commits_after_the_route(engine, client, session, monkeypatch):
    """A route whose return value FastAPI still has to serialize leaves the commit to get_session, so an answer
    that fails to serialize rolls the write back: that hop stays."""
    user = member(session)
    partner = member(session)
    session.commit()
    login(client, user)
    token = csrf_token(client)
    hops = count_hops(monkeypatch)
    response = client.post("/api/v1/requests", json={"to_organization_id": partner.organization_id,
                                                      "message": "Shall we meet?"},
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 201, response.text
    # open, the route, FastAPI's check of the answer against the model (in a thread for a sync route), the commit
    assert len(hops) == 4 and "Session.commit" in hops[-1] and "Session.commit" not in hops[1], [h[:70] for h in hops]
    assert session.get(MeetingRequest, response.json()["id"]) is not None


def test_the_last_seen_update_is_written_from_a_worker_thread_every_few_minutes(engine, client, session, market,
                                                                               monkeypatch):
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL opens every session in a worker thread")
    _orgs, user = market
    login(client, user)
    login_row = session.scalars(select(UserSession).where(UserSession.user_id == user.id)).one()
    stale = utcnow() - sessions.TOUCH_INTERVAL - timedelta(minutes=1)
    login_row.last_seen_at = stale
    session.commit()
    hops = count_hops(monkeypatch)
    assert client.get("/directory").status_code == 200
    assert len(hops) == 2 and "touch" in hops[0], hops  # the update may wait for the write lock: not on the loop
    session.expire_all()
    assert session.get(UserSession, login_row.id).last_seen_at > stale
    hops.clear()
    assert client.get("/directory").status_code == 200
    assert len(hops) == 1, hops  # written once: the next view within minutes reads only


def test_a_page_view_is_served_while_another_connection_holds_the_write_lock(engine, client, market):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    _orgs, user = market
    login(client, user)
    with engine.connect() as writer:
        writer.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            # The login's read on the event loop does not queue for the lock (WAL readers never do).
            response = client.get("/directory")
        finally:
            writer.exec_driver_sql("ROLLBACK")
    assert response.status_code == 200 and "Nippon Chiller Works" in response.text


def test_role_checks_still_send_visitors_to_login_and_refuse_a_pending_member(client, session, market):
    _orgs, user = market
    # The role checks now run on the event loop from what get_session loaded: the same answers as before.
    assert client.get("/directory", follow_redirects=False).status_code == 303
    login(client, user)
    user.organization.status = "pending"
    session.add(user.organization)
    session.commit()
    assert client.get("/directory").status_code == 403


def test_request_lists_load_no_profile_texts_and_one_statement_for_all_rows(app, client, session, settings):
    user = member(session)
    partners = [member(session) for _ in range(3)]
    make_request(session, settings, user, partners[0])
    session.commit()
    login(client, user)
    one = {path: statements_of(client, app.state.engine, path) for path in PATHS}
    for partner in partners[1:]:
        make_request(session, settings, user, partner)
    session.commit()
    for path in PATHS:
        seen = statements_of(client, app.state.engine, path)
        assert len(seen) == len(one[path]), path  # no statement per row
        listed = [s for s, _p in seen if "FROM meeting_request" in s and "LIMIT" in s]
        # The organizations' descriptions, search text and JSON lists are never shown in a list row.
        assert listed and all("search_text" not in s and ".description" not in s for s in listed), path
