"""Organizer dashboard: platform-wide and per-event figures, counted in SQL and shaped into charts.

Every figure is a GROUP BY or a count in the database; Python only orders, labels and folds the
few aggregated rows. Per-day and per-week series come from web.services.dashboard_time.

The platform's figures read from organizations alone (kinds per country and per category, by status, approved per
week) pass over every organization (800 ms at 100,000): they are kept while the organizations' fingerprint holds
(catalogs.answer), so a reload counts only requests, registrations and meetings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, distinct, func, or_, select, true
from sqlalchemy.orm import Session

from models import (
    ORGANIZATION_KINDS,
    ORGANIZATION_STATUSES,
    Event,
    EventMeeting,
    EventRegistration,
    MeetingRequest,
    Organization,
    OrganizationTag,
    TechnologyCategory,
)
from models.base import utcnow
from web.errors import NotFound
from web.i18n import N_, _, country_name
from web.services import catalogs
from web.services import dashboard_time as timeline
from web.services.charts import PALETTE, Category, Chart, Series
from web.services.directory import unindexed
from web.services.organizations import STATUS_LABELS as ORGANIZATION_STATUS_LABELS
from web.services.organizations import kind_label

T = TypeVar("T")
TOP_ROWS = 12  # bar charts draw this many rows; the table and the CSV keep them all
WEEKS = 52  # the platform's activity chart covers at most the last year
EVENT_DAYS = 90  # an event's activity chart covers at most the 90 days up to it
REGISTRATION_LABELS = {
    "pending": N_("Pending"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
}
# Why the last timetable run left a meeting out; '' means no run has placed it yet.
STATUS_COLOURS = {
    "pending": "#b35900", "approved": "#0d6b57", "accepted": "#0d6b57", "rejected": "#b3261e",
    "declined": "#b3261e", "suspended": "#4d5b66", "withdrawn": "#4d5b66", "cancelled": "#4d5b66",
    "expired": "#7b3fa0",
}
KIND_COLOURS = dict(zip(ORGANIZATION_KINDS, PALETTE))


@dataclass
class Funnel:
    """From registration to a published meeting (registrations count approved ones)."""

    registrations: int = 0
    pending_registrations: int = 0
    requests: int = 0
    accepted: int = 0
    scheduled: int = 0
    published: int = 0
    unplaced: int = 0


@dataclass
class EventRow:
    id: int
    title: str
    starts_at: datetime
    time_zone: str
    status: str
    registrations: int
    requests: int
    meetings: int
    scheduled: int


@dataclass
class Dashboard:
    """What a dashboard page shows: headline numbers, charts in page order, and (platform) the events."""

    funnel: Funnel
    charts: list[Chart]
    organizations: dict[str, int] = field(default_factory=dict)
    events: list[EventRow] = field(default_factory=list)
    has_data: bool = True

    def chart(self, key: str) -> Chart:
        return next(c for c in self.charts if c.key == key)


@dataclass
class Scope:
    """What a dashboard counts: the whole platform, or one event (its participants and requests)."""

    session: Session
    language: str
    zone: ZoneInfo
    now: datetime
    event: Event | None = None

    def requests(self):
        return MeetingRequest.event_id == self.event.id if self.event else true()

    def organizations(self):
        """Approved members on the platform; an event's approved participants."""
        if self.event is None:
            return Organization.status == "approved"
        return Organization.id.in_(select(EventRegistration.organization_id).where(
            EventRegistration.event_id == self.event.id, EventRegistration.status == "approved"))

    def registrations(self):
        return EventRegistration.event_id == self.event.id if self.event else true()

    def meetings(self):
        # Only meetings whose request still stands: a later cancellation leaves nothing to schedule.
        condition = MeetingRequest.status == "accepted"
        return and_(condition, EventMeeting.event_id == self.event.id) if self.event else condition

    def of_organizations(self, question: tuple, compute: Callable[[], T]) -> T:
        """A figure counted from organizations alone: on the platform's dashboard, kept while they are unchanged
        (compute returns plain values); an event's participants are few, and counted each time."""
        if self.event is not None:
            return compute()
        version = catalogs.organizations_version(self.session)
        return catalogs.answer(self.session, "dashboard", version, question, compute)


# --- counts ----------------------------------------------------------------------------------

def _by_status(session: Session, column, condition) -> dict[str, int]:
    return dict(session.execute(select(column, func.count()).where(condition).group_by(column)).all())


