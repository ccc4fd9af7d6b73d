"""The agenda page, its printable version and the event filter: what is listed, grouped and in which zones."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.factories import create_organization, create_user, login
from tests.web.agenda_support import (
    SANTIAGO,
    TOKYO,
    at,
    confirmed_meeting,
    create_event,
    matched_pair,
    propose,
    publish_meeting,
    register,
    republish,
)
from tests.web.requests_support import make_match, member, soup


def _text(element) -> str:
    """An element's text with Babel's narrow no-break spaces ("9:00\u202fAM") as plain spaces."""
    return element.get_text(" ", strip=True).replace("\u202f", " ")


def _setup(session, settings, **bob_user):
    """Alice (Tokyo) and Bob matched, both registered for a Santiago event where they meet at table 3."""
    alice, bob, req = matched_pair(session, settings, **bob_user)
    event = create_event(session)
    for user in (alice, bob):
        register(session, event, user.organization_id)
    meeting = publish_meeting(session, event, req, event.starts_at + timedelta(minutes=40), table=3)
    return alice, bob, req, event, meeting


def test_agenda_lists_events_event_meetings_and_confirmed_meetings(client, session, settings):
    alice, bob, req, event, meeting = _setup(session, settings)
    outside = confirmed_meeting(session, settings, alice, bob, req, at(TOKYO, 3, 10), online_url="https://meet.example.com/a")
    carol = member(session, "Carol")
    open_proposal = propose(session, settings, alice, make_match(session, settings, alice, carol), at(TOKYO, 4, 10))
    pending_event = create_event(session, title_en="Pending registration")
    register(session, pending_event, alice.organization_id, status="pending")
    draft = create_event(session, title_en="Draft", status="draft")
    register(session, draft, alice.organization_id)
    session.commit()
    login(client, alice)
    page = soup(client.get("/agenda"))
    upcoming = page.find(id="agenda-upcoming")
    assert upcoming.find(id=f"agenda-event-{event.id}") is not None
    item = upcoming.find(id=f"agenda-event-meeting-{meeting.id}")
    assert "Meeting with Beta Solar" in item.get_text() and "Table 3" in item.get_text()
    assert "Hotel Plaza, Santiago" in item.get_text()
    outside_item = upcoming.find(id=f"agenda-meeting-{outside.id}")
    assert outside_item.find("a", class_="agenda-online")["href"] == "https://meet.example.com/a"
    assert upcoming.find(id=f"agenda-meeting-{open_proposal.id}") is None
    assert upcoming.find(id=f"agenda-event-{pending_event.id}") is None
    assert upcoming.find(id=f"agenda-event-{draft.id}") is None
    # Grouped by day, in time order: the outside meeting (in 3 days) before the event day (in 10 days).
    days = upcoming.find_all("section", class_="agenda-day")
    assert len(days) == 2
    assert days[0].find(id=f"agenda-meeting-{outside.id}") is not None
    assert days[1].find(id=f"agenda-event-{event.id}") is not None


def test_unpublished_or_unregistered_event_meetings_stay_off(client, session, settings):
    alice, bob, req, event, meeting = _setup(session, settings)
    meeting.published_starts_at = meeting.published_table_number = meeting.published_at = None  # never published
    other_event = create_event(session, title_en="Not registered")
    carol = member(session, "Carol")
    publish_meeting(session, other_event, make_match(session, settings, alice, carol), other_event.starts_at)
    session.commit()
    login(client, alice)
    page = soup(client.get("/agenda"))
    assert page.find(class_="agenda-event-meeting") is None


def test_a_santiago_event_seen_from_tokyo_shows_both_zones(client, session, settings):
    alice, _bob, _req, event, meeting = _setup(session, settings)
    session.commit()
    login(client, alice)
    item = soup(client.get("/agenda")).find(id=f"agenda-event-{event.id}")
    assert _text(item.find(class_="time-own")) == "9:00 AM – 5:00 PM"
    assert "Chile (Santiago) Time" in item.find(class_="zone-own").get_text()
    viewer = _text(item.find(class_="time-viewer"))
    # 09:00 in Santiago (UTC-3 in its summer) is 21:00 in Tokyo; 17:00 is 05:00 the next morning there.
    next_morning = event.ends_at.astimezone(ZoneInfo(TOKYO))
    assert viewer.startswith("Your time: 9:00 PM – ") and f"{next_morning.day}, 5:00 AM" in viewer
    assert item.find(class_="time-viewer")["title"] == "Japan Time"
    meeting_item = soup(client.get("/agenda")).find(id=f"agenda-event-meeting-{meeting.id}")
    assert _text(meeting_item.find(class_="time-own")) == "9:40 AM – 10:00 AM"
    assert _text(meeting_item.find(class_="time-viewer"))== "Your time: 9:40 PM – 10:00 PM"


def test_one_zone_only_when_the_viewer_is_in_the_events_zone(client, session, settings):
    _alice, bob, _req, event, _meeting = _setup(session, settings, time_zone=SANTIAGO)
    session.commit()
    login(client, bob)
    item = soup(client.get("/agenda")).find(id=f"agenda-event-{event.id}")
    assert item.find(class_="time-viewer") is None


def test_past_items_move_to_their_own_section(client, session, settings):
    alice, bob, req = matched_pair(session, settings)
    past_event = create_event(session, days=-20, title_en="Last year's seminar")
    register(session, past_event, alice.organization_id)
    upcoming_event = create_event(session, days=5, title_en="Next seminar")
    register(session, upcoming_event, alice.organization_id)
    session.commit()
    login(client, alice)
    page = soup(client.get("/agenda"))
    assert page.find(id="agenda-past").find(id=f"agenda-event-{past_event.id}") is not None
    assert page.find(id="agenda-upcoming").find(id=f"agenda-event-{past_event.id}") is None
    assert page.find(id="agenda-upcoming").find(id=f"agenda-event-{upcoming_event.id}") is not None


def test_event_filter_shows_one_event(client, session, settings):
    alice, bob, req, event, meeting = _setup(session, settings)
    outside = confirmed_meeting(session, settings, alice, bob, req, at(TOKYO, 3, 10))
    other = create_event(session, days=30, title_en="Jakarta seminar", zone="Asia/Jakarta")
    register(session, other, alice.organization_id)
    session.commit()
    login(client, alice)
    page = soup(client.get(f"/agenda?event={event.id}"))
    assert page.find(id=f"agenda-event-meeting-{meeting.id}") is not None
    assert page.find(id=f"agenda-meeting-{outside.id}") is None
    assert page.find(id=f"agenda-event-{other.id}") is None
    chips = page.find("nav", class_="agenda-filter")
    assert chips.find("a", attrs={"aria-current": "page"})["href"] == f"/agenda?event={event.id}"
    assert page.find("a", href=f"/events/{event.id}/calendar.ics") is not None
    assert client.get("/agenda?event=999999").status_code == 404


def test_a_day_is_the_events_own_day_when_filtered(client, session, settings):
    # An evening in Santiago is the next morning in Tokyo: one event's items stay under the event's own day.
    alice, bob, req = matched_pair(session, settings)
    event = create_event(session, start_hour=18, hours=5)
    for user in (alice, bob):
        register(session, event, user.organization_id)
    publish_meeting(session, event, req, event.starts_at + timedelta(hours=4))  # 22:00 Santiago, 10:00 Tokyo
    session.commit()
    login(client, alice)
    days = soup(client.get(f"/agenda?event={event.id}")).find_all("section", class_="agenda-day")
    assert len(days) == 1


def test_print_version_has_no_navigation_and_fits_a4(client, session, settings):
    alice, _bob, _req, event, meeting = _setup(session, settings)
    session.commit()
    login(client, alice)
    response = client.get(f"/agenda/print?event={event.id}")
    assert response.status_code == 200
    page = soup(response)
    assert page.find("nav") is None and page.find(class_="tabs") is None
    assert page.find("link", rel="stylesheet")["href"] == "/static/css/agenda-print.css"
    assert page.find("script", src=True)["src"] == "/static/js/agenda-print.js"
    row = _text(page.find("tr", class_="print-event-meeting"))
    assert "Table 3" in row and "Beta Solar" in row and "9:40 AM" in row
    css = client.get("/static/css/agenda-print.css").text
    assert "size: A4" in css and "@media print" in css


def test_agenda_needs_an_approved_member(client, session, settings):
    assert client.get("/agenda", follow_redirects=False).headers["location"].startswith("/login")
    pending = create_user(session, create_organization(session, status="pending"))
    session.commit()
    login(client, pending)
    assert client.get("/agenda").status_code == 403
    assert client.get("/agenda/print").status_code == 403
    assert soup(client.get("/profile")).find(id="nav-agenda") is None


def test_member_sees_the_agenda_in_the_navigation(client, session, settings):
    alice = member(session)
    session.commit()
    login(client, alice)
    assert soup(client.get("/")).find(id="nav-agenda")["href"] == "/agenda"


def test_an_organizer_without_an_organization_gets_an_empty_agenda(client, session, settings):
    organizer = create_user(session, None, role="organizer")
    session.commit()
    login(client, organizer)
    response = client.get("/agenda")
    assert response.status_code == 200
    assert soup(response).find(class_="empty-state") is not None


@pytest.mark.parametrize("language, title", [("en", "JCM Seminar Santiago"), ("ja", "JCMセミナー サンティアゴ")])
def test_agenda_in_the_users_language(client, session, settings, language, title):
    alice, _bob, _req, event, _meeting = _setup(session, settings)
    alice.language = language
    session.commit()
    login(client, alice)
    assert title in soup(client.get("/agenda")).find(id=f"agenda-event-{event.id}").get_text()


def test_the_moved_meeting_shows_its_new_time(client, session, settings):
    alice, _bob, _req, event, meeting = _setup(session, settings)
    republish(session, meeting, event.starts_at + timedelta(hours=2), 7)
    session.commit()
    login(client, alice)
    item = soup(client.get("/agenda")).find(id=f"agenda-event-meeting-{meeting.id}")
    assert _text(item.find(class_="time-own")) == "11:00 AM – 11:20 AM" and "Table 7" in item.get_text()
