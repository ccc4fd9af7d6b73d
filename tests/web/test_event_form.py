"""The organizer's event form: creating an event and every refusal beside its field, breaks, time zones and DST,
and editing an event that already has registrations or a timetable."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from models import Event, EventBreak, EventMeeting, EventUnavailableSlot
from tests.conftest import csrf_token
from tests.factories import login
from tests.web.events_support import event_values, form_data, make_event, organizer, register
from tests.web.requests_support import make_match, member, soup
from web.services import events, registrations
from web.services.event_form import local_to_utc


def _post_form(client, path, values):
    token = csrf_token(client, "/events")
    return client.post(path, data=form_data(values, token), follow_redirects=False)


# --- creating -------------------------------------------------------------------------------------

def test_create_event_stores_utc_times_and_breaks(client, session):
    boss = organizer(session)
    session.commit()
    login(client, boss)
    values = event_values(date="2031-09-12", deadline_date="2031-09-05", venue="Bangkok",
                          breaks=[{"starts": "15:00", "ends": "15:20", "label": "Coffee"},
                                  {"starts": "", "ends": "", "label": ""}])
    response = _post_form(client, "/events/new", values)
    assert response.status_code == 303, response.text
    event = session.scalar(select(Event))
    assert response.headers["location"] == f"/events/{event.id}"
    assert event.status == "draft" and event.created_by_user_id == boss.id
    # 13:00 in Bangkok (UTC+7) is 06:00 UTC.
    assert event.starts_at == datetime(2031, 9, 12, 6, 0, tzinfo=timezone.utc)
    assert event.ends_at == datetime(2031, 9, 12, 10, 0, tzinfo=timezone.utc)
    assert event.registration_deadline == datetime(2031, 9, 5, 10, 0, tzinfo=timezone.utc)
    assert [(b.starts_at.hour, b.ends_at.minute, b.label) for b in event.breaks] == [(8, 20, "Coffee")]
    assert (event.table_count, event.capacity, event.auto_approve, event.meeting_minutes) == (10, 40, True, 20)
    # 13:00-15:00 gives 6 slots, 15:20-17:00 five more.
    assert len(events.slots_of(event)) == 11


def test_create_online_event_without_table_limit(client, session):
    boss = organizer(session)
    session.commit()
    login(client, boss)
    values = event_values(venue="", online_url="https://meet.example.com/jcm", table_mode="online",
                          table_count="", approval="manual")
    assert _post_form(client, "/events/new", values).status_code == 303
    event = session.scalar(select(Event))
    assert event.table_count is None and event.is_online_only and not event.auto_approve


@pytest.mark.parametrize("overrides, field, text", [
    ({"title_en": "  "}, "title_en", "English title"),
    ({"venue": "", "online_url": ""}, "venue", "venue, an online meeting link, or both"),
    ({"online_url": "javascript:alert(1)"}, "online_url", "https://"),
    ({"online_url": "ftp://files.example.com"}, "online_url", "https://"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "time zone from the list"),
    ({"date": "2031-02-30"}, "date", "real date"),
    ({"date": "next tuesday"}, "date", "real date"),
    ({"date": "2001-01-01", "deadline_date": "2000-12-01"}, "date", "have passed"),
    ({"opens_at": "25:00"}, "opens_at", "HH:MM"),
    ({"closes_at": "13:00"}, "closes_at", "after the opening time"),
    ({"closes_at": "12:00"}, "closes_at", "after the opening time"),
    ({"meeting_minutes": "0"}, "meeting_minutes", "from 5 to 240"),
    ({"meeting_minutes": "twenty"}, "meeting_minutes", "from 5 to 240"),
    ({"opens_at": "13:00", "closes_at": "13:30", "meeting_minutes": "45", "breaks": []}, "meeting_minutes",
     "No meeting slot fits"),
    ({"opens_at": "13:00", "closes_at": "14:00", "breaks": [{"starts": "13:10", "ends": "13:50", "label": "Talk"}]},
     "meeting_minutes", "No meeting slot fits"),
    ({"capacity": "0"}, "capacity", "at least 1"),
    ({"table_mode": "tables", "table_count": "0"}, "table_count", "at least one meeting table"),
    ({"table_mode": "tables", "table_count": ""}, "table_count", "at least one meeting table"),
    ({"deadline_date": "", "deadline_time": ""}, "deadline", "registration deadline as a date"),
    ({"approval": "sometimes"}, "approval", "how registrations are approved"),
])
def test_create_event_refuses_bad_input_beside_the_field(client, session, overrides, field, text):
    boss = organizer(session)
    session.commit()
    login(client, boss)
    values = event_values(**overrides)
    response = _post_form(client, "/events/new", values)
    assert response.status_code == 422
    page = soup(response)
    error = page.find(id=f"e-{field}")
    assert error is not None and text in error.get_text(), page.find(class_="flash-error")
    assert page.find(id="f-title_en")["value"] == values["title_en"]  # what was typed is kept
    assert session.scalar(select(Event)) is None


def test_deadline_after_the_opening_is_refused(client, session):
    boss = organizer(session)
    session.commit()
    login(client, boss)
    values = event_values()
    values |= {"deadline_date": values["date"], "deadline_time": "13:01"}
    response = _post_form(client, "/events/new", values)
    assert response.status_code == 422
    assert "no later than the opening" in soup(response).find(id="e-deadline").get_text()
    values["deadline_time"] = "13:00"  # at the opening exactly is fine
    assert _post_form(client, "/events/new", values).status_code == 303


@pytest.mark.parametrize("breaks, row, text", [
    ([{"starts": "14:00", "ends": "15:00", "label": "Lunch"}, {"starts": "14:30", "ends": "15:30", "label": "Talk"}],
     1, "overlaps another break"),
    ([{"starts": "12:00", "ends": "13:30", "label": "Lunch"}], 0, "outside the opening hours"),
    ([{"starts": "16:30", "ends": "17:30", "label": "Drinks"}], 0, "outside the opening hours"),
    ([{"starts": "15:00", "ends": "14:00", "label": "Oops"}], 0, "end after it starts"),
    ([{"starts": "3pm", "ends": "", "label": "Tea"}], 0, "start and end as HH:MM"),
])
def test_bad_breaks_are_refused_on_their_row(client, session, breaks, row, text):
    boss = organizer(session)
    session.commit()
    login(client, boss)
    response = _post_form(client, "/events/new", event_values(breaks=breaks))
    assert response.status_code == 422
    page = soup(response)
    assert text in page.find(id=f"e-break-{row}").get_text()
    assert page.find(id="e-breaks") is not None
    assert [i["value"] for i in page.select("input[name=break_labels]")] == [b["label"] for b in breaks]
    assert session.scalar(select(EventBreak)) is None and session.scalar(select(Event)) is None


def test_break_list_add_and_remove_work_without_javascript(client, session):
    boss = organizer(session)
    session.commit()
    login(client, boss)
    token = csrf_token(client, "/events/new")
    values = event_values(breaks=[{"starts": "14:00", "ends": "14:20", "label": "Tea"}])
    added = client.post("/events/new", data=form_data(values, token) | {"list_add": "breaks"})
    assert added.status_code == 200
    assert [i["value"] for i in soup(added).select("input[name=break_labels]")] == ["Tea", ""]
    removed = client.post("/events/new", data=form_data(values, token) | {"list_remove": "breaks:0"})
    assert soup(removed).select("input[name=break_labels]") == []
    assert session.scalar(select(Event)) is None  # the buttons never save


def test_nonexistent_local_time_at_dst_change_is_refused(client, session):
    """Santiago skips 00:00-01:00 on 2031-09-07 and repeats 23:00-24:00 on 2031-04-05."""
    with pytest.raises(ValueError, match="missing"):
        local_to_utc(date(2031, 9, 7), datetime.strptime("00:30", "%H:%M").time(), "America/Santiago")
    with pytest.raises(ValueError, match="ambiguous"):
        local_to_utc(date(2031, 4, 5), datetime.strptime("23:30", "%H:%M").time(), "America/Santiago")
    boss = organizer(session)
    session.commit()
    login(client, boss)
    values = event_values(time_zone="America/Santiago", date="2031-09-07", opens_at="00:30", closes_at="04:00",
                          deadline_date="2031-09-01", breaks=[])
    response = _post_form(client, "/events/new", values)
    assert response.status_code == 422
    assert "does not exist on 2031-09-07 in America/Santiago" in soup(response).find(id="e-opens_at").get_text()
    values |= {"date": "2031-04-05", "opens_at": "20:00", "closes_at": "23:30", "deadline_date": "2031-04-01"}
    response = _post_form(client, "/events/new", values)
    assert "happens twice" in soup(response).find(id="e-closes_at").get_text()
    assert session.scalar(select(Event)) is None


def test_time_zone_picker_is_grouped_with_offsets(client, session):
    boss = organizer(session)
    session.commit()
    login(client, boss)
    page = soup(client.get("/events/new"))
    select_ = page.find("select", id="f-time_zone")
    groups = [g["label"] for g in select_.find_all("optgroup")]
    assert groups[0] == "Japan and JCM partner countries" and "Asia" in groups and "Americas" in groups
    featured = [o.get_text() for o in select_.find("optgroup").find_all("option")]
    assert featured[0].startswith("Japan — UTC+09:00") and any(t.startswith("Thailand — UTC+07:00") for t in featured)
    assert len(select_.find_all("option")) < 520
    assert select_.find("option", selected=True)["value"] == "Asia/Tokyo"


# --- editing -----------------------------------------------------------------------------------

def test_edit_keeps_registrations_and_shows_current_values(client, session, settings):
    boss = organizer(session)
    event = make_event(session, by=boss, date="2031-09-12", deadline_date="2031-09-05")
    alice = member(session)
    register(session, settings, alice, event)
    session.commit()
    login(client, boss)
    page = soup(client.get(f"/events/{event.id}/edit"))
    assert page.find(id="f-date")["value"] == "2031-09-12" and page.find(id="f-opens_at")["value"] == "13:00"
    assert page.find(id="edit-registrations-note") is not None
    values = event_values(date="2031-09-12", deadline_date="2031-09-05", title_en="JCM Seminar (renamed)",
                          capacity="50")
    assert _post_form(client, f"/events/{event.id}/edit", values).status_code == 303
    session.expire_all()
    event = session.get(Event, event.id)
    assert event.title_en == "JCM Seminar (renamed)" and event.capacity == 50 and event.places_taken == 1
    assert registrations.own_registration(session, event, alice.organization_id).status == "approved"


def test_edit_refusal_keeps_the_stored_event(client, session):
    boss = organizer(session)
    event = make_event(session, by=boss)
    session.commit()
    login(client, boss)
    response = _post_form(client, f"/events/{event.id}/edit", event_values(title_en="New", closes_at="12:00"))
    assert response.status_code == 422 and soup(response).find(id="f-title_en")["value"] == "New"
    session.expire_all()
    assert session.get(Event, event.id).title_en == "JCM Seminar in Thailand"


def test_capacity_below_places_held_is_refused(client, session, settings):
    boss = organizer(session)
    event = make_event(session, by=boss)
    for _ in range(2):
        register(session, settings, member(session), event)
    session.commit()
    login(client, boss)
    response = _post_form(client, f"/events/{event.id}/edit", event_values(capacity="1"))
    assert response.status_code == 422
    assert "2 organizations already hold a place" in soup(response).find(id="e-capacity").get_text()


def test_edit_changing_slots_under_a_timetable_says_to_run_it_again(client, session, settings):
    boss = organizer(session)
    event = make_event(session, by=boss, date="2031-09-12", deadline_date="2031-09-05")
    alice, bob = member(session), member(session)
    reg = register(session, settings, alice, event)
    register(session, settings, bob, event)
    first, last = events.slots_of(event)[0], events.slots_of(event)[-1]
    session.add_all([EventUnavailableSlot(registration_id=reg.id, starts_at=first.starts_at),
                     EventUnavailableSlot(registration_id=reg.id, starts_at=last.starts_at)])
    req = make_match(session, settings, alice, bob)
    session.add(EventMeeting(event_id=event.id, request_id=req.id, starts_at=first.starts_at, table_number=1))
    session.commit()
    login(client, boss)
    # Opening half an hour later moves every slot.
    values = event_values(date="2031-09-12", deadline_date="2031-09-05", opens_at="13:30")
    response = client.post(f"/events/{event.id}/edit", data=form_data(values, csrf_token(client, "/events")))
    assert response.status_code == 200
    page = soup(response)
    assert "timetable must be run again" in page.find(class_="flash-warn").get_text()
    assert "1 placed meeting no longer fits" in page.find(id="stale-timetable").get_text()
    session.expire_all()
    # The 13:00 slot is gone (its unavailability with it); 16:40 still exists.
    left = session.scalars(select(EventUnavailableSlot.starts_at)).all()
    assert left == [last.starts_at]


def test_edit_without_slot_change_gives_no_timetable_warning(client, session, settings):
    boss = organizer(session)
    event = make_event(session, by=boss, date="2031-09-12", deadline_date="2031-09-05")
    alice, bob = member(session), member(session)
    req = make_match(session, settings, alice, bob)
    session.add(EventMeeting(event_id=event.id, request_id=req.id,
                             starts_at=events.slots_of(event)[0].starts_at, table_number=1))
    session.commit()
    login(client, boss)
    values = event_values(date="2031-09-12", deadline_date="2031-09-05", title_en="Renamed")
    page = soup(client.post(f"/events/{event.id}/edit", data=form_data(values, csrf_token(client, "/events"))))
    assert page.find(class_="flash-warn") is None and page.find(id="stale-timetable") is None
