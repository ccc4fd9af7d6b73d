"""Factories for the agenda, proposal and reminder tests: events, registrations, published event meetings
and proposals as rows, made directly (the event and timetable screens are built elsewhere)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar

from models import Event, EventMeeting, EventRegistration
from models.base import utcnow
from tests.web.requests_support import make_match, member
from web.services import proposals

SANTIAGO = "America/Santiago"
TOKYO = "Asia/Tokyo"


def at(zone: str, days: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time `days` from today in a zone, as an aware datetime in that zone."""
    day = (utcnow().astimezone(ZoneInfo(zone)) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))


def create_event(session, *, zone: str = SANTIAGO, days: int = 10, start_hour: int = 9, hours: int = 8,
                 status: str = "published", **overrides) -> Event:
    """A one-day seminar `days` from now, 09:00-17:00 in its zone, with 20-minute meetings at 10 tables."""
    starts = at(zone, days, start_hour)
    values = {"title_en": "JCM Seminar Santiago", "title_ja": "JCMセミナー サンティアゴ",
              "venue": "Hotel Plaza, Santiago", "online_url": "", "time_zone": zone, "starts_at": starts,
              "ends_at": starts + timedelta(hours=hours),
              "meeting_minutes": 20, "table_count": 10, "registration_deadline": starts - timedelta(days=2),
              "capacity": 50, "status": status, "published_at": utcnow() if status == "published" else None}
    values.update(overrides)
    event = Event(**values)
    session.add(event)
    session.flush()
    return event


def register(session, event: Event, org_id: int, status: str = "approved") -> EventRegistration:
    registration = EventRegistration(event_id=event.id, organization_id=org_id, status=status)
    session.add(registration)
    session.flush()
    return registration


def publish_meeting(session, event: Event, req, starts_at: datetime, table: int | None = 1) -> EventMeeting:
    """An event meeting placed and published, as the timetable's publish step leaves it (sequence 1)."""
    now = utcnow()
    meeting = EventMeeting(event_id=event.id, request_id=req.id, starts_at=starts_at, table_number=table,
                           published_starts_at=starts_at, published_table_number=table, published_at=now, sequence=1)
    session.add(meeting)
    session.flush()
    return meeting


def republish(session, meeting: EventMeeting, starts_at: datetime | None, table: int | None) -> EventMeeting:
    """Move (or, with None, take off) a published meeting and publish again: the sequence rises."""
    meeting.starts_at = meeting.published_starts_at = starts_at
    meeting.table_number = meeting.published_table_number = table
    meeting.published_at = utcnow()
    meeting.sequence += 1
    session.flush()
    return meeting


def matched_pair(session, settings, alpha: str = "Alpha Energy", beta: str = "Beta Solar", **beta_user):
    """Two approved organizations with one user each, matched; returns (alice, bob, request)."""
    alice = member(session, alpha)
    bob = member(session, beta, **beta_user)
    return alice, bob, make_match(session, settings, alice, bob)


def option(start: datetime, minutes: int = 60, location: str = "Head office, Tokyo", online_url: str = "",
           use_end: bool = True) -> dict[str, str]:
    """The form's strings for one proposed time (start given in the proposer's zone)."""
    end = start + timedelta(minutes=minutes)
    return {"date": start.date().isoformat(), "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M") if use_end else "", "duration": "" if use_end else str(minutes),
            "location": location, "online_url": online_url}


def propose(session, settings, user, req, *starts: datetime, message: str = "Shall we meet?", **kwargs):
    return proposals.propose_meeting(session, settings, user, req.id, [option(s, **kwargs) for s in starts], message)


def confirmed_meeting(session, settings, proposer, answerer, req, start: datetime, **kwargs):
    proposal = propose(session, settings, proposer, req, start, **kwargs)
    return proposals.confirm_proposal(session, settings, answerer, req.id, proposal.id, proposal.options[0].id)


def parse_calendar(body: bytes) -> Calendar:
    return Calendar.from_ical(body)


def vevents(calendar: Calendar) -> dict[str, object]:
    """UID -> VEVENT."""
    return {str(component["uid"]): component for component in calendar.walk("VEVENT")}
