"""Demo events: one seminar behind the seed's week and two ahead, with registrations, requests and timetables.

Dates follow the week the seed runs in (its Monday, UTC), so the demo never goes stale: the past seminar is
2-4 weeks back, the Bangkok seminar 2-4 weeks ahead (registration closed, timetable published) and the online
seminar from Santiago 4-6 weeks ahead (registration open). Re-running the seed in the same week changes
nothing; a demo event that differs from its plan (edited, new registrations or requests, another week) is
rebuilt from it, and demo events the plan no longer names are removed.

The rows are written directly, not through the services: most demo organizations have no user to act for them,
and the services notify people, which a seed must never do (no in-app notices, no emails to the example.com
addresses). What the services would check is checked here instead: the event's fields go through the
organizer's form validation, and the timetable is made by the real solver and verified against the hard rules
with matchmaker.scheduling.check_schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from matchmaker.scheduling import MeetingSpec, ScheduleProblem, check_schedule, schedule_meetings
from matchmaker.slots import Slot, event_slots
from models import (
    Event,
    EventAttendee,
    EventBreak,
    EventMeeting,
    EventMeetingSeat,
    EventRegistration,
    EventUnavailableSlot,
    MeetingRequest,
    MeetingRequestEvent,
    Organization,
    User,
)
from models.meeting import pair_key
from seeds.demo_event_specs import DEMO_SEMINARS, DemoRequest, DemoSeminar
from web.services.event_form import EventInput, validate_event

REQUEST_EXPIRY = timedelta(days=14)  # the default of settings.request_expiry_days
JOB_TITLES = {"japanese_company": "Overseas sales manager", "partner_company": "Energy manager",
              "financial_institution": "Green finance officer", "consultant": "Senior consultant",
              "public_body": "Programme officer"}


@dataclass
class DemoEventSummary:
    """What loading the demo events did."""

    created: int = 0
    restored: int = 0
    unchanged: int = 0
    removed: int = 0
    meetings: int = 0
    # (local date, title, what a newcomer finds there) per demo event, in time order.
    events: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class RequestPlan:
    sender: Organization
    recipient: Organization
    spec: DemoRequest
    created_at: datetime
    responded_at: datetime | None
    # Where the timetable puts an accepted request's meeting: (slot start, table) or None while unplaced.
    place: tuple[datetime, int | None] | None = None


@dataclass
class EventPlan:
    """One demo event as it should be in the database."""

    seminar: DemoSeminar
    data: EventInput
    published_at: datetime
    timetable_published_at: datetime | None
    registrations: list[tuple[Organization, str, datetime, list[datetime]]] = field(default_factory=list)
    requests: list[RequestPlan] = field(default_factory=list)

    @property
    def places_taken(self) -> int:
        return sum(status in ("pending", "approved") for _org, status, _at, _off in self.registrations)


def anchor_of(today: date) -> date:
    """The Monday of today's week: every demo date hangs on it, so a week's re-runs agree."""
    return today - timedelta(days=today.weekday())


def _form_values(seminar: DemoSeminar, day: date) -> dict[str, Any]:
    """The seminar as the organizer's form would post it."""
    deadline = day - timedelta(days=seminar.deadline_days)
    return {"title_en": seminar.title_en, "title_ja": seminar.title_ja, "description_en": seminar.description_en,
            "description_ja": seminar.description_ja, "venue": seminar.venue, "online_url": seminar.online_url,
            "time_zone": seminar.time_zone, "date": day.isoformat(), "opens_at": seminar.opens_at,
            "closes_at": seminar.closes_at, "meeting_minutes": str(seminar.meeting_minutes),
            "table_mode": "online" if seminar.table_count is None else "tables",
            "table_count": "" if seminar.table_count is None else str(seminar.table_count),
            "deadline_date": deadline.isoformat(), "deadline_time": seminar.deadline_time,
            "capacity": str(seminar.capacity), "approval": "auto" if seminar.auto_approve else "manual",
            "breaks": [{"starts": s, "ends": e, "label": label} for s, e, label in seminar.breaks]}


def slots_for(data: EventInput) -> list[Slot]:
    return event_slots(data.starts_at, data.ends_at, data.meeting_minutes, [(b[0], b[1]) for b in data.breaks])


