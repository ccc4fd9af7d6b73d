"""Helpers for the event matching and timetable tests: events, registrations, availability, event requests.

Rows are created directly (the registration screens belong to another area), always through the real models.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from matchmaker.scheduling import Placement, check_schedule
from models import Event, EventBreak, EventMeeting, EventRegistration, EventUnavailableSlot
from models.base import utcnow
from tests.conftest import csrf_token
from tests.factories import create_user, login
from tests.web.requests_support import headers, member
from web.services import requests
from web.services import timetable
from web.services.event_matching import approved_org_ids
from web.services.events import slots_of
from web.services.timetable_view import slot_value


def day_after(days: int = 7, hour: int = 1) -> datetime:
    """A whole UTC hour some days from now (01:00 UTC is 10:00 in Tokyo)."""
    base = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=days)
    return base.replace(hour=hour, tzinfo=timezone.utc)


def create_event(session, **overrides) -> Event:
    """A published event a week ahead in Tokyo: 10:00-12:00 local, 20-minute slots (6), 2 tables."""
    starts = overrides.pop("starts_at", day_after())
    breaks = overrides.pop("breaks", [])
    values = {"title_en": "JCM Seminar Bangkok", "title_ja": "JCM セミナー バンコク", "venue": "Hall A",
              "time_zone": "Asia/Tokyo", "starts_at": starts, "ends_at": starts + timedelta(hours=2),
              "meeting_minutes": 20, "table_count": 2, "registration_deadline": starts - timedelta(days=1),
              "capacity": 50, "status": "published", "published_at": utcnow()}
    values.update(overrides)
    event = Event(**values)
    event.breaks = [EventBreak(starts_at=b, ends_at=e, label="Break") for b, e in breaks]
    session.add(event)
    session.flush()
    return event


def register(session, event: Event, org, status: str = "approved", unavailable: tuple[int, ...] = ()):
    """The organization's registration for the event; `unavailable` lists slot indexes it cannot meet in."""
    reg = EventRegistration(event_id=event.id, organization_id=org.id, status=status)
    session.add(reg)
    session.flush()
    set_unavailable(session, reg, unavailable)
    return reg


def set_unavailable(session, reg: EventRegistration, indexes) -> None:
    """Replace a registration's unavailable slots (by slot index)."""
    for row in list(reg.unavailable_slots):
        session.delete(row)
    session.flush()
    starts = [slot.starts_at for slot in slots_of(reg.event)]
    for index in indexes:
        session.add(EventUnavailableSlot(registration_id=reg.id, starts_at=starts[index]))
    session.flush()
    session.expire(reg, ["unavailable_slots"])


def participant(session, event: Event, name: str, status: str = "approved", unavailable=(), **kwargs):
    """A member user whose organization is registered for the event."""
    user = member(session, name, **kwargs)
    register(session, event, user.organization, status, unavailable)
    return user


def event_match(session, settings, event: Event, sender, recipient) -> EventMeeting:
    """A request tied to the event, accepted: the event meeting waiting for the timetable."""
    req = requests.request_meeting(session, settings, sender, recipient.organization_id,
                                   "Let us meet at the seminar.", event_id=event.id)
    requests.accept_meeting(session, settings, recipient, req.id)
    return session.scalar(select(EventMeeting).where(EventMeeting.request_id == req.id))


def registration_of(session, event: Event, user) -> EventRegistration:
    return session.scalar(select(EventRegistration).where(EventRegistration.event_id == event.id,
                                                          EventRegistration.organization_id == user.organization_id))


# --- the timetable page, as the organizer uses it ----------------------------------------------------------------

@pytest.fixture
def seminar(session, settings):
    """A published event (10:00-12:00 Tokyo, six 20-minute slots, two tables), four participants, an organizer."""
    event = create_event(session)
    people = {name: participant(session, event, name) for name in ("Alpha", "Beta", "Gamma", "Delta")}
    organizer = create_user(session, None, role="organizer")
    session.commit()
    return event, people, organizer


def match_pair(session, settings, event, people, a, b) -> EventMeeting:
    return event_match(session, settings, event, people[a], people[b])


def organizer_token(client, organizer, event):
    login(client, organizer)
    return csrf_token(client, f"/events/{event.id}/timetable")


def placements_of(session, event) -> dict[int, Placement]:
    session.expire_all()
    index = {s.starts_at: s.index for s in slots_of(event)}
    return {m.id: Placement(m.id, index[m.starts_at], m.table_number)
            for m in session.scalars(select(EventMeeting).where(EventMeeting.event_id == event.id))
            if m.starts_at is not None}


def check_placements(session, event) -> list[str]:
    meetings = timetable.event_meetings(session, event.id)
    problem, _slots = timetable.build_problem(session, event, meetings, approved_org_ids(session, event.id))
    return check_schedule(problem, placements_of(session, event))


def post_run(client, event, token, htmx=False):
    return client.post(f"/events/{event.id}/timetable/run", data={"csrf_token": token}, headers=headers(htmx),
                       follow_redirects=False)


def post_publish(client, event, token, htmx=False):
    return client.post(f"/events/{event.id}/timetable/publish", data={"csrf_token": token}, headers=headers(htmx),
                       follow_redirects=False)


def post_move(client, event, token, meeting, slot_index, table, htmx=False):
    slot = slot_value(slots_of(event)[slot_index]) if isinstance(slot_index, int) else slot_index
    return client.post(f"/events/{event.id}/timetable/meetings/{meeting.id}/move",
                       data={"csrf_token": token, "slot": slot, "table": table}, headers=headers(htmx),
                       follow_redirects=False)
