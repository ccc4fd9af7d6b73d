"""An event's timetable for organizers: the grid, run, publish, move by hand, and the CSV file."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from web.deps import DbSession, Form, Organizer
from web.errors import DomainError, NotFound
from web.flash import flash
from web.i18n import _
from web.routing import feature_router
from web.services import timetable, timetable_moves
from web.services.timetable_view import slot_value, status_label, timetable_csv, timetable_view
from web.templating import is_htmx, render

router = feature_router()
# htmx swaps 2xx and 422 only (base.html): let the timetable show its own 409 answers in place.
REPORT_KEY = "timetable_report"


def _home(event_id: int) -> str:
    return f"/events/{event_id}/timetable"


def _page(request: Request, session, user, event_id: int, *, status_code: int = 200, notice: str = "",
          notice_kind: str = "info", move_error: dict | None = None) -> HTMLResponse:
    """The timetable page (or its fragment for htmx), with a notice and a move form's error if any."""
    event = timetable.timetable_event(session, user, event_id)
    report = request.session.get(REPORT_KEY)
    if not report or report.get("event_id") != event.id:
        report = None
    view = timetable_view(session, event, user.time_zone)
    return render(request, "timetable/index.html", {
        "active_tab": "events", "event": event, "view": view, "report": report,
        "moved_published": view.by_id(report["moved_published"]) if report else [],
        "moved_pinned": view.by_id(report["moved_pinned"]) if report else [],
        "notice": notice, "notice_kind": notice_kind,
        "move_error": move_error or {}, "status_label": status_label,
        "slot_value": slot_value,
    }, fragment="timetable/_timetable.html", status_code=status_code, headers={"Vary": "HX-Request"})


def _done(request: Request, session, user, event_id: int, notice: str, anchor: str = "") -> Response:
    """After a change: htmx gets the timetable with the notice, a plain post is redirected to the page."""
    if is_htmx(request):
        return _page(request, session, user, event_id, notice=notice)
    flash(request, notice)
    return RedirectResponse(_home(event_id) + anchor, status_code=303)


@router.get("/events/{event_id}/timetable", response_class=HTMLResponse)
def timetable_page(request: Request, session: DbSession, user: Organizer, event_id: int):
    """The working timetable: grid, unplaced meetings with reasons, changes waiting to be published."""
    return _page(request, session, user, event_id)


@router.post("/events/{event_id}/timetable/run", response_class=HTMLResponse)
def run(request: Request, session: DbSession, user: Organizer, form: Form, event_id: int):
    """Place every meeting that can be placed, keeping published and pinned ones where still possible."""
    try:
        limit = request.app.state.settings.timetable_time_limit_seconds
        report = timetable.run_timetable(session, user, event_id, limit)
    except timetable.TimetableConflict as exc:
        return _page(request, session, user, event_id, status_code=exc.status_code, notice=exc.message,
                     notice_kind="error")
    request.session[REPORT_KEY] = report.as_dict()
    notice = _("Timetable computed: %(placed)s of %(total)s meetings placed.") % {"placed": report.placed,
                                                                              "total": report.total}
    return _done(request, session, user, event_id, notice)


@router.post("/events/{event_id}/timetable/publish", response_class=HTMLResponse)
def publish(request: Request, session: DbSession, user: Organizer, form: Form, event_id: int):
    """Show participants the timetable; both organizations of every changed meeting are notified."""
    try:
        report = timetable.publish_timetable(session, request.app.state.settings, user, event_id)
    except timetable.TimetableConflict as exc:
        return _page(request, session, user, event_id, status_code=exc.status_code, notice=exc.message,
                     notice_kind="error")
    request.session.pop(REPORT_KEY, None)
    if report.total:
        notice = _("Published: %(new)s new, %(moved)s moved, %(off)s taken off. Both organizations of each were "
                   "notified.") % {"new": report.scheduled, "moved": report.moved, "off": report.cancelled}
    else:
        notice = _("Nothing to publish: participants already see this timetable.")
    return _done(request, session, user, event_id, notice)


def _meeting_action(request: Request, session, user, event_id: int, meeting_id: int, action, values: dict,
                    success: str) -> Response:
    try:
        meeting = action()
    except DomainError as exc:
        if exc.status_code not in (409, 422):
            raise
        error = {"meeting_id": meeting_id, "message": exc.message, "fields": exc.field_errors, "values": values}
        return _page(request, session, user, event_id, status_code=exc.status_code, move_error=error)
    request_ = meeting.request
    notice = success % {"a": request_.requester_org.name, "b": request_.recipient_org.name}
    return _done(request, session, user, event_id, notice, anchor=f"#meeting-{meeting_id}")


@router.get("/events/{event_id}/timetable/meetings/{meeting_id}/move", response_class=HTMLResponse)
def move_form(request: Request, session: DbSession, user: Organizer, event_id: int, meeting_id: int):
    """The form that moves one meeting: htmx loads it into the meeting's card when "Move…" opens; without
    JavaScript it is a page of its own."""
    event = timetable.timetable_event(session, user, event_id)
    view = timetable_view(session, event, user.time_zone)
    rows = view.by_id([meeting_id])
    if not rows or rows[0].status == "withdrawn":
        raise NotFound(_("There is no such meeting in this event's timetable."))
    return render(request, "timetable/move.html", {
        "active_tab": "events", "event": event, "view": view, "row": rows[0], "move_error": {},
        "slot_value": slot_value,
    }, fragment="timetable/_move_form.html", headers={"Vary": "HX-Request"})


@router.post("/events/{event_id}/timetable/meetings/{meeting_id}/move", response_class=HTMLResponse)
def move(request: Request, session: DbSession, user: Organizer, form: Form, event_id: int, meeting_id: int):
    """Place a meeting by hand; a clash is answered beside the form, with the choice kept."""
    values = {"slot": str(form.get("slot", "")), "table": str(form.get("table", ""))}
    return _meeting_action(
        request, session, user, event_id, meeting_id,
        lambda: timetable_moves.move_meeting(session, user, event_id, meeting_id, values["slot"], values["table"]),
        values, _("Moved: the meeting of %(a)s and %(b)s stays where you put it."))


@router.post("/events/{event_id}/timetable/meetings/{meeting_id}/remove", response_class=HTMLResponse)
def remove(request: Request, session: DbSession, user: Organizer, form: Form, event_id: int, meeting_id: int):
    """Take a meeting off the timetable; automatic runs leave it off."""
    return _meeting_action(request, session, user, event_id, meeting_id,
                           lambda: timetable_moves.remove_meeting(session, user, event_id, meeting_id), {},
                           _("The meeting of %(a)s and %(b)s is off the timetable."))


@router.post("/events/{event_id}/timetable/meetings/{meeting_id}/release", response_class=HTMLResponse)
def release(request: Request, session: DbSession, user: Organizer, form: Form, event_id: int, meeting_id: int):
    """Hand a meeting placed or taken off by hand back to automatic runs."""
    return _meeting_action(request, session, user, event_id, meeting_id,
                           lambda: timetable_moves.release_meeting(session, user, event_id, meeting_id), {},
                           _("The meeting of %(a)s and %(b)s is back with the automatic timetable."))


@router.get("/events/{event_id}/timetable.csv")
def timetable_file(request: Request, session: DbSession, user: Organizer, event_id: int):
    """The working timetable as CSV: times in the event's zone, tables, both organizations, status."""
    event = timetable.timetable_event(session, user, event_id)
    body = "".join(timetable_csv(timetable_view(session, event)))
    headers = {"Content-Disposition": f'attachment; filename="timetable-event-{event.id}.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)