def plan_event(seminar: DemoSeminar, orgs: dict[str, Organization], today: date,
               busy_pairs: set[str]) -> EventPlan:
    """The event, its registrations and requests with their history, and its timetable, from the seminar."""
    anchor = anchor_of(today)
    day = anchor + timedelta(weeks=seminar.week, days=seminar.weekday)
    # The story starts 45 days before a past event, three weeks before the seed's week for the others, so
    # everything that already happened (publishing, registering, answering requests) is in the past.
    start = datetime.combine(day - timedelta(days=45) if seminar.week < 0 else anchor - timedelta(days=21),
                             time(1, 0), tzinfo=timezone.utc)
    data = validate_event(_form_values(seminar, day), now=start)
    slots = slots_for(data)
    plan = EventPlan(seminar, data, published_at=start,
                     timetable_published_at=data.registration_deadline + timedelta(hours=12)
                     if seminar.timetable else None)
    off = dict(seminar.unavailable)
    for n, (ext_id, status) in enumerate(seminar.registrations):
        if ext_id in orgs:
            plan.registrations.append((orgs[ext_id], status, start + timedelta(days=1, hours=7 * n),
                                       [slots[i].starts_at for i in off.get(ext_id, ())]))
    approved = {org.external_id for org, status, _at, _off in plan.registrations if status == "approved"}
    recent = datetime.combine(anchor - timedelta(days=2), time(2, 0), tzinfo=timezone.utc)
    for n, spec in enumerate(seminar.requests):
        if spec.sender not in approved or spec.recipient not in approved:
            continue  # a real organization holds that demo id: leave the request out
        sender, recipient = orgs[spec.sender], orgs[spec.recipient]
        if spec.status == "pending":
            # Pending requests are recent, so they stay open for the demo's weeks; none where the pair already
            # has an open request of its own (one open request per pair).
            if pair_key(sender.id, recipient.id) in busy_pairs:
                continue
            recent += timedelta(hours=3)
            plan.requests.append(RequestPlan(sender, recipient, spec, recent, None))
        else:
            created = start + timedelta(days=8, hours=5 * n)
            plan.requests.append(RequestPlan(sender, recipient, spec, created, created + timedelta(hours=20)))
    if seminar.timetable:
        _schedule(plan, slots)
    return plan


def _schedule(plan: EventPlan, slots: list[Slot]) -> None:
    """Place the accepted meetings with the real solver; refuse a timetable that breaks a hard rule."""
    accepted = [r for r in plan.requests if r.spec.status == "accepted"]
    index = {slot.starts_at: slot.index for slot in slots}
    every = frozenset(range(len(slots)))
    availability = {org.id: every - {index[s] for s in off} for org, status, _at, off in plan.registrations if off}
    problem = ScheduleProblem(len(slots), plan.data.table_count, availability,
                              [MeetingSpec(n, (r.sender.id, r.recipient.id)) for n, r in enumerate(accepted)])
    result = schedule_meetings(problem)
    errors = check_schedule(problem, result.placements)
    if errors or result.unplaced:
        # The seminars are ours: a timetable that does not hold is a bug in them, not something to store.
        raise ValueError(f"demo event {plan.seminar.title_en}: {errors or result.unplaced}")
    for n, request in enumerate(accepted):
        placement = result.placements[n]
        request.place = (slots[placement.slot].starts_at, placement.table)


# --- the plan and the database as comparable values ------------------------------------------------

