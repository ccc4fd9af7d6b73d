"""`matchmaker` commands: matching (being built)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the CLI."""
    register_worker(app)


def register_worker(app: typer.Typer) -> None:
    """Add `matchmaker worker`: the scheduled jobs in the foreground, for multi-process deployments."""

    @app.command()
    def worker(once: bool = typer.Option(False, help="Run each job once and exit (for cron or checks).")) -> None:
        """Run the scheduled jobs (expiry, reminders, email outbox) until stopped; safe beside other workers."""
        import logging

        from apscheduler.schedulers.blocking import BlockingScheduler

        from models.session import make_engine, make_session_factory
        from web.jobs import register_jobs
        from web.settings import Settings

        logging.basicConfig(level=logging.INFO)
        settings = Settings()
        engine = make_engine(settings.database_url, pool_size=5)
        factory = make_session_factory(engine)
        scheduler = BlockingScheduler(timezone="UTC")
        register_jobs(scheduler, factory, settings)
        try:
            if once:
                for job in scheduler.get_jobs():
                    typer.echo(f"{job.id}: {job.func(*job.args)}")
                return
            typer.echo("worker running; stop with Ctrl+C")
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            engine.dispose()
