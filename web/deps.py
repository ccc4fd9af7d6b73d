"""Request dependencies: database session, current user, CSRF, role checks."""

from __future__ import annotations

import functools
import secrets
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from models import User
from models.session import writing_session
from web.errors import DomainError, Forbidden, NotAuthenticated
from web.i18n import _
from web.matching_state import embedder_of, matching_cache_of
from web.security import tokens_equal
from web.services import sessions

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# The request's unit of work, for commit_in_route_thread (worker threads get a copy of the request's context).
_unit_of_work: ContextVar[Session | None] = ContextVar("unit_of_work", default=None)


def writes_on_read(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a GET route that changes data (a read mark): its transaction starts IMMEDIATE like a POST's."""
    endpoint.writes_on_read = True  # type: ignore[attr-defined]
    return endpoint


def request_writes(request: Request) -> bool:
    """Whether the request's unit of work may write: unsafe methods, and GET routes marked writes_on_read."""
    return request.method in UNSAFE_METHODS or getattr(request.scope.get("endpoint"), "writes_on_read", False)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work: committed after the route, rolled back on error.

    Requests that may write start their transaction IMMEDIATE on SQLite (models.session explains why); page
    views start DEFERRED so readers run side by side. The session is kept on request.state for what the layout
    needs (the unread count, the pending applications), so a request never holds two connections
    (web.capacity).

    Where the work runs: every hand-off to a worker thread and back costs about 0.15 ms of the GIL under load, as
    much as a cheap page's own queries. On SQLite (`reads_on_loop`) a page view opens its session and reads the
    login (one read on a unique index, in this process) on the event loop, and commits there when the route left
    nothing to flush: a read in WAL mode never waits for a writer, and a COMMIT only gives locks back. What can
    wait goes to a worker thread: a writing request's BEGIN IMMEDIATE and its commit, the login's "last seen"
    update (every few minutes), and a flush of changes the route left pending. On the event loop a wait for the
    write lock would stop every request of the process, the one holding the lock included. PostgreSQL answers
    over a socket, and a round trip on the event loop stops the process as long: there the session opens and
    commits in worker threads (benchmarks/load.py at 64 clients: 242 req/s with the hops, 200 and 207 without).
    A sync route that returns a finished response commits in its own worker thread (commit_in_route_thread), so
    the commit costs no hop of its own; what is left here is the commit of the rest.
    """
    factory = request.app.state.session_factory
    writes = request_writes(request)
    on_loop = request.app.state.reads_on_loop and not writes
    if on_loop:
        session = _open_session(request, factory, False, touch=False)
        if request.state.login is not None and sessions.touch_due(request.state.login) and not is_prefetch(request):
            await run_in_threadpool(sessions.touch, session, request.state.login)
    else:
        session = await run_in_threadpool(_open_session, request, factory, writes, True)
    _unit_of_work.set(session)
    try:
        yield session
        if not session.in_transaction():
            pass  # committed in the route's own worker thread (commit_in_route_thread)
        elif on_loop and _nothing_to_flush(session):
            session.commit()
        else:
            await run_in_threadpool(session.commit)
    except BaseException:
        # Detach first: rollback would expire the loaded user, and the error page still shows its header.
        session.expunge_all()
        session.rollback()
        raise
    finally:
        _unit_of_work.set(None)
        request.state.db_session = None
        session.close()
        request.state.db_session = None  # an error page rendered after this shows no counts


def commit_in_route_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A sync route that commits the request's unit of work in its own worker thread, before it returns.

    FastAPI runs a sync route in a worker thread and get_session would then commit in another: one hand-off to a
    thread and back fewer for every request that commits there (every request on PostgreSQL, every write on
    SQLite). Only a route that returns a finished Response commits here; one whose return value FastAPI still has
    to serialize leaves the commit to get_session, so a response that fails to serialize still rolls back. A
    commit that fails raises from the route, and get_session rolls back and answers as it would have.
    """
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        session = _unit_of_work.get()
        if isinstance(result, Response) and session is not None and session.in_transaction():
            session.commit()
        return result

    return run


def _open_session(request: Request, factory: Callable[[], Session], writes: bool, touch: bool) -> Session:
    session = writing_session(factory) if writes else factory()
    request.state.db_session = session
    try:
        _load_user(request, session, touch=touch)
    except BaseException:
        request.state.db_session = None
        session.close()
        raise
    return session


def _nothing_to_flush(session: Session) -> bool:
    """No new, changed or deleted objects: the commit only ends the transaction."""
    return not (session.new or session.deleted or session.dirty)


# scope="function": commit before the response goes out. With the default request scope FastAPI
# commits after sending it, and a browser following a redirect-after-post could read the old data
# (a browser test caught exactly that: a saved profile shown without the change).
DbSession = Annotated[Session, Depends(get_session, scope="function")]


async def load_user(request: Request, session: DbSession) -> User | None:
    """The logged-in user, loaded by get_session where it opened the request's session.

    Sync dependencies each cost a hop to a worker thread and back (FastAPI runs them in the thread pool); under
    load on two cores those hops, not the queries, made a 2 ms page serve a third of what a bare page does. So
    the query runs where the session is made, and this and the role checks below, which only read loaded
    attributes (the user's organization is joined), run on the event loop without a hop.
    """
    return request.state.user


def _load_user(request: Request, session: Session, touch: bool = True) -> User | None:
    """The signed cookie's login id checked against user_session on every request.

    One query (the login, its user and organization, by a unique index) on the request's own session; a login
    ended elsewhere (logout, "log out everywhere", a new password, a suspension) is refused at once.
    """
    request.state.user = None
    request.state.login = None
    token = request.session.get("sid")
    if not token:
        return None
    login = sessions.find_session(session, token)
    if login is None or not login.user.is_active:
        request.session.pop("sid", None)
        return None
    if touch and not is_prefetch(request):
        sessions.touch(session, login)
    request.state.user = login.user
    request.state.login = login
    return login.user


def is_prefetch(request: Request) -> bool:
    """A browser's speculative fetch (Sec-Purpose / Purpose: prefetch): it must not count as the user's visit."""
    purpose = (request.headers.get("sec-purpose") or request.headers.get("purpose")
               or request.headers.get("x-moz") or "")
    return "prefetch" in purpose.lower()


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


async def require_user(request: Request, _user: Annotated[User | None, Depends(load_user)]) -> User:
    """The logged-in user, or a redirect to the login page."""
    if _user is None:
        raise NotAuthenticated(_("Please log in to see this page."))
    return _user


async def require_member(user: Annotated[User, Depends(require_user)]) -> User:
    """A user whose organization is approved (organizers always pass)."""
    if user.is_organizer:
        return user
    if user.organization is None or not user.organization.is_approved:
        raise Forbidden(_("Your organization has not been approved yet. You can edit your profile while you wait."),
                        code="not_approved")
    return user


async def require_organizer(user: Annotated[User, Depends(require_user)]) -> User:
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


def matching_cache(request: Request) -> Any:
    """The app's published-index cache (web.services.matching_index.MatchingCache)."""
    return matching_cache_of(request.app)


def embedder(request: Request) -> Any:
    """The app's embedder (pages only read its name: they never embed)."""
    return embedder_of(request.app)


MatchCache = Annotated[Any, Depends(matching_cache)]
Embedder = Annotated[Any, Depends(embedder)]
