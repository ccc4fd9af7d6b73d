"""`matchmaker seed`: reference data and the demo organizations and users."""

from __future__ import annotations

import time

import typer
from sqlalchemy import inspect

from web.settings import Settings

SEED_HELP = (
    "Load reference data (countries, technology categories, CTCN technologies, JCM methodologies) "
    "and, unless --no-demo, the demo organizations, users and events.\n\n"
    "Safe to run again: nothing is duplicated, and a second run changes nothing. Each run restores "
    "the demo to its documented state: demo organizations (ids demo-*, marked is_demo) get their "
    "profile and status back, and the demo users (organizer@, jp@, partner@, finance@ and "
    "pending@example.com) get the documented password demo-password-2026 back, even if someone "
    "changed it. The demo events (one seminar a few weeks back, two a few weeks ahead, dated from the week "
    "the seed runs in) are rebuilt when anything in them changed or a new week has begun; nothing is "
    "notified or emailed.\n\n"
    "Real organizations and users are never touched. Use --no-demo on a production site."
)


def seed_database(database_url: str, demo: bool = True) -> dict:
    """Run the seed against a database; returns the counts for the summary."""
    from models.session import opened_database, session_scope
    from seeds.reference import load_reference

    with opened_database(database_url, pool_size=1) as factory:
        if not inspect(factory.kw["bind"]).has_table("organization"):
            raise RuntimeError("the database has no schema: run `matchmaker db upgrade` first")
        with session_scope(factory) as session:
            result: dict = {"reference": load_reference(session), "demo": None}
            if demo:
                from seeds.demo import load_demo

                result["demo"] = load_demo(session)
        return result


def _print_summary(result: dict, seconds: float) -> None:
    reference = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in result["reference"].items())
    typer.echo(f"reference data: {reference}")
    summary = result["demo"]
    if summary is None:
        typer.echo(f"demo data: not loaded (--no-demo); {seconds:.1f} s")
        return
    from seeds.demo import DEMO_USERS

    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(summary.by_kind.items()))
    typer.echo(f"demo organizations: {summary.created} created, {summary.updated} restored, "
               f"{summary.unchanged} unchanged ({kinds}; partner companies in {summary.partner_countries} countries)")
    for external_id in summary.skipped:
        typer.echo(f"  skipped {external_id}: a real (non-demo) organization already uses this id", err=True)
    typer.echo(f"demo users: {summary.users_created} created, {summary.users_updated} restored")
    techs = summary.technologies
    typer.echo(f"demo technologies: {techs.created} created, {techs.updated} restored, {techs.unchanged} unchanged"
               + (f", {techs.removed} removed" if techs.removed else ""))
    events = summary.events
    typer.echo(f"demo events: {events.created} created, {events.restored} restored, {events.unchanged} unchanged"
               + (f", {events.removed} removed" if events.removed else "") + f" ({seconds:.1f} s)")
    for day, title, state in events.events:
        typer.echo(f"  {day}  {title}: {state}")
    typer.echo("\nDemo logins (passwords are reset to these on every seed):")
    typer.echo(f"  {'email':<24} {'password':<20} {'role':<10} organization")
    for user in DEMO_USERS:
        typer.echo(f"  {user['email']:<24} {user['password']:<20} {user['role']:<10} {user['organization'] or '-'}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the CLI."""

    @app.command("seed", help=SEED_HELP)
    def seed(demo: bool = typer.Option(True, "--demo/--no-demo",
                                       help="Also load the demo organizations, users and events.")) -> None:
        started = time.perf_counter()
        try:
            result = seed_database(Settings().database_url, demo=demo)
        except RuntimeError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        _print_summary(result, time.perf_counter() - started)
