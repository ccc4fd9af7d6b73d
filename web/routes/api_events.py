"""JSON API v1, events: the public list and detail, and the organizer's create, edit, publish and unpublish.

The same service calls as the event pages (web/routes/events.py), so both refuse and store alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from fastapi import Query, Request
from sqlalchemy.orm import Session

from models import Event, User
from web.deps import DbSession, OptionalUser, Organizer
from web.errors import ValidationFailed
from web.i18n import current_language
from web.routes.api import ERRORS
from web.routes.api_event_models import (
    EventChangeOut,
    EventId,
    EventIn,
    EventOut,
    EventPage,
    EventSummary,
    detail_values,
    event_fields,
    form_values,
    summary_values,
)
from web.routing import feature_router
from web.services import events, registrations
from web.services.event_form import blank_values, event_values

router = feature_router(prefix="/api/v1", tags=["events"], responses=ERRORS)
T = TypeVar("T")


def event_out(session: Session, event: Event, user: User | None) -> EventOut:
    """The event as the caller may see it: the online link and the registration counts only for whom they are."""
    language = current_language()
    reg = registrations.own_registration(session, event, user.organization_id) if user else None
    counts = events.registration_counts(session, event) if user is not None and user.is_organizer else None
    return EventOut(**summary_values(event, language, reg, events.shows_online_link(user, reg)),
                    **detail_values(event, language), registration_counts=counts)


def _checked(save: Callable[[], T]) -> T:
    """Run the form's validation; its per-field messages come back under the API's field names."""
    try:
        return save()
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field_errors=event_fields(exc.field_errors)) from None


@router.get("/events", response_model=EventPage)
def list_events(session: DbSession, user: OptionalUser, when: Literal["upcoming", "past"] = "upcoming",
                status: Literal["draft", "published"] | None = None,
                limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
                offset: Annotated[int, Query(ge=0, le=100_000, description="Events to skip.")] = 0) -> EventPage:
    """Upcoming events (not ended, soonest first) or past ones (latest first), a page at a time.

    Everyone sees published events; organizers see drafts among them too, or one status with `status`.
    """
    rows, total = events.page_events(session, user, when, status=status or "", limit=limit, offset=offset)
    mine = events.registrations_by_event(session, user.organization_id if user else None, [e.id for e in rows])
    language = current_language()
    items = [EventSummary(**summary_values(event, language, mine.get(event.id),
                                           events.shows_online_link(user, mine.get(event.id)))) for event in rows]
    return EventPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/events/{event_id}", response_model=EventOut)
def get_event(session: DbSession, user: OptionalUser, event_id: EventId) -> EventOut:
    """One event with its breaks and meeting slots, places left and the caller's registration (drafts: organizers)."""
    return event_out(session, events.get_event(session, event_id, user), user)


@router.post("/events", response_model=EventOut, status_code=201)
def create_event(request: Request, session: DbSession, user: Organizer, body: EventIn) -> EventOut:
    """Create a draft event (organizers). Times are wall-clock times in the event's `time_zone`, as on the form."""
    values = form_values(body, blank_values(request.app.state.settings.default_time_zone))
    event = _checked(lambda: events.create_event(session, user, values))
    return event_out(session, event, user)


@router.patch("/events/{event_id}", response_model=EventChangeOut)
def update_event(session: DbSession, user: Organizer, event_id: EventId, body: EventIn) -> EventChangeOut:
    """Change the fields given (organizers); registrations stay, availability for removed slots goes.

    Unchanged times keep their wall-clock values: a new `time_zone` alone moves the event to that zone's clock.
    """
    event = events.get_event(session, event_id, user)
    values = form_values(body, event_values(event))
    change = _checked(lambda: events.update_event(session, event, values))
    return EventChangeOut(event=event_out(session, event, user), slots_changed=change.slots_changed,
                          timetable_affected=change.timetable_affected,
                          availability_cleared=change.availability_cleared)


@router.post("/events/{event_id}/publish", response_model=EventOut)
def publish_event(session: DbSession, user: Organizer, event_id: EventId) -> EventOut:
    """Publish a draft (organizers): everyone sees it and members can register. 409 once the event is over."""
    event = events.publish_event(session, events.get_event(session, event_id, user))
    return event_out(session, event, user)


@router.post("/events/{event_id}/unpublish", response_model=EventOut)
def unpublish_event(session: DbSession, user: Organizer, event_id: EventId) -> EventOut:
    """Back to draft (organizers): only organizers see it; registrations are kept."""
    event = events.unpublish_event(session, events.get_event(session, event_id, user))
    return event_out(session, event, user)
