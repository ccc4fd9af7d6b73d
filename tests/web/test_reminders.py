"""Reminders before events and meetings: in the window only, once each (twice run, restart, two processes),
in the recipient's language, never for what was withdrawn or cancelled."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from models import EventRegistration, Notification, OutboxEmail
from models.base import utcnow
from tests.factories import create_user, login
from tests.web.agenda_support import (
    TOKYO,
    at,
    confirmed_meeting,
    create_event,
    matched_pair,
    propose,
    publish_meeting,
    register,
    republish,
)
from tests.web.requests_support import make_match, member, soup
from web import jobs
from web.app import create_app
from web.services import proposals, reminders


def _count(session, kind: str, **where) -> int:
    session.expire_all()
    query = select(func.count()).select_from(Notification).where(Notification.kind == kind)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return session.scalar(query)


def _soon_event(session, hours: float = 20, **overrides):
    starts = utcnow() + timedelta(hours=hours)
    return create_event(session, starts_at=starts, ends_at=starts + timedelta(hours=8), **overrides)


def _meeting_soon(session, settings, minutes: float = 45):
    """Alice and Bob registered for an event under way, their meeting published to start in `minutes`."""
    alice, bob, req = matched_pair(session, settings)
    event = _soon_event(session, hours=-1)
    for user in (alice, bob):
        register(session, event, user.organization_id)
    starts = (utcnow() + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    return alice, bob, req, event, publish_meeting(session, event, req, starts, table=4)


# --- before events ------------------------------------------------------------------------------------------------

def test_event_reminder_goes_once_to_every_active_user_of_approved_registrations(session, settings):
    alice, bob, _req = matched_pair(session, settings)
    colleague = create_user(session, alice.organization)
    retired = create_user(session, alice.organization, is_active=False)
    event = _soon_event(session)
    register(session, event, alice.organization_id)
    register(session, event, bob.organization_id, status="pending")
    assert reminders.send_event_reminders(session, settings) == 2
    assert reminders.send_event_reminders(session, settings) == 0
    session.commit()
    notified = {n.user_id for n in session.scalars(select(Notification).where(Notification.kind == "event_reminder"))}
    assert notified == {alice.id, colleague.id}
    assert retired.id not in notified and bob.id not in notified
    emails = session.scalars(select(OutboxEmail).where(OutboxEmail.subject.contains("Reminder"))).all()
    assert sorted(e.to_address for e in emails) == sorted([alice.email, colleague.email])
    assert "JCM Seminar Santiago starts soon" in emails[0].body and "Your time" in emails[0].body


def test_reminders_survive_a_restart(session_factory, settings):
    with session_factory() as session:
        alice, _bob, req, _event, _meeting = _meeting_soon(session, settings)
        register(session, _soon_event(session), alice.organization_id)
        session.commit()
    assert jobs.remind_events(session_factory, settings) == 1
    assert jobs.remind_meetings(session_factory, settings) == 2
    # A restart: a new app with its own engine and sessions, nothing remembered in memory.
    restarted = create_app(settings)
    try:
        assert jobs.remind_events(restarted.state.session_factory, restarted.state.settings) == 0
        assert jobs.remind_meetings(restarted.state.session_factory, restarted.state.settings) == 0
    finally:
        restarted.state.engine.dispose()
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEmail)
                              .where(OutboxEmail.dedupe_key.like("%reminder%"))) == 3


def test_two_processes_send_a_reminder_once(session_factory, settings):
    with session_factory() as session:
        alice, *_ = matched_pair(session, settings)
        register(session, _soon_event(session), alice.organization_id)
        session.commit()
    # Each process read the same due event; the unique dedupe key lets only the first notification land.
    with session_factory() as first, session_factory() as second:
        assert reminders.send_event_reminders(first, settings) == 1
        first.commit()
        assert reminders.send_event_reminders(second, settings) == 0
        second.commit()
    with session_factory() as session:
        assert _count(session, "event_reminder") == 1


def test_ja_user_gets_the_reminder_in_japanese(session, settings):
    alice, *_ = matched_pair(session, settings)
    alice.language = "ja"
    register(session, _soon_event(session), alice.organization_id)
    reminders.send_event_reminders(session, settings)
    session.commit()
    email = session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == alice.email,
                                                     OutboxEmail.dedupe_key.like("event_reminder:%")))
    assert email.language == "ja"
    assert "JCMセミナー サンティアゴ" in email.subject
    assert "様" in email.body  # the greeting of the Japanese catalog


def test_events_outside_the_window_are_not_reminded(session, settings):
    alice, *_ = matched_pair(session, settings)
    later = _soon_event(session, hours=30)
    started = _soon_event(session, hours=-0.5)
    draft = _soon_event(session, hours=10, status="draft")
    for event in (later, started, draft):
        register(session, event, alice.organization_id)
    assert reminders.send_event_reminders(session, settings) == 0
    wider = settings.model_copy(update={"event_reminder_hours": 48})
    assert reminders.send_event_reminders(session, wider) == 1
    assert _count(session, "event_reminder", event_id=later.id) == 1


def test_a_withdrawn_registration_gets_no_reminder(session, settings):
    alice, *_ = matched_pair(session, settings)
    event = _soon_event(session)
    register(session, event, alice.organization_id, status="withdrawn")
    assert reminders.send_event_reminders(session, settings) == 0


def test_a_moved_event_is_reminded_again(session, settings):
    alice, *_ = matched_pair(session, settings)
    event = _soon_event(session)
    register(session, event, alice.organization_id)
    assert reminders.send_event_reminders(session, settings) == 1
    event.starts_at += timedelta(hours=2)
    session.flush()
    assert reminders.send_event_reminders(session, settings) == 1


# --- before meetings ----------------------------------------------------------------------------------------------

def test_both_sides_are_reminded_of_event_and_outside_meetings_once(session, settings):
    alice, bob, req, event, meeting = _meeting_soon(session, settings)
    carol = member(session, "Carol")
    outside_req = make_match(session, settings, alice, carol)
    now = utcnow()
    proposal = confirmed_meeting(session, settings, alice, carol, outside_req, at(TOKYO, 3, 10))
    in_window = proposal.options[0].starts_at - timedelta(minutes=30)
    assert reminders.send_meeting_reminders(session, settings, now=now) == 2  # the event meeting, both sides
    assert reminders.send_meeting_reminders(session, settings, now=in_window) == 2  # the outside one, both sides
    assert reminders.send_meeting_reminders(session, settings, now=now) == 0
    assert reminders.send_meeting_reminders(session, settings, now=in_window) == 0
    reminded = session.scalars(select(Notification).where(Notification.kind == "meeting_reminder"))
    assert {n.user_id for n in reminded} == {alice.id, bob.id, carol.id}
    email = session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == alice.email,
                                                     OutboxEmail.dedupe_key.like("meeting_reminder:event_meeting:%")))
    assert "Beta Solar" in email.subject and "Table: 4" in email.body and "Your time" in email.body


def test_meetings_outside_the_window_are_not_reminded(session, settings):
    _alice, _bob, _req, _event, meeting = _meeting_soon(session, settings, minutes=90)
    assert reminders.send_meeting_reminders(session, settings) == 0
    assert reminders.send_meeting_reminders(session, settings,
                                            now=meeting.published_starts_at + timedelta(minutes=1)) == 0
    wider = settings.model_copy(update={"meeting_reminder_minutes": 120})
    assert reminders.send_meeting_reminders(session, wider) == 2


def test_a_moved_meeting_gets_a_fresh_reminder_but_a_time_never_twice(session, settings):
    _alice, _bob, _req, _event, meeting = _meeting_soon(session, settings, minutes=30)
    first_time = meeting.published_starts_at
    assert reminders.send_meeting_reminders(session, settings) == 2
    republish(session, meeting, first_time + timedelta(minutes=20), 2)
    assert reminders.send_meeting_reminders(session, settings) == 2
    republish(session, meeting, first_time, 4)  # back where it was: already reminded for that time
    assert reminders.send_meeting_reminders(session, settings) == 0
    assert _count(session, "meeting_reminder") == 4


def test_cancelled_and_unconfirmed_meetings_get_no_reminder(session, settings):
    alice, bob, req, event, meeting = _meeting_soon(session, settings)
    republish(session, meeting, None, None)  # taken off the timetable
    cancelled = confirmed_meeting(session, settings, alice, bob, req, at(TOKYO, 3, 10))
    proposals.cancel_confirmed_meeting(session, settings, bob, req.id, cancelled.id)
    open_one = propose(session, settings, alice, req, at(TOKYO, 3, 12))
    withdrawn_at = open_one.options[0].starts_at - timedelta(minutes=30)
    for moment in (utcnow(), cancelled.options[0].starts_at - timedelta(minutes=30), withdrawn_at):
        assert reminders.send_meeting_reminders(session, settings, now=moment) == 0
    assert _count(session, "meeting_reminder") == 0


def test_a_side_that_left_the_event_gets_no_meeting_reminder(session, settings):
    alice, bob, _req, event, _meeting = _meeting_soon(session, settings)
    registration = next(r for r in session.scalars(select(EventRegistration))
                        if r.organization_id == bob.organization_id)
    registration.status = "withdrawn"
    session.flush()
    assert reminders.send_meeting_reminders(session, settings) == 1
    assert _count(session, "meeting_reminder", user_id=alice.id) == 1


def test_reminder_links_lead_to_the_agenda_and_the_event(client, session, settings):
    alice, _bob, _req, event, _meeting = _meeting_soon(session, settings)
    register(session, _soon_event(session), alice.organization_id)
    reminders.send_meeting_reminders(session, settings)
    reminders.send_event_reminders(session, settings)
    session.commit()
    login(client, alice)
    links = {a.get_text(" ", strip=True): a["href"]
             for a in soup(client.get("/notifications")).select(".notification a")}
    assert "/agenda" in links.values()
    assert any(href.startswith("/events/") for href in links.values())


def test_reminder_jobs_are_registered_to_run_alone(session_factory, settings):
    scheduler = BackgroundScheduler(timezone="UTC")
    jobs.register_jobs(scheduler, session_factory, settings)
    for job_id in ("remind_events", "remind_meetings"):
        job = scheduler.get_job(job_id)
        assert job is not None and job.coalesce is True and job.max_instances == 1
    assert scheduler.get_job("remind_meetings").trigger.interval <= timedelta(minutes=5)
