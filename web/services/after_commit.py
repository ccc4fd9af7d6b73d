"""Jobs to run soon after a unit of work commits: "send the email just queued", "embed the profile just saved".

A service says what its change calls for with `run_job(session, SEND_OUTBOX)`; nothing happens until the session
commits, and a rollback forgets it. Whoever owns the session factory decides what "run soon" means: the web app
asks its in-process scheduler (`web.app.create_app`), `matchmaker worker` its own scheduler, and a factory with no
listener (the other commands, tests that do not ask) does nothing, the jobs' regular runs then pick the work up.
So a page, the JSON API, a job and the CLI get the same effects from the same service call, and no service needs
the web framework to ask for them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

SEND_OUTBOX = "send_outbox"
EMBED_PROFILES = "embed_pending_profiles"
INDEX_TECHNOLOGIES = "index_technologies"
INFO_KEY = "after_commit_jobs"


def run_job(session: Session, job_id: str) -> None:
    """Ask for `job_id` to run soon after the session's current transaction commits."""
    session.info.setdefault(INFO_KEY, set()).add(job_id)


def pending_jobs(session: Session) -> frozenset[str]:
    """The jobs the session's current transaction asked for so far."""
    return frozenset(session.info.get(INFO_KEY, ()))


def install(factory: sessionmaker, run_soon: Callable[[str], object]) -> None:
    """Call run_soon(job_id) for each job asked for, once a session of this factory commits its outermost transaction.

    run_soon must not block; an error in it is logged and never undoes or fails the commit that already happened.
    """

    @event.listens_for(factory, "after_commit")
    def _after_commit(session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint was released: the outer transaction may still roll back
        for job_id in sorted(session.info.pop(INFO_KEY, ())):
            try:
                run_soon(job_id)
            except Exception:  # the data is committed: a missed nudge only waits for the job's next run
                log.exception("could not ask for job %s to run soon", job_id)

    @event.listens_for(factory, "after_soft_rollback")
    def _after_rollback(session: Session, previous_transaction) -> None:
        if previous_transaction.parent is None:
            session.info.pop(INFO_KEY, None)  # what was asked for was undone with the rest
