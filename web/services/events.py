"""Event verbs: look-ups shared by registrations, the timetable, agendas and the dashboard; the
organizer's create, edit, publish and unpublish; the public lists; times for display."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from matchmaker.slots import Slot, event_slots
from models import Event, EventBreak, EventMeeting, EventRegistration, EventUnavailableSlot, User
from models.base import utcnow
from web.errors import DomainError, Forbidden, NotFound
from web.i18n import _, city_name, offset_text
from web.services.event_form import EventInput, validate_event


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


# --- the organizer's verbs -----------------------------------------------------------------------

def _apply(event: Event, data: EventInput) -> None:
    for name in ("title_en", "title_ja", "description_en", "description_ja", "venue", "online_url", "time_zone",
                 "starts_at", "ends_at", "meeting_minutes", "table_count", "registration_deadline", "capacity",
                 "auto_approve"):
        setattr(event, name, getattr(data, name))
    event.breaks = [EventBreak(starts_at=start, ends_at=end, label=label) for start, end, label in data.breaks]


def create_event(session: Session, user: User, values: dict[str, Any], now: datetime | None = None) -> Event:
    """A new draft event from the organizer's form (ValidationFailed stores nothing)."""
    data = validate_event(values, now or utcnow())
    event = Event(status="draft", created_by_user_id=user.id, places_taken=0)
    _apply(event, data)
    session.add(event)
    session.flush()
    return event


@dataclass
class EventUpdate:
    """What an edit changed that someone must act on."""

    slots_changed: bool
    timetable_affected: bool
    availability_cleared: int


def update_event(session: Session, event: Event, values: dict[str, Any], now: datetime | None = None) -> EventUpdate:
    """Save the organizer's changes; registrations stay, availability for slots that no longer exist goes."""
    before = {slot.starts_at for slot in slots_of(event)}
    data = validate_event(values, now or utcnow(), event)
    _apply(event, data)
    session.flush()
    session.refresh(event, ["breaks"])
    after = {slot.starts_at for slot in slots_of(event)}
    cleared = 0
    if before != after:
        registrations = select(EventRegistration.id).where(EventRegistration.event_id == event.id)
        stale = (EventUnavailableSlot.registration_id.in_(registrations)
                 & EventUnavailableSlot.starts_at.not_in(after) if after else
                 EventUnavailableSlot.registration_id.in_(registrations))
        cleared = session.execute(delete(EventUnavailableSlot).where(stale)
                                  .execution_options(synchronize_session=False)).rowcount or 0
    return EventUpdate(slots_changed=before != after,
                       timetable_affected=before != after and has_timetable(session, event),
                       availability_cleared=cleared)


def publish_event(session: Session, event: Event) -> Event:
    """Make a draft visible to everyone (registration opens if the deadline allows)."""
    if event.ends_at <= utcnow():
        raise DomainError(_("This event is over: it cannot be published."), status_code=409, code="event_over")
    if not event.is_published:
        event.status = "published"
        event.published_at = event.published_at or utcnow()
        session.flush()
    return event


def unpublish_event(session: Session, event: Event) -> Event:
    """Back to draft: only organizers see it; registrations are kept for when it is published again."""
    if event.is_published:
        event.status = "draft"
        session.flush()
    return event


def has_timetable(session: Session, event: Event) -> bool:
    """True once any meeting of the event has been placed or the timetable was published."""
    if event.timetable_published_at is not None:
        return True
    placed = select(EventMeeting.id).where(EventMeeting.event_id == event.id, EventMeeting.starts_at.is_not(None))
    return session.scalar(placed.limit(1)) is not None


def stale_placements(session: Session, event: Event) -> int:
    """Placed meetings whose slot or table no longer exists (the timetable must be run again)."""
    starts = {slot.starts_at for slot in slots_of(event)}
    rows = session.execute(select(EventMeeting.starts_at, EventMeeting.table_number)
                           .where(EventMeeting.event_id == event.id, EventMeeting.starts_at.is_not(None))).all()
    return sum(1 for start, table in rows if start not in starts
               or (event.table_count is not None and table is not None and table > event.table_count))


# --- lists ---------------------------------------------------------------------------------------

def _in_time(when: str, now: datetime):
    """Upcoming (not ended yet, soonest first) or past (ended, latest first): the condition and the order."""
    if when == "past":
        return Event.ends_at <= now, (Event.starts_at.desc(), Event.id.desc())
    return Event.ends_at > now, (Event.starts_at, Event.id)


def list_events(session: Session, viewer: User | None, now: datetime | None = None) -> dict[str, list[Event]]:
    """Published upcoming (soonest first) and past (latest first) events; drafts for organizers."""
    now = now or utcnow()
    published = Event.status == "published"
    lists: dict[str, Any] = {"upcoming": [], "past": [], "drafts": []}
    for when in ("upcoming", "past"):
        condition, order = _in_time(when, now)
        query = select(Event).where(published, condition).order_by(*order)
        lists[when] = session.scalars(query.limit(100) if when == "past" else query).all()
    if viewer is not None and viewer.is_organizer:
        lists["drafts"] = session.scalars(select(Event).where(Event.status == "draft")
                                          .order_by(Event.starts_at.desc(), Event.id.desc())).all()
    return {key: list(rows) for key, rows in lists.items()}


def page_events(session: Session, viewer: User | None, when: str = "upcoming", *, status: str = "",
                limit: int = 20, offset: int = 0, now: datetime | None = None) -> tuple[list[Event], int]:
    """One page of upcoming or past events in the list's order, and how many there are in all.

    Everyone sees published events; organizers see drafts among them too (or only one status with `status`).
    """
    condition, order = _in_time(when, now or utcnow())
    if viewer is not None and viewer.is_organizer:
        visible = Event.status == status if status else Event.status.in_(("draft", "published"))
    elif status == "draft":
        raise Forbidden(_("Only organizers can see draft events."))
    else:
        visible = Event.status == "published"
    query = select(Event).where(visible, condition)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()
    return list(rows), total


