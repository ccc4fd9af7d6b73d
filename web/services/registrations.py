"""Registration verbs: register an organization and its attendees, edit them, set availability, withdraw.

Places are counted in `event.places_taken` and changed only by conditional UPDATEs, so two
registrations for the last place cannot both win; status changes are conditional UPDATEs too,
so a place is freed once however many times a withdrawal is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    HOLDING_STATUSES,
    Event,
    EventAttendee,
    EventMeeting,
    EventRegistration,
    EventUnavailableSlot,
    MeetingRequest,
    User,
)
from models.base import utcnow
from web.errors import DomainError, Forbidden, NotFound, ValidationFailed
from web.i18n import N_, _
from web.services import notifications
from web.services.accounts import normalize_email
from web.services.events import get_event, is_over, local, slots_of

MAX_ATTENDEES = 10
STATUS_LABELS = {
    "pending": N_("Waiting for approval"),
    "approved": N_("Registered"),
    "rejected": N_("Declined"),
    "withdrawn": N_("Withdrawn"),
}


class RegistrationConflict(DomainError):
    """The registration cannot change now (full, closed, already registered, not registered)."""

    status_code = 409
    code = "registration_conflict"


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


# --- attendees ---------------------------------------------------------------------------------

def read_attendees(form: Any) -> list[dict[str, str]]:
    """Attendee rows as typed: name, job title, email."""
    names, titles, emails = (form.getlist(key) for key in ("attendee_name", "attendee_title", "attendee_email"))
    count = max(len(names), len(titles), len(emails))
    pick = lambda items, i: str(items[i]) if i < len(items) else ""  # noqa: E731
    return [{"name": pick(names, i), "title": pick(titles, i), "email": pick(emails, i)} for i in range(count)]


def edit_attendees(rows: list[dict[str, str]], add: str = "", remove: str = "") -> list[dict[str, str]]:
    """The no-JavaScript Add/Remove buttons of the attendee list."""
    if add == "attendees" and len(rows) < MAX_ATTENDEES:
        rows = [*rows, {"name": "", "title": "", "email": ""}]
    name, _sep, index = remove.partition(":")
    if name == "attendees" and index.isdigit() and int(index) < len(rows) and len(rows) > 1:
        rows = rows[:int(index)] + rows[int(index) + 1:]
    return rows


def validate_attendees(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """1 to 10 attendees with a full name and, if given, a valid email; errors keyed by the row shown."""
    errors: dict[str, str] = {}
    clean: list[dict[str, str]] = []
    for i, row in enumerate(rows):
        name, title, email = (str(row.get(key, "")).strip() for key in ("name", "title", "email"))
        if not (name or title or email):
            continue
        if not name:
            errors[f"attendee-{i}-name"] = _("Give the attendee's full name.")
        elif len(name) > 200 or len(title) > 200:
            errors[f"attendee-{i}-name"] = _("Keep names and job titles to 200 characters.")
        if email:
            try:
                email = normalize_email(email)
            except ValueError:
                errors[f"attendee-{i}-email"] = _("Enter a valid email address, such as name@example.com.")
        clean.append({"name": name, "title": title, "email": email})
    if not clean:
        errors["attendees"] = _("Name at least one person who will attend.")
    elif len(clean) > MAX_ATTENDEES:
        errors["attendees"] = _("Name at most %(n)d attendees.") % {"n": MAX_ATTENDEES}
    elif errors:
        errors["attendees"] = _("Correct the marked attendees.")
    if errors:
        raise ValidationFailed(errors["attendees"], field_errors=errors)
    return clean


def _set_attendees(reg: EventRegistration, attendees: list[dict[str, str]]) -> None:
    reg.attendees = [EventAttendee(full_name=a["name"], job_title=a["title"], email=a["email"]) for a in attendees]


# --- who may register --------------------------------------------------------------------------

def own_registration(session: Session, event: Event, org_id: int | None) -> EventRegistration | None:
    if org_id is None:
        return None
    return session.scalar(select(EventRegistration).where(EventRegistration.event_id == event.id,
                                                          EventRegistration.organization_id == org_id))


def closed_reason(event: Event, now: datetime | None = None) -> tuple[str, str] | None:
    """Why nobody can register now (code, message), or None while registration is open."""
    now = now or utcnow()
    if not event.is_published:
        return "event_not_published", _("This event is not published: registration is not open.")
    if is_over(event, now):
        return "event_over", _("This event is over.")
    if now >= event.registration_deadline:
        return "deadline_passed", _("The registration deadline has passed.")
    if event.places_taken >= event.capacity:
        return "event_full", _("The event is full: every place is taken.")
    return None


def member_refusal(user: User) -> tuple[str, str] | None:
    """Why this user cannot register an organization at all, or None."""
    org = user.organization
    if org is None:
        return "no_organization", _("Only member organizations register for events; your account has none.")
    if not org.is_approved:
        return "not_approved", _("Your organization must be approved by an organizer before it can register.")
    return None


def check_can_register(session: Session, user: User, event: Event,
                       now: datetime | None = None) -> EventRegistration | None:
    """The organization's earlier withdrawn registration (reused) or None; a clear refusal otherwise."""
    refusal = member_refusal(user)
    if refusal:
        raise Forbidden(refusal[1], code=refusal[0])
    existing = own_registration(session, event, user.organization_id)
    if existing is not None and existing.status in HOLDING_STATUSES:
        raise RegistrationConflict(_("Your organization is already registered for this event."),
                                   code="already_registered")
    if existing is not None and existing.status == "rejected":
        raise RegistrationConflict(_("The organizers declined your organization's registration for this event."),
                                   code="registration_rejected")
    reason = closed_reason(event, now)
    if reason:
        raise RegistrationConflict(reason[1], code=reason[0])
    return existing


