"""Meeting requests: new request, Requests sent, Requests received, Matches with threads."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from models import MEETING_STATUSES
from web.deps import DbSession, Form, Member, is_prefetch, writes_on_read
from web.errors import DomainError, ValidationFailed
from web.i18n import _, current_language
from web.routing import feature_router
from web.services import invitations, messages, notifications, request_lists, requests
from web.services.directory import categories, parse_page
from web.services.organizations import get_visible_organization
from web.templating import is_htmx, render
from web.urls import safe_next
from web.values import DbId, parse_id

router = feature_router()
TAB_TEMPLATES = {"sent": "requests/sent.html", "received": "requests/received.html", "matches": "requests/matches.html"}


def _settings(request: Request):
    return request.app.state.settings


def _row_context(session, user, req, box: str, **extra) -> dict:
    unread = messages.unread_counts(session, user, [req.id]) if req.status == "accepted" else {}
    return {"req": req, "box": box, "unread": unread, "own_org_id": user.organization_id,
            "status_label": requests.status_label} | extra


def _tab(request: Request, session, user, box: str, status: str, q: str):
    # One page of rows (newest first), not every request the organization ever had: each row is a card.
    size = _settings(request).page_size
    page = parse_page(request.query_params.get("page"))
    status = status if status in MEETING_STATUSES else ""
    rows, counts = request_lists.list_tab(session, user, box, status, q, limit=size + 1, offset=(page - 1) * size)
    rows, has_next = rows[:size], len(rows) > size
    unread = messages.unread_counts(session, user, [req.id for req in rows if req.status == "accepted"])
    context = {"active_tab": box, "box": box, "rows": rows, "counts": counts, "status": status, "q": q,
               "statuses": MEETING_STATUSES, "unread": unread, "own_org_id": user.organization_id,
               "status_label": requests.status_label, "page": page, "has_next": has_next}
    return render(request, TAB_TEMPLATES[box], context, fragment="requests/_request_list.html")


@router.get("/requests/sent", response_class=HTMLResponse)
def requests_sent(request: Request, session: DbSession, user: Member, status: str = "", q: str = ""):
    """Meeting requests the member's organization has sent."""
    return _tab(request, session, user, "sent", status, q)


@router.get("/requests/received", response_class=HTMLResponse)
def requests_received(request: Request, session: DbSession, user: Member, status: str = "", q: str = ""):
    """Meeting requests the member's organization has received."""
    return _tab(request, session, user, "received", status, q)


@router.get("/matches", response_class=HTMLResponse)
def matches(request: Request, session: DbSession, user: Member, q: str = ""):
    """Accepted requests in either direction."""
    return _tab(request, session, user, "matches", "", q)


def _new_page(request: Request, session, user, org_id: int, values: dict, errors: dict, status_code: int = 200):
    target = get_visible_organization(session, org_id, user)
    refusal, existing = "", None
    try:
        requests.check_can_request(session, user, target.id)
    except DomainError as exc:
        refusal = exc.message
        if user.organization_id:
            existing = requests.open_request_between(session, user.organization_id, target.id)
        status_code = exc.status_code
    # A request made from an event's participants: the form names the event, and says early if it cannot be.
    event, event_error = requests.event_for_request(session, user, target, values.get("event_id"))
    if event_error and not refusal:
        errors = {"event_id": event_error} | errors
    unclaimed = invitations.unclaimed_ids(session, [target.id])
    language = current_language()
    return render(request, "requests/new.html", {
        "category_names": {cat.slug: cat.name(language) for cat in categories(session)},
        "active_tab": "events" if values.get("event_id") else "prematching", "target": target, "values": values,
        "errors": errors, "refusal": refusal, "existing": existing,
        "max_message": requests.MAX_MESSAGE, "event": event, "unclaimed_ids": unclaimed,
        "recent_invitation": invitations.recent_invitation(session, request.app.state.settings, target.id)
        if unclaimed else None,
    }, status_code=status_code)


@router.get("/requests/new", response_class=HTMLResponse)
def new_request_form(request: Request, session: DbSession, user: Member, to: DbId, event_id: DbId | None = None):
    """The form to request a meeting with an organization."""
    return _new_page(request, session, user, to, {"event_id": event_id or ""}, {})


@router.post("/requests/new", response_class=HTMLResponse)
def new_request(request: Request, session: DbSession, user: Member, form: Form, to: DbId | None = None):
    """Send the request; bad input re-renders the form with everything typed kept."""
    target_id = to or _int(form.get("to"))
    values = {"message": str(form.get("message", "")), "topics": str(form.get("topics", "")),
              "event_id": str(form.get("event_id", ""))}
    try:
        req = requests.request_meeting(session, _settings(request), user, target_id, values["message"],
                                       form.getlist("topics"), values["event_id"])
    except ValidationFailed as exc:
        return _new_page(request, session, user, target_id, values, exc.field_errors, status_code=422)
    return RedirectResponse(f"/requests/{req.id}?sent=1", status_code=303)


def _int(value) -> int:
    number = parse_id(value)
    if number is None:
        raise ValidationFailed(_("Choose an organization to send the request to."),
                               field_errors={"to": _("Choose an organization to send the request to.")})
    return number


