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
    assert (outbox.send_due_emails(session_factory, closed, now=now - timedelta(seconds=1))
            == {"sent": 0, "failed": 0, "retry": 0})
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


def _row(session, email_id):
    session.expire_all()
    return session.get(OutboxEmail, email_id)


def test_message_id_is_made_once_when_queued_and_kept_across_retries(session, session_factory, settings, smtp_server):
    controller, inbox = smtp_server
    email = _queue(session)
    message_id = email.message_id
    assert message_id.startswith("<") and message_id.endswith(">")
    now = utcnow()
    outbox.send_due_emails(session_factory, _settings(settings, free_port()), now=now)  # nothing listens: retry
    row = _row(session, email.id)
    assert row.status == "pending" and row.message_id == message_id
    outbox.send_due_emails(session_factory, _settings(settings, controller.port), now=row.next_attempt_at)
    assert inbox.message_ids() == [message_id]


def test_reply_after_client_timeout_is_retried_with_the_same_message_id(session, session_factory, settings,
                                                                         smtp_server):
    controller, inbox = smtp_server
    inbox.reply_delay = 1.0  # the server takes the mail but answers after the client gave up
    email = _queue(session)
    quick = _settings(settings, controller.port).model_copy(update={"smtp_timeout_seconds": 0.3})
    now = utcnow()
    assert outbox.send_due_emails(session_factory, quick, now=now) == {"sent": 0, "failed": 0, "retry": 1}
    row = _row(session, email.id)
    assert row.status == "pending" and row.attempts == 1
    assert "maybe sent" in row.last_error and row.next_attempt_at == now + timedelta(minutes=1)
    inbox.reply_delay = 0.0
    assert outbox.send_due_emails(session_factory, quick, now=row.next_attempt_at)["sent"] == 1
    # Delivered twice (at-least-once), both times as the same message, so mail clients show it once.
    assert inbox.message_ids() == [email.message_id, email.message_id]
    assert _row(session, email.id).status == "sent"