def count_funnel(scope: Scope) -> tuple[Funnel, dict[str, int], dict[str, int]]:
    session = scope.session
    registrations = _by_status(session, EventRegistration.status, scope.registrations())
    requests = _by_status(session, MeetingRequest.status, scope.requests())
    total, scheduled, published = session.execute(
        select(func.count(), func.count(EventMeeting.starts_at), func.count(EventMeeting.published_starts_at))
        .select_from(EventMeeting).join(MeetingRequest, MeetingRequest.id == EventMeeting.request_id)
        .where(scope.meetings())).one()
    funnel = Funnel(registrations=registrations.get("approved", 0),
                    pending_registrations=registrations.get("pending", 0),
                    requests=sum(requests.values()), accepted=requests.get("accepted", 0),
                    scheduled=scheduled, published=published, unplaced=total - scheduled)
    return funnel, registrations, requests


def status_chart(key: str, title: str, description: str, header: str, statuses, counts: dict[str, int],
                  label, empty: str) -> Chart:
    known = list(statuses) + sorted(set(counts) - set(statuses))
    return Chart(key, "bars", title, description, header, [Category(label(s)) for s in known],
                 [Series(_("Number"), [counts.get(s, 0) for s in known])], empty_text=empty)


def funnel_chart(funnel: Funnel, event: bool) -> Chart:
    stages = [
        (_("Registrations (approved)"), funnel.registrations),
        (_("Meeting requests"), funnel.requests),
        (_("Accepted requests"), funnel.accepted),
        (_("Meetings placed in a timetable"), funnel.scheduled),
        (_("Meetings published to participants"), funnel.published),
        (_("Accepted event meetings not placed"), funnel.unplaced),
    ]
    description = (_("This event's registrations, its meeting requests and their meetings in the timetable.")
                   if event else _("All events and all meeting requests, from registration to a published meeting."))
    return Chart("funnel", "bars", _("From registration to meeting"), description, _("Stage"),
                 [Category(label) for label, _n in stages], [Series(_("Number"), [n for _l, n in stages])],
                 empty_text=_("No registrations or meeting requests yet."))


def _tag_join(query):
    return query.join(OrganizationTag, and_(OrganizationTag.organization_id == Organization.id,
                                            OrganizationTag.field == "technology_categories"))


def _grouped_counts(scope: Scope, key) -> tuple[dict, dict, dict]:
    """Per key (country or category): organizations by kind, requests sent, and matches (accepted, either side)."""
    session, tagged = scope.session, key is OrganizationTag.value

    def organizations_by_kind() -> dict:
        query = select(key, Organization.kind, func.count(distinct(Organization.id))).where(scope.organizations())
        query = (_tag_join(query.select_from(Organization)) if tagged else query).group_by(key, Organization.kind)
        by_kind: dict = {}
        for value, kind, number in session.execute(query):
            by_kind.setdefault(value, {})[kind] = number
        return by_kind

    # From the requests to each side's organization (for its country) or straight to its tags, by the side's id.
    # SQLite, which keeps no statistics, otherwise started from every organization or tag on the platform (at
    # 100,000 organizations the matches per category took 980 ms, the requests sent per category 315 ms; now
    # under 1 and 11 ms). `+column` keeps it from the indexes that led it there (SQLite only).
    sqlite = session.get_bind().dialect.name == "sqlite"
    hidden = unindexed if sqlite else (lambda column: column)

    def per_key(sides: list, *conditions) -> dict:
        query = select(key, func.count(distinct(MeetingRequest.id))).select_from(MeetingRequest)
        if tagged:
            query = query.join(OrganizationTag, and_(or_(*(OrganizationTag.organization_id == side for side in sides)),
                                                     hidden(OrganizationTag.field) == "technology_categories"))
        else:
            query = query.join(Organization, or_(*(Organization.id == side for side in sides)))
        return dict(session.execute(query.where(scope.requests(), *conditions).group_by(key)).all())

    by_kind = scope.of_organizations(("by_kind", "category" if tagged else "country"), organizations_by_kind)
    sent = per_key([hidden(MeetingRequest.requester_org_id)])
    matched = per_key([MeetingRequest.requester_org_id, MeetingRequest.recipient_org_id],
                      MeetingRequest.status == "accepted")
    return by_kind, sent, matched


def _grouped_chart(scope: Scope, key: str, title: str, description: str, header: str,
                   labels: dict[str, str], counts: tuple[dict, dict, dict], empty: str) -> Chart:
    by_kind, sent, matched = counts
    keys = set(by_kind) | set(sent) | set(matched)
    totals = {k: sum(by_kind.get(k, {}).values()) for k in keys}
    ordered = sorted(keys, key=lambda k: (-totals[k], -sent.get(k, 0), labels.get(k, k)))
    kinds = [k for k in ORGANIZATION_KINDS if any(by_kind.get(v, {}).get(k) for v in keys)]
    kinds += sorted({kind for v in by_kind.values() for kind in v} - set(ORGANIZATION_KINDS))
    series = [Series(kind_label(kind), [by_kind.get(k, {}).get(kind, 0) for k in ordered], KIND_COLOURS.get(kind, ""))
              for kind in kinds]
    extra = [Series(_("Requests sent"), [sent.get(k, 0) for k in ordered]),
             Series(_("Matches (accepted requests)"), [matched.get(k, 0) for k in ordered])]
    participants = _("Participants") if scope.event else _("Organizations")
    return Chart(key, "stacked", title, description, header, [Category(labels.get(k, k)) for k in ordered], series,
                 empty_text=empty, extra=extra, total_label=participants, limit=TOP_ROWS, drop_zero=True,
                 other_label=_("%(n)d more (see the table)"))


