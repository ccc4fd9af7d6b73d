"""Helpers for the meeting-request tests: members, requests, and the htmx parametrization."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup

from models.base import utcnow
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from web.services import requests

# Every page test runs with and without htmx.
HTMX = pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])


def headers(htmx: bool) -> dict[str, str]:
    return {"HX-Request": "true"} if htmx else {}


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def member(session, org_name: str | None = None, **user_overrides):
    """An approved organization with one user; returns the user."""
    org = create_organization(session, **({"name": org_name} if org_name else {}),
                              contact_name=f"Contact of {org_name or 'org'}", contact_email="contact@example.com",
                              contact_phone="+81 3 0000 0000")
    return create_user(session, org, **user_overrides)


def make_request(session, settings, sender, recipient_user, message="We make efficient chillers.", **kwargs):
    """A pending request from sender's organization to recipient_user's."""
    return requests.request_meeting(session, settings, sender, recipient_user.organization_id, message, **kwargs)


def make_match(session, settings, sender, recipient_user):
    req = make_request(session, settings, sender, recipient_user)
    requests.accept_meeting(session, settings, recipient_user, req.id)
    return req


def age_request(session, req, days: float) -> None:
    """Move a request's dates into the past (created and expiry alike)."""
    req.created_at = req.created_at - timedelta(days=days)
    req.expires_at = req.expires_at - timedelta(days=days)
    session.flush()


def logged_in(client, user):
    """Log in and return the session's CSRF token."""
    login(client, user)
    return csrf_token(client, "/requests/sent")


__all__ = ["HTMX", "age_request", "headers", "logged_in", "make_match", "make_request", "member", "soup", "utcnow"]
