"""The event timetable: run the solver over the event's meetings and publish the result.

The working timetable (`starts_at`, `table_number` and the seats) is the organizers'; participants see the
published copy. Bulk writes (run, publish) lock the event's row first, so two organizers take turns; moves by
hand are in timetable_moves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, joinedload

from matchmaker.scheduling import MeetingSpec, ScheduleProblem, ScheduleResult, schedule_meetings
from models import (
    Event,
    EventMeeting,
    EventMeetingSeat,
    EventRegistration,
    MeetingRequest,
    Notification,
    User,
)
from models.base import utcnow
from web.errors import DomainError, Forbidden
from web.i18n import _
from web.services import notifications
from web.services.event_matching import approved_org_ids
from web.services.event_times import place_text, when_text
from web.services.events import get_event, slots_of
from web.services.request_lists import LIST_SKIPS


class TimetableConflict(DomainError):
    """The timetable cannot change this way now (a clash, a race, an event that is over)."""

    status_code = 409
    code = "timetable_conflict"


@dataclass
class RunReport:
    """What a run did, small enough to keep in the session until the next run."""

    event_id: int
    total: int
    placed: int
    unplaced: int
    moved_published: list[int] = field(default_factory=list)
    moved_pinned: list[int] = field(default_factory=list)
    solver: str = ""
    seconds: float = 0.0
    bound: int | None = None
    with_meeting: int = 0
    possible: int = 0
    published: int = 0  # meetings participants had seen before the run

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"moved_published": self.moved_published[:200], "moved_pinned": self.moved_pinned[:200]}


@dataclass
class PublishReport:
    scheduled: int = 0
    moved: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.scheduled + self.moved + self.cancelled


def timetable_event(session: Session, user: User, event_id: int) -> Event:
    """The event, for organizers only (drafts included)."""
    if not user.is_organizer:
        raise Forbidden(_("Only organizers can do this."))
    return get_event(session, event_id, user)


def check_open(event: Event) -> None:
    if event.ends_at <= utcnow():
        raise TimetableConflict(_("This event is over: its timetable can no longer change."), code="event_over")


def _lock_event(session: Session, event: Event) -> None:
    """Take the event's row lock (PostgreSQL) or the write lock (SQLite): timetable bulk writes take turns."""
    session.execute(update(Event).where(Event.id == event.id)
                    .values(timetable_published_at=Event.timetable_published_at, updated_at=Event.updated_at)
                    .execution_options(synchronize_session=False))


def event_meetings(session: Session, event_id: int) -> list[EventMeeting]:
    """The event's meetings from accepted requests, oldest first, with both organizations (without their long
    texts and JSON lists: a seminar's 220 meetings spent a quarter of the timetable page loading them)."""
    sides = (MeetingRequest.requester_org, MeetingRequest.recipient_org)
    return list(session.scalars(
        select(EventMeeting).join(MeetingRequest, MeetingRequest.id == EventMeeting.request_id)
        .where(EventMeeting.event_id == event_id, MeetingRequest.status == "accepted")
        .options(*(joinedload(EventMeeting.request).joinedload(side).options(*(defer(c) for c in LIST_SKIPS))
                   for side in sides))
        .order_by(EventMeeting.id)))


def parties(meeting: EventMeeting) -> tuple[int, int]:
    return meeting.request.requester_org_id, meeting.request.recipient_org_id


def withdrawn_party(meeting: EventMeeting, approved: set[int]) -> int | None:
    """The first of the two organizations that is no longer a confirmed participant, if any."""
    return next((p for p in parties(meeting) if p not in approved), None)


def is_removed(meeting: EventMeeting) -> bool:
    """Taken off the timetable by hand: pinned without a place, left out of automatic runs."""
    return meeting.pinned and meeting.starts_at is None


def availability(session: Session, event: Event, slot_index: dict[datetime, int]) -> dict[int, frozenset[int]]:
    """Organization -> available slot indexes, for organizations that marked some slot unavailable."""
    regs = session.scalars(select(EventRegistration).where(EventRegistration.event_id == event.id,
                                                           EventRegistration.status == "approved"))
    every = frozenset(slot_index.values())
    out = {}
    for reg in regs:
        off = {slot_index[row.starts_at] for row in reg.unavailable_slots if row.starts_at in slot_index}
        if off:
            out[reg.organization_id] = every - off
    return out


