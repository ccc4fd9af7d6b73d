"""Helpers for the event matching and timetable tests: events, registrations, availability, event requests.

Rows are created directly (the registration screens belong to another area), always through the real models.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from models import Event, EventBreak, EventMeeting, EventRegistration, EventUnavailableSlot
from models.base import utcnow
from tests.web.requests_support import member
from web.services import requests
from web.services.events import slots_of


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
