"""Helpers for the JSON API tests: logging in for the API, the CSRF header, event bodies and error checks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import Event, EventRegistration, Notification, OutboxEmail
from models.base import utcnow
from tests.conftest import csrf_token
from tests.factories import login


def api_login(client, user) -> dict[str, str]:
    """Log in (a fresh cookie jar) and return the X-CSRF-Token header for writes."""
    client.cookies.clear()
    login(client, user)
    return {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}


def anonymous_headers(client) -> dict[str, str]:
    """A visitor's valid CSRF header (read from a page), so a write reaches the login check."""
    client.cookies.clear()
    return {"X-CSRF-Token": csrf_token(client, "/events")}


def event_body(days_ahead: int = 30, **overrides) -> dict:
    """The API's body for a seminar in Bangkok, 13:00-17:00 local with a coffee break, days_ahead from today."""
    day = (utcnow() + timedelta(days=days_ahead)).date()
    body = {"title_en": "JCM Seminar in Thailand", "title_ja": "タイJCMセミナー",
            "description_en": "Meet partners.", "venue": "Bangkok Convention Centre", "time_zone": "Asia/Bangkok",
            "date": day.isoformat(), "opens_at": "13:00", "closes_at": "17:00", "meeting_minutes": 20,
            "table_count": 10,
            "deadline_date": (day - timedelta(days=3)).isoformat(), "deadline_time": "17:00", "capacity": 40,
            "auto_approve": True, "breaks": [{"starts": "15:00", "ends": "15:20", "label": "Coffee"}]}
    body.update(overrides)
    return body


def error_of(response, status: int, code: str) -> dict:
    """The ErrorResponse body, after checking the status and the code."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"], error
    return error


# --- registrations ------------------------------------------------------------------------------------

PEOPLE = [{"full_name": "Somchai P.", "job_title": "Engineer", "email": "somchai@example.com"}]


def registration_of(session, event, user) -> EventRegistration | None:
    """The user's organization's registration for the event, read afresh."""
    session.expire_all()
    return session.scalar(select(EventRegistration).where(EventRegistration.event_id == event.id,
                                                          EventRegistration.organization_id == user.organization_id))


def places(session, event) -> int:
    session.expire_all()
    return session.get(Event, event.id).places_taken


def kinds(session, user) -> list[str]:
    """The kinds of the user's notifications, sorted."""
    return sorted(session.scalars(select(Notification.kind).where(Notification.user_id == user.id)))


def mails(session, user) -> list[OutboxEmail]:
    """Emails queued for the user, oldest first."""
    return list(session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == user.email)
                                .order_by(OutboxEmail.id)))
