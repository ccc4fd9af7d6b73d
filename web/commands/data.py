"""`matchmaker import` and `matchmaker export`: organizations in the interchange format."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from web.settings import Settings


def ensure_reference_data(session) -> None:
    """Load the reference tables on a fresh database: imported categories are checked against them."""
    from sqlalchemy import func, select

    from models import TechnologyCategory
    from seeds.reference import load_reference

    if not session.scalar(select(func.count()).select_from(TechnologyCategory)):
        load_reference(session)
        typer.echo("reference data loaded (the database had none)", err=True)


def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="Organizations as JSON Lines or CSV (see docs: interchange format)."),
    partial: bool = typer.Option(False, "--partial", help="Import the valid lines even if others have errors."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and report what would change; write nothing."),
    fmt: Optional[str] = typer.Option(None, "--format", help="jsonl or csv (default: from the extension or content)."),
) -> None:
    """Import organizations: the same id updates, never duplicates; all-or-nothing unless --partial."""
    from models.session import opened_database

    with opened_database(Settings().database_url) as factory:
        _import(factory, file, partial, dry_run, fmt)


def _import(factory, file: Path, partial: bool, dry_run: bool, fmt: str | None) -> None:
    from models.session import session_scope
    from web.errors import ValidationFailed
    from web.services.interchange import ImportRejected, apply_import, line_ranges, plan_import

    if not dry_run:
        with session_scope(factory) as session:  # its own unit of work: kept even if the import is refused
            ensure_reference_data(session)
    try:
        with session_scope(factory) as session:
            if dry_run:
                ensure_reference_data(session)
            plan = plan_import(session, file.read_bytes(), fmt, file.name)
            for warning in plan.warnings:
                typer.echo(f"warning: {warning}", err=True)
            for error in plan.errors:  # every one: a line not imported is never left unsaid
                typer.echo(f"error: {error}", err=True)
            if dry_run:
                counts = plan.counts
                lines = f" (lines {line_ranges(plan.rejected_line_numbers)})" if plan.errors else ""
                typer.echo(f"dry run: would create {counts['create']}, update {counts['update']}, "
                           f"unchanged {counts['unchanged']}; {plan.rejected_lines} lines with errors{lines}")
                session.rollback()
                if plan.errors and not partial:
                    raise typer.Exit(1)
                return
            result = apply_import(session, plan, partial=partial)
    except ImportRejected as exc:
        typer.echo(f"rejected: {exc.message} (nothing written)", err=True)
        raise typer.Exit(1)
    except ValidationFailed as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1)
    message = result.summary()
    if result.skipped:
        message += f"; skipped {result.skipped} lines with errors (lines {line_ranges(result.skipped_lines)})"
    typer.echo(message)


def export_command(
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="File to write (default: standard output)."),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl or csv."),
    approved_only: bool = typer.Option(False, "--approved-only", help="Only approved organizations."),
) -> None:
    """Export organizations in the interchange format (importing the file back changes nothing)."""
    from models.session import opened_database, session_scope
    from web.services.export import export_organizations
    from web.services.interchange import FORMATS

    if fmt not in FORMATS:
        typer.echo("error: --format must be jsonl or csv", err=True)
        raise typer.Exit(2)
    with opened_database(Settings().database_url) as factory, session_scope(factory, write=False) as session:
        if output is None:
            count = export_organizations(session, sys.stdout, fmt, approved_only=approved_only)
        else:
            with output.open("w", encoding="utf-8", newline="") as handle:
                count = export_organizations(session, handle, fmt, approved_only=approved_only)
    typer.echo(f"exported {count} organizations", err=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the CLI."""
    app.command("import")(import_command)
    app.command("export")(export_command)
