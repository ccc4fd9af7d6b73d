"""`matchmaker create-organizer` on the configured database."""

from sqlalchemy import select
from typer.testing import CliRunner

from models import User
from web.cli import app


def test_create_organizer_makes_an_organizer(database_url, engine, session, monkeypatch):
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["create-organizer", "Boss@Example.com", "--password", "organizer pass 1"])
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.email == "boss@example.com"))
    assert user is not None and user.role == "organizer"


def test_create_organizer_refuses_a_short_password(database_url, engine, session, monkeypatch):
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["create-organizer", "boss@example.com", "--password", "short"])
    assert result.exit_code == 2
    assert session.scalar(select(User).where(User.email == "boss@example.com")) is None


def test_create_organizer_refuses_a_name_with_a_line_break(database_url, engine, session, monkeypatch):
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["create-organizer", "boss@example.com", "--password", "organizer pass 1",
                                      "--name", "Boss\nBcc: all@example.com"])
    assert result.exit_code == 2 and "single line" in result.output
    assert session.scalar(select(User).where(User.email == "boss@example.com")) is None
