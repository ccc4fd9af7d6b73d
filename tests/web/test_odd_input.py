"""Odd input (huge ids, NUL and other control characters) gets 404 or 422 on every route, never a 500."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from models import MeetingMessage, Notification, UserSession
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from tests.web.requests_support import make_match, member
from web.services import messages

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
HUGE = [2**63, 2**31]  # past SQLite's INTEGER, and past PostgreSQL's (32-bit)
NUL = "nul\x00byte"
CONTROL = "bell\x07and\x1bescape"
# Routes that end the client's login go last, so the others run logged in.
LAST = ("/logout", "/profile/sessions")


def form_field_names() -> set[str]:
    """Every form field name the templates use (so every form gets its own fields)."""
    text = "".join(path.read_text(encoding="utf-8") for path in TEMPLATES.rglob("*.html"))
    return set(re.findall(r'name="([a-z_]+)"', text)) - {"csrf_token"}


def query_names(route) -> set[str]:
    names, stack = set(), [route.dependant]
    while stack:
        dependant = stack.pop()
        names |= {param.name for param in dependant.query_params}
        stack.extend(dependant.dependencies)
    return names


def app_routes(app) -> list[tuple[str, object]]:
    """Every (method, route) of the app, routers included (each route with its full path)."""
    routes = [(method, route) for route in iter_route_contexts(app.routes)
              if isinstance(route.original_route, APIRoute) for method in sorted(route.methods)]
    assert len(routes) > 40
    return sorted(routes, key=lambda item: (item[1].path.startswith(LAST), item[1].path, item[0]))


@pytest.fixture
def world(session, settings):
    """A member with a match, a message, a notification and a login; an organizer; a pending organization."""
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    req = make_match(session, settings, alice, bob)
    messages.post_message(session, settings, bob, req.id, "Hello from Beta")
    pending = create_organization(session, status="pending")
    organizer = create_user(session, role="organizer", organization=None)
    session.commit()
    return {"alice": alice, "bob": bob, "organizer": organizer, "request_id": req.id, "org_id": bob.organization_id,
            "pending_id": pending.id}


def _fill(path: str, value) -> str:
    return re.sub(r"\{[^}]+\}", str(value), path)


def _valid_path(path: str, world, session, user) -> str:
    notification = session.scalar(select(Notification.id).where(Notification.user_id == user.id))
    login_id = session.scalar(select(UserSession.id).where(UserSession.user_id == user.id))
    values = {"request_id": world["request_id"], "org_id": world["org_id"], "notification_id": notification or 1,
              "session_id": login_id or 1, "token": "not-a-token"}
    return re.sub(r"\{([^}]+)\}", lambda m: str(values.get(m.group(1), 1)), path)


def _send(client, method: str, path: str, token: str, text, ints):
    """One request with every form field, query parameter or JSON field set to the odd values."""
    headers = {"X-CSRF-Token": token}
    if method == "GET":
        return client.get(path, params={name: text for name in _QUERY[path]} | {n: ints for n in _INT_QUERY},
                          follow_redirects=False)
    if path.startswith("/api/"):
        body = {"to_organization_id": ints, "event_id": ints, "message": text, "topics": [text], "body": text,
                "reason": text}
        return client.request(method, path, json=body, headers=headers, follow_redirects=False)
    data = {name: text for name in form_field_names()} | {name: str(ints) for name in ("to", "event_id", "page")}
    return client.request(method, path, data=data | {"csrf_token": token}, follow_redirects=False)


_QUERY: dict[str, set[str]] = {}
_INT_QUERY = ("to", "event_id", "page", "sent", "saved")


@pytest.mark.parametrize("who", ["alice", "organizer"])
def test_every_route_answers_odd_input_without_a_server_error(app, session, world, who):
    client = TestClient(app, raise_server_exceptions=False)
    user = world[who]
    login(client, user)
    token = csrf_token(client, "/profile")
    failures = []
    for method, route in app_routes(app):
        _QUERY[route.path] = query_names(route)
        paths = [_valid_path(route.path, world, session, user)]
        if "{" in route.path:
            paths += [_fill(route.path, huge) for huge in HUGE] + [_fill(route.path, "a%00b"), _fill(route.path, -1)]
        for path in paths:
            _QUERY.setdefault(path, _QUERY[route.path])
            for text, ints in ((NUL, HUGE[0]), (CONTROL, HUGE[1]), ("plain", -5)):
                response = _send(client, method, path, token, text, ints)
                if response.status_code >= 500:
                    failures.append((method, path, repr(text), ints, response.status_code))
    assert not failures, "\n".join(map(str, failures))


@pytest.mark.parametrize("huge", HUGE)
@pytest.mark.parametrize("path", ["/requests/{}", "/matches/{}", "/organizations/{}", "/api/v1/requests/{}",
                                  "/api/v1/matches/{}/messages"])
def test_huge_ids_in_a_path_are_not_found(client, world, path, huge):
    login(client, world["alice"])
    response = client.get(path.format(huge))
    assert response.status_code == 404


@pytest.mark.parametrize("huge", HUGE)
def test_huge_ids_in_a_query_a_form_or_json_are_refused(client, world, huge):
    token = logged_token(client, world["alice"])
    assert client.get(f"/requests/new?to={huge}").status_code == 422
    response = client.post("/requests/new", data={"to": str(huge), "message": "Hello", "csrf_token": token})
    assert response.status_code == 422
    response = client.post("/api/v1/requests", json={"to_organization_id": huge, "message": "Hello"},
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 422
    assert "to_organization_id" in response.json()["error"]["fields"]


def logged_token(client, user) -> str:
    login(client, user)
    return csrf_token(client, "/profile")


@pytest.mark.parametrize("text", [NUL, CONTROL, "lone \ud800 surrogate"])
def test_control_characters_in_json_text_are_422_with_the_field_named(client, world, text):
    token = logged_token(client, world["alice"])
    body = json.dumps({"body": text})  # ASCII with \u escapes: a lone surrogate travels as JSON allows
    response = client.post(f"/api/v1/matches/{world['request_id']}/messages", content=body,
                           headers={"X-CSRF-Token": token, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["body"]


def test_control_characters_in_a_form_are_422_and_nothing_is_stored(client, session, world):
    token = logged_token(client, world["alice"])
    response = client.post(f"/matches/{world['request_id']}", data={"body": NUL, "csrf_token": token})
    assert response.status_code == 422
    assert "control character" in response.text
    count = select(func.count()).select_from(MeetingMessage).where(MeetingMessage.request_id == world["request_id"])
    assert session.scalar(count) == 1


def test_tabs_and_line_breaks_are_kept(client, session, world):
    token = logged_token(client, world["alice"])
    body = "Line one\r\n\tindented line two"
    response = client.post(f"/matches/{world['request_id']}", data={"body": body, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303


@pytest.mark.parametrize("path, data", [
    ("/login", {"email": "a\x00@example.com", "password": "x"}),
    ("/password/forgot", {"email": "a\x00@example.com"}),
    ("/signup", {"email": "a@example.com", "full_name": "A\x00B"}),
    ("/profile", {"name": "Org\x00", "description": "x"}),
])
def test_nul_in_account_forms_is_422(client, world, path, data):
    token = logged_token(client, world["alice"])
    response = client.post(path, data=data | {"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 422


def test_nul_in_a_search_is_422(client, world):
    logged_token(client, world["alice"])
    assert client.get("/directory", params={"q": NUL}).status_code == 422
    assert client.get("/requests/sent", params={"q": NUL}).status_code == 422
    assert client.get("/api/v1/requests", params={"q": NUL}).status_code == 422


def test_nul_in_an_imported_file_is_a_line_error(session):
    from web.services import interchange

    content = ('{"id": "nul-1", "name": "Bad\\u0000Name", "kind": "japanese_company", "country": "JP"}\n'
               '{"id": "ok-1", "name": "Good Name", "kind": "japanese_company", "country": "JP"}\n')
    plan = interchange.plan_import(session, content.encode(), "jsonl", "orgs.jsonl")
    assert [(error.line, error.field) for error in plan.errors] == [(1, "name")]
    assert "control characters" in plan.errors[0].message
    assert [planned.external_id for planned in plan.lines] == ["ok-1"]
