"""Login throttling, counted before the password is checked.

Per (email, client address): a few free failures, then a wait that doubles with each further failure, so a
stranger guessing from elsewhere never locks the owner out. Per address alone: a looser cap over a window, against
one address trying many emails. Each count is one atomic upsert, so parallel guesses cannot all slip under it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, literal, select, update
from sqlalchemy.orm import Session

from models import LoginThrottle
from models.base import UTCDateTime, utcnow
from models.session import insert_for
from web.errors import TooManyAttempts
from web.i18n import _
from web.settings import Settings

ADDRESS_ONLY = ""  # the email of the per-address row


def delay_seconds(failures: int, free: int, cap: int) -> int:
    """The wait before the next attempt after this many failures: none for the free ones, then 2, 4, 8, ... s."""
    if failures < free:
        return 0
    return min(cap, 2 ** (failures - free + 1))


def _when(value: datetime):
    return literal(value, UTCDateTime())


def _bump(session: Session, email: str, client_ip: str, now: datetime, forget, only_if_unblocked: bool) -> int | None:
    """Count one failure on the row (creating it); None when the row is blocked and only_if_unblocked."""
    insert = insert_for(session, LoginThrottle).values(email=email, client_ip=client_ip, failures=1,
                                                       window_started_at=now, last_failure_at=now, blocked_until=None)
    row = LoginThrottle
    statement = insert.on_conflict_do_update(
        index_elements=[row.email, row.client_ip],
        set_={"failures": case((forget, 1), else_=row.failures + 1),
              "window_started_at": case((forget, _when(now)), else_=row.window_started_at),
              "last_failure_at": _when(now),
              "blocked_until": case((forget, None), else_=row.blocked_until)},
        where=(row.blocked_until.is_(None) | (row.blocked_until <= now)) if only_if_unblocked else None,
    ).returning(row.failures)
    return session.execute(statement).scalar()


def _wait_text(seconds: int) -> str:
    if seconds < 120:
        return _("%(n)d seconds") % {"n": seconds}
    return _("%(n)d minutes") % {"n": math.ceil(seconds / 60)}


def count_attempt(session: Session, settings: Settings, email: str, client_ip: str,
                  now: datetime | None = None) -> None:
    """Count a login attempt as failed until it succeeds; TooManyAttempts (with a wait) when it must not be tried."""
    now = now or utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    row = LoginThrottle
    # The (email, address) count starts again after a quiet window that follows the last wait.
    quiet = func.coalesce(row.blocked_until, row.last_failure_at) < now - window
    failures = _bump(session, email, client_ip, now, quiet, only_if_unblocked=True)
    if failures is None:
        blocked_until = session.scalar(select(row.blocked_until).where(row.email == email, row.client_ip == client_ip))
        wait = max(1, math.ceil((blocked_until - now).total_seconds())) if blocked_until else 1
        raise TooManyAttempts(_("Too many failed logins for this email from your address. Wait %(wait)s before "
                                "trying again, or reset your password.") % {"wait": _wait_text(wait)},
                              retry_after=wait)
    address_failures = _bump(session, ADDRESS_ONLY, client_ip, now, row.window_started_at < now - window,
                             only_if_unblocked=False)
    if address_failures > settings.login_address_max_failures:
        started = session.scalar(select(row.window_started_at).where(row.email == ADDRESS_ONLY,
                                                                     row.client_ip == client_ip))
        wait = max(1, math.ceil((started + window - now).total_seconds()))
        raise TooManyAttempts(_("Too many failed logins from your network. Wait %(wait)s before trying again, "
                                "or reset your password.") % {"wait": _wait_text(wait)}, retry_after=wait)
    wait = delay_seconds(failures, settings.login_max_failures, settings.login_max_delay_seconds)
    if wait:
        session.execute(update(row).where(row.email == email, row.client_ip == client_ip)
                        .values(blocked_until=now + timedelta(seconds=wait)))


def forget_attempt(session: Session, email: str, client_ip: str) -> None:
    """The attempt succeeded: clear the (email, address) count and take it back from the address's."""
    row = LoginThrottle
    session.execute(delete(row).where(row.email == email, row.client_ip == client_ip))
    session.execute(update(row).where(row.email == ADDRESS_ONLY, row.client_ip == client_ip, row.failures > 0)
                    .values(failures=row.failures - 1))


def purge_quiet_rows(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Delete counts that would start again anyway; returns how many."""
    now = now or utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    row = LoginThrottle
    stale = func.coalesce(row.blocked_until, row.last_failure_at) < now - window
    return session.execute(delete(row).where(stale, row.window_started_at < now - window)).rowcount or 0
