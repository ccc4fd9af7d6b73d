"""The email outbox: queue messages in the transaction that caused them, send them later with retries."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from models import OutboxEmail
from models.base import utcnow
from models.session import session_scope
from web.mail import send_mail

log = logging.getLogger(__name__)
BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 6 * 3600
MAX_ATTEMPTS = 8
# A claim this old means its process died mid-send: we cannot know whether it went out.
STALE_CLAIM = timedelta(minutes=30)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 1, 2, 4, 8 ... minutes, at most 6 hours."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def enqueue_email(session: Session, to: str, subject: str, body: str, language: str = "en",
                  dedupe_key: str | None = None) -> OutboxEmail | None:
    """Queue an email; None when one with the same dedupe key is already queued."""
    email = OutboxEmail(to_address=to, subject=subject[:300], body=body, language=language, status="pending",
                        attempts=0, next_attempt_at=utcnow(), last_error="", dedupe_key=dedupe_key)
    try:
        with session.begin_nested():
            session.add(email)
    except IntegrityError:
        return None
    return email


def claim_email(session: Session, email_id: int, now: datetime) -> bool:
    """Take one due email for this process with a conditional UPDATE; False if another process has it."""
    result = session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id == email_id, OutboxEmail.status == "pending", OutboxEmail.next_attempt_at <= now)
        .values(status="sending", claimed_at=now, attempts=OutboxEmail.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def fail_stale_claims(session: Session, now: datetime) -> int:
    """Mark emails left 'sending' by a dead process as failed rather than risk sending them twice."""
    result = session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.status == "sending", OutboxEmail.claimed_at < now - STALE_CLAIM)
        .values(status="failed", last_error="interrupted while sending; not retried to avoid a duplicate")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def send_due_emails(session_factory: sessionmaker, settings, now: datetime | None = None, limit: int = 50) -> dict:
    """Send what is due (scheduler). Each claim, and each outcome, is its own committed transaction."""
    now = now or utcnow()
    stats = {"sent": 0, "failed": 0, "retry": 0}
    with session_scope(session_factory) as session:
        fail_stale_claims(session, now)
        ids = session.scalars(select(OutboxEmail.id).where(OutboxEmail.status == "pending",
                                                           OutboxEmail.next_attempt_at <= now)
                              .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id).limit(limit)).all()
    for email_id in ids:
        with session_scope(session_factory) as session:
            if not claim_email(session, email_id, now):
                continue
            email = session.get(OutboxEmail, email_id)
            to, subject, body, attempts = email.to_address, email.subject, email.body, email.attempts
        error = ""
        try:
            send_mail(settings, to, subject, body)
        except Exception as exc:  # any SMTP or network failure is retried later
            error = f"{type(exc).__name__}: {exc}"[:1000]
            log.warning("email %s to %s failed (attempt %s): %s", email_id, to, attempts, error)
        with session_scope(session_factory) as session:
            email = session.get(OutboxEmail, email_id)
            if not error:
                email.status, email.sent_at, email.last_error = "sent", utcnow(), ""
                stats["sent"] += 1
            elif attempts >= MAX_ATTEMPTS:
                email.status, email.last_error = "failed", error
                stats["failed"] += 1
            else:
                email.status, email.last_error = "pending", error
                email.next_attempt_at = now + backoff(attempts)
                stats["retry"] += 1
    return stats
