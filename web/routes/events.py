"""Events: the public list and detail pages, and the organizer's create, edit, publish and unpublish."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from models import Event, User
from models.base import utcnow
from web.deps import DbSession, Form, Organizer, OptionalUser
from web.errors import ValidationFailed
from web.flash import flash
from web.i18n import N_, _, current_language, ngettext, time_zone_choices
from web.routing import feature_router
from web.services import events, registrations
from web.services.event_form import MAX_BREAKS, blank_values, edit_breaks, event_values, read_event_form
from web.services.profile import partner_country_codes
from web.templating import render

router = feature_router()
# The event's own pages (and the member's agenda), linked from the event page for those who may use them.
TOOL_LINKS = (
    ("participants", "/events/{id}/participants", N_("Find partners among the participants")),
    ("agenda", "/agenda", N_("My agenda")),
    ("timetable", "/events/{id}/timetable", N_("Timetable")),
    ("dashboard", "/events/{id}/dashboard", N_("Event dashboard")),
)


def viewer_zone(request: Request, user: User | None) -> str:
    return user.time_zone if user else request.app.state.settings.default_time_zone


def tool_links(user: User | None, event: Event, reg) -> list[dict[str, str]]:
    """Links to the participants, agenda, timetable and dashboard pages the viewer may use."""
    approved = reg is not None and reg.status == "approved"
    allowed = {
        "participants": bool(user) and (user.is_organizer or approved),
        "agenda": approved,
        "timetable": bool(user) and user.is_organizer,
        "dashboard": bool(user) and user.is_organizer,
    }
    return [{"key": key, "href": pattern.format(id=event.id), "label": _(label)}
            for key, pattern, label in TOOL_LINKS if allowed[key]]


@router.get("/events", response_class=HTMLResponse)
def list_events(request: Request, session: DbSession, user: OptionalUser):
    """Upcoming and past published events for everyone; drafts too for organizers."""
    lists = events.list_events(session, user)
    shown = [e for rows in lists.values() for e in rows]
    language, zone = current_language(), viewer_zone(request, user)
    return render(request, "events/index.html", {
        "active_tab": "events", "lists": lists, "times": {e.id: events.when(e, zone, language) for e in shown},
        "mine": events.registrations_by_event(session, user.organization_id if user else None, [e.id for e in shown]),
        "places_left": events.places_left, "status_label": registrations.status_label, "now_utc": utcnow(),
    })


def _form_page(request: Request, session, *, values: dict[str, Any], errors: dict[str, str] | None = None,
               event: Event | None = None, status_code: int = 200):
    counts = events.registration_counts(session, event) if event is not None else {}
    return render(request, "events/form.html", {
        "active_tab": "events", "values": values, "errors": errors or {}, "event": event, "counts": counts,
        "zone_groups": time_zone_choices(values["time_zone"], featured=partner_country_codes(session)),
        "max_breaks": MAX_BREAKS, "has_timetable": event is not None and events.has_timetable(session, event),
    }, status_code=status_code)


@router.get("/events/new", response_class=HTMLResponse)
def new_event_form(request: Request, session: DbSession, user: Organizer):
    """The organizer's form for a new event (saved as a draft)."""
    return _form_page(request, session, values=blank_values(request.app.state.settings.default_time_zone))


@router.post("/events/new", response_class=HTMLResponse)
def create_event(request: Request, session: DbSession, user: Organizer, form: Form):
    """Create a draft; bad input re-renders the form with everything typed and a message beside each field."""
    values = read_event_form(form)
    add, remove = str(form.get("list_add", "")), str(form.get("list_remove", ""))
    if add or remove:
        return _form_page(request, session, values=edit_breaks(values, add, remove))
    try:
        event = events.create_event(session, user, values)
    except ValidationFailed as exc:
        return _form_page(request, session, values=values, errors=exc.field_errors, status_code=422)
    flash(request, _("The event was saved as a draft. Only organizers can see it until you publish it."))
    return RedirectResponse(f"/events/{event.id}", status_code=303)


