"""The timetable by hand: move a meeting to a slot and table (checked for clashes), take it off, hand it back.

Moves rely on the unique keys of event_meeting (event, slot, table) and event_meeting_seat (event, slot,
organization): two organizers booking the same place at once end with one winner and one 409, never a 500.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matchmaker.slots import Slot
from models import Event, EventMeeting, EventMeetingSeat, EventRegistration, EventUnavailableSlot, User
from models.base import utcnow
from web.errors import NotFound, ValidationFailed
from web.i18n import _
from web.services.event_matching import approved_org_ids
from web.services.event_times import span_text
from web.services.events import slots_of
from web.services.timetable import TimetableConflict, check_open, parties, timetable_event, withdrawn_party


def event_meeting(session: Session, event: Event, meeting_id: int) -> EventMeeting:
    meeting = session.get(EventMeeting, meeting_id)
    if meeting is None or meeting.event_id != event.id or meeting.request.status != "accepted":
        raise NotFound(_("There is no such meeting at this event."))
    return meeting


def parse_slot(event: Event, value: Any) -> Slot:
    """The slot whose UTC start the form sent (its stable identity), or ValidationFailed on `slot`."""
    text = str(value or "").strip()
    try:
        starts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        starts = None
    slot = next((s for s in slots_of(event) if starts is not None and starts.tzinfo and s.starts_at == starts), None)
    if slot is None:
        message = _("Choose one of the event's meeting slots.")
        raise ValidationFailed(message, field_errors={"slot": message})
    return slot


def parse_table(event: Event, value: Any) -> int | None:
    """A table in 1..table_count, or None for an online event; ValidationFailed on `table` otherwise."""
    text = str(value or "").strip()
    if event.table_count is None:
        if text:
            message = _("This event is online: its meetings have no table.")
            raise ValidationFailed(message, field_errors={"table": message})
        return None
    try:
        table = int(text)
    except ValueError:
        table = 0
    if not 1 <= table <= event.table_count:
        message = _("Choose a table from 1 to %(n)s.") % {"n": event.table_count}
        raise ValidationFailed(message, field_errors={"table": message})
    return table


def _conflicts(session: Session, event: Event, meeting: EventMeeting, slot, table: int | None) -> dict[str, str]:
    """Why the meeting cannot take this slot and table: one clear message per field ('slot', 'table')."""
    when = span_text(slot.starts_at, event.meeting_minutes, event.time_zone, with_date=False)
    orgs = {meeting.request.requester_org_id: meeting.request.requester_org,
            meeting.request.recipient_org_id: meeting.request.recipient_org}
    problems: list[str] = []
    off = set(session.scalars(
        select(EventRegistration.organization_id).join(EventRegistration.unavailable_slots)
        .where(EventRegistration.event_id == event.id, EventRegistration.organization_id.in_(orgs),
               EventUnavailableSlot.starts_at == slot.starts_at)))
    for org_id, org in orgs.items():
        if org_id in off:
            problems.append(_("%(org)s is not available at %(time)s.") % {"org": org.name, "time": when})
    busy = session.execute(select(EventMeetingSeat.organization_id, EventMeetingSeat.meeting_id)
                           .where(EventMeetingSeat.event_id == event.id, EventMeetingSeat.starts_at == slot.starts_at,
                                  EventMeetingSeat.organization_id.in_(orgs),
                                  EventMeetingSeat.meeting_id != meeting.id)).all()
    for org_id, other_id in busy:
        other = session.get(EventMeeting, other_id).request.other_org(org_id)
        problems.append(_("%(org)s already has a meeting at %(time)s, with %(other)s.")
                        % {"org": orgs[org_id].name, "time": when, "other": other.name})
    errors = {"slot": " ".join(problems)} if problems else {}
    if table is not None:
        holder = session.scalar(select(EventMeeting).where(
            EventMeeting.event_id == event.id, EventMeeting.starts_at == slot.starts_at,
            EventMeeting.table_number == table, EventMeeting.id != meeting.id))
        if holder is not None:
            errors["table"] = (_("Table %(table)s is taken at %(time)s by %(a)s and %(b)s.")
                               % {"table": table, "time": when, "a": holder.request.requester_org.name,
                                  "b": holder.request.recipient_org.name})
    return errors


def _replace_place(session: Session, event: Event, meeting: EventMeeting, starts: datetime | None,
                   table: int | None, reason: str) -> None:
    """Move one meeting with a conditional UPDATE and fresh seats; a concurrent change or clash is a 409."""
    was = (meeting.starts_at, meeting.table_number)
    try:
        with session.begin_nested():
            changed = session.execute(
                update(EventMeeting)
                .where(EventMeeting.id == meeting.id,
                       EventMeeting.starts_at.is_not_distinct_from(was[0]),
                       EventMeeting.table_number.is_not_distinct_from(was[1]))
                .values(starts_at=starts, table_number=table, pinned=True, unplaced_reason=reason,
                        updated_at=utcnow())
                .execution_options(synchronize_session=False)).rowcount
            if changed != 1:
                raise TimetableConflict(_("Another organizer changed this meeting a moment ago. Here is the "
                                          "timetable as it is now."), code="timetable_race")
            session.execute(delete(EventMeetingSeat).where(EventMeetingSeat.meeting_id == meeting.id))
            if starts is not None:
                session.add_all(EventMeetingSeat(meeting_id=meeting.id, event_id=event.id, organization_id=org,
                                                 starts_at=starts) for org in parties(meeting))
            session.flush()
    except IntegrityError:
        raise TimetableConflict(_("Another organizer just placed a meeting there. Here is the timetable as it "
                                  "is now; choose another slot or table."), code="timetable_race")
    session.expire(meeting)


def move_meeting(session: Session, user: User, event_id: int, meeting_id: int, slot_value: Any,
                 table_value: Any) -> EventMeeting:
    """Place a meeting by hand in a slot and at a table, if both sides are free then; it stays pinned there."""
    event = timetable_event(session, user, event_id)
    meeting = event_meeting(session, event, meeting_id)
    check_open(event)
    errors: dict[str, str] = {}
    slot = table = None
    for name, parse in (("slot", lambda: parse_slot(event, slot_value)),
                        ("table", lambda: parse_table(event, table_value))):
        try:
            value = parse()
        except ValidationFailed as exc:
            errors |= exc.field_errors
            continue
        slot, table = (value, table) if name == "slot" else (slot, value)
    if errors:
        raise ValidationFailed(" ".join(errors.values()), field_errors=errors)
    gone = withdrawn_party(meeting, approved_org_ids(session, event.id))
    if gone is not None:
        org = (meeting.request.requester_org if gone == meeting.request.requester_org_id
               else meeting.request.recipient_org)
        raise TimetableConflict(_("%(org)s is no longer a confirmed participant: this meeting cannot be placed.")
                                % {"org": org.name}, code="withdrawn")
    conflicts = _conflicts(session, event, meeting, slot, table)
    if conflicts:
        raise TimetableConflict(" ".join(conflicts.values()), code="slot_conflict", field_errors=conflicts)
    _replace_place(session, event, meeting, slot.starts_at, table, "")
    return meeting


def remove_meeting(session: Session, user: User, event_id: int, meeting_id: int) -> EventMeeting:
    """Take a meeting off the timetable by hand; automatic runs leave it off until it is placed again."""
    event = timetable_event(session, user, event_id)
    meeting = event_meeting(session, event, meeting_id)
    check_open(event)
    _replace_place(session, event, meeting, None, None, "removed")
    return meeting


def release_meeting(session: Session, user: User, event_id: int, meeting_id: int) -> EventMeeting:
    """Hand a meeting back to automatic runs (unpin it; one taken off waits for the next run)."""
    event = timetable_event(session, user, event_id)
    meeting = event_meeting(session, event, meeting_id)
    check_open(event)
    meeting.pinned = False
    if meeting.unplaced_reason == "removed":
        meeting.unplaced_reason = ""
    session.flush()
    return meeting
