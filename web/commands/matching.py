"""`matchmaker` commands: matching (`reindex`, `matches`) and the job worker."""

from __future__ import annotations

import json
import sys

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the CLI."""
    register_worker(app)
    register_matching(app)


def _progress(label: str):
    """A tqdm bar on stderr (stdout stays machine-readable)."""
    from tqdm import tqdm

    return lambda total: tqdm(total=total, desc=label, unit="org", file=sys.stderr, dynamic_ncols=True)


def _embed(factory, embedder, force: bool = False) -> int:
    from web.services.matching_vectors import embed_pending_profiles

    return embed_pending_profiles(factory, embedder, force=force, progress=_progress(f"embedding ({embedder.name})"))


def register_matching(app: typer.Typer) -> None:
    """Add `matchmaker reindex` and `matchmaker matches`."""

    @app.command()
    def reindex(all_: bool = typer.Option(False, "--all", help="Embed every approved organization again, "
                                          "replacing stored vectors, even if its texts did not change.")) -> None:
        """Embed approved organizations whose profiles are new or changed (progress on stderr)."""
        from models.session import opened_database
        from web.services.matching_vectors import embedder_from_settings
        from web.settings import Settings

        settings = Settings()
        with opened_database(settings.database_url) as factory:
            embedder = embedder_from_settings(settings)
            count = _embed(factory, embedder, force=all_)
        typer.echo(f"embedded {count} organizations with {embedder.name}", err=True)

    @app.command()
    def matches(all_: bool = typer.Option(False, "--all", help="Recommendations of every approved organization."),
                org: str | None = typer.Option(None, "--org", help="Recommendations of one organization, "
                                                  "by its interchange id (mm-<number> for site sign-ups)."),
                k: int = typer.Option(10, "--k", min=1, help="Recommendations per organization."),
                fmt: str = typer.Option("jsonl", "--format", help="Output format: jsonl.")) -> None:
        """Print recommendations as JSON Lines, best first; embeds what is missing first."""
        from models.session import opened_database, session_scope
        from web.services.prematching import match_floor, match_records
        from web.services.matching_index import build_state, weights_for
        from web.services.matching_vectors import embedder_from_settings
        from web.settings import Settings

        if all_ == (org is not None):
            typer.echo("error: give exactly one of --all or --org ID", err=True)
            raise typer.Exit(2)
        if fmt != "jsonl":
            typer.echo("error: the only format is jsonl", err=True)
            raise typer.Exit(2)
        settings = Settings()
        with opened_database(settings.database_url) as factory:
            embedder = embedder_from_settings(settings)
            _embed(factory, embedder)
            with session_scope(factory, write=False) as session:
                state = build_state(session, embedder.name)
                if org is not None and org not in state.db_id:
                    typer.echo(f"error: no approved organization with id {org!r}", err=True)
                    raise typer.Exit(1)
                weights = weights_for(session, state, settings.matching_min_feedback)
                for record in match_records(session, state, weights, None if all_ else [org], k,
                                            match_floor(settings)):
                    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


def register_worker(app: typer.Typer) -> None:
    """Add `matchmaker worker`: the scheduled jobs in the foreground, for multi-process deployments."""

    @app.command()
    def worker(once: bool = typer.Option(False, help="Run each job once and exit (for cron or checks).")) -> None:
        """Run the scheduled jobs (expiry, reminders, email outbox) until stopped; safe beside other workers."""
        import logging

        from apscheduler.schedulers.blocking import BlockingScheduler

        from models.session import opened_database
        from web.jobs import install_job_nudges, register_jobs
        from web.settings import Settings

        logging.basicConfig(level=logging.INFO)
        settings = Settings()
        with opened_database(settings.database_url) as factory:
            scheduler = BlockingScheduler(timezone="UTC")
            register_jobs(scheduler, factory, settings)
            # A job's emails (an expiry notice, a reminder) go out soon after it commits, not at the next round.
            install_job_nudges(factory, lambda: scheduler)
            try:
                if once:
                    for job in scheduler.get_jobs():
                        typer.echo(f"{job.id}: {job.func(*job.args)}")
                    return
                typer.echo("worker running; stop with Ctrl+C")
                scheduler.start()
            except (KeyboardInterrupt, SystemExit):
                pass