@router.get("/requests/{request_id}", response_class=HTMLResponse)
@writes_on_read
def request_detail(request: Request, session: DbSession, user: Member, request_id: DbId, sent: int = 0):
    """One request with its history, for either party or an organizer."""
    req = requests.get_request_for(session, user, request_id)
    box = "sent" if req.requester_org_id == user.organization_id else "received"
    if not is_prefetch(request):  # see match_thread
        notifications.mark_all_read(session, user, req.id)
    unclaimed = req.status == "pending" and invitations.is_unclaimed(session, req.recipient_org_id)
    return render(request, "requests/detail.html", _row_context(session, user, req, box) | {
        "active_tab": box, "just_sent": bool(sent),
        "unread_notifications": lambda: notifications.unread_count(session, user),
        "recipient_unclaimed": unclaimed,
        "recipient_invitation": invitations.latest_invitation(session, req.recipient_org_id) if unclaimed else None,
    })


def _after_transition(request: Request, session, user, req, box: str, form, default: str):
    if is_htmx(request):
        return render(request, "requests/_request_row.html",
                      _row_context(session, user, req, box, detail=form.get("view") == "detail"))
    return RedirectResponse(safe_next(str(form.get("next", "")), default), status_code=303)


def _act(request: Request, session, user, request_id: int, form, box: str, action, default: str):
    try:
        req = action()
    except requests.RequestConflict as exc:
        if not is_htmx(request):
            raise
        req = requests.get_request_for(session, user, request_id)
        return render(request, "requests/_request_row.html",
                      _row_context(session, user, req, box, row_error=exc.message, detail=form.get("view") == "detail"),
                      status_code=exc.status_code)
    return _after_transition(request, session, user, req, box, form, default.format(id=req.id))


@router.post("/requests/{request_id}/accept", response_class=HTMLResponse)
def accept(request: Request, session: DbSession, user: Member, form: Form, request_id: DbId):
    """The recipient accepts; htmx gets the updated row, a plain post goes to the match."""
    return _act(request, session, user, request_id, form, "received",
                lambda: requests.accept_meeting(session, _settings(request), user, request_id), "/matches/{id}")


@router.post("/requests/{request_id}/decline", response_class=HTMLResponse)
def decline(request: Request, session: DbSession, user: Member, form: Form, request_id: DbId):
    """The recipient declines, with an optional reason."""
    return _act(request, session, user, request_id, form, "received",
                lambda: requests.decline_meeting(session, _settings(request), user, request_id,
                                                 str(form.get("reason", ""))), "/requests/received")


@router.post("/requests/{request_id}/cancel", response_class=HTMLResponse)
def cancel(request: Request, session: DbSession, user: Member, form: Form, request_id: DbId):
    """The requester withdraws a pending request."""
    return _act(request, session, user, request_id, form, "sent",
                lambda: requests.cancel_meeting(session, _settings(request), user, request_id), "/requests/sent")


def _thread_context(session, user, req, last_read: int, values: dict | None = None, errors: dict | None = None,
                    thread: list | None = None):
    return {"req": req, "messages": messages.list_messages(session, req) if thread is None else thread,
            "last_read": last_read,
            "values": values or {}, "errors": errors or {}, "can_post": req.involves(user.organization_id),
            "own_org_id": user.organization_id,
            "max_body": messages.MAX_BODY}


@router.get("/matches/{request_id}", response_class=HTMLResponse)
def match_thread(request: Request, session: DbSession, user: Member, request_id: DbId):
    """A match: the other side's contact person and the message thread (marked read on view)."""
    req = messages.get_match_for(session, user, request_id)
    last_read = messages.last_read_id(session, user, req)
    thread = messages.list_messages(session, req)
    # Viewing the thread marks it read: that is what people expect of a message list, and a POST per view would
    # need JavaScript. A GET that writes must not count when the browser only guessed the user might come
    # (link prefetch, prerender): such requests say so in Sec-Purpose or Purpose, and mark nothing. And it writes
    # only when there is something new to mark: a thread is viewed far more often than written to. So the view
    # starts as a read (not writes_on_read) and takes the write lock only at the mark, an upsert that two first
    # views at once cannot both insert (under load.py thread views held the lock from their start).
    if req.involves(user.organization_id) and not is_prefetch(request) and thread and thread[-1].id > last_read:
        messages.mark_thread_read(session, user, req, thread[-1].id)
    if not is_prefetch(request):
        notifications.mark_all_read(session, user, req.id)
    context = _thread_context(session, user, req, last_read, thread=thread) | {
        "active_tab": "matches", "other": req.other_org(user.organization_id),
        "unread_notifications": lambda: notifications.unread_count(session, user),
    }
    return render(request, "requests/match.html", context, fragment="requests/_thread.html")


@router.post("/matches/{request_id}", response_class=HTMLResponse)
def post_message(request: Request, session: DbSession, user: Member, form: Form, request_id: DbId):
    """Add a message; htmx gets the thread back with it appended, a plain post is redirected to the thread."""
    body = str(form.get("body", ""))
    try:
        messages.post_message(session, _settings(request), user, request_id, body)
    except ValidationFailed as exc:
        req = messages.get_match_for(session, user, request_id)
        context = _thread_context(session, user, req, messages.last_read_id(session, user, req),
                                  {"body": body}, exc.field_errors)
        context |= {"active_tab": "matches", "other": req.other_org(user.organization_id)}
        return render(request, "requests/match.html", context, fragment="requests/_thread.html", status_code=422)
    if is_htmx(request):
        req = messages.get_match_for(session, user, request_id)
        return render(request, "requests/_thread.html",
                      _thread_context(session, user, req, messages.last_read_id(session, user, req)))
    return RedirectResponse(f"/matches/{request_id}#thread-end", status_code=303)
