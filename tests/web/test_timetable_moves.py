"""Moving a meeting by hand in the timetable: conflict checks beside the form, and two organizers at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Event, EventMeeting, EventMeetingSeat, User
from tests.factories import create_user
from tests.web.timetable_support import (
    check_placements, create_event, match_pair, organizer_token, participant, post_move, registration_of,
    set_unavailable,
)
from tests.web.timetable_support import seminar  # noqa: F401 - a fixture the tests name
from tests.web.requests_support import HTMX, headers, soup
from web.services import timetable
from web.services.events import slots_of
from web.services.timetable_view import slot_value


# --- Moves by hand ----------------------------------------------------------------------------------------------


@pytest.fixture
def booked(session, settings, seminar):
    """Alpha-Beta at 10:00 table 1, Gamma-Delta at 10:20 table 1 (by hand); Alpha-Gamma waiting; Delta is away
    at 11:00."""
    event, people, organizer = seminar
    ab = match_pair(session, settings, event, people, "Alpha", "Beta")
    gd = match_pair(session, settings, event, people, "Gamma", "Delta")
    ag = match_pair(session, settings, event, people, "Alpha", "Gamma")
    bd = match_pair(session, settings, event, people, "Beta", "Delta")
    set_unavailable(session, registration_of(session, event, people["Delta"]), [3])
    from web.services import timetable_moves

    for meeting, slot in ((ab, 0), (gd, 1)):
        timetable_moves.move_meeting(session, organizer, event.id, meeting.id, slot_value(slots_of(event)[slot]), "1")
    session.commit()
    return event, people, organizer, {"ab": ab, "gd": gd, "ag": ag, "bd": bd}


@HTMX
@pytest.mark.parametrize("key, slot, table, status, field, text", [
    ("ag", 0, "2", 409, "slot", "Alpha already has a meeting at"),  # Alpha meets Beta then
    ("bd", 3, "1", 409, "slot", "Delta is not available at"),
    ("ab", 1, "1", 409, "table", "Table 1 is taken at"),
    ("ag", 2, "3", 422, "table", "Choose a table from 1 to 2."),
    ("ag", "2020-01-01T00:00:00Z", "1", 422, "slot", "Choose one of the event's meeting slots."),
])
def test_move_conflict_is_answered_beside_the_form(client, session, booked, htmx, key, slot, table, status, field,
                                                    text):
    event, _people, organizer, m = booked
    meeting = m[key]
    before = (meeting.starts_at, meeting.table_number)
    token = organizer_token(client, organizer, event)
    response = post_move(client, event, token, meeting, slot, table, htmx)
    assert response.status_code == status
    page = soup(response)
    assert (page.select_one("h1") is None) == htmx
    card = page.find(id=f"meeting-{meeting.id}")
    assert card.select_one("details.tt-move").has_attr("open")
    assert text in card.select_one(f"#{field}-error-{meeting.id}").get_text()
    if isinstance(slot, int):  # the choice is kept
        assert card.select_one("select[name=slot] option[selected]")["value"] == slot_value(slots_of(event)[slot])
    session.expire_all()
    assert (meeting.starts_at, meeting.table_number) == before  # nothing stored


def test_move_busy_message_names_the_other_meeting(client, session, booked):
    event, _people, organizer, m = booked
    token = organizer_token(client, organizer, event)
    card = soup(post_move(client, event, token, m["ag"], 1, "2")).find(id=f"meeting-{m['ag'].id}")
    text = card.select_one(f"#slot-error-{m['ag'].id}").get_text()
    assert "Gamma already has a meeting at" in text and "with Delta" in text and "10:20–10:40" in text


def test_move_of_withdrawn_organizations_meeting_is_refused(client, session, booked):
    event, people, organizer, m = booked
    registration_of(session, event, people["Gamma"]).status = "withdrawn"
    session.commit()
    token = organizer_token(client, organizer, event)
    response = post_move(client, event, token, m["ag"], 4, "1", htmx=True)
    assert response.status_code == 409
    # A withdrawn meeting shows no move form: the message comes as the timetable's own notice for it.
    assert soup(response).find(id=f"meeting-{m['ag'].id}").select_one("[data-status]")["data-status"] == "withdrawn"


def test_move_with_table_on_online_event_is_refused(client, session, settings):
    event = create_event(session, table_count=None)
    people = {name: participant(session, event, name) for name in ("Alpha", "Beta")}
    organizer = create_user(session, None, role="organizer")
    meeting = match_pair(session, settings, event, people, "Alpha", "Beta")
    session.commit()
    token = organizer_token(client, organizer, event)
    response = post_move(client, event, token, meeting, 0, "1")
    assert response.status_code == 422
    assert "online" in soup(response).select_one(f"#table-error-{meeting.id}").get_text()
    assert post_move(client, event, token, meeting, 0, "").status_code == 303
    session.expire_all()
    assert (meeting.starts_at, meeting.table_number, meeting.pinned) == (slots_of(event)[0].starts_at, None, True)


@HTMX
def test_move_success_updates_grid_and_seats(client, session, booked, htmx):
    event, people, organizer, m = booked
    token = organizer_token(client, organizer, event)
    response = post_move(client, event, token, m["ag"], 2, "2", htmx)
    assert response.status_code == (200 if htmx else 303)
    page = soup(response) if htmx else soup(client.get(f"/events/{event.id}/timetable"))
    row = page.select_one(f"#timetable-grid tr[data-slot='{slot_value(slots_of(event)[2])}']")
    assert row.select("td")[1]["data-meeting"] == str(m["ag"].id)
    seats = session.scalars(select(EventMeetingSeat).where(EventMeetingSeat.meeting_id == m["ag"].id)).all()
    assert {(s.organization_id, s.starts_at) for s in seats} == {
        (people["Alpha"].organization_id, slots_of(event)[2].starts_at),
        (people["Gamma"].organization_id, slots_of(event)[2].starts_at)}
    assert check_placements(session, event) == []


# --- Two organizers at once -------------------------------------------------------------------------------------


@pytest.mark.parametrize("second, table", [("gd", "1"), ("ag", "2")], ids=["same-table", "same-organization"])
def test_two_organizers_booking_the_same_place_at_once_one_wins(engine, session_factory, session, settings, seminar,
                                                                second, table):
    """Two real connections pass their checks before either writes; the unique keys let exactly one through."""
    import threading

    from sqlalchemy import event as sa_event

    from web.services import timetable_moves

    event, people, organizer = seminar
    m = {"ab": match_pair(session, settings, event, people, "Alpha", "Beta"),
         "gd": match_pair(session, settings, event, people, "Gamma", "Delta"),
         "ag": match_pair(session, settings, event, people, "Alpha", "Gamma")}
    session.commit()
    slot = slot_value(slots_of(event)[2])
    barrier = threading.Barrier(2, timeout=20)

    def both_checked(_conn, _cursor, statement, *_args):
        # Hold each organizer at the savepoint that precedes its first write until both have read a free slot and
        # table. (At the write itself one of them would already hold the SQLite writers' turn,
        # models.session.WriteGate, and the other could not reach the barrier.)
        if threading.current_thread().name.startswith("organizer") and statement.startswith("SAVEPOINT"):
            barrier.wait()

    results: dict[str, str] = {}

    def book(name: str, meeting_id: int, chosen_table: str) -> None:
        with session_factory() as own:
            try:
                timetable_moves.move_meeting(own, own.get(User, organizer.id), event.id, meeting_id,
                                             slot, chosen_table)
                own.commit()
                results[name] = "booked"
            except timetable.TimetableConflict as exc:
                own.rollback()
                results[name] = exc.code

    sa_event.listen(engine, "before_cursor_execute", both_checked)
    try:
        threads = [threading.Thread(target=book, name=f"organizer-{i}", args=(f"organizer-{i}", mid, t))
                   for i, (mid, t) in enumerate(((m["ab"].id, "1"), (m[second].id, table)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        sa_event.remove(engine, "before_cursor_execute", both_checked)
    assert sorted(results.values()) == ["booked", "timetable_race"]
    session.expire_all()
    placed = [mm for mm in m.values() if mm.starts_at is not None]
    assert len(placed) == 1 and check_placements(session, event) == []
    seats = session.scalars(select(EventMeetingSeat).where(EventMeetingSeat.event_id == event.id)).all()
    assert {s.meeting_id for s in seats} == {placed[0].id} and len(seats) == 2


def test_same_meeting_moved_by_two_organizers_keeps_one_place(session_factory, session, settings, seminar):
    """The second move of a meeting that changed after it was read is refused, so seats never double up."""
    from web.services import timetable_moves

    event, people, organizer = seminar
    meeting = match_pair(session, settings, event, people, "Alpha", "Beta")
    session.commit()
    with session_factory() as first, session_factory() as second:
        stale_event, stale = second.get(Event, event.id), second.get(EventMeeting, meeting.id)
        assert stale.starts_at is None  # read before the first organizer's move
        timetable_moves.move_meeting(first, first.get(User, organizer.id), event.id, meeting.id,
                                     slot_value(slots_of(event)[1]), "1")
        first.commit()
        with pytest.raises(timetable.TimetableConflict) as refused:
            timetable_moves._replace_place(second, stale_event, stale, slots_of(event)[2].starts_at, 2, "")
        assert refused.value.code == "timetable_race"
    seats = session.scalars(select(EventMeetingSeat).where(EventMeetingSeat.meeting_id == meeting.id)).all()
    assert len(seats) == 2 and {s.starts_at for s in seats} == {slots_of(event)[1].starts_at}


# --- The move form, loaded when it is opened ---------------------------------------------------------------------


def test_the_timetable_sends_no_move_form_until_one_is_opened(client, session, booked):
    event, _people, organizer, m = booked
    organizer_token(client, organizer, event)
    page = soup(client.get(f"/events/{event.id}/timetable"))
    assert page.select("form.tt-move-form") == [] and page.select("select[name=slot]") == []
    for meeting in m.values():
        details = page.find(id=f"meeting-{meeting.id}").select_one("details.tt-move")
        url = f"/events/{event.id}/timetable/meetings/{meeting.id}/move"
        # htmx loads the form into the card when the details open; without JavaScript the link opens it as a page.
        assert (details["hx-get"], details["hx-trigger"]) == (url, "toggle once")
        assert details.select_one(details["hx-target"].removeprefix("find ")).select_one("a")["href"] == url


@HTMX
def test_the_move_form_keeps_the_meetings_place_and_posts_as_on_the_timetable(client, session, booked, htmx):
    event, _people, organizer, m = booked
    token = organizer_token(client, organizer, event)
    gd = m["gd"]
    response = client.get(f"/events/{event.id}/timetable/meetings/{gd.id}/move", headers=headers(htmx))
    assert response.status_code == 200 and "HX-Request" in response.headers["vary"]
    page = soup(response)
    assert (page.select_one("h1") is None) == htmx  # the fragment for htmx, a page of its own without JavaScript
    form = page.select_one("form.tt-move-form")
    assert form["action"] == f"/events/{event.id}/timetable/meetings/{gd.id}/move"
    # In the card the form swaps the timetable; on its own page there is no timetable to swap: a plain post.
    assert form.has_attr("hx-post") == htmx
    assert form.select_one("input[name=csrf_token]")["value"] == token
    assert form.select_one("select[name=slot] option[selected]")["value"] == slot_value(slots_of(event)[1])
    assert form.select_one("select[name=table] option[selected]")["value"] == "1"
    waiting = soup(client.get(f"/events/{event.id}/timetable/meetings/{m['ag'].id}/move", headers=headers(htmx)))
    assert waiting.select_one("select[name=slot] option[selected]") is None  # not placed yet: nothing chosen
    assert "Place here" in waiting.select_one("form.tt-move-form button").get_text()
    # Posted from the page of its own: the move is made and the browser goes back to the timetable.
    moved = post_move(client, event, token, m["ag"], 2, "2")
    assert moved.status_code == 303 and moved.headers["location"].startswith(f"/events/{event.id}/timetable")
    session.refresh(m["ag"])
    assert (slot_value(m["ag"].starts_at), m["ag"].table_number) == (slot_value(slots_of(event)[2]), 2)


def test_no_move_form_for_a_meeting_of_another_event_or_none(client, session, settings, booked):
    event, _people, organizer, m = booked
    other = create_event(session)
    session.commit()
    organizer_token(client, organizer, event)
    for url in (f"/events/{other.id}/timetable/meetings/{m['ab'].id}/move",
                f"/events/{event.id}/timetable/meetings/999999/move"):
        assert client.get(url).status_code == 404, url
