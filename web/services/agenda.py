"""A member organization's agenda: its approved events, its published event meetings and the meetings it
confirmed outside events, with every time in the item's own zone and in the viewer's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_skeleton, format_time, get_timezone_location
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from models import Event, EventMeeting, EventRegistration, MeetingProposal, MeetingRequest, Organization
from models.base import utcnow
from web import i18n
from web.i18n import _

PAST_LIMIT = 100


def zone_info(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """The IANA zone, or the fallback when the name is empty or unknown."""
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def is_zone(name: str | None) -> bool:
    """True for a known IANA zone name."""
    try:
        ZoneInfo(name or "")
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_label(zone: str) -> str:
    """A zone as people say it, in the current language: "Chile (Santiago) Time", "日本時間"."""
    if zone in ("UTC", "Etc/UTC"):
        return "UTC"
    return get_timezone_location(zone_info(zone), locale=i18n.current_language())


def day_label(day: date) -> str:
    return format_date(day, format="full", locale=i18n.current_language())


def time_span(starts_at: datetime, ends_at: datetime, zone: str, day: date | None = None) -> str:
    """"9:00 AM – 9:20 AM" in a zone; with the date when it is not `day` (or when no day is given)."""
    language = i18n.current_language()
    start, end = starts_at.astimezone(zone_info(zone)), ends_at.astimezone(zone_info(zone))

    def on(moment: datetime, with_date: bool) -> str:
        clock = format_time(moment, format="short", locale=language)
        if not with_date:
            return clock
        return _("%(date)s, %(time)s") % {"date": format_skeleton("MMMEd", moment, locale=language), "time": clock}

    first = on(start, start.date() != day)
    last = on(end, end.date() != start.date())
    return f"{first} – {last}"


def when(starts_at: datetime, ends_at: datetime, zone: str) -> str:
    """A span with its date and zone, for emails and calendar text: "Thu, Dec 10 9:00 AM – 10:00 AM (Japan Time)"."""
    return f"{time_span(starts_at, ends_at, zone)} ({zone_label(zone)})"


@dataclass
class AgendaItem:
    """One thing in an agenda: an event, a meeting at an event, or a meeting arranged outside events."""

    kind: str  # "event" | "event_meeting" | "meeting"
    key: int  # the row's id: event, event meeting or proposal
    starts_at: datetime
    ends_at: datetime
    zone: str
    updated_at: datetime
    status: str = "confirmed"  # or "cancelled" (kept in calendar files so subscribers see it go)
    sequence: int = 0
    event: Event | None = None
    request: MeetingRequest | None = None
    other: Organization | None = None
    table_number: int | None = None
    location: str = ""
    online_url: str = ""
    message: str = ""

    @property
    def link(self) -> str:
        """The page about the item: the match for a meeting, the event's page for an event."""
        if self.kind == "event":
            return f"/events/{self.key}"
        return f"/matches/{self.request.id}"

    def uid(self, host: str) -> str:
        prefix = {"event": "event", "event_meeting": "event-meeting", "meeting": "meeting"}[self.kind]
        return f"{prefix}-{self.key}@{host}"

    def title(self, language: str) -> str:
        if self.kind == "event":
            return self.event.title(language)
        return _("Meeting with %(org)s") % {"org": self.other.name}


@dataclass
class ItemView:
    item: AgendaItem
    own_time: str
    own_zone: str
    viewer_time: str = ""  # empty when the viewer's zone is the item's
    viewer_zone: str = ""


@dataclass
class DayGroup:
    day: date
    label: str
    items: list[ItemView] = field(default_factory=list)


def _registered_events(org_id: int):
    return select(EventRegistration.event_id).where(EventRegistration.organization_id == org_id,
                                                    EventRegistration.status == "approved")


def _involves(org_id: int):
    return or_(MeetingRequest.requester_org_id == org_id, MeetingRequest.recipient_org_id == org_id)


def registered_events(session: Session, org_id: int) -> list[Event]:
    """Published events the organization is registered for (approved), in time order."""
    return list(session.scalars(select(Event).where(Event.id.in_(_registered_events(org_id)),
                                                    Event.status == "published").order_by(Event.starts_at)))


def event_item(event: Event) -> AgendaItem:
    """The event itself as an agenda item."""
    return AgendaItem(kind="event", key=event.id, starts_at=event.starts_at, ends_at=event.ends_at,
                      zone=event.time_zone, updated_at=event.updated_at, sequence=_sequence_from(event.updated_at),
                      event=event, location=event.venue, online_url=event.online_url)


def event_meeting_item(meeting: EventMeeting, org_id: int) -> AgendaItem:
    """A published meeting at an event as one side sees it; taken off after publishing, a cancelled item."""
    event, live = meeting.event, meeting.published_starts_at is not None
    # A cancelled entry needs a time: the old one is gone, so it sits at the event's opening.
    starts = meeting.published_starts_at if live else event.starts_at
    return AgendaItem(
        kind="event_meeting", key=meeting.id, starts_at=starts,
        ends_at=starts + timedelta(minutes=event.meeting_minutes), zone=event.time_zone,
        updated_at=meeting.updated_at, status="confirmed" if live else "cancelled", sequence=meeting.sequence,
        event=event, request=meeting.request, other=meeting.request.other_org(org_id),
        table_number=meeting.published_table_number if live else None, location=event.venue,
        online_url=event.online_url)