def countries_chart(scope: Scope) -> Chart:
    counts = _grouped_counts(scope, Organization.country)
    keys = set(counts[0]) | set(counts[1]) | set(counts[2])
    labels = {code: country_name(code, scope.language) for code in keys}
    if scope.event:
        description = _("Where the approved participants are based, by kind; the table adds this event's requests "
                        "and matches.")
        empty = _("No approved participants yet.")
    else:
        description = _("Where the approved organizations are based, by kind; the table adds requests and matches.")
        empty = _("No approved organizations yet.")
    return _grouped_chart(scope, "countries", _("By country"), description, _("Country"), labels, counts, empty)


def categories_chart(scope: Scope) -> Chart:
    counts = _grouped_counts(scope, OrganizationTag.value)
    slugs = set(counts[0]) | set(counts[1]) | set(counts[2])
    names = {c.slug: c.name(scope.language) for c in
             scope.session.scalars(select(TechnologyCategory).where(TechnologyCategory.slug.in_(slugs)))}
    if scope.event:
        description = _("Technology categories of the approved participants (an organization can have several).")
        empty = _("No approved participant has chosen a technology category yet.")
    else:
        description = _("Technology categories of the approved organizations (an organization can have several).")
        empty = _("No approved organization has chosen a technology category yet.")
    return _grouped_chart(scope, "categories", _("By technology category"), description, _("Technology category"),
                          names, counts, empty)


def first_activity(session: Session, columns_and_conditions) -> datetime | None:
    found = [session.scalar(select(func.min(column)).where(condition)) for column, condition in columns_and_conditions]
    found = [value for value in found if value is not None]
    return min(found) if found else None


