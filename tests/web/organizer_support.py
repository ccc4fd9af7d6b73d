"""Helpers for the organizer-area tests: a logged-in organizer (with a scratch import folder), the htmx
parametrization and parsed pages."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from tests.factories import create_user, login

HTMX = [{}, {"HX-Request": "true"}]


@pytest.fixture
def organizer(session):
    user = create_user(session, role="organizer", email="boss@example.com")
    session.commit()
    return user


@pytest.fixture
def organizer_client(client, organizer, app, tmp_path):
    app.state.import_dir = tmp_path / "imports"
    login(client, organizer)
    return client


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")
