"""The email outbox: queue messages in the transaction that caused them, send them later with retries.

Delivery is at-least-once. Each email gets its Message-ID when queued and keeps it for every attempt,
so a retry of a mail that may have gone out (the server answered too late, the process died
mid-send) reaches the recipient as the same message, which mail clients show once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from models import OutboxEmail
from models.base import utcnow
from models.session import session_scope
from web.mail import MaybeSentError, PermanentMailError, send_mail, single_line
from web.services import after_commit

log = logging.getLogger(__name__)
BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 6 * 3600
MAX_ATTEMPTS = 8
# A claim older than this belongs to a process that died mid-send (one attempt takes seconds):
# the email is sent again with the same Message-ID.
SEND_LEASE = timedelta(minutes=10)
# What is left of a body that held a secret (a reset link) once it was delivered or given up.
PURGED_BODY = "[Removed after sending: this email held a single-use link. Subject, recipient and Message-ID are kept.]"
# What is left of any body once MATCHMAKER_OUTBOX_BODY_DAYS have passed (members' messages are copied into emails).
EXPIRED_BODY = "[Removed after the retention period. Subject, recipient and Message-ID are kept.]"


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended: sent, retry (later, same Message-ID) or failed (given up)."""

    status: str
    error: str = ""


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 1, 2, 4, 8 ... minutes, at most 6 hours."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def enqueue_email(session: Session, to: str, subject: str, body: str, language: str = "en",
                  dedupe_key: str | None = None, *, sensitive: bool = False) -> OutboxEmail | None:
    """Queue an email; None when one with the same dedupe key is already queued.

    `sensitive`: the body holds a secret (a reset link); it is removed from the table after sending.
    """
    email = OutboxEmail(to_address=to, subject=single_line(subject)[:300], body=body, language=language,
                        status="pending", attempts=0, next_attempt_at=utcnow(), last_error="",
                        dedupe_key=dedupe_key, sensitive=sensitive)
    try:
        with session.begin_nested():
            session.add(email)
    except IntegrityError:
        return None
    # Sent now rather than at the outbox's next round, by whichever process committed it (page, API, job).
    after_commit.run_job(session, after_commit.SEND_OUTBOX)
    return email


def purge_old_bodies(session: Session, settings, now: datetime | None = None) -> int:
    """Remove the text of emails sent or given up over MATCHMAKER_OUTBOX_BODY_DAYS ago; returns how many."""
    limit = (now or utcnow()) - timedelta(days=settings.outbox_body_days)
    return session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.status.in_(("sent", "failed")), OutboxEmail.created_at < limit,
               OutboxEmail.body.not_in((PURGED_BODY, EXPIRED_BODY)))
        .values(body=EXPIRED_BODY)
        .execution_options(synchronize_session=False)
    ).rowcount or 0


def claim_email(session: Session, email_id: int, now: datetime) -> bool:
    """Take one due email for this process with a conditional UPDATE; False if another process has it.

    The attempt is counted here, before sending: a crash mid-send still uses up one attempt.
    """
    result = session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id == email_id, OutboxEmail.status == "pending", OutboxEmail.next_attempt_at <= now)
        .values(status="sending", claimed_at=now, attempts=OutboxEmail.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _purged_body():
    return case((OutboxEmail.sensitive.is_(True), PURGED_BODY), else_=OutboxEmail.body)


def release_stale_claims(session: Session, now: datetime) -> dict[str, int]:
    """Emails left 'sending' past the lease: due again (same Message-ID), or failed after the last attempt."""
    stale = (OutboxEmail.status == "sending", OutboxEmail.claimed_at < now - SEND_LEASE)
    failed = session.execute(
        update(OutboxEmail).where(*stale, OutboxEmail.attempts >= MAX_ATTEMPTS)
        .values(status="failed", body=_purged_body(),
                last_error="interrupted while sending (maybe sent) on the last attempt; given up")
        .execution_options(synchronize_session=False)
    ).rowcount or 0
    retried = session.execute(
        update(OutboxEmail).where(*stale)
        .values(status="pending", next_attempt_at=now,
                last_error="interrupted while sending (maybe sent); retried with the same Message-ID")
        .execution_options(synchronize_session=False)
    ).rowcount or 0
    return {"retry": retried, "failed": failed}


def record_outcome(session: Session, email_id: int, attempts: int, now: datetime, outcome: Outcome) -> bool:
    """Store how the attempt ended; False (nothing written) if this claim expired and another took over."""
    values: dict = {"status": "pending" if outcome.status == "retry" else outcome.status,
                    "last_error": outcome.error[:1000]}
    if outcome.status == "sent":
        values.update(sent_at=utcnow(), body=_purged_body())
    elif outcome.status == "failed":
        values.update(body=_purged_body())
    else:
        values.update(next_attempt_at=now + backoff(attempts))
    result = session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id == email_id, OutboxEmail.status == "sending", OutboxEmail.attempts == attempts)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def attempt(settings, email_id: int, to: str, subject: str, body: str, message_id: str, attempts: int) -> Outcome:
    """Send once and say what to do next; never raises for a problem of this one email."""
    domain = to.rpartition("@")[2]
    try:
        send_mail(settings, to, subject, body, message_id, email_id)
    except PermanentMailError as exc:
        log.error("email %s to a recipient at %s cannot be sent: %s", email_id, domain, exc)
        return Outcome("failed", f"cannot be sent: {exc}")
    except MaybeSentError as exc:
        error = f"maybe sent (the server did not confirm): {exc}; retried with the same Message-ID"
    except Exception as exc:  # any SMTP or network failure is retried later
        error = f"{type(exc).__name__}: {exc}"
    else:
        return Outcome("sent")
    log.warning("email %s to a recipient at %s failed (attempt %s): %s", email_id, domain, attempts, error)
    return Outcome("failed" if attempts >= MAX_ATTEMPTS else "retry", error)


def send_due_emails(session_factory: sessionmaker, settings, now: datetime | None = None, limit: int = 50) -> dict:
    """Send what is due (scheduler). Each claim, and each outcome, is its own committed transaction."""
    now = now or utcnow()
    stats = {"sent": 0, "failed": 0, "retry": 0}
    with session_scope(session_factory) as session:
        stats["failed"] += release_stale_claims(session, now)["failed"]
        ids = session.scalars(select(OutboxEmail.id).where(OutboxEmail.status == "pending",
                                                           OutboxEmail.next_attempt_at <= now)
                              .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id).limit(limit)).all()
    for email_id in ids:
        with session_scope(session_factory) as session:
            if not claim_email(session, email_id, now):
                continue
            email = session.get(OutboxEmail, email_id)
            fields = (email.to_address, email.subject, email.body, email.message_id, email.attempts)
        outcome = attempt(settings, email_id, *fields)
        with session_scope(session_factory) as session:
            if record_outcome(session, email_id, fields[-1], now, outcome):
                stats[outcome.status] += 1
    return stats
