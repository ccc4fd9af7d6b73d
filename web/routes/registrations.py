"""Event registrations: register, the member's own registration (attendees, availability, withdraw),
and the organizer's review with the participants CSV."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from models import REGISTRATION_STATUSES
from web.deps import DbSession, Form, Member, Organizer
from web.errors import ValidationFailed
from web.i18n import _, current_language
from web.flash import flash
from web.routes.events import viewer_zone
from web.routing import feature_router
from web.services import events, registration_review, registrations
from web.templating import is_htmx, render

router = feature_router()
# htmx swaps 2xx (and 422) only: let a row show its own 409 message in place.


def _settings(request: Request):
    return request.app.state.settings


def _blank_attendee(user) -> list[dict[str, str]]:
    return [{"name": user.full_name, "title": "", "email": user.email}]


def _register_page(request: Request, session, user, event, rows, errors=None, refusal="", status_code=200):
    return render(request, "registrations/register.html", {
        "active_tab": "events", "event": event, "rows": rows, "errors": errors or {}, "refusal": refusal,
        "times": events.when(event, viewer_zone(request, user), current_language()),
        "existing": registrations.own_registration(session, event, user.organization_id),
        "max_attendees": registrations.MAX_ATTENDEES, "places_left": events.places_left(event),
    }, status_code=status_code)


@router.get("/events/{event_id:int}/register", response_class=HTMLResponse)
def register_form(request: Request, session: DbSession, user: Member, event_id: int):
    """The registration form, or why the organization cannot register (already registered goes to it)."""
    event = events.get_event(session, event_id, user)
    try:
        registrations.check_can_register(session, user, event)
    except registrations.RegistrationConflict as exc:
        if exc.code == "already_registered":
            return RedirectResponse(f"/events/{event.id}/registration", status_code=303)
        return _register_page(request, session, user, event, [], refusal=exc.message, status_code=exc.status_code)
    return _register_page(request, session, user, event, _blank_attendee(user))


@router.post("/events/{event_id:int}/register", response_class=HTMLResponse)
def register(request: Request, session: DbSession, user: Member, form: Form, event_id: int):
    """Register the organization and its attendees; refusals keep what was typed."""
    event = events.get_event(session, event_id, user)
    rows = registrations.read_attendees(form)
    add, remove = str(form.get("list_add", "")), str(form.get("list_remove", ""))
    if add or remove:
        return _register_page(request, session, user, event, registrations.edit_attendees(rows, add, remove))
    try:
        reg = registrations.register(session, _settings(request), user, event.id, rows)
    except ValidationFailed as exc:
        return _register_page(request, session, user, event, rows, exc.field_errors, status_code=422)
    except registrations.RegistrationConflict as exc:
        session.rollback()  # the place taken before the refusal goes back
        event = events.get_event(session, event_id, user)
        return _register_page(request, session, user, event, rows, refusal=exc.message, status_code=exc.status_code)
    if reg.status == "approved":
        flash(request, _("Your organization is registered. Untick the slots in which you cannot meet."))
    else:
        flash(request, _("Your registration was sent. The organizers will review it; you will get an email."))
    return RedirectResponse(f"/events/{event.id}/registration", status_code=303)


def _mine_context(request: Request, session, user, event, reg, **extra) -> dict:
    language, zone = current_language(), viewer_zone(request, user)
    unavailable = {slot.starts_at for slot in reg.unavailable_slots}
    rows = extra.pop("rows", None) or [{"name": a.full_name, "title": a.job_title, "email": a.email}
                                        for a in reg.attendees]
    return {"active_tab": "events", "event": event, "reg": reg, "rows": rows,
            "times": events.when(event, zone, language), "grid": events.slot_rows(event, zone, language),
            "unavailable": unavailable, "status_label": registrations.status_label,
            "active": reg.status in ("pending", "approved") and not events.is_over(event),
            "closed": registrations.closed_reason(event), "max_attendees": registrations.MAX_ATTENDEES,
            "errors": {}} | extra


@router.get("/events/{event_id:int}/registration", response_class=HTMLResponse)
def my_registration(request: Request, session: DbSession, user: Member, event_id: int):
    """The organization's own registration: status, attendees, availability, withdraw."""
    event, reg = registrations.get_own_registration(session, user, event_id)
    return render(request, "registrations/mine.html",
                  _mine_context(request, session, user, event, reg))


@router.post("/events/{event_id:int}/attendees", response_class=HTMLResponse)
def save_attendees(request: Request, session: DbSession, user: Member, form: Form, event_id: int):
    """Replace the attendees; htmx gets the attendee form back, a plain post the registration page."""
    rows = registrations.read_attendees(form)
    add, remove = str(form.get("list_add", "")), str(form.get("list_remove", ""))
    event, reg = registrations.get_own_registration(session, user, event_id)
    if add or remove:
        context = _mine_context(request, session, user, event, reg,
                                rows=registrations.edit_attendees(rows, add, remove))
        return render(request, "registrations/mine.html", context, fragment="registrations/_attendees.html")
    try:
        registrations.update_attendees(session, user, event_id, rows)
    except ValidationFailed as exc:
        context = _mine_context(request, session, user, event, reg, rows=rows, errors=exc.field_errors)
        return render(request, "registrations/mine.html", context, fragment="registrations/_attendees.html",
                      status_code=422)
    if is_htmx(request):
        context = _mine_context(request, session, user, event, reg, attendees_saved=True)
        return render(request, "registrations/_attendees.html", context)
    flash(request, _("The attendees were saved."))
    return RedirectResponse(f"/events/{event_id}/registration#attendees", status_code=303)


