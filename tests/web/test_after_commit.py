"""Jobs asked for by services run soon after the unit of work commits, the same from a page, the API, a job or
the CLI."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from models import Organization, OutboxEmail
from models.base import utcnow
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from tests.web.requests_support import member
from web import jobs
from web.services import after_commit, outbox

SOON = timedelta(seconds=10)


@pytest.fixture
def scheduler(app, settings, embedder):
    """The app's in-process scheduler with every job registered, paused, and each job's next run an hour away."""
    scheduler = BackgroundScheduler(timezone="UTC")
    jobs.register_jobs(scheduler, app.state.session_factory, settings, embedder)
    scheduler.start(paused=True)
    app.state.scheduler = scheduler
    push_back(scheduler)
    yield scheduler
    scheduler.shutdown(wait=False)
    app.state.scheduler = None


def push_back(scheduler) -> None:
    later = utcnow() + timedelta(hours=1)
    for job in scheduler.get_jobs():
        job.modify(next_run_time=later)


def due_soon(scheduler) -> set[str]:
    """The jobs whose next run was brought forward to the next few seconds."""
    now = utcnow()
    return {job.id for job in scheduler.get_jobs() if job.next_run_time - now < SOON}


def test_a_meeting_request_by_the_api_nudges_the_outbox_like_the_page(client, session, scheduler):
    alice, bob, carol = member(session, "Alpha"), member(session, "Beta"), member(session, "Gamma")
    session.commit()
    login(client, alice)
    token = csrf_token(client, "/requests/sent")
    page = client.post("/requests/new", data={"csrf_token": token, "to": bob.organization_id, "message": "Hello"},
                       follow_redirects=False)
    assert page.status_code == 303
    assert due_soon(scheduler) == {"send_outbox"}

    push_back(scheduler)
    api_token = client.get("/api/v1/me").json()["csrf_token"]
    api = client.post("/api/v1/requests", headers={"X-CSRF-Token": api_token},
                      json={"to_organization_id": carol.organization_id, "message": "Hello"})
    assert api.status_code == 201
    assert due_soon(scheduler) == {"send_outbox"}
    assert len(session.scalars(select(OutboxEmail)).all()) == 2  # one email each, both sent soon


def test_a_refused_request_nudges_nothing(client, session, scheduler):
    alice = member(session, "Alpha")
    session.commit()
    login(client, alice)
    api_token = client.get("/api/v1/me").json()["csrf_token"]
    refused = client.post("/api/v1/requests", headers={"X-CSRF-Token": api_token},
                          json={"to_organization_id": alice.organization_id, "message": "Hello"})
    assert refused.status_code == 400
    assert due_soon(scheduler) == set()


def test_saving_a_profile_and_an_approval_nudge_the_embedding(client, session, scheduler):
    user = member(session, "Alpha")
    applicant = create_organization(session, status="pending", name="Hanoi Biogas", kind="partner_company",
                                    country="VN")
    organizer = create_user(session, role="organizer")
    session.commit()
    login(client, user)
    token = csrf_token(client, "/profile")
    saved = client.post("/profile", data={"csrf_token": token, "name": "Alpha", "country": "JP",
                                          "kind": "japanese_company", "offers": ["Efficient chillers"]},
                        follow_redirects=False)
    assert saved.status_code == 303
    assert due_soon(scheduler) == {"embed_pending_profiles"}

    push_back(scheduler)
    client.cookies.clear()
    login(client, organizer)
    token = csrf_token(client, "/organizer/applications")
    approved = client.post(f"/organizer/applications/{applicant.id}/review",
                           data={"csrf_token": token, "decision": "approved"}, follow_redirects=False)
    assert approved.status_code == 303
    assert due_soon(scheduler) == {"embed_pending_profiles"}  # no user account: no email to send


def test_prematching_before_the_profile_has_vectors_nudges_the_embedding(client, session, scheduler):
    org = create_organization(session, name="Fresh Co", kind="partner_company", country="VN", needs=["Solar panels"])
    user = create_user(session, org)
    session.commit()
    login(client, user)
    page = client.get("/prematching")
    assert "Your recommendations are being prepared" in page.text
    assert due_soon(scheduler) == {"embed_pending_profiles"}  # the page says "being prepared" and never embeds


def test_an_import_nudges_the_embedding(client, session, scheduler, app, tmp_path):
    organizer = create_user(session, role="organizer")
    session.commit()
    app.state.import_dir = tmp_path / "imports"
    login(client, organizer)
    token = csrf_token(client, "/organizer/import")
    line = json.dumps({"id": "imp-1", "name": "Solar Works", "kind": "japanese_company", "country": "JP"})
    preview = client.post("/organizer/import", data={"csrf_token": token},
                          files={"file": ("orgs.jsonl", line.encode(), "application/x-ndjson")})
    assert preview.status_code == 200 and due_soon(scheduler) == set()  # a preview writes nothing
    upload = preview.text.split('name="token" value="', 1)[1].split('"', 1)[0]
    done = client.post("/organizer/import/confirm", data={"csrf_token": token, "token": upload},
                       follow_redirects=False)
    assert done.status_code == 303
    assert session.scalar(select(Organization.name).where(Organization.external_id == "imp-1")) == "Solar Works"
    assert due_soon(scheduler) == {"embed_pending_profiles"}


# --- the mechanism, on a session factory -------------------------------------------------------------------------

@pytest.fixture
def asked(session_factory):
    """The jobs a factory's committed sessions asked for, in order."""
    calls: list[str] = []
    after_commit.install(session_factory, calls.append)
    return calls