def _spec(meeting: EventMeeting, slot_index: dict[datetime, int]) -> MeetingSpec:
    """The solver's view: pinned meetings keep the organizer's place, published ones the place people saw."""
    def place(starts: datetime | None, table: int | None):
        return (slot_index[starts], table) if starts in slot_index else None

    working = place(meeting.starts_at, meeting.table_number)
    if meeting.pinned:
        published = meeting.is_published and not meeting.has_unpublished_change
        return MeetingSpec(meeting.id, parties(meeting), working, published=published, pinned=True)
    if meeting.is_published:
        return MeetingSpec(meeting.id, parties(meeting), place(meeting.published_starts_at,
                                                                 meeting.published_table_number), published=True)
    return MeetingSpec(meeting.id, parties(meeting), working)


def build_problem(session: Session, event: Event, meetings: list[EventMeeting],
                  approved: set[int]) -> tuple[ScheduleProblem, list]:
    """The solver's problem for the meetings that can take part (both confirmed, not taken off by hand)."""
    slots = slots_of(event)
    slot_index = {slot.starts_at: slot.index for slot in slots}
    specs = [_spec(m, slot_index) for m in meetings if withdrawn_party(m, approved) is None and not is_removed(m)]
    return ScheduleProblem(len(slots), event.table_count, availability(session, event, slot_index), specs), slots


def _write(session: Session, event: Event, meetings: list[EventMeeting], result: ScheduleResult, slots: list,
           approved: set[int]) -> None:
    """Replace the working timetable with the result: seats, places and the reasons for what is left out."""
    reasons = {u.meeting_id: u.reason + (f":{u.party}" if u.party is not None else "") for u in result.unplaced}
    removed = {m.id for m in meetings if is_removed(m)}
    moved = set(result.moved)
    try:
        # All or nothing: a clash rolls the savepoint back and leaves the previous timetable untouched.
        with session.begin_nested():
            session.execute(delete(EventMeetingSeat).where(EventMeetingSeat.event_id == event.id))
            # Everything off first, so no intermediate state collides with the unique keys.
            session.execute(update(EventMeeting).where(EventMeeting.event_id == event.id)
                            .values(starts_at=None, table_number=None))
            for meeting in meetings:
                _place(session, event, meeting, result.placements.get(meeting.id), slots, approved,
                       "removed" if meeting.id in removed else reasons.get(meeting.id, ""))
                if meeting.id in moved or withdrawn_party(meeting, approved) is not None:
                    meeting.pinned = False  # no longer where the organizer put it: later runs may move it
            session.flush()
    except IntegrityError:
        raise TimetableConflict(_("The timetable changed while it was being computed. Run it again."),
                                code="timetable_race")


def _place(session: Session, event: Event, meeting: EventMeeting, placement, slots: list, approved: set[int],
           reason: str) -> None:
    """Set one meeting's working place and seats, or the reason it has none."""
    gone = withdrawn_party(meeting, approved)
    if placement is not None:
        meeting.starts_at, meeting.table_number = slots[placement.slot].starts_at, placement.table
        meeting.unplaced_reason = ""
        session.add_all(EventMeetingSeat(meeting_id=meeting.id, event_id=event.id, organization_id=org,
                                         starts_at=meeting.starts_at) for org in parties(meeting))
    else:
        meeting.unplaced_reason = f"withdrawn:{gone}" if gone is not None else reason


