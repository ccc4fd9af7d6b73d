"""Scheduled jobs: expiry, expiring-soon reminders, never twice, the scheduler and `matchmaker worker`."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from typer.testing import CliRunner

from models import MeetingRequest, MeetingRequestEvent, Notification, OutboxEmail, User
from models.base import utcnow
from tests.factories import create_user
from tests.web.requests_support import age_request, make_request, member
from web import jobs
from web.services import requests


def _arrange(session_factory, settings, days_old: float):
    """A pending request aged by days_old, committed; returns its id and the two users."""
    with session_factory() as session:
        alice, bob = member(session, "Alpha"), member(session, "Beta")
        req = make_request(session, settings, alice, bob)
        age_request(session, req, days_old)
        session.commit()
        return req.id, alice.id, bob.id


def _count(session_factory, model, *where):
    with session_factory() as session:
        return len(session.scalars(select(model).where(*where)).all())


def test_expiry_job_expires_old_requests_once(session_factory, settings):
    req_id, alice_id, _bob = _arrange(session_factory, settings, 15)
    fresh_id, *_ = _arrange(session_factory, settings, 1)
    assert jobs.expire_meeting_requests(session_factory, settings) == 1
    assert jobs.expire_meeting_requests(session_factory, settings) == 0
    with session_factory() as session:
        req = session.get(MeetingRequest, req_id)
        assert (req.status, req.open_pair_key) == ("expired", None)
        assert session.get(MeetingRequest, fresh_id).status == "pending"
        events = session.scalars(select(MeetingRequestEvent).where(MeetingRequestEvent.request_id == req_id)).all()
        assert [(e.from_status, e.to_status, e.actor_user_id) for e in events][-1] == ("pending", "expired", None)
    assert _count(session_factory, Notification, Notification.kind == "request_expired",
                  Notification.user_id == alice_id) == 1


def test_two_processes_expire_a_request_once(session_factory, settings):
    req_id, *_ = _arrange(session_factory, settings, 15)
    now = utcnow()
    # Two workers read the same candidates, then both try: the conditional UPDATE lets one win.
    with session_factory() as first, session_factory() as second:
        a, b = first.get(MeetingRequest, req_id), second.get(MeetingRequest, req_id)
        assert requests._transition(first, a, "expired", None, now=now) is True
        first.commit()
        assert requests._transition(second, b, "expired", None, now=now) is False
        second.commit()
    assert _count(session_factory, MeetingRequestEvent, MeetingRequestEvent.to_status == "expired") == 1


def test_accept_before_expiry_job_wins_cleanly(session_factory, settings):
    req_id, _alice, bob_id = _arrange(session_factory, settings, 13.5)
    with session_factory() as session:
        requests.accept_meeting(session, settings, session.get(User, bob_id), req_id)
        session.commit()
    later = utcnow() + timedelta(days=1)
    with session_factory() as session:
        assert requests.expire_due_requests(session, settings, now=later) == 0
        session.commit()
        assert session.get(MeetingRequest, req_id).status == "accepted"


def test_expiring_soon_is_notified_once_even_twice_run(session_factory, settings):
    req_id, alice_id, bob_id = _arrange(session_factory, settings, 12.5)
    far_id, *_ = _arrange(session_factory, settings, 5)
    with session_factory() as session:
        create_user(session, session.get(MeetingRequest, req_id).recipient_org)  # a colleague is reminded too
        session.commit()
    assert jobs.remind_expiring_requests(session_factory, settings) == 2
    assert jobs.remind_expiring_requests(session_factory, settings) == 0
    assert _count(session_factory, Notification, Notification.kind == "request_expiring") == 2
    assert _count(session_factory, Notification, Notification.kind == "request_expiring",
                  Notification.request_id == far_id) == 0
    assert _count(session_factory, OutboxEmail, OutboxEmail.dedupe_key.like(f"expiring:{req_id}:%")) == 2


def test_two_processes_remind_once(session_factory, settings):
    req_id, *_ = _arrange(session_factory, settings, 12.5)
    with session_factory() as first:
        assert requests.notify_expiring_requests(first, settings) == 1
        first.commit()
    with session_factory() as second:  # a second process that read the same candidates
        assert requests.notify_expiring_requests(second, settings) == 0
        second.commit()
    assert _count(session_factory, Notification, Notification.request_id == req_id,
                  Notification.kind == "request_expiring") == 1


def test_register_jobs_adds_meeting_jobs(session_factory, settings):
    scheduler = BackgroundScheduler(timezone="UTC")
    jobs.register_jobs(scheduler, session_factory, settings)
    ids = {job.id for job in scheduler.get_jobs()}
    assert {"expire_meeting_requests", "remind_expiring_requests", "send_outbox", "purge_security_rows"} <= ids


def test_worker_once_runs_every_job(session_factory, settings, database_url, monkeypatch):
    from web.cli import app as cli

    req_id, *_ = _arrange(session_factory, settings, 15)
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", database_url)
    monkeypatch.setenv("MATCHMAKER_SMTP_HOST", "")
    monkeypatch.setenv("MATCHMAKER_EMBEDDING_MODEL", "hashing")  # the embedding job must not load the real model here
    result = CliRunner().invoke(cli, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "expire_meeting_requests: 1" in result.output
    with session_factory() as session:
        assert session.get(MeetingRequest, req_id).status == "expired"
        assert {e.status for e in session.scalars(select(OutboxEmail))} == {"sent"}  # logged: no SMTP configured


# --- the hourly clean-up ---------------------------------------------------------------------------------------------

def test_purge_job_deletes_what_is_spent_and_keeps_what_is_live(session_factory, settings):
    from models import LoginThrottle, PasswordResetToken, UserSession
    from web.services.outbox import EXPIRED_BODY, PURGED_BODY

    now = utcnow()
    quiet = now - timedelta(seconds=settings.login_window_seconds + 60)
    old = now - timedelta(days=settings.outbox_body_days + 1)
    with session_factory() as session:
        user = create_user(session)
        session.add_all([
            LoginThrottle(email="a@example.com", client_ip="10.0.0.1", failures=3, window_started_at=quiet,
                          last_failure_at=quiet),  # quiet for a window: its count would start again anyway
            LoginThrottle(email="b@example.com", client_ip="10.0.0.1", failures=3, window_started_at=now,
                          last_failure_at=now),
            LoginThrottle(email="c@example.com", client_ip="10.0.0.1", failures=9, window_started_at=quiet,
                          last_failure_at=quiet, blocked_until=now + timedelta(minutes=5)),  # still waiting
            UserSession(user_id=user.id, token_hash="ended", expires_at=now - timedelta(seconds=1)),
            UserSession(user_id=user.id, token_hash="live", expires_at=now + timedelta(days=1)),
            PasswordResetToken(user_id=user.id, token_hash="expired", expires_at=now - timedelta(minutes=1)),
            PasswordResetToken(user_id=user.id, token_hash="spent-expired", expires_at=now - timedelta(minutes=1),
                               used_at=now - timedelta(minutes=30)),
            PasswordResetToken(user_id=user.id, token_hash="spent", expires_at=now + timedelta(minutes=30),
                               used_at=now),  # kept until it expires: a second click says "already used"
            PasswordResetToken(user_id=user.id, token_hash="open", expires_at=now + timedelta(minutes=30)),
        ])
        for key, status, created in (("old-sent", "sent", old), ("old-failed", "failed", old),
                                     ("old-pending", "pending", old), ("new-sent", "sent", now)):
            session.add(OutboxEmail(to_address="x@example.com", subject=key, body=f"Message text of {key}",
                                    status=status, created_at=created, next_attempt_at=created))
        session.add(OutboxEmail(to_address="x@example.com", subject="old-secret", body=PURGED_BODY, status="sent",
                                created_at=old, next_attempt_at=old))
        session.commit()

    assert jobs.purge_expired_security_rows(session_factory, settings) == 1 + 1 + 2 + 2
    with session_factory() as session:
        assert sorted(session.scalars(select(LoginThrottle.email))) == ["b@example.com", "c@example.com"]
        assert session.scalars(select(UserSession.token_hash)).all() == ["live"]
        assert sorted(session.scalars(select(PasswordResetToken.token_hash))) == ["open", "spent"]
        bodies = dict(session.execute(select(OutboxEmail.subject, OutboxEmail.body)).all())
    assert bodies == {"old-sent": EXPIRED_BODY, "old-failed": EXPIRED_BODY, "old-secret": PURGED_BODY,
                      "old-pending": "Message text of old-pending",  # never sent: still needed
                      "new-sent": "Message text of new-sent"}
    assert jobs.purge_expired_security_rows(session_factory, settings) == 0  # nothing left to do