def _queue(session, to="ken@example.com"):
    return outbox.enqueue_email(session, to, "Hello", "Body", "en")


def test_jobs_run_once_after_the_commit_and_never_after_a_rollback(session_factory, asked):
    with session_factory() as session:
        _queue(session)
        after_commit.run_job(session, after_commit.EMBED_PROFILES)
        assert asked == []  # nothing before the commit
        session.commit()
        assert asked == ["embed_pending_profiles", "send_outbox"]
        session.commit()  # nothing new asked for since
        assert asked == ["embed_pending_profiles", "send_outbox"]
        _queue(session, "mia@example.com")
        session.rollback()
        session.commit()
    assert asked == ["embed_pending_profiles", "send_outbox"]


def test_a_released_savepoint_waits_for_the_outer_commit(session_factory, asked):
    with session_factory() as session:
        with session.begin_nested():
            _queue(session)
        assert asked == [] and after_commit.pending_jobs(session) == {"send_outbox"}
        session.commit()
    assert asked == ["send_outbox"]


def test_a_duplicate_email_asks_for_nothing(session_factory, asked):
    with session_factory() as session:
        assert outbox.enqueue_email(session, "ken@example.com", "Hi", "Body", dedupe_key="once") is not None
        session.commit()
        assert outbox.enqueue_email(session, "ken@example.com", "Hi", "Body", dedupe_key="once") is None
        session.commit()
    assert asked == ["send_outbox"]


def test_a_failing_nudge_never_undoes_the_commit(session_factory, caplog):
    def broken(job_id):
        raise RuntimeError("scheduler gone")

    after_commit.install(session_factory, broken)
    with caplog.at_level(logging.ERROR, logger="web.services.after_commit"):
        with session_factory() as session:
            _queue(session)
            session.commit()
    with session_factory() as session:
        assert session.scalar(select(OutboxEmail.to_address)) == "ken@example.com"
    assert "send_outbox" in caplog.text


def test_without_a_scheduler_the_nudge_is_a_no_op(app, client, session):
    # The web app with MATCHMAKER_RUN_SCHEDULER=false (`matchmaker worker` runs the jobs) and the other commands.
    assert getattr(app.state, "scheduler", None) is None
    assert jobs.run_soon(None, "send_outbox") is False
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    session.commit()
    login(client, alice)
    token = csrf_token(client, "/requests/sent")
    sent = client.post("/requests/new", data={"csrf_token": token, "to": bob.organization_id, "message": "Hello"},
                       follow_redirects=False)
    assert sent.status_code == 303
    assert session.scalar(select(OutboxEmail.status)) == "pending"  # left for the outbox's next round


def test_a_job_that_queues_email_nudges_its_own_scheduler(session_factory, settings):
    from tests.web.requests_support import age_request, make_request

    scheduler = BackgroundScheduler(timezone="UTC")
    jobs.register_jobs(scheduler, session_factory, settings)
    scheduler.start(paused=True)
    try:
        push_back(scheduler)
        jobs.install_job_nudges(session_factory, lambda: scheduler)  # as `matchmaker worker` does
        with session_factory() as session:
            alice, bob = member(session, "Alpha"), member(session, "Beta")
            age_request(session, make_request(session, settings, alice, bob), days=60)
            session.commit()
        push_back(scheduler)
        assert jobs.expire_meeting_requests(session_factory, settings) == 1
        assert due_soon(scheduler) == {"send_outbox"}
    finally:
        scheduler.shutdown(wait=False)