# --- places --------------------------------------------------------------------------------------

def take_place(session: Session, event: Event, now: datetime) -> None:
    """Hold one place with a conditional UPDATE; of two requests for the last place exactly one wins."""
    result = session.execute(
        update(Event)
        .where(Event.id == event.id, Event.places_taken < Event.capacity, Event.status == "published",
               Event.registration_deadline > now, Event.ends_at > now)
        .values(places_taken=Event.places_taken + 1)
        .execution_options(synchronize_session=False))
    session.refresh(event)
    if result.rowcount != 1:
        code, message = closed_reason(event, now) or ("event_full", _("The event is full: every place is taken."))
        raise RegistrationConflict(message, code=code)


def release_place(session: Session, event: Event) -> None:
    session.execute(update(Event).where(Event.id == event.id, Event.places_taken > 0)
                    .values(places_taken=Event.places_taken - 1).execution_options(synchronize_session=False))
    session.refresh(event)


def move_status(session: Session, reg: EventRegistration, from_statuses: tuple[str, ...], **values: Any) -> bool:
    """Change a registration's status only if it is still in one of from_statuses."""
    result = session.execute(update(EventRegistration)
                             .where(EventRegistration.id == reg.id, EventRegistration.status.in_(from_statuses))
                             .values(updated_at=utcnow(), **values).execution_options(synchronize_session=False))
    session.refresh(reg)
    return result.rowcount == 1


# --- register, attendees, availability, withdraw -----------------------------------------------

def register(session: Session, settings, user: User, event_id: int, rows: list[dict[str, str]],
             now: datetime | None = None) -> EventRegistration:
    """Register the user's organization with its attendees: approved at once or pending the organizers."""
    now = now or utcnow()
    event = get_event(session, event_id, user)
    existing = check_can_register(session, user, event, now)
    attendees = validate_attendees(rows)
    take_place(session, event, now)
    status = "approved" if event.auto_approve else "pending"
    values = {"status": status, "status_reason": "", "registered_by_user_id": user.id, "created_at": now,
              "decided_at": now if status == "approved" else None, "withdrawn_at": None}
    if existing is not None:
        if not move_status(session, existing, ("withdrawn",), **values):
            raise RegistrationConflict(_("Your organization is already registered for this event."),
                                       code="already_registered")
        reg = existing
        session.execute(delete(EventUnavailableSlot).where(EventUnavailableSlot.registration_id == reg.id))
        session.refresh(reg, ["unavailable_slots"])
    else:
        reg = EventRegistration(event_id=event.id, organization_id=user.organization_id, **values)
        try:
            with session.begin_nested():
                session.add(reg)
        except IntegrityError:
            # A colleague registered the same organization at the same moment; the caller rolls back the place.
            raise RegistrationConflict(_("Your organization is already registered for this event."),
                                       code="already_registered")
    _set_attendees(reg, attendees)
    session.flush()
    org = reg.organization
    if status == "pending":
        notifications.notify_organizers(session, settings, "event_registration_new", event=event, org=org,
                                        extra=email_extra(event, reg))
    else:
        notifications.notify_org(session, settings, org.id, "event_registration_approved", None, event=event,
                                 org=org, extra=email_extra(event, reg))
    return reg


def get_own_registration(session: Session, user: User, event_id: int) -> tuple[Event, EventRegistration]:
    """The event and the user's organization's registration; 404 if it has none."""
    event = get_event(session, event_id, user)
    reg = own_registration(session, event, user.organization_id)
    if reg is None:
        raise NotFound(_("Your organization has not registered for this event."))
    return event, reg


