"""JSON API v1: happy paths, error codes, authorization and the CSRF header."""

from __future__ import annotations

import pytest

from tests.factories import create_organization, create_user, login
from tests.web.requests_support import make_match, make_request, member
from web.services import messages


def _api_login(client, user) -> dict[str, str]:
    login(client, user)
    token = client.get("/api/v1/me").json()["csrf_token"]
    return {"X-CSRF-Token": token}


def test_create_list_and_accept_flow(client, session, settings):
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    session.commit()
    h = _api_login(client, alice)
    created = client.post("/api/v1/requests", headers=h, json={"to_organization_id": bob.organization_id,
                                                                "message": "Hello", "topics": ["solar"]})
    assert created.status_code == 201
    body = created.json()
    assert ((body["status"], body["direction"], body["recipient"]["name"], body["topics"])
            == ("pending", "sent", "Beta", ["solar"]))
    assert [r["id"] for r in client.get("/api/v1/requests?box=sent").json()] == [body["id"]]
    client.cookies.clear()
    h = _api_login(client, bob)
    assert client.get("/api/v1/requests").json()[0]["direction"] == "received"
    accepted = client.post(f"/api/v1/requests/{body['id']}/accept", headers=h)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    (match,) = client.get("/api/v1/matches").json()
    assert match["partner"]["name"] == "Alpha" and match["contact"]["name"] == "Contact of Alpha"
    posted = client.post(f"/api/v1/matches/{body['id']}/messages", headers=h, json={"body": "Tuesday?"})
    assert posted.status_code == 201 and posted.json()["body"] == "Tuesday?"
    assert [m["body"] for m in client.get(f"/api/v1/matches/{body['id']}/messages").json()] == ["Tuesday?"]


def test_matches_list_each_partners_contact_from_both_sides_newest_first_and_searched(client, session, settings):
    alice = member(session, "Alpha")
    bob, carol, dave = member(session, "Beta"), member(session, "Gamma"), member(session, "Delta")
    session.get(type(carol.organization), carol.organization_id).contact_email = "carol@gamma.example"
    first = make_match(session, settings, alice, bob)  # alice asked bob
    second = make_match(session, settings, carol, alice)  # carol asked alice
    make_request(session, settings, alice, dave)  # pending: not a match
    session.commit()
    _api_login(client, alice)
    listed = client.get("/api/v1/matches").json()
    assert [m["request"]["id"] for m in listed] == [second.id, first.id]
    assert [(m["partner"]["name"], m["contact"]["name"], m["contact"]["email"], m["request"]["direction"])
            for m in listed] == [("Gamma", "Contact of Gamma", "carol@gamma.example", "received"),
                                 ("Beta", "Contact of Beta", "contact@example.com", "sent")]
    assert all(m["contact"]["phone"] == "+81 3 0000 0000" and m["unread_messages"] == 0 for m in listed)
    assert [m["partner"]["name"] for m in client.get("/api/v1/matches?q=bet").json()] == ["Beta"]


def test_request_and_match_lists_come_a_page_at_a_time_with_a_link_to_the_next(client, session, settings):
    # They stopped at 200 rows without a word: an organization with more could not read the rest.
    alice = member(session, "Alpha")
    sent = [make_request(session, settings, alice, member(session, f"Sent {n}")) for n in range(3)]
    matched = [make_match(session, settings, alice, member(session, f"Match {n}")) for n in range(3)]
    session.commit()
    _api_login(client, alice)
    for path, expected in (("/api/v1/requests?box=sent&status=pending", [r.id for r in reversed(sent)]),
                           ("/api/v1/matches", [r.id for r in reversed(matched)])):
        first = client.get(path + ("&" if "?" in path else "?") + "limit=2")
        ids = [row["id"] if "id" in row else row["request"]["id"] for row in first.json()]
        assert first.status_code == 200 and ids == expected[:2]
        assert first.headers["link"].endswith('>; rel="next"')
        following = client.get(first.headers["link"][1:].split(">")[0])
        assert [row["id"] if "id" in row else row["request"]["id"] for row in following.json()] == expected[2:]
        assert "link" not in following.headers
        assert "link" not in client.get(path).headers and len(client.get(path).json()) == 3
        for bad in ("limit=0", "limit=201", "offset=-1", "limit=x"):
            refused = client.get(path + ("&" if "?" in path else "?") + bad)
            assert refused.status_code == 422 and refused.json()["error"]["code"] == "validation_failed", bad


