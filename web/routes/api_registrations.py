"""JSON API v1, registrations: the caller's organization's registration, attendees, availability and
withdrawal, and the organizer's list, approval and rejection.

The same service calls as the registration pages (web/routes/registrations.py): the same refusals,
the same notifications and emails, the same places held and freed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request

from web.deps import DbSession, Member, Organizer
from web.errors import ValidationFailed
from web.routes.api import ERRORS
from web.routes.api_event_models import (
    AttendeesIn,
    AvailabilityIn,
    AvailabilityOut,
    EventId,
    RegistrationId,
    RegistrationOut,
    RegistrationStatus,
    RejectIn,
    attendee_fields,
    attendee_rows,
    registration_out,
    slot_out,
)
from web.routing import feature_router
from web.services import events, registration_review, registrations

router = feature_router(prefix="/api/v1", tags=["registrations"], responses=ERRORS)


def _attendees_checked(save):
    try:
        return save()
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field_errors=attendee_fields(exc.field_errors)) from None



# --- the caller's own registration -----------------------------------------------------------------

@router.post("/events/{event_id}/registration", response_model=RegistrationOut, status_code=201)
def register(request: Request, session: DbSession, user: Member, event_id: EventId,
             body: AttendeesIn) -> RegistrationOut:
    """Register the caller's organization with its attendees: approved at once or pending the organizers' review.

    409 when the event is full, closed or over, or the organization is already registered (or was declined).
    """
    settings = request.app.state.settings
    reg = _attendees_checked(lambda: registrations.register(session, settings, user, event_id, attendee_rows(body)))
    return registration_out(reg)


@router.get("/events/{event_id}/registration", response_model=RegistrationOut)
def get_registration(session: DbSession, user: Member, event_id: EventId) -> RegistrationOut:
    """The caller's organization's registration for the event (404 if it has none)."""
    _event, reg = registrations.get_own_registration(session, user, event_id)
    return registration_out(reg)


@router.put("/events/{event_id}/registration/attendees", response_model=RegistrationOut)
def replace_attendees(session: DbSession, user: Member, event_id: EventId, body: AttendeesIn) -> RegistrationOut:
    """Replace the people who attend (1 to 10) while the registration is pending or approved."""
    reg = _attendees_checked(lambda: registrations.update_attendees(session, user, event_id, attendee_rows(body)))
    return registration_out(reg)


@router.post("/events/{event_id}/registration/withdraw", response_model=RegistrationOut)
def withdraw(request: Request, session: DbSession, user: Member, event_id: EventId) -> RegistrationOut:
    """Withdraw: the place is freed and the organization's meetings at the event leave the timetable.

    The registration stays (status withdrawn); registering again later reuses it.
    """
    reg = registrations.withdraw(session, request.app.state.settings, user, event_id)
    return registration_out(reg)


def _availability(reg) -> AvailabilityOut:
    event = reg.event
    unavailable = {row.starts_at for row in reg.unavailable_slots}
    slots = [slot_out(slot, event.time_zone, available=slot.starts_at not in unavailable)
             for slot in events.slots_of(event)]
    return AvailabilityOut(event_id=event.id, registration_id=reg.id, time_zone=event.time_zone, slots=slots)


@router.get("/events/{event_id}/availability", response_model=AvailabilityOut)
def get_availability(session: DbSession, user: Member, event_id: EventId) -> AvailabilityOut:
    """Every meeting slot of the event, available or not for the caller's organization."""
    _event, reg = registrations.get_own_registration(session, user, event_id)
    return _availability(reg)


@router.put("/events/{event_id}/availability", response_model=AvailabilityOut)
def replace_availability(session: DbSession, user: Member, event_id: EventId, body: AvailabilityIn) -> AvailabilityOut:
    """Replace the availability with the list of slots in which the organization can meet.

    A start that is not one of the event's slots refuses the request (422, field `available`); nothing is stored.
    """
    try:
        reg = registrations.save_availability(session, user, event_id, body.available)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field_errors={"available": exc.message}) from None
    return _availability(reg)


# --- the organizer's review ------------------------------------------------------------------------

@router.get("/events/{event_id}/registrations", response_model=list[RegistrationOut])
def list_registrations(session: DbSession, user: Organizer, event_id: EventId,
                       status: Annotated[RegistrationStatus | None, Query(description="Only this status.")] = None,
                       ) -> list[RegistrationOut]:
    """The event's registrations (organizers), oldest first, optionally of one status."""
    event = events.get_event(session, event_id, user)
    return [registration_out(reg) for reg in registration_review.list_registrations(session, event, status or "")]


@router.get("/events/{event_id}/registrations/{registration_id}", response_model=RegistrationOut)
def get_event_registration(session: DbSession, user: Organizer, event_id: EventId,
                         registration_id: RegistrationId) -> RegistrationOut:
    """One registration of the event (organizers)."""
    event = events.get_event(session, event_id, user)
    return registration_out(registration_review.get_registration(session, event, registration_id))


@router.post("/events/{event_id}/registrations/{registration_id}/approve", response_model=RegistrationOut)
def approve(request: Request, session: DbSession, user: Organizer, event_id: EventId,
            registration_id: RegistrationId) -> RegistrationOut:
    """Approve a pending registration, or a declined one while a place is free (organizers); it is notified."""
    event = events.get_event(session, event_id, user)
    reg = registration_review.approve(session, request.app.state.settings, event, registration_id)
    return registration_out(reg)


@router.post("/events/{event_id}/registrations/{registration_id}/reject", response_model=RegistrationOut)
def reject(request: Request, session: DbSession, user: Organizer, event_id: EventId,
           registration_id: RegistrationId, body: RejectIn | None = None) -> RegistrationOut:
    """Decline a pending or approved registration with a reason the organization sees; its place is freed."""
    event = events.get_event(session, event_id, user)
    reg = registration_review.reject(session, request.app.state.settings, event, registration_id,
                                     body.reason if body else "")
    return registration_out(reg)
