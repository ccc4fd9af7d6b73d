"""Login sessions kept on the server: start, check (one query), list, end one, end all."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from models import User, UserSession
from models.base import utcnow
from web.errors import NotFound
from web.i18n import _
from web.security import new_token, token_digest
from web.values import strip_control_characters

# last_seen_at is written at most this often per session, so a page view rarely writes.
TOUCH_INTERVAL = timedelta(minutes=5)
# Logins the profile page lists; past them it says how many more there are ("Log out everywhere" ends them all).
SESSIONS_SHOWN = 10


def start_session(session: Session, user: User, max_age_seconds: int, user_agent: str = "",
                  client_ip: str = "") -> tuple[str, UserSession]:
    """A new login for the user; returns the random id for the cookie (only its hash is stored) and the row."""
    token = new_token()
    now = utcnow()
    row = UserSession(user_id=user.id, token_hash=token_digest(token), created_at=now, last_seen_at=now,
                      expires_at=now + timedelta(seconds=max_age_seconds),
                      user_agent=strip_control_characters(user_agent)[:300],
                      client_ip=strip_control_characters(client_ip)[:64])
    session.add(row)
    session.flush()
    return token, row


# Built once: every request runs it, and building a statement (and its cache key) cost more than running it.
_FIND_SESSION = select(UserSession).where(UserSession.token_hash == bindparam("token_hash"),
                                          UserSession.expires_at > bindparam("now"))


def find_session(session: Session, token: str) -> UserSession | None:
    """The live login with this cookie id, its user and organization: one query on a unique index."""
    if not token or not isinstance(token, str):
        return None
    return session.scalar(_FIND_SESSION, {"token_hash": token_digest(token), "now": utcnow()})


def touch_due(row: UserSession, now: datetime | None = None) -> bool:
    """Whether touch would write: the login's last use was recorded more than a few minutes ago."""
    return (now or utcnow()) - row.last_seen_at >= TOUCH_INTERVAL


def touch(session: Session, row: UserSession, now: datetime | None = None) -> None:
    """Record that the login was used (at most every few minutes)."""
    now = now or utcnow()
    if not touch_due(row, now):
        return
    session.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
                    .execution_options(synchronize_session=False))
    set_committed_value(row, "last_seen_at", now)  # already written: nothing left for the flush


def list_sessions(session: Session, user: User, current_id: int | None = None,
                  limit: int = SESSIONS_SHOWN) -> tuple[list[UserSession], int]:
    """The user's live logins, most recently used first, up to `limit` with the current one among them; and how
    many more there are (the page offers "Log out everywhere" for those)."""
    live = (UserSession.user_id == user.id, UserSession.expires_at > utcnow())
    # Not the user and organization joined to every row (UserSession.user is eager): they are the viewer's own,
    # and decoding the organization's profile ten times was a third of /profile.
    own = lazyload(UserSession.user)
    shown = list(session.scalars(select(UserSession).where(*live).options(own)
                                 .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc()).limit(limit)))
    if current_id is not None and all(login.id != current_id for login in shown):
        current = session.scalar(select(UserSession).where(UserSession.id == current_id, *live).options(own))
        if current is not None:
            shown = [current, *shown[:limit - 1]]
    total = session.scalar(select(func.count()).select_from(UserSession).where(*live)) or 0
    return shown, max(0, total - len(shown))


def end_session(session: Session, token: str) -> None:
    """End the login with this cookie id (logout)."""
    if token:
        session.execute(delete(UserSession).where(UserSession.token_hash == token_digest(token)))


def end_user_session(session: Session, user: User, session_id: int) -> None:
    """End one of the user's own logins; 404 for anyone else's."""
    result = session.execute(delete(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id))
    if result.rowcount != 1:
        raise NotFound(_("There is no such login."))


def end_all_sessions(session: Session, user_id: int, keep_id: int | None = None) -> int:
    """End every login of the user (but keep_id's); returns how many ended."""
    query = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_id is not None:
        query = query.where(UserSession.id != keep_id)
    return session.execute(query).rowcount or 0


def end_organization_sessions(session: Session, organization_id: int) -> int:
    """End every login of the organization's members (it was suspended); returns how many ended."""
    members = select(User.id).where(User.organization_id == organization_id)
    return session.execute(delete(UserSession).where(UserSession.user_id.in_(members))).rowcount or 0


def purge_expired_sessions(session: Session, now: datetime | None = None) -> int:
    """Delete logins past their end; returns how many."""
    return session.execute(delete(UserSession).where(UserSession.expires_at <= (now or utcnow()))).rowcount or 0


def describe_agent(user_agent: str) -> str:
    """A short "Browser on System" for a User-Agent header, or the header itself when unknown."""
    agent = user_agent or ""
    browsers = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
                ("Safari/", "Safari"))
    systems = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
               ("Macintosh", "macOS"), ("Linux", "Linux"))
    browser = next((name for marker, name in browsers if marker in agent), "")
    system = next((name for marker, name in systems if marker in agent), "")
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or agent[:80] or _("Unknown browser")
