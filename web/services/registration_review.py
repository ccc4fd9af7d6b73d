"""The organizer's side of registrations: the list with counts, approve, reject, and the participants CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import HOLDING_STATUSES, REGISTRATION_STATUSES, Event, EventRegistration
from models.base import utcnow
from web.errors import NotFound, ValidationFailed
from web.i18n import _, country_name
from web.services import notifications
from web.services.events import local
from web.services.interchange import FORMULA_STARTS
from web.services.organizations import kind_label
from web.services.registrations import (
    RegistrationConflict,
    move_status,
    email_extra,
    release_place,
    status_label,
    take_meetings_off,
)

MAX_REASON = 2000


def list_registrations(session: Session, event: Event, status: str = "") -> list[EventRegistration]:
    """The event's registrations (of one status, or all), oldest first."""
    query = select(EventRegistration).where(EventRegistration.event_id == event.id)
    if status in REGISTRATION_STATUSES:
        query = query.where(EventRegistration.status == status)
    return list(session.scalars(query.order_by(EventRegistration.created_at, EventRegistration.id)).unique())


def get_registration(session: Session, event: Event, registration_id: int) -> EventRegistration:
    reg = session.get(EventRegistration, registration_id)
    if reg is None or reg.event_id != event.id:
        raise NotFound(_("There is no such registration."))
    return reg


def approve(session: Session, settings, event: Event, registration_id: int,
            now: datetime | None = None) -> EventRegistration:
    """Approve a pending registration (or one declined by mistake, if a place is free)."""
    now = now or utcnow()
    reg = get_registration(session, event, registration_id)
    if reg.status == "rejected":
        # A declined registration holds no place: take one back first (refused if the event is full).
        _take_back(session, event, now)
        moved = move_status(session, reg, ("rejected",), status="approved", status_reason="", decided_at=now)
        if not moved:
            raise _not_decidable(reg)
    elif not move_status(session, reg, ("pending",), status="approved", status_reason="", decided_at=now):
        raise _not_decidable(reg)
    notifications.notify_org(session, settings, reg.organization_id, "event_registration_approved", None,
                             event=event, org=reg.organization, extra=email_extra(event, reg))
    return reg


def _take_back(session: Session, event: Event, now: datetime) -> None:
    result = session.execute(update(Event).where(Event.id == event.id, Event.places_taken < Event.capacity)
                             .values(places_taken=Event.places_taken + 1)
                             .execution_options(synchronize_session=False))
    session.refresh(event)
    if result.rowcount != 1:
        raise RegistrationConflict(_("The event is full: raise the capacity before approving this registration."),
                                   code="event_full")


def reject(session: Session, settings, event: Event, registration_id: int, reason: str,
           now: datetime | None = None) -> EventRegistration:
    """Decline a pending or approved registration with a reason the organization sees; the place is freed."""
    reason = (reason or "").strip()
    if not reason:
        message = _("Give a reason: the organization will see it.")
        raise ValidationFailed(message, field_errors={"reason": message})
    if len(reason) > MAX_REASON:
        message = _("Keep the reason to 2,000 characters.")
        raise ValidationFailed(message, field_errors={"reason": message})
    reg = get_registration(session, event, registration_id)
    if not move_status(session, reg, HOLDING_STATUSES, status="rejected", status_reason=reason,
                       decided_at=now or utcnow()):
        raise _not_decidable(reg)
    release_place(session, event)
    take_meetings_off(session, settings, event, reg.organization_id, "registration_rejected")
    notifications.notify_org(session, settings, reg.organization_id, "event_registration_rejected", None,
                             event=event, org=reg.organization, extra=email_extra(event, reg))
    return reg


def _not_decidable(reg: EventRegistration) -> RegistrationConflict:
    return RegistrationConflict(_("This registration is already %(status)s.") % {"status": status_label(reg.status)},
                                code="registration_not_pending")


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


CSV_HEADER = ("organization", "kind", "country", "registration_status", "registered_at ({zone})", "attendee_name",
              "attendee_job_title", "attendee_email")


def participants_csv(session: Session, event: Event, status: str = "") -> Iterator[str]:
    """One row per attendee (organization columns repeated), times in the event's zone; UTF-8 with BOM for Excel."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow([name.format(zone=event.time_zone) for name in CSV_HEADER])
    for reg in list_registrations(session, event, status):
        org = reg.organization
        registered = local(reg.created_at, event.time_zone).strftime("%Y-%m-%d %H:%M")
        head = [org.name, kind_label(org.kind), country_name(org.country), status_label(reg.status), registered]
        for attendee in reg.attendees or [None]:
            person = [attendee.full_name, attendee.job_title, attendee.email] if attendee else ["", "", ""]
            writer.writerow([_cell(value) for value in head + person])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()