def test_decline_with_reason_and_cancel(client, session, settings):
    alice, bob = member(session), member(session)
    first = make_request(session, settings, alice, bob)
    session.commit()
    h = _api_login(client, bob)
    declined = client.post(f"/api/v1/requests/{first.id}/decline", headers=h, json={"reason": "Busy"})
    assert declined.json()["status"] == "declined" and declined.json()["decline_reason"] == "Busy"
    second = make_request(session, settings, alice, bob)
    session.commit()
    client.cookies.clear()
    h = _api_login(client, alice)
    assert client.post(f"/api/v1/requests/{second.id}/cancel", headers=h).json()["status"] == "cancelled"


@pytest.mark.parametrize("case, status, code", [
    ("own", 400, "own_organization"),
    ("unapproved", 404, "not_found"),
    ("missing", 404, "not_found"),
    ("duplicate", 409, "request_exists"),
    ("empty", 422, "validation_failed"),
    ("too_long", 422, "validation_failed"),
])
def test_create_errors_are_json(client, session, settings, case, status, code):
    alice, bob = member(session), member(session)
    pending = create_organization(session, status="pending")
    if case == "duplicate":
        make_request(session, settings, bob, alice)
    session.commit()
    h = _api_login(client, alice)
    target = {"own": alice.organization_id, "unapproved": pending.id, "missing": 999999}.get(case, bob.organization_id)
    message = {"empty": "  ", "too_long": "x" * 2001}.get(case, "hi")
    response = client.post("/api/v1/requests", headers=h, json={"to_organization_id": target, "message": message})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


def test_transition_errors_are_json(client, session, settings):
    alice, bob, eve = member(session), member(session), member(session)
    req = make_match(session, settings, alice, bob)
    session.commit()
    h = _api_login(client, bob)
    again = client.post(f"/api/v1/requests/{req.id}/accept", headers=h)
    assert again.status_code == 409 and again.json()["error"]["code"] == "request_not_pending"
    cancel = client.post(f"/api/v1/requests/{req.id}/cancel", headers=h)
    assert cancel.status_code == 403 and cancel.json()["error"]["code"] == "forbidden"
    client.cookies.clear()
    h = _api_login(client, eve)
    for method, path in [("get", "/api/v1/requests/{id}"), ("post", "/api/v1/requests/{id}/accept"),
                         ("post", "/api/v1/requests/{id}/decline"), ("post", "/api/v1/requests/{id}/cancel"),
                         ("get", "/api/v1/matches/{id}/messages"), ("post", "/api/v1/matches/{id}/messages")]:
        url = path.format(id=req.id)
        response = client.get(url) if method == "get" else client.post(url, headers=h, json={"body": "x"})
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/matches").json() == []


@pytest.mark.parametrize("path, payload", [
    ("/api/v1/requests", {"to_organization_id": 1, "message": "hi"}),
    ("/api/v1/requests/{id}/accept", None),
    ("/api/v1/requests/{id}/decline", {"reason": ""}),
    ("/api/v1/requests/{id}/cancel", None),
    ("/api/v1/matches/{id}/messages", {"body": "hi"}),
])
def test_writes_without_csrf_header_are_refused(client, session, settings, path, payload):
    alice, bob = member(session), member(session)
    req = make_match(session, settings, alice, bob)
    session.commit()
    login(client, bob)
    response = client.post(path.format(id=req.id), json=payload)
    assert response.status_code == 403 and response.json()["error"]["code"] == "csrf_failed"
    assert messages.list_messages(session, req) == []


def test_api_needs_login_and_approval(client, session):
    assert client.get("/api/v1/requests").status_code == 401
    assert client.get("/api/v1/requests").json()["error"]["code"] == "not_authenticated"
    waiting = create_user(session, create_organization(session, status="pending"))
    session.commit()
    login(client, waiting)
    response = client.get("/api/v1/matches")
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_approved"


def test_openapi_documents_the_api(client):
    spec = client.get("/api/openapi.json").json()
    assert {"/api/v1/requests", "/api/v1/requests/{request_id}/accept", "/api/v1/matches",
            "/api/v1/matches/{request_id}/messages"} <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    assert {"MeetingRequestOut", "MatchOut", "MessageOut", "ErrorResponse"} <= set(schemas)
    assert "409" in spec["paths"]["/api/v1/requests"]["post"]["responses"]


def test_pending_and_missing_organizations_get_the_same_answer(client, session):
    alice = member(session)
    pending = create_organization(session, status="pending")
    session.commit()
    h = _api_login(client, alice)
    answers = [client.post("/api/v1/requests", headers=h, json={"to_organization_id": target, "message": "hi"})
               for target in (pending.id, pending.id + 1000)]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].json() == answers[1].json()
