"""ASGI entry point for uvicorn: the app built from MATCHMAKER_* settings."""

from web.app import create_app

app = create_app()
