"""The catch-all error handler: an unexpected error gives the error page, an htmx fragment or JSON, with a
request id."""

from __future__ import annotations

import logging

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select

from models import Organization
from tests.factories import create_user, login
from web.deps import DbSession


def _explode(session: DbSession):
    """Writes a row, then fails: the row must not stay."""
    session.add(Organization(name="Half-written", kind="consultant", country="JP", status="pending",
                             offers=[], needs=[], sectors=[], technology_categories=[], target_countries=[]))
    session.flush()
    raise RuntimeError("boom")


@pytest.fixture
def failing_client(app):
    app.add_api_route("/boom", _explode, methods=["GET", "POST"])
    app.add_api_route("/api/v1/boom", _explode, methods=["GET"])
    # raise_server_exceptions=False: see the response a browser gets, not the exception.
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_unexpected_error_renders_the_error_page_with_a_request_id(failing_client, session, caplog):
    with caplog.at_level(logging.ERROR, logger="web.app"):
        response = failing_client.get("/boom")
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    page = BeautifulSoup(response.text, "html.parser")
    assert page.find("html") is not None and page.find(id="main") is not None  # the full layout
    assert page.find(id="error").h1.get_text(strip=True) == "Something went wrong"
    assert page.find(id="error-reference").get_text() == request_id
    assert any(request_id in record.getMessage() and record.exc_info for record in caplog.records)
    assert session.scalar(select(Organization).where(Organization.name == "Half-written")) is None


def test_unexpected_error_in_htmx_request_returns_a_fragment_for_the_error_slot(failing_client, session):
    response = failing_client.get("/boom", headers={"HX-Request": "true"})
    assert response.status_code == 500
    assert response.headers["HX-Retarget"] == "#htmx-error"
    page = BeautifulSoup(response.text, "html.parser")
    assert page.find("html") is None and page.find(id="error") is not None
    assert page.find(id="error-reference").get_text() == response.headers["X-Request-ID"]


def test_every_page_has_the_slot_htmx_errors_go_to(client, session):
    page = BeautifulSoup(client.get("/").text, "html.parser")
    assert page.find(id="main").find(id="htmx-error") is not None


def test_unexpected_error_under_api_is_json(failing_client, session):
    response = failing_client.get("/api/v1/boom")
    assert response.status_code == 500
    body = response.json()["error"]
    assert body["code"] == "internal_error"
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.text and "boom" not in body["message"]


def test_unexpected_error_page_keeps_the_language_and_the_user(failing_client, session):
    user = create_user(session)
    session.commit()
    login(failing_client, user)
    response = failing_client.get("/boom", headers={"Accept-Language": "ja"})
    page = BeautifulSoup(response.text, "html.parser")
    assert page.find("html")["lang"] == "en"  # the user's session language (en) wins over the browser's
    assert user.email in page.find(class_="user-nav").get_text()
    visitor = BeautifulSoup(TestClient(failing_client.app, raise_server_exceptions=False)
                            .get("/boom", headers={"Accept-Language": "ja"}).text, "html.parser")
    assert visitor.find("html")["lang"] == "ja"


def test_request_ids_differ_per_error(failing_client, session):
    first, second = failing_client.get("/boom"), failing_client.get("/boom")
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
