"""Security headers on every response, a Content-Security-Policy the templates can live with, and prefetches."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from models import ThreadRead
from tests.web.requests_support import logged_in, make_match, member
from web.services import messages
from web.app import create_app

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
TAG = re.compile(r"<[a-zA-Z][^>]*>", re.S)


def _policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/login", "/no-such-page", "/static/css/app.css", "/api/v1/me"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    policy = _policy(response)
    assert policy["default-src"] == "default-src 'self'"
    assert policy["script-src"] == "script-src 'self'"  # no inline scripts, no eval
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["object-src"] == "object-src 'none'"
    assert "base-uri" in policy and "form-action" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"  # reset links carry tokens in the path
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_is_sent_when_cookies_are_secure(settings, embedder, engine, clean_db):
    app = create_app(settings.model_copy(update={"secure_cookies": True}), embedder=embedder)
    with TestClient(app, base_url="https://testserver") as client:
        response = client.get("/")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_api_docs_page_runs_under_the_site_policy(client):
    # Swagger UI is served from the site's own files and started by a static script: no inline script,
    # no other origin, so the docs page needs no policy of its own.
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert _policy(response)["script-src"] == "script-src 'self'"
    assert re.search(r"<script>(.*?)</script>", response.text, re.S) is None
    assert _policy(response)["frame-ancestors"] == "frame-ancestors 'none'"


def test_templates_have_no_inline_scripts_or_event_handlers():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for tag in TAG.findall(text):
            name = path.relative_to(TEMPLATES)
            if tag.startswith("<script") and "src=" not in tag:
                offenders.append(f"{name}: inline <script>")
            if re.search(r"\son[a-z]+\s*=", tag) or "hx-on" in tag:
                offenders.append(f"{name}: event handler attribute in {tag[:60]}")
            if "javascript:" in tag:
                offenders.append(f"{name}: javascript: URL")
    # The policy blocks all of these: put behaviour in web/static/js/app.js (see data-swap-errors there).
    assert offenders == []


def test_htmx_is_configured_for_the_policy(client):
    meta = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', client.get("/").text).group(1)
    assert '"allowEval": false' in meta and '"includeIndicatorStyles": false' in meta
    assert '"allowScriptTags": false' in meta


@pytest.mark.parametrize("header", [{"Sec-Purpose": "prefetch"}, {"Purpose": "prefetch"},
                                    {"Sec-Purpose": "prefetch;prerender"}])
def test_a_prefetch_does_not_mark_a_thread_read(client, session, settings, header):
    alice, bob = member(session), member(session)
    req = make_match(session, settings, alice, bob)
    messages.post_message(session, settings, bob, req.id, "Shall we meet in Jakarta?")  # something new to read
    session.commit()
    logged_in(client, alice)
    assert client.get(f"/matches/{req.id}", headers=header).status_code == 200
    assert session.scalar(select(ThreadRead).where(ThreadRead.user_id == alice.id)) is None
    assert client.get(f"/matches/{req.id}").status_code == 200  # the real visit marks it
    assert session.scalar(select(ThreadRead).where(ThreadRead.user_id == alice.id)) is not None
