"""The member's own profile: organization details, contact person, account settings."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from models import User
from web.deps import CurrentUser, DbSession, Form
from web.errors import Forbidden, ValidationFailed
from web.flash import flash
from web.i18n import N_, _, country_choices, country_name, current_language
from web.routing import feature_router
from web.services import accounts, directory, profile, sectors, sessions
from web.services.organizations import STATUS_LABELS, kind_choices, profile_completeness
from web.templating import render
from web.values import DbId

router = feature_router()

FLASHES = {
    "welcome": N_("Welcome! Your account is ready. "
                  "Complete your profile while an organizer reviews your organization."),
    "saved": N_("Your profile was saved."),
    "account": N_("Your account settings were saved."),
    "password": N_("Your password was changed. Your other logins have ended."),
    "sessions": N_("That login has ended."),
}


def _profile_page(request: Request, session, user: User, *, values: dict[str, Any] | None = None,
                  errors: dict[str, str] | None = None, account_values: dict[str, str] | None = None,
                  account_errors: dict[str, str] | None = None, password_errors: dict[str, str] | None = None,
                  status_code: int = 200) -> HTMLResponse:
    org = user.organization
    partner_codes = profile.partner_country_codes(session)
    current_login_id = getattr(request.state.login, "id", None)
    logins, more_logins = sessions.list_sessions(session, user, current_login_id)
    context: dict[str, Any] = {
        "active_tab": None, "org": org, "errors": errors or {},
        "account": account_values or {"language": user.language, "time_zone": user.time_zone},
        "account_errors": account_errors or {},
        "password_errors": password_errors or {},
        "logins": logins, "more_logins": more_logins, "describe_agent": sessions.describe_agent,
        "current_login_id": current_login_id,
    }
    if org is not None:
        if values is None:
            values = profile.split_other_codes(profile.profile_values(org), partner_codes)
        percent, missing = profile_completeness(org)
        language = current_language()
        vocabulary = sectors.vocabulary(session)
        context |= {
            "sectors": vocabulary.sectors, "other_sectors": profile.other_sectors(values, vocabulary),
            "values": values, "percent": percent, "missing": missing,
            "status_label": _(STATUS_LABELS.get(org.status, org.status)),
            "kind_editable": profile.kind_is_editable(org), "kinds": kind_choices(),
            "countries": country_choices(language),
            "partner_countries": sorted(((code, country_name(code)) for code in partner_codes), key=lambda c: c[1]),
            "categories": directory.categories(session),
        }
    return render(request, "profile/edit.html", context, fragment="profile/_profile.html", status_code=status_code)


@router.get("/profile", response_class=HTMLResponse)
def show_profile(request: Request, session: DbSession, user: CurrentUser):
    """The profile form of the user's own organization (pending members too)."""
    if request.query_params.get("welcome") == "1":  # the first page after sign-up or claiming an organization
        flash(request, _(FLASHES["welcome"]))
    return _profile_page(request, session, user)


@router.post("/profile", response_class=HTMLResponse)
def save_profile(request: Request, session: DbSession, user: CurrentUser, form: Form):
    """Save the user's own organization; ids in the form are ignored, the organization is the user's."""
    org = user.organization
    if org is None:
        raise Forbidden(_("Your account has no organization profile to edit."), code="no_organization")
    values = profile.read_profile_form(form)
    add, remove = str(form.get("list_add", "")), str(form.get("list_remove", ""))
    if add or remove:
        # The Add/Remove buttons without JavaScript: show the form again with the row changed, save nothing.
        return _profile_page(request, session, user, values=profile.edit_list(values, add, remove))
    try:
        profile.update_profile(session, org, values)
    except ValidationFailed as exc:
        return _profile_page(request, session, user, values=values, errors=exc.field_errors, status_code=422)
    flash(request, _(FLASHES["saved"]))
    return RedirectResponse("/profile", status_code=303)


@router.post("/profile/account", response_class=HTMLResponse)
def save_account(request: Request, session: DbSession, user: CurrentUser, form: Form):
    """Save the user's language and time zone."""
    values = {"language": str(form.get("language", "")), "time_zone": str(form.get("time_zone", ""))}
    try:
        profile.update_account(session, user, values["language"], values["time_zone"])
    except ValidationFailed as exc:
        return _profile_page(request, session, user, account_values=values, account_errors=exc.field_errors,
                             status_code=422)
    request.session["lang"] = user.language
    flash(request, _(FLASHES["account"]))
    return RedirectResponse("/profile", status_code=303)


@router.post("/profile/password", response_class=HTMLResponse)
def change_password(request: Request, session: DbSession, user: CurrentUser, form: Form):
    """Change the password (the current one is asked); the user's other logins end."""
    try:
        accounts.change_password(session, user, str(form.get("current_password", "")), str(form.get("password", "")),
                                 str(form.get("password_confirm", "")), keep_session_id=request.state.login.id)
    except ValidationFailed as exc:
        return _profile_page(request, session, user, password_errors=exc.field_errors, status_code=422)
    flash(request, _(FLASHES["password"]))
    return RedirectResponse("/profile#password", status_code=303)


def _log_out_here(request: Request) -> RedirectResponse:
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language
    return RedirectResponse("/login", status_code=303)


@router.post("/profile/sessions/end-all")
def end_all_sessions(request: Request, session: DbSession, user: CurrentUser, form: Form):
    """Log out everywhere: every login of the user ends, this one too."""
    sessions.end_all_sessions(session, user.id)
    return _log_out_here(request)


@router.post("/profile/sessions/{session_id}/end")
def end_session(request: Request, session: DbSession, user: CurrentUser, form: Form, session_id: DbId):
    """End one of the user's logins (a lost phone, a shared computer)."""
    sessions.end_user_session(session, user, session_id)
    if session_id == request.state.login.id:
        return _log_out_here(request)
    flash(request, _(FLASHES["sessions"]))
    return RedirectResponse("/profile#sessions", status_code=303)
