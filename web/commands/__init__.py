"""Command-line commands per area; each module defines `register(app)`."""
