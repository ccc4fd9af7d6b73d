"""Meetings outside events, on the match page: propose times, confirm or decline, withdraw, cancel.

htmx swaps the #meeting panel; a plain post is redirected to the match page, or, with a message to
show (bad input, a conflict), gets the panel on a page of its own with everything typed kept.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from web.deps import DbSession, Form, Member
from web.errors import ValidationFailed
from web.routing import feature_router
from web.services import proposals
from web.services.messages import get_match_for
from web.templating import is_htmx, render

router = feature_router()
PAGE, FRAGMENT = "proposals/page.html", "proposals/_proposal.html"
# htmx swaps 2xx and 422 only: let the panel show its own 409 message in place.
ROWS = range(1, proposals.MAX_OPTIONS + 1)


def _panel(request: Request, session, user, request_id: int, *, values: dict | None = None,
           errors: dict | None = None, message: str = "", status_code: int = 200):
    req = get_match_for(session, user, request_id)
    session.expire(req, ["proposals"])
    context = {"req": req, "other": req.other_org(user.organization_id), "own_org_id": user.organization_id,
               "active_tab": "matches", "proposal_values": values or {}, "proposal_errors": errors or {},
               "proposal_error": message}
    return render(request, PAGE, context, fragment=FRAGMENT, status_code=status_code)


def _done(request: Request, session, user, request_id: int):
    if is_htmx(request):
        return _panel(request, session, user, request_id)
    return RedirectResponse(f"/matches/{request_id}#meeting", status_code=303)


def _act(request: Request, session, user, request_id: int, action, values: dict | None = None):
    """Run a verb; bad input (422) and conflicts (409) come back as the panel with the message in place."""
    try:
        action()
    except ValidationFailed as exc:
        # Messages sit beside their fields; one without a field goes at the top of the panel.
        return _panel(request, session, user, request_id, values=values, errors=exc.field_errors,
                      message="" if exc.field_errors else exc.message, status_code=422)
    except proposals.ProposalConflict as exc:
        return _panel(request, session, user, request_id, values=values, message=exc.message,
                      status_code=exc.status_code)
    return _done(request, session, user, request_id)


@router.get("/matches/{request_id}/meeting", response_class=HTMLResponse)
def meeting_panel(request: Request, session: DbSession, user: Member, request_id: int):
    """The meeting of a match (proposal, answer, confirmed time) on a page of its own."""
    return _panel(request, session, user, request_id)


@router.post("/matches/{request_id}/proposals", response_class=HTMLResponse)
def propose(request: Request, session: DbSession, user: Member, form: Form, request_id: int):
    """Propose one to three times to the other side."""
    options = [{name: str(form.get(f"{name}_{n}", "")) for name in proposals.OPTION_FIELDS} for n in ROWS]
    values = {f"{name}_{n}": option[name] for n, option in zip(ROWS, options) for name in option}
    values["message"] = str(form.get("message", ""))
    return _act(request, session, user, request_id,
                lambda: proposals.propose_meeting(session, request.app.state.settings, user, request_id, options,
                                                  values["message"]), values)


@router.post("/matches/{request_id}/proposals/{proposal_id}/confirm", response_class=HTMLResponse)
def confirm(request: Request, session: DbSession, user: Member, form: Form, request_id: int, proposal_id: int):
    """The other side confirms one of the proposed times."""
    return _act(request, session, user, request_id,
                lambda: proposals.confirm_proposal(session, request.app.state.settings, user, request_id,
                                                   proposal_id, form.get("option_id")))


@router.post("/matches/{request_id}/proposals/{proposal_id}/decline", response_class=HTMLResponse)
def decline(request: Request, session: DbSession, user: Member, request_id: int, proposal_id: int):
    """The other side declines every proposed time."""
    return _act(request, session, user, request_id,
                lambda: proposals.decline_proposal(session, request.app.state.settings, user, request_id,
                                                   proposal_id))


@router.post("/matches/{request_id}/proposals/{proposal_id}/withdraw", response_class=HTMLResponse)
def withdraw(request: Request, session: DbSession, user: Member, request_id: int, proposal_id: int):
    """The proposer withdraws an open proposal."""
    return _act(request, session, user, request_id,
                lambda: proposals.withdraw_proposal(session, request.app.state.settings, user, request_id,
                                                    proposal_id))


@router.post("/matches/{request_id}/proposals/{proposal_id}/cancel", response_class=HTMLResponse)
def cancel(request: Request, session: DbSession, user: Member, request_id: int, proposal_id: int):
    """Either side cancels a confirmed meeting."""
    return _act(request, session, user, request_id,
                lambda: proposals.cancel_confirmed_meeting(session, request.app.state.settings, user, request_id,
                                                           proposal_id))