def shows_online_link(viewer: User | None, registration: EventRegistration | None) -> bool:
    """The online meeting link is for organizers and approved participants only."""
    return (viewer is not None and viewer.is_organizer) or (registration is not None
                                                            and registration.status == "approved")


def registrations_by_event(session: Session, org_id: int | None, event_ids: list[int]) -> dict[int, EventRegistration]:
    """The organization's registration per event, for badges on the list."""
    if org_id is None or not event_ids:
        return {}
    rows = session.scalars(select(EventRegistration).where(EventRegistration.organization_id == org_id,
                                                           EventRegistration.event_id.in_(event_ids)))
    return {reg.event_id: reg for reg in rows}


def registration_counts(session: Session, event: Event) -> dict[str, int]:
    """Registrations per status (and all) for the organizer."""
    counts = dict(session.execute(select(EventRegistration.status, func.count())
                                  .where(EventRegistration.event_id == event.id)
                                  .group_by(EventRegistration.status)).all())
    return {key: counts.get(key, 0) for key in ("pending", "approved", "rejected", "withdrawn")} | {
        "all": sum(counts.values())}


# --- times for display ---------------------------------------------------------------------------

def places_left(event: Event) -> int:
    return max(0, event.capacity - event.places_taken)


def is_over(event: Event, now: datetime | None = None) -> bool:
    return event.ends_at <= (now or utcnow())


def zone_text(zone: str, at: datetime, language: str) -> str:
    """Bangkok (UTC+07:00): the city in the language and the offset on that day."""
    return f"{city_name(zone, language)} ({offset_text(zone, at)})"


def span_text(start: datetime, end: datetime, zone: str, language: str, with_date: bool = True) -> str:
    """Saturday, September 12, 2026, 13:00–17:00 in the zone (24:00 or "next day" past midnight)."""
    begin, finish = local(start, zone), local(end, zone)
    hours = f"{begin:%H:%M}–{finish:%H:%M}"
    if finish.date() > begin.date():
        if finish.hour == 0 and finish.minute == 0 and (finish.date() - begin.date()).days == 1:
            hours = f"{begin:%H:%M}–24:00"
        else:
            hours = _("%(start)s–%(end)s (next day)") % {"start": f"{begin:%H:%M}", "end": f"{finish:%H:%M}"}
    if not with_date:
        return hours
    return _("%(date)s, %(hours)s") % {"date": format_date(begin.date(), "full", locale=language), "hours": hours}


def when(event: Event, viewer_zone: str, language: str) -> dict[str, Any]:
    """The event's day and hours in its own zone and, when different, in the viewer's."""
    deadline = local(event.registration_deadline, event.time_zone)
    result: dict[str, Any] = {
        "event": span_text(event.starts_at, event.ends_at, event.time_zone, language),
        "event_zone": zone_text(event.time_zone, event.starts_at, language),
        "date_short": format_date(local(event.starts_at, event.time_zone).date(), "medium", locale=language),
        "day": local(event.starts_at, event.time_zone).day,
        "month": format_date(local(event.starts_at, event.time_zone).date(), "MMM", locale=language),
        "deadline": _day_time(deadline, language),
        "viewer": "", "viewer_zone": "", "viewer_deadline": "",
    }
    if _differs(event.time_zone, viewer_zone, event.starts_at):
        viewer_deadline = local(event.registration_deadline, viewer_zone)
        result |= {
            "viewer": span_text(event.starts_at, event.ends_at, viewer_zone, language),
            "viewer_zone": zone_text(viewer_zone, event.starts_at, language),
            "viewer_deadline": _day_time(viewer_deadline, language),
        }
    return result


def _day_time(value: datetime, language: str) -> str:
    return _("%(date)s, %(hours)s") % {"date": format_date(value.date(), "full", locale=language),
                                        "hours": f"{value:%H:%M}"}


def _differs(zone: str, other: str, at: datetime) -> bool:
    """Two zones show different wall clocks at that moment (Asia/Tokyo and Japan do not)."""
    try:
        return zone != other and local(at, zone).utcoffset() != local(at, other).utcoffset()
    except (KeyError, ValueError):
        return False


def slot_rows(event: Event, viewer_zone: str, language: str) -> list[dict[str, Any]]:
    """Slots and breaks in time order for the availability grid: times in the event's zone and the viewer's."""
    show_viewer = _differs(event.time_zone, viewer_zone, event.starts_at)
    event_day = local(event.starts_at, viewer_zone).date()
    rows: list[dict[str, Any]] = []
    for slot in slots_of(event):
        row = {"kind": "slot", "slot": slot, "value": slot.starts_at.isoformat(), "at": slot.starts_at,
               "event": span_text(slot.starts_at, slot.ends_at, event.time_zone, language, with_date=False),
               "viewer": ""}
        if show_viewer:
            begin = local(slot.starts_at, viewer_zone)
            text = span_text(slot.starts_at, slot.ends_at, viewer_zone, language, with_date=False)
            row["viewer"] = (text if begin.date() == event_day
                             else f"{format_date(begin.date(), 'medium', locale=language)} {text}")
        rows.append(row)
    for pause in event.breaks:
        rows.append({"kind": "break", "label": pause.label, "at": pause.starts_at,
                     "event": span_text(pause.starts_at, pause.ends_at, event.time_zone, language, with_date=False)})
    return sorted(rows, key=lambda row: (row["at"], row["kind"] == "slot"))