def run_timetable(session: Session, user: User, event_id: int, time_limit: float = 10.0) -> RunReport:
    """Place the event's meetings (keeping published and pinned ones where still possible) and report."""
    event = timetable_event(session, user, event_id)
    check_open(event)
    _lock_event(session, event)
    session.expire_all()  # read after the lock: another organizer's run may have just committed
    meetings = event_meetings(session, event.id)
    approved = approved_org_ids(session, event.id)
    problem, slots = build_problem(session, event, meetings, approved)
    result = schedule_meetings(problem, time_limit=time_limit, compute_bound=True)
    pinned_before = {m.id for m in meetings if m.pinned}
    _write(session, event, meetings, result, slots, approved)
    planned = {spec.id for spec in problem.meetings}
    # Published meetings that now differ from what participants saw, except those an organizer moved on purpose.
    moved_published = [m.id for m in meetings if m.id in planned and m.is_published and m.has_unpublished_change
                       and not (m.id in pinned_before and m.id not in result.moved)]
    moved_pinned = [i for i in result.moved if i in pinned_before and i not in moved_published]
    return RunReport(event.id, len(problem.meetings), len(result.placements), len(result.unplaced),
                     moved_published, moved_pinned, result.solver, round(result.seconds, 3), result.upper_bound,
                     result.participants_with_meeting, result.participants_possible,
                     sum(m.is_published for m in meetings if m.id in planned))


def _notify(session: Session, settings, event: Event, meeting: EventMeeting, kind: str,
            before: tuple[datetime | None, int | None]) -> None:
    starts, table = meeting.published_starts_at, meeting.published_table_number
    extra = {"event_zone": event.time_zone, "minutes": event.meeting_minutes, "starts_at": starts,
             "table": table, "previous_starts_at": before[0], "previous_table": before[1],
             "when_text": when_text, "place_text": place_text, "online": event.is_online_only,
             "agenda_link": settings.base_url.rstrip("/") + "/agenda"}
    prefix = f"event_meeting:{meeting.id}:{meeting.sequence}:{kind}"
    for org_id in parties(meeting):
        notifications.notify_org(session, settings, org_id, kind, meeting.request, prefix, extra, event=event)


def publish_timetable(session: Session, settings, user: User, event_id: int) -> PublishReport:
    """Show participants the working timetable: copy it for changed meetings, bump their sequence, notify both."""
    event = timetable_event(session, user, event_id)
    check_open(event)
    if not event.is_published:
        raise TimetableConflict(_("Publish the event first: participants cannot see a draft event."),
                                code="event_not_published")
    _lock_event(session, event)
    session.expire_all()
    approved = approved_org_ids(session, event.id)
    meetings = event_meetings(session, event.id)
    for meeting in meetings:
        gone = withdrawn_party(meeting, approved)
        if gone is not None and meeting.starts_at is not None:
            # A withdrawn organization's meetings leave the timetable before anything is published.
            _clear(session, meeting)
            meeting.unplaced_reason = f"withdrawn:{gone}"
    now, counts = utcnow(), {"scheduled": 0, "moved": 0, "cancelled": 0}
    for meeting in meetings:
        if not meeting.has_unpublished_change:
            continue
        before = (meeting.published_starts_at, meeting.published_table_number)
        change = "scheduled" if before[0] is None else "cancelled" if meeting.starts_at is None else "moved"
        meeting.published_starts_at, meeting.published_table_number = meeting.starts_at, meeting.table_number
        meeting.published_at = now
        meeting.sequence += 1
        counts[change] += 1
        session.flush()
        if change == "cancelled" and _told_at_withdrawal(session, meeting):
            continue
        _notify(session, settings, event, meeting, f"event_meeting_{change}", before)
    report = PublishReport(**counts)
    if report.total and event.timetable_published_at is None:
        event.timetable_published_at = now
    session.flush()
    return report


def _told_at_withdrawal(session: Session, meeting: EventMeeting) -> bool:
    """True when the registration side already told the other organization this meeting is off (a withdrawal or
    a rejected registration notifies at once, under the sequence the participants last saw)."""
    key = f"event_meeting_cancelled:{meeting.id}:{meeting.sequence - 1}:%"
    return session.scalar(select(Notification.id).where(Notification.dedupe_key.like(key)).limit(1)) is not None


def _clear(session: Session, meeting: EventMeeting) -> None:
    session.execute(delete(EventMeetingSeat).where(EventMeetingSeat.meeting_id == meeting.id))
    meeting.starts_at, meeting.table_number = None, None
    session.flush()

