"""Invitations: an organizer invites an organization's contact; the contact claims it with the emailed link."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from web.deps import DbSession, Form, Organizer
from web.errors import DomainError, ValidationFailed
from web.i18n import country_time_zone, current_language
from web.routes.auth import start_session
from web.routing import feature_router
from web.services import invitations
from web.services.organizations import get_organization
from web.templating import is_htmx, render
from web.urls import safe_next

router = feature_router()


def invite_context(session, org, **extra) -> dict:
    """What invitations/_invite.html needs for one organization."""
    return {"org": org, "invitation": invitations.latest_invitation(session, org.id),
            "unclaimed": invitations.is_unclaimed(session, org.id), "invite_errors": {}, "invite_values": {}} | extra


@router.post("/organizer/organizations/{org_id}/invite", response_class=HTMLResponse)
def invite(request: Request, session: DbSession, user: Organizer, org_id: int, form: Form):
    """Email the contact a link to claim the organization; htmx gets the invite panel back, a plain post goes back."""
    org = get_organization(session, org_id)
    email = str(form.get("email", "")).strip()[:320]
    back = safe_next(str(form.get("next", "")), f"/organizations/{org.id}") + f"#invite-{org.id}"
    try:
        invitations.invite_organization(session, request.app.state.settings, org, email, user)
    except DomainError as exc:  # a bad address (422) or an organization already on the platform (409)
        errors = exc.field_errors or {"email": exc.message}
        context = invite_context(session, org, invite_errors=errors, invite_values={"email": email},
                                 next_url=safe_next(str(form.get("next", "")), f"/organizations/{org.id}"))
        if is_htmx(request):
            return render(request, "invitations/_invite.html", context, status_code=exc.status_code)
        return render(request, "invitations/invite.html", context, status_code=exc.status_code)
    if is_htmx(request):
        return render(request, "invitations/_invite.html",
                      invite_context(session, org, just_sent=True, next_url=str(form.get("next", ""))))
    return RedirectResponse(back, status_code=303)


def _claim_page(request: Request, session, token: str, invitation, values: dict, errors: dict, status_code: int = 200):
    return render(request, "invitations/claim.html", {
        "token": token, "invitation": invitation, "org": invitation.organization, "values": values,
        "errors": errors, "active_tab": None,
    }, status_code=status_code)


@router.get("/invitations/{token}", response_class=HTMLResponse)
def claim_form(request: Request, session: DbSession, token: str):
    """The invited contact chooses a password (opening the link spends nothing: mail scanners open links too)."""
    invitation = invitations.find_invitation(session, token)
    org = invitation.organization
    values = {"full_name": org.contact_name, "language": current_language(),
              "time_zone": country_time_zone(org.country) or request.app.state.settings.default_time_zone}
    return _claim_page(request, session, token, invitation, values, {})


@router.post("/invitations/{token}", response_class=HTMLResponse)
def claim(request: Request, session: DbSession, token: str, form: Form):
    """Create the account in the invited organization and log in; bad input keeps what was typed."""
    fields = {key: str(value) for key, value in form.items()}
    try:
        user = invitations.claim_invitation(session, token, fields)
    except ValidationFailed as exc:
        values = {key: value for key, value in fields.items() if key not in ("password", "password_confirm",
                                                                              "csrf_token")}
        return _claim_page(request, session, token, invitations.find_invitation(session, token), values,
                           exc.field_errors, status_code=422)
    start_session(request, session, user)
    return RedirectResponse(invitations.after_claim_path(session, user), status_code=303)