def activity_chart(scope: Scope, key: str, title: str, description: str, header: str,
                    measures: list[tuple[str, object, object]], first: date | None, last: date,
                    weekly: bool, empty: str, outside: str, of_organizations: int = 0) -> Chart:
    """Counts per local day (or week) of each (label, timestamp column, condition) from first to last.

    `empty` explains a chart with no activity at all, `outside` one whose activity all falls outside the days shown.
    The first `of_organizations` measures count organizations alone (see Scope.of_organizations).
    """
    if first is None or first > last:
        return Chart(key, "line", title, description, header, [], [], empty_text=empty if first is None else outside)
    buckets = ([timeline.week_start(first) + timedelta(weeks=n)
                for n in range((timeline.week_start(last) - timeline.week_start(first)).days // 7 + 1)]
               if weekly else timeline.days(first, last))
    series = []
    end = buckets[-1] + timedelta(days=6 if weekly else 0)
    for number, (label, column, condition) in enumerate(measures):
        def count(column=column, condition=condition) -> dict[date, int]:
            return timeline.count_per_day(scope.session, column, [condition], scope.zone, buckets[0], end)
        counts = (scope.of_organizations(("per_day", key, number, scope.zone.key, buckets[0], end), count)
                  if number < of_organizations else count())
        values = timeline.per_week(counts, buckets) if weekly else [counts.get(day, 0) for day in buckets]
        series.append(Series(label, values))
    categories = [Category(day.isoformat(), f"{day.month}/{day.day}") for day in buckets]
    return Chart(key, "line", title, description, header, categories, series, empty_text=outside)


def today_in(scope: Scope) -> date:
    return scope.now.astimezone(scope.zone).date()


# --- platform ----------------------------------------------------------------------------------

def _organizations_chart(scope: Scope) -> Chart:
    counts = _kinds_and_statuses(scope)
    kinds = list(ORGANIZATION_KINDS) + sorted({k for k, _s in counts} - set(ORGANIZATION_KINDS))
    series = [Series(_(ORGANIZATION_STATUS_LABELS[s]), [counts.get((k, s), 0) for k in kinds], STATUS_COLOURS[s])
              for s in ORGANIZATION_STATUSES]
    return Chart("organizations", "stacked", _("Organizations by kind and status"),
                 _("Every organization that signed up or was imported, by kind, split by review status."),
                 _("Kind"), [Category(kind_label(k)) for k in kinds], series, total_label=_("Total"),
                 empty_text=_("No organization has signed up yet."))


def _kinds_and_statuses(scope: Scope) -> dict[tuple[str, str], int]:
    """Organizations per (kind, status)."""
    return scope.of_organizations(("kinds_and_statuses",), lambda: {
        (kind, status): n for kind, status, n in scope.session.execute(
            select(Organization.kind, Organization.status, func.count())
            .group_by(Organization.kind, Organization.status))})


def _platform_activity(scope: Scope) -> Chart:
    approved_at = func.coalesce(Organization.reviewed_at, Organization.created_at)
    measures = [
        (_("Organizations approved"), approved_at, Organization.status == "approved"),
        (_("Requests sent"), MeetingRequest.created_at, true()),
        (_("Requests accepted"), MeetingRequest.responded_at, MeetingRequest.status == "accepted"),
        (_("Event registrations"), EventRegistration.created_at, true()),
    ]
    today = today_in(scope)
    firsts = [scope.of_organizations(("first_approved",), lambda: first_activity(scope.session, [measures[0][1:]])),
              first_activity(scope.session, [(column, condition) for _l, column, condition in measures[1:]])]
    first = min((found for found in firsts if found is not None), default=None)
    start = None if first is None else max(first.astimezone(scope.zone).date(), today - timedelta(weeks=WEEKS - 1))
    return activity_chart(scope, "activity", _("Activity per week"),
                           _("Weeks start on Monday, in your time zone (%(zone)s); the last %(n)d weeks at most.")
                           % {"zone": scope.zone.key, "n": WEEKS},
                           _("Week from"), measures, start, today, True, _("Nothing has happened yet."),
                           _("Nothing has happened in the weeks shown."), of_organizations=1)


def _event_rows(session: Session, language: str, limit: int = 50) -> list[EventRow]:
    registrations = dict(session.execute(
        select(EventRegistration.event_id, func.count()).where(EventRegistration.status == "approved")
        .group_by(EventRegistration.event_id)).all())
    requests = dict(session.execute(select(MeetingRequest.event_id, func.count())
                                    .where(MeetingRequest.event_id.is_not(None))
                                    .group_by(MeetingRequest.event_id)).all())
    meetings = {event_id: (total, placed) for event_id, total, placed in session.execute(
        select(EventMeeting.event_id, func.count(), func.count(EventMeeting.starts_at))
        .join(MeetingRequest, MeetingRequest.id == EventMeeting.request_id)
        .where(MeetingRequest.status == "accepted").group_by(EventMeeting.event_id))}
    events = session.execute(select(Event.id, Event.title_en, Event.title_ja, Event.starts_at, Event.time_zone,
                                    Event.status).order_by(Event.starts_at.desc()).limit(limit))
    return [EventRow(e.id, e.title_ja if language == "ja" and e.title_ja else e.title_en, e.starts_at, e.time_zone,
                     e.status, registrations.get(e.id, 0), requests.get(e.id, 0), *meetings.get(e.id, (0, 0)))
            for e in events]


PLATFORM_CHARTS = {
    "organizations": _organizations_chart,
    "funnel": lambda scope: funnel_chart(count_funnel(scope)[0], False),
    "activity": _platform_activity,
    "countries": countries_chart,
    "categories": categories_chart,
}


def _platform_scope(session: Session, language: str, time_zone: str, now: datetime | None) -> Scope:
    return Scope(session, language, ZoneInfo(time_zone), now or utcnow())


def platform_dashboard(session: Session, *, language: str, time_zone: str, now: datetime | None = None) -> Dashboard:
    """Platform-wide figures for organizers; time_zone is the viewer's (weeks start on their Monday)."""
    scope = _platform_scope(session, language, time_zone, now)
    funnel, _registrations, _requests = count_funnel(scope)
    organizations: dict[str, int] = {}
    for (_kind, status), number in _kinds_and_statuses(scope).items():
        organizations[status] = organizations.get(status, 0) + number
    charts = [_organizations_chart(scope), funnel_chart(funnel, False), _platform_activity(scope),
              countries_chart(scope), categories_chart(scope)]
    events = _event_rows(session, language)
    has_data = bool(sum(organizations.values()) or funnel.requests or events)
    return Dashboard(funnel, charts, organizations={s: organizations.get(s, 0) for s in ORGANIZATION_STATUSES},
                     events=events, has_data=has_data)


def platform_chart(session: Session, name: str, *, language: str, time_zone: str,
                   now: datetime | None = None) -> Chart:
    """One platform chart by its key (for its CSV), or 404."""
    builder = PLATFORM_CHARTS.get(name)
    if builder is None:
        raise NotFound(_("There is no such chart."))
    return builder(_platform_scope(session, language, time_zone, now))