def outside_meeting_item(proposal: MeetingProposal, org_id: int) -> AgendaItem:
    """A confirmed (or cancelled) meeting arranged outside events, as one side sees it."""
    option = proposal.confirmed_option
    return AgendaItem(
        kind="meeting", key=proposal.id, starts_at=option.starts_at, ends_at=option.ends_at,
        zone=proposal.time_zone, updated_at=proposal.updated_at, status=proposal.status,
        sequence=proposal.sequence, request=proposal.request, other=proposal.request.other_org(org_id),
        location=option.location, online_url=option.online_url, message=proposal.message)


def _event_items(session: Session, org_id: int, event_id: int | None) -> list[AgendaItem]:
    return [event_item(e) for e in registered_events(session, org_id) if event_id is None or e.id == event_id]


def _sequence_from(moment: datetime) -> int:
    """Events have no sequence column: minutes since 2020 rise with every edit and fit iCalendar's integer."""
    return max(int((moment - datetime(2020, 1, 1, tzinfo=moment.tzinfo)).total_seconds() // 60), 0)


def event_meeting_items(session: Session, org_id: int, event_id: int | None,
                        include_cancelled: bool = False) -> list[AgendaItem]:
    """The organization's published meetings at events it is registered for (one event's with event_id)."""
    shown = EventMeeting.published_starts_at.is_not(None)
    if include_cancelled:
        # Taken off after being published: kept as a cancelled entry so calendars drop it.
        shown = or_(shown, EventMeeting.published_at.is_not(None))
    query = (select(EventMeeting).options(joinedload(EventMeeting.event))
             .join(MeetingRequest, EventMeeting.request_id == MeetingRequest.id)
             .join(Event, EventMeeting.event_id == Event.id)
             .where(_involves(org_id), shown, Event.status == "published",
                    EventMeeting.event_id.in_(_registered_events(org_id))))
    if event_id is not None:
        query = query.where(EventMeeting.event_id == event_id)
    return [event_meeting_item(meeting, org_id) for meeting in session.scalars(query)]


def _outside_meeting_items(session: Session, org_id: int, include_cancelled: bool) -> list[AgendaItem]:
    statuses = ("confirmed", "cancelled") if include_cancelled else ("confirmed",)
    query = (select(MeetingProposal).join(MeetingRequest, MeetingProposal.request_id == MeetingRequest.id)
             .where(_involves(org_id), MeetingProposal.status.in_(statuses),
                    MeetingProposal.confirmed_option_id.is_not(None)))
    return [outside_meeting_item(proposal, org_id) for proposal in session.scalars(query)
            if proposal.confirmed_option is not None]


def agenda_items(session: Session, org_id: int | None, *, event_id: int | None = None,
                 include_cancelled: bool = False) -> list[AgendaItem]:
    """Everything on the organization's agenda in time order (one event's items with event_id)."""
    if org_id is None:
        return []
    items = _event_items(session, org_id, event_id)
    items += event_meeting_items(session, org_id, event_id, include_cancelled)
    if event_id is None:
        items += _outside_meeting_items(session, org_id, include_cancelled)
    # Events before the meetings that start with them, then by kind and id for a stable order.
    order = {"event": 0, "event_meeting": 1, "meeting": 1}
    return sorted(items, key=lambda item: (item.starts_at, order[item.kind], item.ends_at, item.key))


def _group(items: list[AgendaItem], viewer_zone: str) -> list[DayGroup]:
    """Group by day: in the items' own zone when they share one (one event's day stays one day), else the viewer's."""
    zones = {item.zone for item in items}
    group_zone = zones.pop() if len(zones) == 1 else viewer_zone
    groups = []
    for day, day_items in groupby(items, key=lambda item: item.starts_at.astimezone(zone_info(group_zone)).date()):
        group = DayGroup(day=day, label=day_label(day))
        for item in day_items:
            # A time carries its date only when that differs from the heading's (a Santiago evening is a Tokyo morning).
            view = ItemView(item=item, own_time=time_span(item.starts_at, item.ends_at, item.zone, day),
                            own_zone=zone_label(item.zone))
            if item.zone != viewer_zone:
                view.viewer_time = time_span(item.starts_at, item.ends_at, viewer_zone, day)
                view.viewer_zone = zone_label(viewer_zone)
            group.items.append(view)
        groups.append(group)
    return groups


def agenda_view(session: Session, org_id: int | None, viewer_zone: str, *, event_id: int | None = None,
                now: datetime | None = None) -> dict:
    """The agenda page: upcoming (with what is under way) and past items grouped by day, and the event filter."""
    now = now or utcnow()
    items = agenda_items(session, org_id, event_id=event_id)
    upcoming = [item for item in items if item.ends_at > now]
    past = [item for item in items if item.ends_at <= now][-PAST_LIMIT:]
    past_groups = _group(past, viewer_zone)
    past_groups.reverse()
    return {"upcoming": _group(upcoming, viewer_zone), "past": past_groups,
            "viewer_zone_label": zone_label(viewer_zone),
            "events": registered_events(session, org_id) if org_id is not None else []}
