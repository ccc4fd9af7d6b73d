"""Helpers for the event tests: organizers, events made through the real form service, registrations."""

from __future__ import annotations

from datetime import timedelta

from models.base import utcnow
from tests.conftest import csrf_token
from tests.factories import create_user
from web.services import events, registrations
from web.services.event_form import blank_values


def organizer(session, **overrides):
    return create_user(session, role="organizer", organization=None, **overrides)


def event_values(days_ahead: int = 30, **overrides) -> dict:
    """A valid form for a seminar in Bangkok, 13:00-17:00 with a coffee break, days_ahead from today."""
    day = (utcnow() + timedelta(days=days_ahead)).date()
    values = blank_values("Asia/Bangkok") | {
        "title_en": "JCM Seminar in Thailand", "title_ja": "タイJCMセミナー", "description_en": "Meet partners.",
        "venue": "Bangkok Convention Centre", "date": day.isoformat(), "opens_at": "13:00", "closes_at": "17:00",
        "meeting_minutes": "20", "table_count": "10", "deadline_date": (day - timedelta(days=3)).isoformat(),
        "deadline_time": "17:00", "capacity": "40", "approval": "auto",
        "breaks": [{"starts": "15:00", "ends": "15:20", "label": "Coffee"}],
    }
    values.update(overrides)
    return values


def make_event(session, by=None, publish: bool = True, **overrides):
    """An event created by an organizer through the service (published unless told otherwise)."""
    by = by or organizer(session)
    event = events.create_event(session, by, event_values(**overrides))
    if publish:
        events.publish_event(session, event)
    session.flush()
    return event


def shift(session, event, days: float) -> None:
    """Move an event (and its deadline and breaks) by days, to put it in the past."""
    delta = timedelta(days=days)
    event.starts_at += delta
    event.ends_at += delta
    event.registration_deadline += delta
    for pause in event.breaks:
        pause.starts_at += delta
        pause.ends_at += delta
    session.flush()


def register(session, settings, user, event, people=None):
    rows = people or [{"name": user.full_name, "title": "Director", "email": user.email}]
    return registrations.register(session, settings, user, event.id, rows)


def events_csrf_token(client) -> str:
    """A CSRF token for the client's session, read from the events list (which anyone may open)."""
    return csrf_token(client, "/events")


def form_data(values: dict, token: str) -> dict:
    """The event form as the browser posts it (breaks as repeated fields)."""
    data = {key: value for key, value in values.items() if key != "breaks"}
    data["break_starts"] = [b["starts"] for b in values.get("breaks", [])]
    data["break_ends"] = [b["ends"] for b in values.get("breaks", [])]
    data["break_labels"] = [b["label"] for b in values.get("breaks", [])]
    data["csrf_token"] = token
    return data
