"""The email outbox against a real SMTP server (aiosmtpd): delivery, retries with backoff, claims."""

from __future__ import annotations

from datetime import timedelta
from email.header import decode_header, make_header

from sqlalchemy import select

from models import OutboxEmail
from models.base import utcnow
from tests.web.smtp_support import free_port, smtp_server  # noqa: F401  (fixture)
from web.services import outbox


def _settings(settings, port):
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})


def _queue(session, **kwargs):
    email = outbox.enqueue_email(session, kwargs.pop("to", "aiko@example.com"), kwargs.pop("subject", "面談リクエスト"),
                                 kwargs.pop("body", "本文です\nBody"), "ja", **kwargs)
    session.commit()
    return email


def test_due_email_is_sent_over_smtp(session, session_factory, settings, smtp_server):
    controller, inbox = smtp_server
    email = _queue(session)
    stats = outbox.send_due_emails(session_factory, _settings(settings, controller.port))
    assert stats == {"sent": 1, "failed": 0, "retry": 0}
    (rcpts, message), = inbox.messages
    assert rcpts == ["aiko@example.com"]
    assert str(make_header(decode_header(message["Subject"]))) == "面談リクエスト"
    assert "本文です" in message.get_payload(decode=True).decode("utf-8")
    session.expire_all()
    row = session.get(OutboxEmail, email.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "") and row.sent_at is not None


def test_sent_email_is_never_sent_twice(session, session_factory, settings, smtp_server):
    controller, inbox = smtp_server
    _queue(session)
    real = _settings(settings, controller.port)
    outbox.send_due_emails(session_factory, real)
    outbox.send_due_emails(session_factory, real, now=utcnow() + timedelta(days=1))
    assert len(inbox.messages) == 1


def test_claim_is_taken_once(session, session_factory):
    email = _queue(session)
    now = utcnow() + timedelta(seconds=1)
    with session_factory() as first, session_factory() as second:
        assert outbox.claim_email(first, email.id, now) is True
        first.commit()
        assert outbox.claim_email(second, email.id, now) is False
        second.commit()


def test_failing_smtp_retries_with_growing_backoff(session, session_factory, settings, smtp_server):
    email = _queue(session)
    closed = _settings(settings, free_port())  # nothing listens there
    now = utcnow()
    waits = []
    for _ in range(3):
        stats = outbox.send_due_emails(session_factory, closed, now=now)
        assert stats["retry"] == 1
        session.expire_all()
        row = session.get(OutboxEmail, email.id)
        assert row.status == "pending" and row.last_error
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert row.attempts == 3
    # Not due yet: nothing is tried.
    assert outbox.send_due_emails(session_factory, closed, now=now - timedelta(seconds=1)) == {"sent": 0, "failed": 0, "retry": 0}
    # Then the server is back and the retry goes through.
    controller, inbox = smtp_server
    assert outbox.send_due_emails(session_factory, _settings(settings, controller.port), now=now)["sent"] == 1
    assert len(inbox.messages) == 1


def test_email_gives_up_after_max_attempts(session, session_factory, settings):
    email = _queue(session)
    closed = _settings(settings, free_port())
    now = utcnow()
    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.send_due_emails(session_factory, closed, now=now)
        now += timedelta(days=1)
    session.expire_all()
    row = session.get(OutboxEmail, email.id)
    assert (row.status, row.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert outbox.send_due_emails(session_factory, closed, now=now) == {"sent": 0, "failed": 0, "retry": 0}


def test_stale_claim_is_failed_not_resent(session, session_factory, settings, smtp_server):
    controller, inbox = smtp_server
    email = _queue(session)
    with session_factory() as other:
        assert outbox.claim_email(other, email.id, utcnow())
        other.commit()
    outbox.send_due_emails(session_factory, _settings(settings, controller.port), now=utcnow() + timedelta(hours=1))
    session.expire_all()
    assert session.get(OutboxEmail, email.id).status == "failed" and inbox.messages == []


def test_dedupe_key_queues_once(session):
    assert _queue(session, dedupe_key="expiring:1:user:1") is not None
    assert _queue(session, dedupe_key="expiring:1:user:1") is None
    assert len(session.scalars(select(OutboxEmail)).all()) == 1


def test_backoff_is_capped():
    assert outbox.backoff(1) == timedelta(minutes=1)
    assert outbox.backoff(30) == timedelta(hours=6)