@router.post("/events/{event_id:int}/availability", response_class=HTMLResponse)
def save_availability(request: Request, session: DbSession, user: Member, form: Form, event_id: int):
    """Replace the availability (ticked = available); "all" and "none" are buttons that post."""
    preset = str(form.get("preset", ""))
    try:
        reg = registrations.save_availability(session, user, event_id, [str(v) for v in form.getlist("available")],
                                              preset if preset in ("all", "none") else "")
    except ValidationFailed as exc:
        session.rollback()
        event, reg = registrations.get_own_registration(session, user, event_id)
        context = _mine_context(request, session, user, event, reg, availability_error=exc.message)
        return render(request, "registrations/mine.html", context, fragment="registrations/_availability.html",
                      status_code=422)
    event = reg.event
    if is_htmx(request):
        context = _mine_context(request, session, user, event, reg, availability_saved=True)
        return render(request, "registrations/_availability.html", context)
    flash(request, _("Your availability was saved."))
    return RedirectResponse(f"/events/{event_id}/registration#availability", status_code=303)


@router.post("/events/{event_id:int}/withdraw", response_class=HTMLResponse)
def withdraw(request: Request, session: DbSession, user: Member, event_id: int):
    """Withdraw the organization: its place is freed and its meetings here leave the timetable."""
    registrations.withdraw(session, _settings(request), user, event_id)
    flash(request, _("Your organization has withdrawn from this event. You can register again while places "
                     "and the deadline allow."), "warn")
    return RedirectResponse(f"/events/{event_id}/registration", status_code=303)


# --- the organizer's review --------------------------------------------------------------------

def _review_context(session, event, status: str) -> dict:
    return {"active_tab": "events", "event": event, "status": status, "statuses": REGISTRATION_STATUSES,
            "counts": events.registration_counts(session, event), "status_label": registrations.status_label,
            "row_errors": {}, "row_values": {}}


@router.get("/events/{event_id:int}/registrations", response_class=HTMLResponse)
def review(request: Request, session: DbSession, user: Organizer, event_id: int, status: str = ""):
    """Registrations with a status filter and counts; approve or decline each."""
    event = events.get_event(session, event_id, user)
    status = status if status in REGISTRATION_STATUSES else ""
    context = _review_context(session, event, status) | {
        "rows": registration_review.list_registrations(session, event, status)}
    return render(request, "registrations/review.html", context, fragment="registrations/_review_list.html")


def _decide(request: Request, session, user, form, event_id: int, registration_id: int, action):
    event = events.get_event(session, event_id, user)
    status = str(form.get("status", ""))
    status = status if status in REGISTRATION_STATUSES else ""
    back = f"/events/{event.id}/registrations" + (("?" + urlencode({"status": status})) if status else "")
    try:
        reg, message = action(event)
    except (ValidationFailed, registrations.RegistrationConflict) as exc:
        session.rollback()
        event = events.get_event(session, event_id, user)
        reg = registration_review.get_registration(session, event, registration_id)
        errors = exc.field_errors or {"row": exc.message}
        context = _review_context(session, event, status) | {
            "row_errors": {reg.id: errors}, "row_values": {reg.id: {"reason": str(form.get("reason", ""))}}}
        if is_htmx(request):
            return render(request, "registrations/_review_row.html", context | {"reg": reg},
                          status_code=exc.status_code)
        context["rows"] = registration_review.list_registrations(session, event, status)
        return render(request, "registrations/review.html", context, status_code=exc.status_code)
    if is_htmx(request):
        context = _review_context(session, event, status) | {"reg": reg, "row_message": message, "oob_counts": True}
        return render(request, "registrations/_review_row.html", context)
    flash(request, message)
    return RedirectResponse(back, status_code=303)


@router.post("/events/{event_id:int}/registrations/{registration_id:int}/approve", response_class=HTMLResponse)
def approve(request: Request, session: DbSession, user: Organizer, form: Form, event_id: int, registration_id: int):
    """Approve a registration; the organization is notified."""
    def action(event):
        reg = registration_review.approve(session, _settings(request), event, registration_id)
        return reg, _("%(name)s is registered for the event.") % {"name": reg.organization.name}
    return _decide(request, session, user, form, event_id, registration_id, action)


@router.post("/events/{event_id:int}/registrations/{registration_id:int}/reject", response_class=HTMLResponse)
def reject(request: Request, session: DbSession, user: Organizer, form: Form, event_id: int, registration_id: int):
    """Decline a registration with a reason the organization sees; its place is freed."""
    def action(event):
        reg = registration_review.reject(session, _settings(request), event, registration_id,
                                         str(form.get("reason", "")))
        return reg, _("%(name)s's registration is declined; its place is free again.") % {"name": reg.organization.name}
    return _decide(request, session, user, form, event_id, registration_id, action)


@router.get("/events/{event_id:int}/participants.csv")
def participants_csv(request: Request, session: DbSession, user: Organizer, event_id: int, status: str = ""):
    """The participants as CSV: one row per attendee, times in the event's zone."""
    event = events.get_event(session, event_id, user)
    body = list(registration_review.participants_csv(session, event, status))  # read now: the session closes after
    filename = f"event-{event.id}-participants.csv"
    return StreamingResponse(iter(body), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
