"""`matchmaker` commands: seed (being built)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the CLI."""