def test_send_interrupted_midway_is_retried_after_the_lease(session, session_factory, settings, smtp_server):
    controller, inbox = smtp_server
    email = _queue(session)
    claimed = utcnow()
    with session_factory() as other:  # a process claims the email, then dies before recording the outcome
        assert outbox.claim_email(other, email.id, claimed)
        other.commit()
    real = _settings(settings, controller.port)
    # Within the lease the claim may still be sending: leave it alone.
    assert outbox.send_due_emails(session_factory, real, now=claimed + outbox.SEND_LEASE - timedelta(seconds=1)) \
        == {"sent": 0, "failed": 0, "retry": 0}
    assert _row(session, email.id).status == "sending" and inbox.messages == []
    stats = outbox.send_due_emails(session_factory, real, now=claimed + outbox.SEND_LEASE + timedelta(seconds=1))
    assert stats == {"sent": 1, "failed": 0, "retry": 0}
    row = _row(session, email.id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert inbox.message_ids() == [email.message_id]


def test_interrupted_last_attempt_is_failed_with_reason(session, session_factory, settings, smtp_server):
    controller, inbox = smtp_server
    email = _queue(session)
    email.attempts = outbox.MAX_ATTEMPTS - 1
    session.commit()
    claimed = utcnow()
    with session_factory() as other:
        assert outbox.claim_email(other, email.id, claimed)
        other.commit()
    stats = outbox.send_due_emails(session_factory, _settings(settings, controller.port),
                                   now=claimed + outbox.SEND_LEASE + timedelta(seconds=1))
    assert stats == {"sent": 0, "failed": 1, "retry": 0}
    row = _row(session, email.id)
    assert row.status == "failed" and "interrupted" in row.last_error and inbox.messages == []


def test_outcome_of_an_expired_claim_does_not_overwrite_the_new_one(session, session_factory):
    email = _queue(session)
    first = utcnow()
    with session_factory() as s:
        assert outbox.claim_email(s, email.id, first)
        s.commit()
    later = first + outbox.SEND_LEASE + timedelta(seconds=1)
    with session_factory() as s:
        assert outbox.release_stale_claims(s, later) == {"retry": 1, "failed": 0}
        assert outbox.claim_email(s, email.id, later)
        s.commit()
    # The first sender comes back late: its outcome is dropped, the second claim stands.
    with session_factory() as s:
        assert outbox.record_outcome(s, email.id, 1, first, outbox.Outcome("retry", "late")) is False
        s.commit()
    row = _row(session, email.id)
    assert (row.status, row.attempts) == ("sending", 2)


def test_dedupe_key_queues_once(session):
    assert _queue(session, dedupe_key="expiring:1:user:1") is not None
    assert _queue(session, dedupe_key="expiring:1:user:1") is None
    assert len(session.scalars(select(OutboxEmail)).all()) == 1


def test_backoff_is_capped():
    assert outbox.backoff(1) == timedelta(minutes=1)
    assert outbox.backoff(30) == timedelta(hours=6)


def test_line_break_in_subject_is_flattened_and_every_mail_goes_out(session, session_factory, settings, smtp_server):
    controller, inbox = smtp_server
    queued = _queue(session, subject="New request from Acme\nBcc: all@example.com")
    # A row written before subjects were cleaned when queued: the builder copes with it too.
    legacy = OutboxEmail(to_address="ken@example.com", subject="Hello\r\nBcc: all@example.com\u2028x", body="b",
                         language="en", status="pending", attempts=0, next_attempt_at=utcnow(), last_error="")
    session.add(legacy)
    session.commit()
    assert queued.subject == "New request from Acme Bcc: all@example.com"
    stats = outbox.send_due_emails(session_factory, _settings(settings, controller.port))
    assert stats == {"sent": 2, "failed": 0, "retry": 0}
    subjects = sorted(message["Subject"] for _rcpts, message in inbox.messages)
    assert subjects == ["Hello Bcc: all@example.com x", "New request from Acme Bcc: all@example.com"]
    assert all(message["Bcc"] is None for _rcpts, message in inbox.messages)
    assert sorted(rcpts[0] for rcpts, _message in inbox.messages) == ["aiko@example.com", "ken@example.com"]


def test_mail_that_cannot_be_built_fails_alone_at_once(session, session_factory, settings, smtp_server):
    controller, inbox = smtp_server
    bad = _queue(session, to="aiko@example.com\nBcc: all@example.com")
    good = _queue(session, to="ken@example.com")
    stats = outbox.send_due_emails(session_factory, _settings(settings, controller.port))
    assert stats == {"sent": 1, "failed": 1, "retry": 0}
    row = _row(session, bad.id)
    assert (row.status, row.attempts) == ("failed", 1)  # retrying cannot help: no 8 tries
    assert "cannot be sent" in row.last_error and "address" in row.last_error
    assert _row(session, good.id).status == "sent"
    assert [rcpts for rcpts, _message in inbox.messages] == [["ken@example.com"]]


def test_sensitive_body_is_purged_after_delivery(session, session_factory, settings, smtp_server):
    controller, inbox = smtp_server
    secret = _queue(session, subject="Reset your password", body="Open http://testserver/password/reset/s3cr3t",
                    sensitive=True)
    plain = _queue(session, body="A plain notice")
    outbox.send_due_emails(session_factory, _settings(settings, controller.port))
    assert len(inbox.messages) == 2
    row = _row(session, secret.id)
    assert row.status == "sent" and "s3cr3t" not in row.body and row.body
    assert (row.subject, row.to_address, row.message_id) == ("Reset your password", "aiko@example.com",
                                                             secret.message_id)
    assert _row(session, plain.id).body == "A plain notice"


def test_sensitive_body_is_purged_when_given_up(session, session_factory, settings):
    secret = _queue(session, body="link s3cr3t", sensitive=True)
    closed = _settings(settings, free_port())
    now = utcnow()
    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.send_due_emails(session_factory, closed, now=now)
        now += timedelta(days=1)
    row = _row(session, secret.id)
    assert row.status == "failed" and "s3cr3t" not in row.body


def test_without_smtp_server_the_log_says_not_sent_and_holds_no_content(session, session_factory, settings, caplog):
    email = _queue(session, subject="Reset your password", body="Open http://testserver/password/reset/s3cr3t",
                   sensitive=True)
    with caplog.at_level("INFO", logger="matchmaker.mail"):
        assert outbox.send_due_emails(session_factory, settings)["sent"] == 1
    logged = caplog.text
    assert "not sent" in logged and "example.com" in logged and "Reset your password" in logged
    assert str(email.id) in logged and "MATCHMAKER_MAIL_DEBUG_DIR" in logged
    assert "s3cr3t" not in logged and "aiko@" not in logged
    assert "s3cr3t" not in _row(session, email.id).body


def test_mail_debug_dir_keeps_each_mail_as_an_eml_file(session, session_factory, settings, tmp_path, caplog):
    from email import message_from_bytes

    email = _queue(session, body="Open http://testserver/password/reset/s3cr3t", sensitive=True)
    debug = settings.model_copy(update={"mail_debug_dir": str(tmp_path / "mails")})
    with caplog.at_level("INFO", logger="matchmaker.mail"):
        outbox.send_due_emails(session_factory, debug)
    (path,) = (tmp_path / "mails").glob("*.eml")
    message = message_from_bytes(path.read_bytes())
    assert message["Message-ID"] == email.message_id and message["To"] == "aiko@example.com"
    assert "s3cr3t" in message.get_payload(decode=True).decode()
    assert str(path) in caplog.text and "s3cr3t" not in caplog.text


def test_recipient_refused_for_good_fails_at_once_and_busy_is_retried(session, session_factory, settings, smtp_server):
    controller, inbox = smtp_server
    inbox.refuse = {"gone@example.com": "550 5.1.1 No such user", "busy@example.com": "450 4.2.1 Mailbox busy"}
    gone, busy = _queue(session, to="gone@example.com"), _queue(session, to="busy@example.com")
    stats = outbox.send_due_emails(session_factory, _settings(settings, controller.port))
    assert stats == {"sent": 0, "failed": 1, "retry": 1}
    row = _row(session, gone.id)
    assert (row.status, row.attempts) == ("failed", 1) and "No such user" in row.last_error
    assert _row(session, busy.id).status == "pending" and inbox.messages == []


def test_odd_answer_to_quit_after_delivery_does_not_resend(session, session_factory, settings, smtp_server):
    controller, inbox = smtp_server
    inbox.quit_reply = "250 OK"  # some servers answer QUIT oddly; the message was taken already
    email = _queue(session)
    assert outbox.send_due_emails(session_factory, _settings(settings, controller.port))["sent"] == 1
    assert _row(session, email.id).status == "sent" and len(inbox.messages) == 1
