"""Calendar files: /agenda.ics, /events/{id}/calendar.ics and the private feed, parsed back with icalendar."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from models import CalendarFeed
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from tests.web.agenda_support import (
    SANTIAGO,
    TOKYO,
    at,
    confirmed_meeting,
    create_event,
    matched_pair,
    parse_calendar,
    propose,
    publish_meeting,
    register,
    republish,
    vevents,
)
from tests.web.requests_support import HTMX, headers, member, soup
from web.services import proposals


def _setup(session, settings):
    """Alice (a Tokyo user) and Bob matched and registered for a Santiago event, meeting there at table 3."""
    alice, bob, req = matched_pair(session, settings)
    event = create_event(session)
    for user in (alice, bob):
        register(session, event, user.organization_id)
    meeting = publish_meeting(session, event, req, event.starts_at + timedelta(minutes=40), table=3)
    return alice, bob, req, event, meeting


def _download(client, path="/agenda.ics"):
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.headers["content-disposition"].endswith('.ics"')
    return parse_calendar(response.content)


def _instant(component, name: str) -> datetime:
    return component.decoded(name)


def test_santiago_event_seen_from_tokyo_keeps_its_own_zone_and_instant(client, session, settings):
    alice, _bob, req, event, meeting = _setup(session, settings)
    assert alice.time_zone == TOKYO
    session.commit()
    login(client, alice)
    calendar = _download(client)
    entries = vevents(calendar)
    event_entry = entries[f"event-{event.id}@testserver"]
    assert event_entry["dtstart"].params["TZID"] == SANTIAGO
    assert _instant(event_entry, "dtstart") == event.starts_at and _instant(event_entry, "dtend") == event.ends_at
    assert _instant(event_entry, "dtstart").tzinfo.key == SANTIAGO
    assert _instant(event_entry, "dtstart").hour == 9  # 09:00 where it happens, whatever the viewer's zone
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == [SANTIAGO]
    meeting_entry = entries[f"event-meeting-{meeting.id}@testserver"]
    assert _instant(meeting_entry, "dtstart") == meeting.published_starts_at
    assert _instant(meeting_entry, "dtend") - _instant(meeting_entry, "dtstart") == timedelta(minutes=20)
    assert str(meeting_entry["location"]) == "Hotel Plaza, Santiago, table 3"
    assert "Beta Solar" in str(meeting_entry["summary"]) and "JCM Seminar Santiago" in str(meeting_entry["summary"])
    assert str(meeting_entry["url"]) == f"http://testserver/matches/{req.id}"
    assert str(meeting_entry["status"]) == "CONFIRMED" and meeting_entry["sequence"] == 1
    assert isinstance(_instant(meeting_entry, "dtstamp"), datetime)
    assert "Table 3" in str(meeting_entry["description"])


def test_outside_meeting_is_in_the_meetings_zone(client, session, settings):
    alice, bob, req = matched_pair(session, settings, time_zone=SANTIAGO)
    start = at(TOKYO, 3, 10)
    proposal = confirmed_meeting(session, settings, alice, bob, req, start, online_url="https://meet.example.com/x")
    session.commit()
    login(client, bob)
    entry = vevents(_download(client))[f"meeting-{proposal.id}@testserver"]
    assert entry["dtstart"].params["TZID"] == TOKYO and _instant(entry, "dtstart") == start
    assert "https://meet.example.com/x" in str(entry["description"])
    assert str(entry["summary"]) == "Meeting with Alpha Energy"


def test_uids_are_stable_across_downloads(client, session, settings):
    alice, bob, req, event, meeting = _setup(session, settings)
    proposal = confirmed_meeting(session, settings, alice, bob, req, at(TOKYO, 3, 10))
    session.commit()
    login(client, alice)
    first, second = set(vevents(_download(client))), set(vevents(_download(client)))
    assert first == second == {f"event-{event.id}@testserver", f"event-meeting-{meeting.id}@testserver",
                               f"meeting-{proposal.id}@testserver"}


def test_a_moved_meeting_keeps_its_uid_with_a_higher_sequence(client, session, settings):
    alice, _bob, _req, event, meeting = _setup(session, settings)
    session.commit()
    login(client, alice)
    uid = f"event-meeting-{meeting.id}@testserver"
    before = vevents(_download(client))[uid]
    republish(session, meeting, event.starts_at + timedelta(hours=2), 5)
    session.commit()
    after = vevents(_download(client))[uid]
    assert after["sequence"] > before["sequence"]
    assert _instant(after, "dtstart") == event.starts_at + timedelta(hours=2)
    assert str(after["location"]).endswith("table 5")


def test_cancelled_meetings_stay_as_cancelled_entries(client, session, settings):
    alice, bob, req, event, meeting = _setup(session, settings)
    proposal = confirmed_meeting(session, settings, alice, bob, req, at(TOKYO, 3, 10))
    session.commit()
    login(client, alice)
    before = vevents(_download(client))
    proposals.cancel_confirmed_meeting(session, settings, bob, req.id, proposal.id)
    republish(session, meeting, None, None)  # taken off the timetable
    session.commit()
    after = vevents(_download(client))
    for uid in (f"meeting-{proposal.id}@testserver", f"event-meeting-{meeting.id}@testserver"):
        assert str(after[uid]["status"]) == "CANCELLED"
        assert after[uid]["sequence"] > before[uid]["sequence"]
    assert _instant(after[f"meeting-{proposal.id}@testserver"], "dtstart") == at(TOKYO, 3, 10)
    # ...and they are gone from the agenda page itself.
    page = soup(client.get("/agenda"))
    assert page.find(id=f"agenda-meeting-{proposal.id}") is None
    assert page.find(id=f"agenda-event-meeting-{meeting.id}") is None


def test_proposals_never_confirmed_are_not_in_the_calendar(client, session, settings):
    alice, bob, req = matched_pair(session, settings)
    declined = propose(session, settings, alice, req, at(TOKYO, 3, 10))
    proposals.decline_proposal(session, settings, bob, req.id, declined.id)
    open_one = propose(session, settings, alice, req, at(TOKYO, 4, 10))
    session.commit()
    login(client, alice)
    uids = set(vevents(_download(client)))
    assert f"meeting-{declined.id}@testserver" not in uids and f"meeting-{open_one.id}@testserver" not in uids


def test_event_calendar_for_a_visitor_is_the_event_alone(client, session, settings):
    _alice, _bob, _req, event, _meeting = _setup(session, settings)
    session.commit()
    calendar = _download(client, f"/events/{event.id}/calendar.ics")
    assert set(vevents(calendar)) == {f"event-{event.id}@testserver"}
    assert client.get(f"/events/{event.id}/calendar.ics").headers["content-disposition"] == (
        f'attachment; filename="jcm-event-{event.id}.ics"')


def test_event_calendar_adds_the_viewers_own_meetings_when_registered(client, session, settings):
    alice, _bob, _req, event, meeting = _setup(session, settings)
    carol = member(session, "Carol")  # logged in but not registered
    dave = member(session, "Dave")  # registered, but not in this meeting
    register(session, event, dave.organization_id)
    session.commit()
    expected = {"alice": {f"event-{event.id}@testserver", f"event-meeting-{meeting.id}@testserver"},
                "carol": {f"event-{event.id}@testserver"}, "dave": {f"event-{event.id}@testserver"}}
    for name, user in (("alice", alice), ("carol", carol), ("dave", dave)):
        client.cookies.clear()
        login(client, user)
        assert set(vevents(_download(client, f"/events/{event.id}/calendar.ics"))) == expected[name]


def test_event_calendar_of_a_draft_is_for_organizers_only(client, session, settings):
    draft = create_event(session, status="draft")
    alice = member(session)
    organizer = create_user(session, None, role="organizer")
    session.commit()
    assert client.get(f"/events/{draft.id}/calendar.ics").status_code == 404
    login(client, alice)
    assert client.get(f"/events/{draft.id}/calendar.ics").status_code == 404
    client.cookies.clear()
    login(client, organizer)
    assert set(vevents(_download(client, f"/events/{draft.id}/calendar.ics"))) == {f"event-{draft.id}@testserver"}


def test_agenda_ics_needs_a_member(client, session, settings):
    assert client.get("/agenda.ics", follow_redirects=False).headers["location"].startswith("/login")
    pending = create_user(session, create_organization(session, status="pending"))
    session.commit()
    login(client, pending)
    assert client.get("/agenda.ics").status_code == 403


# --- the private subscription link --------------------------------------------------------------------------------

def _feed_url(client) -> str:
    url = soup(client.get("/agenda")).find(id="feed-url")["value"]
    assert url.startswith("http://testserver/agenda/feed/") and url.endswith(".ics")
    return url.removeprefix("http://testserver")


@HTMX
def test_feed_works_without_login_and_a_new_link_revokes_the_old(client, app, session, settings, htmx):
    from fastapi.testclient import TestClient

    alice, _bob, _req, event, meeting = _setup(session, settings)
    session.commit()
    login(client, alice)
    old = _feed_url(client)
    with TestClient(app) as calendar_app:  # no cookies: a calendar app
        assert set(vevents(_download(calendar_app, old))) == {f"event-{event.id}@testserver",
                                                              f"event-meeting-{meeting.id}@testserver"}
        token = csrf_token(client, "/agenda")
        response = client.post("/agenda/feed", data={"csrf_token": token}, headers=headers(htmx),
                               follow_redirects=False)
        if htmx:
            assert response.status_code == 200
            fragment = soup(response)
            assert fragment.find(id="agenda-feed") is not None and fragment.find(id="feed-renewed") is not None
            new = fragment.find(id="feed-url")["value"].removeprefix("http://testserver")
        else:
            assert response.status_code == 303 and response.headers["location"].startswith("/agenda?renewed=1")
            new = _feed_url(client)
        assert new != old
        assert calendar_app.get(old).status_code == 404
        assert calendar_app.get(new).status_code == 200
    assert session.get(CalendarFeed, alice.id) is not None


def test_feed_link_is_stable_until_renewed(client, session, settings):
    alice = member(session)
    session.commit()
    login(client, alice)
    assert _feed_url(client) == _feed_url(client)
    assert session.scalar(select(CalendarFeed)) is None  # viewing the page stores nothing


@pytest.mark.parametrize("damage", ["tamper", "other_secret", "garbage"])
def test_a_forged_feed_token_is_404(client, session, settings, damage):
    from itsdangerous import URLSafeSerializer

    alice = member(session)
    session.commit()
    login(client, alice)
    path = _feed_url(client)
    token = path.removeprefix("/agenda/feed/").removesuffix(".ics")
    forged = {"tamper": token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
              "other_secret": URLSafeSerializer("guessed", salt="agenda-feed").dumps([alice.id, ""]),
              "garbage": "not-a-token"}[damage]
    client.cookies.clear()
    assert client.get(f"/agenda/feed/{forged}.ics").status_code == 404


@pytest.mark.parametrize("change", ["deactivate", "suspend"])
def test_feed_stops_for_an_inactive_user_or_a_suspended_organization(client, session, settings, change):
    alice = member(session)
    session.commit()
    login(client, alice)
    path = _feed_url(client)
    if change == "deactivate":
        alice.is_active = False
    else:
        alice.organization.status = "suspended"
    session.commit()
    client.cookies.clear()
    assert client.get(path).status_code == 404


def test_feed_is_written_in_the_users_language(client, session, settings):
    alice, _bob, _req, event, _meeting = _setup(session, settings)
    alice.language = "ja"
    session.commit()
    login(client, alice)
    path = _feed_url(client)
    client.cookies.clear()  # a calendar app sends no language preference
    entry = vevents(parse_calendar(client.get(path).content))[f"event-{event.id}@testserver"]
    assert str(entry["summary"]) == "JCMセミナー サンティアゴ"


def test_feed_renewal_needs_csrf_and_a_member(client, session, settings):
    alice = member(session)
    session.commit()
    token = csrf_token(client, "/login")
    assert client.post("/agenda/feed", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    login(client, alice)
    assert client.post("/agenda/feed", data={"csrf_token": "wrong"}).status_code == 403
    assert session.scalar(select(CalendarFeed)) is None
