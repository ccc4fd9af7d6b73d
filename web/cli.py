"""The `matchmaker` command line."""

from __future__ import annotations

import getpass
import logging
import os
import sys
from typing import Optional

import typer

from web.settings import Settings

app = typer.Typer(help="JCM Matchmaker: partner matching for Joint Crediting Mechanism projects.",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Alembic revision to upgrade to.")) -> None:
    """Create or migrate the schema of MATCHMAKER_DATABASE_URL (the only way a schema is made)."""
    from models.session import opened_database
    from web.db import upgrade_database

    with opened_database(Settings().database_url, pool_size=1) as factory:
        engine = factory.kw["bind"]
        upgrade_database(engine, revision)
    typer.echo(f"database at {revision}: {engine.url.render_as_string(hide_password=True)}")


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Address to listen on."),
          port: int = typer.Option(8000, help="Port to listen on."),
          reload: bool = typer.Option(False, help="Restart on code changes (development).")) -> None:
    """Serve the web site (and, unless MATCHMAKER_RUN_SCHEDULER=false, the scheduled jobs)."""
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    # On SIGTERM uvicorn waits for running requests; without a bound, one stuck request held the process for ever.
    # Past the bound it cancels them, the app's lifespan stops the jobs (web.jobs.stop_scheduler), and it exits.
    settings = Settings()
    workers = None if reload or settings.workers <= 1 else settings.workers
    options = {"host": host, "port": port, "proxy_headers": False,
               "timeout_graceful_shutdown": settings.shutdown_timeout}
    if workers:
        from web.processes import SpreadMultiprocess, can_spread

        config = uvicorn.Config("web.main:app", workers=workers, **options)
        if can_spread(config):
            # Several processes (MATCHMAKER_WORKERS), each on a socket of its own (web.processes explains why);
            # the supervisor restarts one that dies and passes SIGTERM on; each stops within shutdown_timeout.
            SpreadMultiprocess(config).run()
            return
    uvicorn.run("web.main:app", reload=reload, workers=workers, **options)


@app.command("create-organizer")
def create_organizer(email: str = typer.Argument(..., help="Email address of the organizer."),
                     password: Optional[str] = typer.Option(
                         None, help="Password; default: read MATCHMAKER_ORGANIZER_PASSWORD or ask."),
                     name: str = typer.Option("", help="Full name.")) -> None:
    """Create an organizer account (or promote an existing user)."""
    from models.session import opened_database, session_scope
    from web.errors import DomainError
    from web.services.accounts import create_organizer as create

    password = password or os.environ.get("MATCHMAKER_ORGANIZER_PASSWORD") or getpass.getpass("Password: ")
    try:
        with opened_database(Settings().database_url, pool_size=1) as factory, session_scope(factory) as session:
            user = create(session, email, password, name)
            typer.echo(f"organizer {user.email} ready")
    except (DomainError, ValueError) as exc:
        typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
        raise typer.Exit(2)


from web.commands import data as _data, matching as _matching, seed as _seed  # noqa: E402

for _module in (_data, _seed, _matching):
    _module.register(app)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
