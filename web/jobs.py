"""Scheduled jobs (APScheduler); thin wrappers that call service functions in their own session."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import delete

from models import PasswordResetToken
from models.base import utcnow
from models.session import session_scope

log = logging.getLogger(__name__)


def purge_expired_security_rows(session_factory, settings) -> int:
    """Delete quiet login-throttle counts, ended logins and expired emailed links, and empty old email bodies.

    A spent link stays until it expires, so a second click on it says "already used"; returns rows changed.
    """
    from web.services.login_throttle import purge_quiet_rows
    from web.services.outbox import purge_old_bodies
    from web.services.sessions import purge_expired_sessions

    now = utcnow()
    with session_scope(session_factory) as session:
        throttles = purge_quiet_rows(session, settings, now)
        logins = purge_expired_sessions(session, now)
        tokens = session.execute(delete(PasswordResetToken).where(PasswordResetToken.expires_at < now)).rowcount
        bodies = purge_old_bodies(session, settings, now)
    return throttles + logins + (tokens or 0) + bodies


def expire_meeting_requests(session_factory, settings) -> int:
    """Expire pending meeting requests past their date; returns how many."""
    from web.services.requests import expire_due_requests

    with session_scope(session_factory) as session:
        return expire_due_requests(session, settings)


def remind_expiring_requests(session_factory, settings) -> int:
    """Notify recipients of requests expiring within two days (once each); returns notifications made."""
    from web.services.requests import notify_expiring_requests

    with session_scope(session_factory) as session:
        return notify_expiring_requests(session, settings)


def send_outbox(session_factory, settings) -> dict:
    """Send due emails from the outbox, with retries and backoff."""
    from web.services.outbox import send_due_emails

    return send_due_emails(session_factory, settings)


def embed_pending_profiles(session_factory, settings, embedder=None) -> int:
    """Embed approved organizations whose profile texts are new or changed; returns how many."""
    from web.services.matching_vectors import calibrate_if_needed, embedder_from_settings
    from web.services.matching_vectors import embed_pending_profiles as embed

    embedder = embedder or embedder_from_settings(settings)
    calibrate_if_needed(embedder, settings)
    return embed(session_factory, embedder)


def index_technologies(session_factory, settings, embedder=None) -> int:
    """Embed new published technology texts and publish the 'describe your need' index; returns texts embedded."""
    from web.services.matching_vectors import embedder_from_settings
    from web.services.technology_search import index_technologies as index

    return index(session_factory, embedder or embedder_from_settings(settings))


def clean_technology_images(session_factory, settings) -> int:
    """Delete image files no technology refers to (replaced, deleted, or kept from a refused form); returns how many."""
    from web.services.technology_form import referenced_image_keys
    from web.services.technology_images import ImageStore

    with session_scope(session_factory, write=False) as session:
        keys = referenced_image_keys(session)
    return ImageStore.from_settings(settings).remove_unreferenced(keys)


def remind_events(session_factory, settings) -> int:
    """Remind participants of events starting within MATCHMAKER_EVENT_REMINDER_HOURS (once each)."""
    from web.services.reminders import send_event_reminders

    with session_scope(session_factory) as session:
        return send_event_reminders(session, settings)


def remind_meetings(session_factory, settings) -> int:
    """Remind both sides of meetings starting within MATCHMAKER_MEETING_REMINDER_MINUTES (once each)."""
    from web.services.reminders import send_meeting_reminders

    with session_scope(session_factory) as session:
        return send_meeting_reminders(session, settings)


# (function, interval in minutes) of the meeting-request jobs; each claims its rows, so two processes are safe.
MEETING_JOBS = ((expire_meeting_requests, 15), (remind_expiring_requests, 60), (send_outbox, 1))
# Reminders (agenda): dedupe keys make each one once; run every 5 minutes, a meeting's reminder comes 55-60
# minutes before it with the default lead time.
REMINDER_JOBS = ((remind_events, 15), (remind_meetings, 5))


def register_jobs(scheduler: BaseScheduler, session_factory, settings, embedder=None) -> None:
    """Add every job; later areas add theirs here (embedder: the app's injected one, else from settings)."""
    scheduler.add_job(
        purge_expired_security_rows, "interval", hours=1, id="purge_security_rows", replace_existing=True,
        args=[session_factory, settings], coalesce=True, max_instances=1,
    )
    for job, minutes in MEETING_JOBS:
        scheduler.add_job(job, "interval", minutes=minutes, id=job.__name__, replace_existing=True,
                          args=[session_factory, settings], coalesce=True, max_instances=1)
    for job, minutes in REMINDER_JOBS:
        scheduler.add_job(job, "interval", minutes=minutes, id=job.__name__, replace_existing=True,
                          args=[session_factory, settings], coalesce=True, max_instances=1)
    # The technology catalogue: its 'describe your need' index, soon after start and after each embedding interval;
    # image files no technology refers to any more, hourly.
    scheduler.add_job(index_technologies, "interval", seconds=settings.embedding_interval_seconds,
                      id="index_technologies", replace_existing=True, args=[session_factory, settings, embedder],
                      coalesce=True, max_instances=1, next_run_time=utcnow() + timedelta(seconds=8))
    scheduler.add_job(clean_technology_images, "interval", hours=1, id="clean_technology_images",
                      replace_existing=True, args=[session_factory, settings], coalesce=True, max_instances=1)
    # Soon after start too: profiles imported or edited while no process was embedding wait no longer.
    scheduler.add_job(embed_pending_profiles, "interval", seconds=settings.embedding_interval_seconds,
                      id="embed_pending_profiles", replace_existing=True, args=[session_factory, settings, embedder],
                      coalesce=True, max_instances=1, next_run_time=utcnow() + timedelta(seconds=5))


def run_soon(scheduler: BaseScheduler | None, job_id: str, delay_seconds: float = 1.0) -> bool:
    """Ask a scheduler to run one of its jobs soon; False when there is no scheduler or no such job."""
    job = scheduler.get_job(job_id) if scheduler is not None else None
    if job is None:
        return False
    job.modify(next_run_time=utcnow() + timedelta(seconds=delay_seconds))
    return True


def refresh_matching_index(app) -> bool:
    """Queue a refresh of this process's published matching index (it runs on the cache's refresher thread)."""
    from web.matching_state import embedder_of, matching_cache_of

    return matching_cache_of(app).trigger(embedder_of(app).name)


def run_job_soon(app, job_id: str, delay_seconds: float = 2.0) -> bool:
    """Ask the app's in-process scheduler to run a job soon; False when there is none.

    Services do not call this: they name the job with web.services.after_commit.run_job, and the app runs it
    once their unit of work commits (install_job_nudges).
    """
    return run_soon(getattr(app.state, "scheduler", None), job_id, delay_seconds)


def install_job_nudges(session_factory, scheduler_of) -> None:
    """Run the jobs a committed unit of work asked for (after_commit.run_job) soon on scheduler_of()'s scheduler."""
    from web.services import after_commit

    after_commit.install(session_factory, lambda job_id: run_soon(scheduler_of(), job_id))


def take_jobs_lock(path: Path):
    """Hold an exclusive lock on `path` for as long as the returned file stays open; None if another process has it.

    The kernel drops the lock when its holder exits however it exits, so a restarted process can take it over.
    """
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held open for the life of the process
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def start_scheduler(app) -> BackgroundScheduler:
    """Start the in-process scheduler: every process refreshes its own match index; the shared jobs (mail, reminders,
    expiry, embedding, purges) run in one process of the machine.

    With one server process (MATCHMAKER_WORKERS=1) that is this one. With several, the one that takes the lock
    file `jobs.lock` in the data folder runs them; the others still hand their committed units of work's "run this
    job now" on (run_soon finds no such job there: the job runs at its next interval in the process that has it).
    """
    from web.capacity import DaemonPoolExecutor

    settings = app.state.settings
    # A few daemon threads: the pool keeps a connection for each (web.capacity), and a job still running at
    # shutdown cannot hold the process (stop_scheduler waits for it a bounded time).
    executor = app.state.job_executor = DaemonPoolExecutor(gil_turn_seconds=settings.background_gil_turn_seconds)
    scheduler = BackgroundScheduler(timezone="UTC", executors={"default": executor})
    app.state.jobs_lock = None
    if settings.workers > 1:
        app.state.jobs_lock = take_jobs_lock(settings.data_path / "jobs.lock")
    if settings.workers <= 1 or app.state.jobs_lock is not None:
        register_jobs(scheduler, app.state.session_factory, settings, getattr(app.state, "embedder", None))
        log.info("process %d runs the scheduled jobs", os.getpid())
    else:
        log.info("process %d leaves the scheduled jobs to the process holding %s", os.getpid(),
                 settings.data_path / "jobs.lock")
    # The index lives in this process's memory: its refresh is per process (a page that finds it stale also asks).
    scheduler.add_job(refresh_matching_index, "interval", seconds=app.state.settings.matching_refresh_seconds,
                      id="refresh_matching_index", replace_existing=True, args=[app], coalesce=True, max_instances=1,
                      next_run_time=utcnow() + timedelta(seconds=1))
    scheduler.start()
    # Kept so committed units of work can ask for an early run (install_job_nudges, run_job_soon).
    app.state.scheduler = scheduler
    return scheduler


def stop_scheduler(app, timeout: float) -> bool:
    """Stop the in-process scheduler and give running jobs up to `timeout` seconds; True when none is left running."""
    app.state.scheduler.shutdown(wait=False)
    done = app.state.job_executor.join(timeout)
    lock = getattr(app.state, "jobs_lock", None)
    if lock is not None:
        lock.close()  # releases the lock (also released by the kernel when the process exits)
        app.state.jobs_lock = None
    if not done:
        log.warning("a scheduled job was still running %.0f s after shutdown began; stopping without it", timeout)
    return done
