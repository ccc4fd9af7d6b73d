"""JSON API v1, agenda: the same items as the agenda page, with UTC times and each item's own zone."""

from __future__ import annotations

from datetime import timedelta, timezone

from tests.factories import create_organization, create_user
from tests.web.agenda_support import TOKYO, at, confirmed_meeting, create_event, matched_pair, publish_meeting, register
from tests.web.api_support import api_login, error_of
from tests.web.events_support import organizer
from tests.web.requests_support import member


def test_agenda_lists_events_event_meetings_and_outside_meetings(client, session, settings):
    alice, bob, req = matched_pair(session, settings)
    event = create_event(session)  # Santiago, 09:00-17:00 local
    for user in (alice, bob):
        register(session, event, user.organization_id)
    meeting = publish_meeting(session, event, req, event.starts_at + timedelta(minutes=40), table=3)
    outside = confirmed_meeting(session, settings, alice, bob, req, at(TOKYO, 3, 10),
                                online_url="https://meet.example.com/a")
    pending = create_event(session, title_en="Pending registration")
    register(session, pending, alice.organization_id, status="pending")
    session.commit()
    api_login(client, alice)
    items = client.get("/api/v1/agenda").json()
    by_kind = {item["kind"]: item for item in items}
    assert [item["kind"] for item in items] == ["meeting", "event", "event_meeting"]  # Tokyo in 3 days comes first
    seminar = by_kind["event"]
    assert (seminar["id"], seminar["title"], seminar["time_zone"]) == (event.id, "JCM Seminar Santiago",
                                                                        "America/Santiago")
    assert seminar["starts_at"] == event.starts_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    # 09:00 in Santiago (UTC-03:00 or -04:00 with the season), the same instant as starts_at.
    assert "T09:00:00-0" in seminar["starts_local"] and seminar["location"] == "Hotel Plaza, Santiago"
    assert seminar["event"] == {"id": event.id, "title": "JCM Seminar Santiago"}
    assert seminar["other_organization"] is None and seminar["link"] == f"/events/{event.id}"
    at_event = by_kind["event_meeting"]
    assert (at_event["id"], at_event["table_number"], at_event["other_organization"]["name"],
            at_event["request_id"]) == (meeting.id, 3, "Beta Solar", req.id)
    assert "T09:40:00-0" in at_event["starts_local"] and at_event["title"] == "Meeting with Beta Solar"
    assert at_event["event"]["id"] == event.id
    away = by_kind["meeting"]
    assert (away["id"], away["time_zone"], away["online_url"], away["event"]) == (
        outside.id, TOKYO, "https://meet.example.com/a", None)
    assert away["starts_local"].endswith("T10:00:00+09:00") and away["starts_at"].endswith("T01:00:00Z")
    assert away["link"] == f"/matches/{req.id}"
    # Bob sees the same meetings from his side.
    api_login(client, bob)
    assert {i["other_organization"]["name"] for i in client.get("/api/v1/agenda").json() if i["kind"] != "event"} == {
        "Alpha Energy"}


def test_agenda_event_filter(client, session, settings):
    alice, bob, req = matched_pair(session, settings)
    first, second = create_event(session, title_en="First"), create_event(session, title_en="Second", days=20)
    for event in (first, second):
        register(session, event, alice.organization_id)
    draft = create_event(session, title_en="Draft", status="draft")
    confirmed_meeting(session, settings, alice, bob, req, at(TOKYO, 3, 10))
    session.commit()
    api_login(client, alice)
    assert [(i["kind"], i["id"]) for i in client.get(f"/api/v1/agenda?event={second.id}").json()] == [
        ("event", second.id)]
    error_of(client.get("/api/v1/agenda?event=999999"), 404, "not_found")
    error_of(client.get(f"/api/v1/agenda?event={draft.id}"), 404, "not_found")
    assert "event" in error_of(client.get("/api/v1/agenda?event=x"), 422, "validation_failed")["fields"]


def test_agenda_needs_an_approved_member(client, session):
    error_of(client.get("/api/v1/agenda"), 401, "not_authenticated")
    waiting = create_user(session, create_organization(session, status="pending"))
    boss = organizer(session)
    session.commit()
    api_login(client, waiting)
    error_of(client.get("/api/v1/agenda"), 403, "not_approved")
    api_login(client, boss)
    assert client.get("/api/v1/agenda").json() == []  # an organizer has no organization, so no agenda


def test_agenda_is_empty_for_a_member_with_nothing_planned(client, session):
    alice = member(session)
    session.commit()
    api_login(client, alice)
    assert client.get("/api/v1/agenda").json() == []