def _require_active(event: Event, reg: EventRegistration, now: datetime | None = None) -> None:
    if reg.status not in HOLDING_STATUSES:
        raise RegistrationConflict(_("Your organization's registration is %(status)s: there is nothing to change.")
                                   % {"status": status_label(reg.status)}, code="registration_inactive")
    if is_over(event, now):
        raise RegistrationConflict(_("This event is over."), code="event_over")


def update_attendees(session: Session, user: User, event_id: int, rows: list[dict[str, str]]) -> EventRegistration:
    """Replace the people who attend (1 to 10)."""
    event, reg = get_own_registration(session, user, event_id)
    _require_active(event, reg)
    _set_attendees(reg, validate_attendees(rows))
    session.flush()
    return reg


def parse_slot_values(event: Event, raw: list[str]) -> set[datetime]:
    """Slot starts from the form; ValidationFailed if any is not one of the event's slots."""
    starts = {slot.starts_at for slot in slots_of(event)}
    chosen: set[datetime] = set()
    for text in raw:
        try:
            value = datetime.fromisoformat(str(text))
        except ValueError:
            value = None
        if value is None or value.tzinfo is None or value not in starts:
            message = _("%(value)s is not one of this event's meeting slots (availability outside the event). "
                        "Nothing was saved.") % {"value": str(text)[:40]}
            raise ValidationFailed(message, field_errors={"availability": message})
        chosen.add(value)
    return chosen


def save_availability(session: Session, user: User, event_id: int, available: list[str] | None = None,
                      preset: str = "") -> EventRegistration:
    """Replace the organization's availability: slots not ticked become unavailable."""
    event, reg = get_own_registration(session, user, event_id)
    _require_active(event, reg)
    starts = [slot.starts_at for slot in slots_of(event)]
    if preset == "all":
        free = set(starts)
    elif preset == "none":
        free = set()
    else:
        free = parse_slot_values(event, available or [])
    session.execute(delete(EventUnavailableSlot).where(EventUnavailableSlot.registration_id == reg.id))
    session.add_all(EventUnavailableSlot(registration_id=reg.id, starts_at=start) for start in starts
                    if start not in free)
    session.flush()
    session.refresh(reg, ["unavailable_slots"])
    return reg


def withdraw(session: Session, settings, user: User, event_id: int) -> EventRegistration:
    """Withdraw: the place is freed and the organization's meetings here leave the timetable."""
    event, reg = get_own_registration(session, user, event_id)
    if is_over(event):
        raise RegistrationConflict(_("This event is over."), code="event_over")
    if not move_status(session, reg, HOLDING_STATUSES, status="withdrawn", withdrawn_at=utcnow()):
        raise RegistrationConflict(_("Your organization's registration is %(status)s: there is nothing to withdraw.")
                                   % {"status": status_label(reg.status)}, code="registration_inactive")
    release_place(session, event)
    take_meetings_off(session, settings, event, reg.organization_id, "withdrawn")
    return reg


def take_meetings_off(session: Session, settings, event: Event, org_id: int, reason: str) -> int:
    """Unplace the organization's meetings at the event; the other side hears of any it had been shown."""
    meetings = session.scalars(
        select(EventMeeting).join(MeetingRequest, EventMeeting.request_id == MeetingRequest.id)
        .where(EventMeeting.event_id == event.id,
               or_(MeetingRequest.requester_org_id == org_id, MeetingRequest.recipient_org_id == org_id))
        .order_by(EventMeeting.id)).all()
    for meeting in meetings:
        meeting.seats.clear()
        meeting.starts_at, meeting.table_number, meeting.pinned = None, None, False
        meeting.unplaced_reason = reason
        session.flush()
        if meeting.published_starts_at is not None:
            other = meeting.request.other_org(org_id)
            notifications.notify_org(session, settings, other.id, "event_meeting_cancelled", meeting.request,
                                     dedupe_prefix=f"event_meeting_cancelled:{meeting.id}:{meeting.sequence}",
                                     event=event, extra={"reason": reason, "meeting": meeting})
    return len(meetings)


def email_extra(event: Event, reg: EventRegistration) -> dict[str, Any]:
    """Language-neutral facts for the event emails (dates as YYYY-MM-DD HH:MM in the event's zone)."""
    start, end = local(event.starts_at, event.time_zone), local(event.ends_at, event.time_zone)
    deadline = local(event.registration_deadline, event.time_zone)
    return {"registration": reg, "attendee_count": len(reg.attendees), "reason": reg.status_reason,
            "when": f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} ({event.time_zone})",
            "deadline": f"{deadline:%Y-%m-%d %H:%M} ({event.time_zone})",
            "where": " / ".join(part for part in (event.venue, event.online_url) if part)}
