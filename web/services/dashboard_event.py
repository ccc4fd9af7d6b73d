"""One event's dashboard: registrations, its requests, the timetable's progress and its slots' use."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from models import MEETING_STATUSES, REGISTRATION_STATUSES, Event, EventMeeting, EventRegistration, MeetingRequest
from models.base import utcnow
from web.errors import NotFound
from web.i18n import _
from web.services.charts import Category, Chart, Series
from web.services.dashboard import (
    EVENT_DAYS,
    REGISTRATION_LABELS,
    STATUS_COLOURS,
    Dashboard,
    Scope,
    activity_chart,
    categories_chart,
    countries_chart,
    first_activity,
    count_funnel,
    funnel_chart,
    status_chart,
    today_in,
)
from web.services.events import local, slots_of
from web.services.timetable_view import reason_key, reason_label
from web.services.requests import status_label as request_status_label


def _registrations_chart(counts: dict[str, int]) -> Chart:
    chart = status_chart("registrations", _("Registrations by status"),
                          _("Organizations that registered for this event, by the state of their registration."),
                          _("Status"), REGISTRATION_STATUSES, counts, lambda s: _(REGISTRATION_LABELS.get(s, s)),
                          _("No organization has registered yet."))
    return chart


def _requests_chart(counts: dict[str, int]) -> Chart:
    return status_chart("requests", _("Meeting requests by status"),
                         _("Requests made for this event, by their answer so far."), _("Status"), MEETING_STATUSES,
                         counts, request_status_label, _("No meeting request has been made for this event yet."))


def _unplaced_chart(scope: Scope) -> Chart:
    rows = scope.session.execute(
        select(EventMeeting.unplaced_reason, func.count())
        .join(MeetingRequest, MeetingRequest.id == EventMeeting.request_id)
        .where(scope.meetings(), EventMeeting.starts_at.is_(None))
        .group_by(EventMeeting.unplaced_reason)).all()
    # Codes name the organization ('party_busy:12'): count by the reason alone.
    counts: dict[str, int] = {}
    for code, n in rows:
        counts[reason_key(code or "")] = counts.get(reason_key(code or ""), 0) + n
    rows = sorted(counts.items(), key=lambda row: (-row[1], row[0]))
    return Chart("unplaced", "bars", _("Meetings not placed, by reason"),
                 _("Accepted requests of this event that have no slot in the working timetable, and why."),
                 _("Reason"), [Category(reason_label(code)) for code, _n in rows],
                 [Series(_("Meetings"), [n for _c, n in rows], STATUS_COLOURS["pending"])],
                 empty_text=_("Every accepted meeting has a place in the timetable."))


def _event_activity(scope: Scope) -> Chart:
    event = scope.event
    measures = [
        (_("Registrations"), EventRegistration.created_at, EventRegistration.event_id == event.id),
        (_("Meeting requests"), MeetingRequest.created_at, MeetingRequest.event_id == event.id),
    ]
    last = min(today_in(scope), local(event.starts_at, event.time_zone).date())
    first = first_activity(scope.session, [(column, condition) for _l, column, condition in measures])
    start = None if first is None else max(first.astimezone(scope.zone).date(), last - timedelta(days=EVENT_DAYS - 1))
    return activity_chart(scope, "activity", _("Activity per day up to the event"),
                           _("Days in the event's time zone (%(zone)s); at most the %(n)d days before the event.")
                           % {"zone": event.time_zone, "n": EVENT_DAYS},
                           _("Day"), measures, start, last, False, _("No registrations or requests yet."),
                           _("No registrations or requests in the days before the event."))


def _slots_chart(scope: Scope) -> Chart:
    event = scope.event
    placed = dict(scope.session.execute(
        select(EventMeeting.starts_at, func.count())
        .join(MeetingRequest, MeetingRequest.id == EventMeeting.request_id)
        .where(scope.meetings(), EventMeeting.starts_at.is_not(None))
        .group_by(EventMeeting.starts_at)).all())
    slots = [(slot.starts_at, slot.ends_at) for slot in slots_of(event)]
    starts = {start for start, _end in slots}
    # Meetings left at a time that is no longer a slot (the event's hours changed) are shown, not lost.
    strays = sorted(start for start in placed if start not in starts)
    length = timedelta(minutes=event.meeting_minutes)
    times = sorted(slots + [(start, start + length) for start in strays])
    categories = []
    for start, end in times:
        begin, finish = local(start, event.time_zone), local(end, event.time_zone)
        label = f"{begin:%H:%M}–{finish:%H:%M}" + ("" if start in starts else " " + _("(not a slot now)"))
        categories.append(Category(label, f"{begin:%H:%M}"))
    used = [placed.get(start, 0) for start, _end in times]
    extra, reference = [], None
    if event.table_count:
        extra = [Series(_("Free tables"), [max(event.table_count - n, 0) for n in used])]
        reference = (_("%(n)d tables") % {"n": event.table_count}, event.table_count)
    description = (_("Meetings in each slot of the working timetable against the %(n)d tables, in %(zone)s.")
                   % {"n": event.table_count, "zone": event.time_zone} if event.table_count else
                   _("Meetings in each slot of the working timetable, in %(zone)s (online: no table limit).")
                   % {"zone": event.time_zone})
    empty = (_("No meetings are placed in the timetable yet.") if slots else
             _("This event has no meeting slots: check its opening hours and meeting length."))
    return Chart("slots", "columns", _("Slot use"), description, _("Slot"), categories,
                 [Series(_("Meetings"), used)], empty_text=empty, extra=extra, reference=reference)


def _registrations_or_requests(name: str):
    def build(scope: Scope) -> Chart:
        _f, registrations, requests = count_funnel(scope)
        return _registrations_chart(registrations) if name == "registrations" else _requests_chart(requests)
    return build


EVENT_CHARTS = {
    "registrations": _registrations_or_requests("registrations"),
    "requests": _registrations_or_requests("requests"),
    "funnel": lambda scope: funnel_chart(count_funnel(scope)[0], True),
    "unplaced": _unplaced_chart,
    "slots": _slots_chart,
    "activity": _event_activity,
    "countries": countries_chart,
    "categories": categories_chart,
}


def _event_scope(session, event: Event, language: str, now: datetime | None) -> Scope:
    return Scope(session, language, ZoneInfo(event.time_zone), now or utcnow(), event)


def event_dashboard(session, event: Event, *, language: str, now: datetime | None = None) -> Dashboard:
    """One event's figures; days and slots in the event's time zone."""
    scope = _event_scope(session, event, language, now)
    funnel, registrations, requests = count_funnel(scope)
    charts = [_registrations_chart(registrations), _requests_chart(requests), funnel_chart(funnel, True),
              _unplaced_chart(scope), _slots_chart(scope), _event_activity(scope), countries_chart(scope),
              categories_chart(scope)]
    has_data = bool(sum(registrations.values()) or sum(requests.values()))
    return Dashboard(funnel, charts, has_data=has_data)


def event_chart(session, event: Event, name: str, *, language: str, now: datetime | None = None) -> Chart:
    """One of an event's charts by its key (for its CSV), or 404."""
    builder = EVENT_CHARTS.get(name)
    if builder is None:
        raise NotFound(_("There is no such chart."))
    return builder(_event_scope(session, event, language, now))
