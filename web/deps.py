"""Request dependencies: database session, current user, CSRF, role checks."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from models import User
from web.errors import DomainError, Forbidden, NotAuthenticated
from web.i18n import _
from web.security import session_stamp, tokens_equal

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed after the route, rolled back on error."""
    session = request.app.state.session_factory()
    # The layout reads through it too (the unread count): one request, one connection (web.capacity).
    request.state.db_session = session
    try:
        yield session
        session.commit()
    except BaseException:
        # Detach first: rollback would expire the loaded user, and the error page still shows its header.
        session.expunge_all()
        session.rollback()
        raise
    finally:
        request.state.db_session = None
        session.close()


# scope="function": commit before the response goes out. With the default request scope FastAPI
# commits after sending it, and a browser following a redirect-after-post could read the old data
# (a browser test caught exactly that: a saved profile shown without the change).
DbSession = Annotated[Session, Depends(get_session, scope="function")]


def load_user(request: Request, session: DbSession) -> User | None:
    """Load the logged-in user from the signed session cookie, checked on every request."""
    request.state.user = None
    uid = request.session.get("uid")
    if uid is None:
        return None
    user = session.get(User, uid)
    if user is None or not user.is_active or request.session.get("stamp") != session_stamp(user.password_hash):
        request.session.pop("uid", None)
        request.session.pop("stamp", None)
        return None
    request.state.user = user
    return user


def ensure_csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing request without the session's token (form field or X-CSRF-Token header)."""
    ensure_csrf_token(request)
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            sent = str(form.get("csrf_token", ""))
    if not tokens_equal(sent, request.session.get("csrf", "")):
        raise DomainError(
            _("This form has expired or did not come from this site. Go back, reload the page and send it again."),
            status_code=403,
            code="csrf_failed",
        )


def require_user(request: Request, _user: Annotated[User | None, Depends(load_user)]) -> User:
    """The logged-in user, or a redirect to the login page."""
    if _user is None:
        raise NotAuthenticated(_("Please log in to see this page."))
    return _user


def require_member(user: Annotated[User, Depends(require_user)]) -> User:
    """A user whose organization is approved (organizers always pass)."""
    if user.is_organizer:
        return user
    if user.organization is None or not user.organization.is_approved:
        raise Forbidden(_("Your organization has not been approved yet. You can edit your profile while you wait."),
                        code="not_approved")
    return user


def require_organizer(user: Annotated[User, Depends(require_user)]) -> User:
    """An organizer, or 403."""
    if not user.is_organizer:
        raise Forbidden(_("Only organizers can do this."))
    return user


CurrentUser = Annotated[User, Depends(require_user)]
OptionalUser = Annotated[User | None, Depends(load_user)]
Member = Annotated[User, Depends(require_member)]
Organizer = Annotated[User, Depends(require_organizer)]


async def form_data(request: Request):
    """The submitted form (parsed once; CSRF already read it), for sync routes."""
    return await request.form()


Form = Annotated[Any, Depends(form_data)]
