"""Sign-up with a confirmed address, login, logout and password reset."""

from __future__ import annotations

import secrets

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from web.deps import DbSession, Form, OptionalUser
from web.errors import DomainError, ValidationFailed
from web.i18n import country_choices, current_language
from web.routing import feature_router
from web.services import accounts, sessions
from web.services.organizations import kind_choices
from web.templating import render
from web.urls import safe_next

router = feature_router()


def client_ip(request: Request) -> str:
    """The client's address (a trusted proxy's X-Forwarded-For already applied by the proxy middleware)."""
    return request.client.host if request.client else "unknown"


def start_session(request: Request, session, user) -> None:
    """Log the user in: a new server-side login, a fresh cookie with its own CSRF token and the user's language."""
    token, login = sessions.start_session(session, user, request.app.state.settings.session_max_age,
                                          request.headers.get("user-agent", ""), client_ip(request))
    request.session.clear()
    request.session.update(sid=token, csrf=secrets.token_urlsafe(32), lang=user.language)
    request.state.user, request.state.login = user, login


def _signup_page(request: Request, values: dict, errors: dict, status_code: int = 200):
    return render(request, "auth/signup.html", {
        "values": values, "errors": errors, "kinds": kind_choices(),
        "countries": country_choices(current_language()),
    }, status_code=status_code)


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request):
    """The sign-up form."""
    return _signup_page(request, {"language": current_language(), "time_zone": "Asia/Tokyo"}, {})


@router.post("/signup", response_class=HTMLResponse)
def signup(request: Request, session: DbSession, form: Form):
    """Create the account and its organization (pending) and email a confirmation link; same answer if it exists."""
    values = {key: str(value) for key, value in form.items()
              if key not in ("password", "password_confirm", "csrf_token")}
    try:
        accounts.sign_up(session, request.app.state.settings, {key: str(value) for key, value in form.items()})
    except ValidationFailed as exc:
        return _signup_page(request, values, exc.field_errors, status_code=422)
    request.session["signup_email"] = values.get("email", "").strip()[:320]
    return RedirectResponse("/signup/sent", status_code=303)


@router.get("/signup/sent", response_class=HTMLResponse)
def signup_sent(request: Request):
    """Check your email: the link in it confirms the address and logs in."""
    return render(request, "auth/signup_sent.html", {"email": request.session.get("signup_email", "")})


@router.get("/signup/confirm/{token}", response_class=HTMLResponse)
def confirm_form(request: Request, session: DbSession, token: str):
    """A button that confirms the address (a GET never spends the link: mail scanners open links too)."""
    accounts.find_token(session, token, "confirm")
    return render(request, "auth/confirm.html", {"token": token})


@router.post("/signup/confirm/{token}")
def confirm(request: Request, session: DbSession, token: str, form: Form):
    """Confirm the address and log in."""
    user = accounts.confirm_email(session, request.app.state.settings, token)
    start_session(request, session, user)
    return RedirectResponse("/profile?welcome=1", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, user: OptionalUser, next: str = "/"):
    """The login form."""
    return render(request, "auth/login.html", {"values": {"next": safe_next(next)}, "errors": {}})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, session: DbSession, form: Form):
    """Check the credentials (throttled; the attempt is counted first) and start a session."""
    email, target = str(form.get("email", "")), safe_next(str(form.get("next", "")))
    try:
        user = accounts.authenticate(session, request.app.state.settings, email, str(form.get("password", "")),
                                     client_ip(request), commit=session.commit)
    except DomainError as exc:
        retry_after = getattr(exc, "retry_after", None)
        return render(request, "auth/login.html", {"values": {"email": email, "next": target}, "error": exc.message},
                      status_code=exc.status_code, headers={"Retry-After": str(retry_after)} if retry_after else None)
    start_session(request, session, user)
    if target == "/":
        target = "/organizer/applications" if user.is_organizer else "/prematching"
        if not user.is_organizer and (user.organization is None or not user.organization.is_approved):
            target = "/profile"
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, session: DbSession):
    """End the login on the server (a copy of the cookie stops working too), keeping the chosen language."""
    sessions.end_session(session, request.session.get("sid", ""))
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language
    return RedirectResponse("/", status_code=303)


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_form(request: Request):
    """Ask for a reset link."""
    return render(request, "auth/forgot.html", {"values": {}, "sent": False})


@router.post("/password/forgot", response_class=HTMLResponse)
def forgot(request: Request, session: DbSession, form: Form):
    """Send a reset link; the page says the same whether or not the account exists."""
    email = str(form.get("email", "")).strip()
    if email:
        accounts.request_password_reset(session, request.app.state.settings, email)
    return render(request, "auth/forgot.html", {"values": {"email": email}, "sent": True})


@router.get("/password/reset/{token}", response_class=HTMLResponse)
def reset_form(request: Request, session: DbSession, token: str):
    """Choose a new password with a valid link."""
    accounts.find_reset_token(session, token)
    return render(request, "auth/reset.html", {"token": token, "errors": {}})


@router.post("/password/reset/{token}", response_class=HTMLResponse)
def reset(request: Request, session: DbSession, token: str, form: Form):
    """Set the new password (every other login ends) and log in."""
    try:
        user = accounts.reset_password(session, token, str(form.get("password", "")),
                                       str(form.get("password_confirm", "")))
    except ValidationFailed as exc:
        return render(request, "auth/reset.html", {"token": token, "errors": exc.field_errors}, status_code=422)
    start_session(request, session, user)
    return RedirectResponse("/", status_code=303)
