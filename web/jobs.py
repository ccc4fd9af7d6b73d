"""Scheduled jobs (APScheduler); thin wrappers that call service functions in their own session."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import delete

from models import LoginAttempt, PasswordResetToken
from models.base import utcnow
from models.session import session_scope

log = logging.getLogger(__name__)


def purge_expired_security_rows(session_factory, window_seconds: int) -> int:
    """Delete old login attempts and spent or expired reset tokens; returns rows deleted."""
    now = utcnow()
    with session_scope(session_factory) as session:
        attempts = session.execute(
            delete(LoginAttempt).where(LoginAttempt.created_at < now - timedelta(seconds=window_seconds * 4))
        ).rowcount
        tokens = session.execute(delete(PasswordResetToken).where(PasswordResetToken.expires_at < now)).rowcount
    return (attempts or 0) + (tokens or 0)


def register_jobs(scheduler: BackgroundScheduler, session_factory, settings) -> None:
    """Add every job; later areas add theirs here."""
    scheduler.add_job(
        purge_expired_security_rows, "interval", hours=1, id="purge_security_rows", replace_existing=True,
        args=[session_factory, settings.login_window_seconds], coalesce=True, max_instances=1,
    )


def start_scheduler(app) -> BackgroundScheduler:
    """Start the in-process scheduler for single-process deployments."""
    scheduler = BackgroundScheduler(timezone="UTC")
    register_jobs(scheduler, app.state.session_factory, app.state.settings)
    scheduler.start()
    return scheduler