@router.get("/events/{event_id:int}", response_class=HTMLResponse)
def show_event(request: Request, session: DbSession, user: OptionalUser, event_id: int):
    """One event: when (in its zone and the viewer's), where, places, and the viewer's registration."""
    event = events.get_event(session, event_id, user)
    zone, language = viewer_zone(request, user), current_language()
    reg = registrations.own_registration(session, event, user.organization_id) if user else None
    now = utcnow()
    context = {
        "active_tab": "events", "event": event, "times": events.when(event, zone, language), "reg": reg,
        "slot_count": len(events.slots_of(event)), "places_left": events.places_left(event),
        "is_over": events.is_over(event, now), "closed": registrations.closed_reason(event, now),
        "member_refusal": registrations.member_refusal(user) if user and not user.is_organizer else None,
        "status_label": registrations.status_label, "tools": tool_links(user, event, reg),
        "shows_link": events.shows_online_link(user, reg),
        "clock": lambda value: events.local(value, event.time_zone).strftime("%H:%M"),
    }
    if user is not None and user.is_organizer:
        stale = events.stale_placements(session, event)
        context |= {"counts": events.registration_counts(session, event), "stale": stale,
                    "stale_text": ngettext("%(num)d placed meeting no longer fits the event's slots or tables: "
                                           "run the timetable again.",
                                           "%(num)d placed meetings no longer fit the event's slots or tables: "
                                           "run the timetable again.", stale) % {"num": stale} if stale else ""}
    return render(request, "events/detail.html", context)


@router.get("/events/{event_id:int}/edit", response_class=HTMLResponse)
def edit_event_form(request: Request, session: DbSession, user: Organizer, event_id: int):
    """The organizer's form with the event's current values (local times in its zone)."""
    event = events.get_event(session, event_id, user)
    return _form_page(request, session, values=event_values(event), event=event)


@router.post("/events/{event_id:int}/edit", response_class=HTMLResponse)
def update_event(request: Request, session: DbSession, user: Organizer, form: Form, event_id: int):
    """Save changes; registrations stay. If the slots change under a timetable, say it must be run again."""
    event = events.get_event(session, event_id, user)
    values = read_event_form(form)
    add, remove = str(form.get("list_add", "")), str(form.get("list_remove", ""))
    if add or remove:
        return _form_page(request, session, values=edit_breaks(values, add, remove), event=event)
    try:
        change = events.update_event(session, event, values)
    except ValidationFailed as exc:
        # Checked before anything is changed: the stored event stays as it was, the form keeps what was typed.
        return _form_page(request, session, values=values, errors=exc.field_errors, event=event, status_code=422)
    message = _("The event was saved.")
    kind = "info"
    if change.timetable_affected:
        message += " " + _("The meeting slots changed and this event already has a timetable: "
                           "the timetable must be run again.")
        kind = "warn"
    elif change.slots_changed and change.availability_cleared:
        message += " " + _("The meeting slots changed: participants' availability for removed slots was cleared.")
        kind = "warn"
    flash(request, message, kind)
    return RedirectResponse(f"/events/{event.id}", status_code=303)


@router.post("/events/{event_id:int}/publish", response_class=HTMLResponse)
def publish(request: Request, session: DbSession, user: Organizer, event_id: int):
    """Publish a draft: everyone can see it and members can register."""
    event = events.publish_event(session, events.get_event(session, event_id, user))
    flash(request, _("The event is published: everyone can see it."))
    return RedirectResponse(f"/events/{event.id}", status_code=303)


@router.post("/events/{event_id:int}/unpublish", response_class=HTMLResponse)
def unpublish(request: Request, session: DbSession, user: Organizer, event_id: int):
    """Back to draft: only organizers see it; registrations are kept."""
    event = events.unpublish_event(session, events.get_event(session, event_id, user))
    flash(request, _("The event is a draft again: only organizers can see it. Registrations are kept."), "warn")
    return RedirectResponse(f"/events/{event.id}", status_code=303)
