"""JSON API v1, the organizer's side of registrations: the list with a status filter, approve and reject
(notifications as on the pages), refusals, and authorization per endpoint."""

from __future__ import annotations

import pytest

from tests.conftest import csrf_token
from tests.factories import login
from tests.web.api_support import anonymous_headers, api_login, error_of, kinds, mails, places, registration_of
from tests.web.events_support import make_event, organizer, register
from tests.web.requests_support import member
from web.services import registration_review


@pytest.fixture
def review_setup(session, settings):
    boss = organizer(session)
    event = make_event(session, by=boss, approval="manual", capacity="3")
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    reg_a, reg_b = register(session, settings, alice, event), register(session, settings, bob, event)
    session.commit()
    return boss, event, alice, bob, reg_a, reg_b


def test_organizer_lists_registrations_with_a_status_filter(client, session, settings, review_setup):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    registration_review.approve(session, settings, event, reg_b.id)
    session.commit()
    api_login(client, boss)
    url = f"/api/v1/events/{event.id}/registrations"
    assert [r["organization"]["name"] for r in client.get(url).json()] == ["Alpha", "Beta"]
    assert [r["id"] for r in client.get(url + "?status=approved").json()] == [reg_b.id]
    assert client.get(url + "?status=withdrawn").json() == []
    assert "status" in error_of(client.get(url + "?status=maybe"), 422, "validation_failed")["fields"]
    one = client.get(f"{url}/{reg_a.id}").json()
    assert one["attendees"][0]["email"] == alice.email and one["status"] == "pending"
    counts = client.get(f"/api/v1/events/{event.id}").json()["registration_counts"]
    assert counts == {"pending": 1, "approved": 1, "rejected": 0, "withdrawn": 0, "all": 2}


def test_approve_notifies_the_organization_as_the_page_does(client, session, review_setup):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    login(client, boss)
    page = client.post(f"/events/{event.id}/registrations/{reg_a.id}/approve", follow_redirects=False,
                       data={"csrf_token": csrf_token(client, "/events")})
    assert page.status_code == 303
    h = api_login(client, boss)
    api = client.post(f"/api/v1/events/{event.id}/registrations/{reg_b.id}/approve", headers=h)
    assert api.status_code == 200 and api.json()["status"] == "approved" and api.json()["decided_at"]
    assert kinds(session, alice) == kinds(session, bob) == ["event_registration_approved"]
    (by_page,), (by_api,) = mails(session, alice), mails(session, bob)
    assert by_page.subject == by_api.subject == "Registration confirmed: JCM Seminar in Thailand"
    again = client.post(f"/api/v1/events/{event.id}/registrations/{reg_b.id}/approve", headers=h)
    error_of(again, 409, "registration_not_pending")
    assert kinds(session, bob) == ["event_registration_approved"]


def test_reject_needs_a_reason_then_frees_the_place(client, session, review_setup):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    h = api_login(client, boss)
    url = f"/api/v1/events/{event.id}/registrations/{reg_a.id}/reject"
    for payload in ({"reason": "  "}, None, {"reason": "x" * 2001}):
        assert "reason" in error_of(client.post(url, headers=h, json=payload), 422, "validation_failed")["fields"]
    assert registration_of(session, event, alice).status == "pending" and places(session, event) == 2
    rejected = client.post(url, headers=h, json={"reason": "Outside the seminar's sectors"})
    assert rejected.status_code == 200
    assert ((rejected.json()["status"], rejected.json()["status_reason"])
            == ("rejected", "Outside the seminar's sectors"))
    assert places(session, event) == 1 and kinds(session, alice) == ["event_registration_rejected"]
    assert "Outside the seminar's sectors" in mails(session, alice)[0].body
    h = api_login(client, alice)
    mine = client.get(f"/api/v1/events/{event.id}/registration").json()
    assert (mine["status"], mine["status_reason"]) == ("rejected", "Outside the seminar's sectors")


def test_approving_a_declined_registration_when_full_is_409(client, session, settings, review_setup):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    registration_review.reject(session, settings, event, reg_a.id, "No")
    register(session, settings, member(session), event)
    register(session, settings, member(session), event)
    session.commit()
    h = api_login(client, boss)
    error_of(client.post(f"/api/v1/events/{event.id}/registrations/{reg_a.id}/approve", headers=h), 409, "event_full")
    assert registration_of(session, event, alice).status == "rejected" and places(session, event) == 3


def test_a_registration_of_another_event_is_404(client, session, settings, review_setup):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    other = make_event(session, by=boss, title_en="Other")
    session.commit()
    h = api_login(client, boss)
    for method, suffix in (("GET", ""), ("POST", "/approve"), ("POST", "/reject")):
        url = f"/api/v1/events/{other.id}/registrations/{reg_a.id}{suffix}"
        error_of(client.request(method, url, headers=h, json={"reason": "x"}), 404, "not_found")
    assert registration_of(session, event, alice).status == "pending"


# --- who may do what -----------------------------------------------------------------------------------

REVIEW_ENDPOINTS = [
    ("get", "/api/v1/events/{id}/registrations", None),
    ("get", "/api/v1/events/{id}/registrations/{rid}", None),
    ("post", "/api/v1/events/{id}/registrations/{rid}/approve", None),
    ("post", "/api/v1/events/{id}/registrations/{rid}/reject", {"reason": "No"}),
]


@pytest.mark.parametrize("method, path, payload", REVIEW_ENDPOINTS)
def test_visitors_get_401(client, session, review_setup, method, path, payload):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    h = anonymous_headers(client)
    error_of(client.request(method.upper(), path.format(id=event.id, rid=reg_a.id), headers=h, json=payload),
             401, "not_authenticated")
    assert registration_of(session, event, alice).status == "pending" and places(session, event) == 2


@pytest.mark.parametrize("method, path, payload", REVIEW_ENDPOINTS)
def test_members_cannot_review_even_their_own_registration(client, session, review_setup, method, path, payload):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    for user in (alice, bob):
        h = api_login(client, user)
        error_of(client.request(method.upper(), path.format(id=event.id, rid=reg_a.id), headers=h, json=payload),
                 403, "forbidden")
    assert registration_of(session, event, alice).status == "pending" and places(session, event) == 2


@pytest.mark.parametrize("method, path, payload", [e for e in REVIEW_ENDPOINTS if e[0] != "get"])
def test_writes_need_the_csrf_header(client, session, review_setup, method, path, payload):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    api_login(client, boss)
    error_of(client.request(method.upper(), path.format(id=event.id, rid=reg_a.id), json=payload), 403,
             "csrf_failed")
    assert registration_of(session, event, alice).status == "pending" and places(session, event) == 2
    assert kinds(session, alice) == []