def _utc(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value is not None else None


def _event_state(fields: dict[str, Any], breaks: list[tuple[datetime, datetime, str]]) -> tuple:
    plain = tuple((key, _utc(value) if isinstance(value, datetime) else value) for key, value in sorted(fields.items()))
    return plain, tuple(sorted((_utc(s), _utc(e), label) for s, e, label in breaks))


EVENT_FIELDS = ("title_en", "title_ja", "description_en", "description_ja", "venue", "online_url", "time_zone",
                "starts_at", "ends_at", "meeting_minutes", "table_count", "registration_deadline", "capacity",
                "auto_approve")


def plan_state(plan: EventPlan) -> tuple:
    """What a demo event built from the plan looks like, in plain values."""
    fields = {name: getattr(plan.data, name) for name in EVENT_FIELDS} | {
        "status": "published", "places_taken": plan.places_taken,
        "timetable_published_at": plan.timetable_published_at}
    registrations = sorted(((org.id, status, tuple(_attendees(org)), tuple(sorted(_utc(s) for s in off)))
                            for org, status, _at, off in plan.registrations), key=repr)
    requests = []
    for r in plan.requests:
        meeting = None
        if r.spec.status == "accepted":
            start, table = r.place if r.place else (None, None)
            published = (start, table) if plan.timetable_published_at else (None, None)
            meeting = (_utc(start), table, _utc(published[0]), published[1], False,
                       tuple(sorted((org, _utc(start)) for org in (r.sender.id, r.recipient.id))) if start else ())
        requests.append((r.sender.id, r.recipient.id, r.spec.status, r.spec.message, meeting))
    return _event_state(fields, plan.data.breaks), tuple(registrations), tuple(sorted(requests, key=repr))


def stored_state(session: Session, event: Event) -> tuple:
    """The same values read from a stored demo event (anything added to it shows up as a difference)."""
    fields = {name: getattr(event, name) for name in EVENT_FIELDS} | {
        "status": event.status, "places_taken": event.places_taken,
        "timetable_published_at": event.timetable_published_at}
    fresh = {"populate_existing": True}  # the session may hold rows another session has changed since
    regs = session.scalars(select(EventRegistration).where(EventRegistration.event_id == event.id)
                           .execution_options(**fresh)).all()
    registrations = sorted(((reg.organization_id, reg.status,
                             tuple((a.full_name, a.job_title, a.email) for a in reg.attendees),
                             tuple(sorted(_utc(u.starts_at) for u in reg.unavailable_slots)))
                            for reg in regs), key=repr)
    meetings = {m.request_id: m for m in session.scalars(select(EventMeeting).where(EventMeeting.event_id == event.id)
                                                          .execution_options(**fresh))}
    requests = []
    for req in session.scalars(select(MeetingRequest).where(MeetingRequest.event_id == event.id)
                               .execution_options(**fresh)):
        m = meetings.pop(req.id, None)
        meeting = None if m is None else (
            _utc(m.starts_at), m.table_number, _utc(m.published_starts_at), m.published_table_number, m.pinned,
            tuple(sorted((seat.organization_id, _utc(seat.starts_at)) for seat in m.seats)))
        requests.append((req.requester_org_id, req.recipient_org_id, req.status, req.message, meeting))
    requests += [("meeting without its request", m.id) for m in meetings.values()]
    return (_event_state(fields, [(b.starts_at, b.ends_at, b.label) for b in event.breaks]), tuple(registrations),
            tuple(sorted(requests, key=repr)))


def _attendees(org: Organization) -> list[tuple[str, str, str]]:
    """Who attends for a demo organization: its contact person."""
    return [(org.contact_name or org.name, JOB_TITLES.get(org.kind, ""), org.contact_email)]


# --- writing ---------------------------------------------------------------------------------------------

def _user_ids(session: Session, orgs: list[Organization]) -> dict[int, int]:
    """The first active user of each organization (demo users act for theirs), for the 'by' columns."""
    rows = session.execute(select(User.organization_id, User.id).where(
        User.organization_id.in_([org.id for org in orgs]), User.is_active.is_(True)).order_by(User.id)).all()
    users: dict[int, int] = {}
    for org_id, user_id in rows:
        users.setdefault(org_id, user_id)
    return users


def create_event(session: Session, plan: EventPlan, organizer: User | None) -> Event:
    """Write the planned event with everything in it (one flush per kind of row)."""
    data = plan.data
    event = Event(**{name: getattr(data, name) for name in EVENT_FIELDS}, status="published", is_demo=True,
                  published_at=plan.published_at, timetable_published_at=plan.timetable_published_at,
                  places_taken=plan.places_taken, created_by_user_id=organizer.id if organizer else None,
                  created_at=plan.published_at - timedelta(days=1), updated_at=plan.published_at)
    event.breaks = [EventBreak(starts_at=s, ends_at=e, label=label) for s, e, label in data.breaks]
    session.add(event)
    session.flush()
    users = _user_ids(session, [org for org, *_rest in plan.registrations])
    for org, status, at, off in plan.registrations:
        reg = EventRegistration(event_id=event.id, organization_id=org.id, status=status,
                                registered_by_user_id=users.get(org.id), created_at=at, updated_at=at,
                                decided_at=at if status in ("approved", "withdrawn") else None,
                                withdrawn_at=at + timedelta(days=10) if status == "withdrawn" else None)
        reg.attendees = [EventAttendee(full_name=n, job_title=t, email=e) for n, t, e in _attendees(org)]
        reg.unavailable_slots = [EventUnavailableSlot(starts_at=start) for start in off]
        session.add(reg)
    for r in plan.requests:
        _add_request(session, event, plan, r, users)
    session.flush()
    return event


def _add_request(session: Session, event: Event, plan: EventPlan, r: RequestPlan, users: dict[int, int]) -> None:
    spec = r.spec
    req = MeetingRequest(requester_org_id=r.sender.id, recipient_org_id=r.recipient.id,
                         requester_user_id=users.get(r.sender.id), message=spec.message, topics=list(spec.topics),
                         event_id=event.id, status=spec.status, decline_reason=spec.reason,
                         open_pair_key=pair_key(r.sender.id, r.recipient.id) if spec.status == "pending" else None,
                         created_at=r.created_at, expires_at=r.created_at + REQUEST_EXPIRY,
                         responded_at=r.responded_at, updated_at=r.responded_at or r.created_at)
    req.events = [MeetingRequestEvent(from_status=None, to_status="pending", actor_user_id=users.get(r.sender.id),
                                      created_at=r.created_at)]
    if spec.status != "pending":
        req.events.append(MeetingRequestEvent(from_status="pending", to_status=spec.status, note=spec.reason,
                                              actor_user_id=users.get(r.recipient.id), created_at=r.responded_at))
    session.add(req)
    session.flush()
    if spec.status != "accepted":
        return
    start, table = r.place if r.place else (None, None)
    published = plan.timetable_published_at is not None and start is not None
    meeting = EventMeeting(event_id=event.id, request_id=req.id, starts_at=start, table_number=table,
                           published_starts_at=start if published else None,
                           published_table_number=table if published else None,
                           published_at=plan.timetable_published_at if published else None,
                           sequence=1 if published else 0, unplaced_reason="",
                           created_at=r.responded_at, updated_at=plan.timetable_published_at or r.responded_at)
    if start is not None:
        meeting.seats = [EventMeetingSeat(event_id=event.id, organization_id=org, starts_at=start)
                         for org in (r.sender.id, r.recipient.id)]
    session.add(meeting)


def remove_event(session: Session, event: Event, demo_orgs: set[int]) -> None:
    """Delete a demo event: its requests between demo organizations go too, others only lose the event link.

    Through the ORM, so the session forgets the deleted rows (SQLite may hand their ids to the new ones).
    """
    for meeting in session.scalars(select(EventMeeting).where(EventMeeting.event_id == event.id)):
        session.delete(meeting)
    for reg in session.scalars(select(EventRegistration).where(EventRegistration.event_id == event.id)):
        session.delete(reg)
    for req in session.scalars(select(MeetingRequest).where(MeetingRequest.event_id == event.id)):
        if req.requester_org_id in demo_orgs and req.recipient_org_id in demo_orgs:
            session.delete(req)
        else:
            req.event_id = None
    session.delete(event)
    session.flush()


def _busy_pairs(session: Session, demo_event_ids: list[int]) -> set[str]:
    """Pairs with an open request that a demo rebuild would not remove (one open request per pair)."""
    outside = or_(MeetingRequest.event_id.is_(None), MeetingRequest.event_id.not_in(demo_event_ids or [-1]))
    return set(session.scalars(select(MeetingRequest.open_pair_key).where(MeetingRequest.status == "pending",
                                                                          outside)))


def load_demo_events(session: Session, orgs: dict[str, Organization], today: date) -> DemoEventSummary:
    """Create, restore or keep each demo event of DEMO_SEMINARS; remove demo events it no longer names."""
    summary = DemoEventSummary()
    existing = list(session.scalars(select(Event).where(Event.is_demo.is_(True)).order_by(Event.id)
                                    .execution_options(populate_existing=True)))
    busy = _busy_pairs(session, [event.id for event in existing])
    organizer = session.scalar(select(User).where(User.email == "organizer@example.com", User.role == "organizer"))
    plans = [plan_event(seminar, orgs, today, busy) for seminar in DEMO_SEMINARS]
    kept: dict[str, Event] = {}
    stale: list[Event] = []
    for event in existing:
        plan = next((p for p in plans if p.seminar.title_en == event.title_en), None)
        if plan is not None and event.title_en not in kept and stored_state(session, event) == plan_state(plan):
            kept[event.title_en] = event
        else:
            stale.append(event)
    titles = {event.title_en for event in stale}
    # Everything stale goes before anything is written, so no open request of a rebuilt event is in the way.
    demo_orgs = set(session.scalars(select(Organization.id).where(Organization.is_demo.is_(True))))
    for event in stale:
        remove_event(session, event, demo_orgs)
    for plan in plans:
        if plan.seminar.title_en in kept:
            summary.unchanged += 1
            continue
        if plan.seminar.title_en in titles:
            summary.restored += 1
        else:
            summary.created += 1
        create_event(session, plan, organizer)
    summary.removed = len(stale) - summary.restored
    summary.meetings = sum(r.place is not None for plan in plans for r in plan.requests)
    summary.events = [_describe(plan, today) for plan in plans]
    session.flush()
    return summary


def _describe(plan: EventPlan, today: date) -> tuple[str, str, str]:
    data = plan.data
    placed = sum(r.place is not None for r in plan.requests)
    waiting = sum(r.spec.status == "accepted" and r.place is None for r in plan.requests)
    if plan.seminar.week < 0:
        state = f"past, {placed} meetings held"
    elif plan.timetable_published_at is not None:
        state = f"registration closed, timetable published with {placed} meetings"
    else:
        deadline = data.registration_deadline.astimezone(ZoneInfo(data.time_zone)).date()
        state = f"registration open until {deadline.isoformat()}, {waiting} accepted meetings wait for the timetable"
    return data.starts_at.astimezone(ZoneInfo(data.time_zone)).date().isoformat(), data.title_en, state
