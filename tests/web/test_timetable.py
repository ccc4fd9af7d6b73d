"""The event timetable: run, unplaced reasons, CSV, access.

Publishing and re-runs are tested in test_timetable_publish.py, moves by hand in test_timetable_moves.py."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import EventMeetingSeat
from tests.conftest import csrf_token
from tests.factories import create_user, login
from tests.web.timetable_support import (
    check_placements, create_event, event_match, match_pair, organizer_token, participant, placements_of, post_move,
    post_run, registration_of, set_unavailable,
)
from tests.web.timetable_support import seminar  # noqa: F401 - a fixture the tests name
from tests.web.requests_support import HTMX, soup
from web.services import timetable
from web.services.events import slots_of
from web.services.timetable_view import slot_value


# --- Run ------------------------------------------------------------------------------------------------------


@HTMX
def test_run_places_every_meeting_validly(client, session, settings, seminar, htmx):
    event, people, organizer = seminar
    for a, b in (("Alpha", "Beta"), ("Alpha", "Gamma"), ("Alpha", "Delta"), ("Beta", "Gamma"), ("Gamma", "Delta")):
        match_pair(session, settings, event, people, a, b)
    session.commit()
    token = organizer_token(client, organizer, event)
    response = post_run(client, event, token, htmx)
    if htmx:
        assert response.status_code == 200
        page = soup(response)
        assert page.find() is page.find(id="timetable")  # the fragment alone
    else:
        assert response.status_code == 303 and response.headers["location"] == f"/events/{event.id}/timetable"
        page = soup(client.get(response.headers["location"]))
    assert "5 of 5 meetings placed" in page.select_one("#timetable-report").get_text(" ", strip=True)
    # htmx: the fragment's notice; a plain post: the message the redirect left, once, above the page.
    notice = page.select_one("#timetable-notice" if htmx else "#flash")
    assert "5 of 5 meetings placed" in notice.get_text(" ", strip=True)
    assert len(placements_of(session, event)) == 5 and check_placements(session, event) == []
    assert len(page.select("#timetable-grid td[data-meeting]")) == 5
    seats = session.scalars(select(EventMeetingSeat).where(EventMeetingSeat.event_id == event.id)).all()
    assert len(seats) == 10
    # Nothing is published by a run: participants see nothing yet.
    assert all(not m.is_published for m in timetable.event_meetings(session, event.id))
    assert page.select_one("#publish-button").get_text(strip=True) == "Publish (5)"


def test_run_respects_availability(session, settings, seminar):
    event, people, organizer = seminar
    set_unavailable(session, registration_of(session, event, people["Alpha"]), [0, 1, 2, 3, 4])
    meeting = match_pair(session, settings, event, people, "Alpha", "Beta")
    timetable.run_timetable(session, organizer, event.id)
    assert meeting.starts_at == slots_of(event)[5].starts_at and check_placements(session, event) == []


def test_unplaced_no_common_slot_names_both(client, session, settings, seminar):
    event, people, organizer = seminar
    set_unavailable(session, registration_of(session, event, people["Alpha"]), [0, 1, 2])
    set_unavailable(session, registration_of(session, event, people["Beta"]), [3, 4, 5])
    meeting = match_pair(session, settings, event, people, "Alpha", "Beta")
    session.commit()
    token = organizer_token(client, organizer, event)
    page = soup(client.get(post_run(client, event, token).headers["location"]))
    item = page.find(id=f"unplaced-{meeting.id}")
    assert item["data-reason"] == "no_common_slot"
    assert "Alpha and Beta have no available slot in common." in item.get_text()


def test_unplaced_party_busy_names_the_busy_organization(client, session, settings):
    starts = create_event(session).starts_at
    event = create_event(session, starts_at=starts, ends_at=starts + timedelta(minutes=20))  # one slot
    people = {name: participant(session, event, name) for name in ("Alpha", "Beta", "Gamma")}
    organizer = create_user(session, None, role="organizer")
    match_pair(session, settings, event, people, "Alpha", "Beta")
    match_pair(session, settings, event, people, "Alpha", "Gamma")
    session.commit()
    token = organizer_token(client, organizer, event)
    page = soup(client.get(post_run(client, event, token).headers["location"]))
    [item] = page.select("#timetable-unplaced li")
    assert item["data-reason"] == "party_busy"
    assert "Alpha is in other meetings in every slot both sides can make." in item.get_text()


def test_unplaced_no_table_when_every_table_is_taken(session, settings):
    starts = create_event(session).starts_at
    event = create_event(session, starts_at=starts, ends_at=starts + timedelta(minutes=20), table_count=1)
    people = {name: participant(session, event, name) for name in ("Alpha", "Beta", "Gamma", "Delta")}
    organizer = create_user(session, None, role="organizer")
    match_pair(session, settings, event, people, "Alpha", "Beta")
    match_pair(session, settings, event, people, "Gamma", "Delta")
    report = timetable.run_timetable(session, organizer, event.id)
    assert (report.placed, report.unplaced, report.bound) == (1, 1, 1)
    [left] = [m for m in timetable.event_meetings(session, event.id) if m.starts_at is None]
    assert left.unplaced_reason == "no_table"


def test_run_skips_meetings_of_withdrawn_organizations(client, session, settings, seminar):
    event, people, organizer = seminar
    kept = match_pair(session, settings, event, people, "Alpha", "Beta")
    gone = match_pair(session, settings, event, people, "Alpha", "Gamma")
    timetable.run_timetable(session, organizer, event.id)
    assert gone.starts_at is not None
    registration_of(session, event, people["Gamma"]).status = "withdrawn"
    session.commit()
    token = organizer_token(client, organizer, event)
    page = soup(client.get(post_run(client, event, token).headers["location"]))
    session.expire_all()
    assert gone.starts_at is None and gone.unplaced_reason == f"withdrawn:{people['Gamma'].organization_id}"
    assert kept.starts_at is not None
    assert "Gamma is no longer a confirmed participant." in page.find(id=f"unplaced-{gone.id}").get_text()
    assert session.scalars(select(EventMeetingSeat).where(EventMeetingSeat.meeting_id == gone.id)).all() == []


def test_online_event_places_meetings_without_tables(client, session, settings):
    event = create_event(session, table_count=None, venue="", online_url="https://meet.example.com/jcm")
    people = {name: participant(session, event, name) for name in ("Alpha", "Beta", "Gamma", "Delta")}
    organizer = create_user(session, None, role="organizer")
    match_pair(session, settings, event, people, "Alpha", "Beta")
    match_pair(session, settings, event, people, "Gamma", "Delta")
    session.commit()
    token = organizer_token(client, organizer, event)
    page = soup(client.get(post_run(client, event, token).headers["location"]))
    assert all(p.table is None for p in placements_of(session, event).values())
    assert check_placements(session, event) == []
    grid = page.select_one("ol#timetable-grid")  # a list per slot, not a table grid
    assert grid is not None and len(grid.select("li[data-meeting]")) == 2
    assert page.select("select[name=table]") == []


# --- CSV -------------------------------------------------------------------------------------------------------


def test_csv_lists_meetings_in_event_zone_with_status(client, session, settings, seminar):
    event, people, organizer = seminar
    published = match_pair(session, settings, event, people, "Alpha", "Beta")
    changed = match_pair(session, settings, event, people, "Gamma", "Delta")
    set_unavailable(session, registration_of(session, event, people["Alpha"]), [0, 1, 2])
    set_unavailable(session, registration_of(session, event, people["Gamma"]), [3, 4, 5])
    unplaced = match_pair(session, settings, event, people, "Alpha", "Gamma")
    from web.services import timetable_moves

    timetable_moves.move_meeting(session, organizer, event.id, published.id, slot_value(slots_of(event)[3]), "1")
    timetable_moves.move_meeting(session, organizer, event.id, changed.id, slot_value(slots_of(event)[0]), "2")
    timetable.run_timetable(session, organizer, event.id)
    timetable.publish_timetable(session, settings, organizer, event.id)
    timetable_moves.move_meeting(session, organizer, event.id, changed.id, slot_value(slots_of(event)[1]), "2")
    session.commit()
    login(client, organizer)
    response = client.get(f"/events/{event.id}/timetable.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0] == ["Start (Asia/Tokyo)", "End (Asia/Tokyo)", "Table", "Organization 1", "Organization 2",
                       "Status"]
    assert [rows[1][0][11:], rows[1][1][11:], *rows[1][2:]] == [
        "10:20", "10:40", "2", "Gamma", "Delta", "Changed since publishing"]
    assert [rows[2][0][11:], rows[2][1][11:], *rows[2][2:]] == ["11:00", "11:20", "1", "Alpha", "Beta", "Published"]
    assert rows[3] == ["", "", "", "Alpha", "Gamma",
                       "Unplaced: Alpha and Gamma have no available slot in common."]
    assert len(rows) == 4 and unplaced.starts_at is None


def test_csv_neutralises_formula_names(client, session, settings):
    event = create_event(session)
    a = participant(session, event, "=HYPERLINK(\"http://x\")")
    b = participant(session, event, "Beta")
    organizer = create_user(session, None, role="organizer")
    event_match(session, settings, event, a, b)
    session.commit()
    login(client, organizer)
    rows = list(csv.reader(io.StringIO(client.get(f"/events/{event.id}/timetable.csv").text.lstrip("\ufeff"))))
    assert rows[1][3].startswith("'=")


# --- Access ----------------------------------------------------------------------------------------------------


ENDPOINTS = [("get", "/timetable"), ("get", "/timetable.csv"), ("post", "/timetable/run"),
             ("post", "/timetable/publish"), ("get", "/timetable/meetings/{m}/move"),
             ("post", "/timetable/meetings/{m}/move"),
             ("post", "/timetable/meetings/{m}/remove"), ("post", "/timetable/meetings/{m}/release")]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_timetable_endpoints_are_for_organizers_only(client, session, settings, seminar, method, path):
    event, people, organizer = seminar
    meeting = match_pair(session, settings, event, people, "Alpha", "Beta")
    session.commit()
    url = f"/events/{event.id}" + path.format(m=meeting.id)

    def call():
        token = csrf_token(client, "/")
        data = {"csrf_token": token, "slot": slot_value(slots_of(event)[0]), "table": "1"}
        return getattr(client, method)(url, **({"data": data} if method == "post" else {}), follow_redirects=False)

    anonymous = call()
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    login(client, people["Alpha"])  # a participant of the meeting, not an organizer
    assert call().status_code == 403
    client.cookies.clear()
    login(client, organizer)
    assert call().status_code in (200, 303)
    missing = getattr(client, method)(url.replace(f"/events/{event.id}/", "/events/999999/"),
                                      **({"data": {"csrf_token": csrf_token(client, "/")}} if method == "post" else {}))
    assert missing.status_code == 404


def test_organizer_sees_draft_event_timetable(client, session, settings, seminar):
    event, people, organizer = seminar
    match_pair(session, settings, event, people, "Alpha", "Beta")
    event.status = "draft"
    session.commit()
    login(client, organizer)
    page = soup(client.get(f"/events/{event.id}/timetable"))
    assert "The event itself is a draft" in page.select_one(".tt-summary").get_text()


def test_meeting_of_another_event_is_404(client, session, settings, seminar):
    event, people, organizer = seminar
    other = create_event(session)
    meeting = match_pair(session, settings, event, people, "Alpha", "Beta")
    session.commit()
    token = organizer_token(client, organizer, event)
    assert post_move(client, other, token, meeting, 0, "1").status_code == 404


def test_timetable_of_finished_event_cannot_change(client, session, settings, seminar):
    event, people, organizer = seminar
    meeting = match_pair(session, settings, event, people, "Alpha", "Beta")
    event.starts_at -= timedelta(days=30)
    event.ends_at -= timedelta(days=30)
    session.commit()
    token = organizer_token(client, organizer, event)
    response = post_run(client, event, token, htmx=True)
    assert response.status_code == 409 and "is over" in soup(response).select_one("#timetable-notice").get_text()
    assert post_move(client, event, token, meeting, 0, "1").status_code == 409


def test_reason_codes_read_with_or_without_the_organization(session):
    from tests.factories import create_organization
    from web.services.timetable_view import reason_text

    a, b = create_organization(session, name="Alpha"), create_organization(session, name="Beta")
    assert reason_text(f"party_busy:{b.id}", a, b) == "Beta is in other meetings in every slot both sides can make."
    assert reason_text("withdrawn", a, b) == "Alpha or Beta is no longer a confirmed participant."
    assert reason_text("no_table", a, b) == "Every table is taken in the slots both sides can make."
    assert reason_text("", a, b) == "Not placed yet: run the timetable."
