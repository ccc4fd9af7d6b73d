"""Event verbs: look-ups shared by registrations, the timetable, agendas and the dashboard."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from matchmaker.slots import Slot, event_slots
from models import Event, User
from web.errors import NotFound
from web.i18n import _


def slots_of(event: Event) -> list[Slot]:
    """The event's meeting slots, in time order (UTC starts identify them in storage)."""
    return event_slots(event.starts_at, event.ends_at, event.meeting_minutes,
                       [(b.starts_at, b.ends_at) for b in event.breaks])


def local(value: datetime, time_zone: str) -> datetime:
    """A stored UTC time in the given IANA zone."""
    return value.astimezone(ZoneInfo(time_zone))


def get_event(session: Session, event_id: int, viewer: User | None = None) -> Event:
    """A published event, or a draft for organizers; 404 for anything else (drafts stay unknown)."""
    event = session.get(Event, event_id)
    if event is None or not (event.is_published or (viewer is not None and viewer.is_organizer)):
        raise NotFound(_("There is no such event."))
    return event
