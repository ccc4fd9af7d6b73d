"""Meeting requests: the form, every transition and refusal, authorization and CSRF.

The request tabs (sent, received, matches) are tested in test_request_tabs.py."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from models import MeetingRequest, MeetingRequestEvent
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from tests.web.requests_support import HTMX, age_request, headers, logged_in, make_match, make_request, member, soup
from web.services import requests


def _events(session, req_id):
    session.expire_all()
    return [(e.from_status, e.to_status, e.actor_user_id) for e in
            session.scalars(select(MeetingRequestEvent).where(MeetingRequestEvent.request_id == req_id)
                            .order_by(MeetingRequestEvent.id))]


@HTMX
def test_new_request_form_shows_labelled_message_field(client, session, htmx):
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    session.commit()
    login(client, alice)
    response = client.get(f"/requests/new?to={bob.organization_id}", headers=headers(htmx))
    assert response.status_code == 200
    page = soup(response)
    label = next(lab for lab in page.find_all("label") if lab.get_text(strip=True).startswith("Message"))
    assert label and page.find(id=label["for"]).name == "textarea"
    assert page.find("input", {"name": "to"})["value"] == str(bob.organization_id)


def test_request_meeting_creates_pending_request_and_event(client, session, settings):
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    session.commit()
    token = logged_in(client, alice)
    response = client.post("/requests/new", data={"to": bob.organization_id, "message": "Let us talk chillers.",
                                                  "topics": "chillers, heat pumps",
                                                  "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    req = session.scalar(select(MeetingRequest))
    assert ((req.status, req.requester_org_id, req.recipient_org_id)
            == ("pending", alice.organization_id, bob.organization_id))
    assert req.topics == ["chillers", "heat pumps"] and req.event_id is None
    assert (req.expires_at - req.created_at).days == 14
    assert _events(session, req.id) == [(None, "pending", alice.id)]
    assert response.headers["location"] == f"/requests/{req.id}?sent=1"


@pytest.mark.parametrize("message, field", [("", "message"), ("x" * 2001, "message")])
def test_request_with_bad_message_keeps_input(client, session, message, field):
    alice, bob = member(session), member(session)
    session.commit()
    token = logged_in(client, alice)
    response = client.post("/requests/new", data={"to": bob.organization_id, "message": message,
                                                  "topics": "solar", "csrf_token": token})
    assert response.status_code == 422
    page = soup(response)
    assert page.find(id=f"e-{field}") is not None
    assert page.find("input", {"name": "topics"})["value"] == "solar"
    assert session.scalar(select(MeetingRequest)) is None


def test_request_to_own_organization_is_refused(client, session, settings):
    alice = member(session)
    colleague = create_user(session, alice.organization)
    session.commit()
    token = logged_in(client, alice)
    response = client.post("/requests/new",
                           data={"to": colleague.organization_id, "message": "hi", "csrf_token": token})
    assert response.status_code == 400
    assert "your own organization" in response.text
    page = client.get(f"/requests/new?to={alice.organization_id}")
    assert page.status_code == 400 and soup(page).find(id="request-refusal") is not None


@pytest.mark.parametrize("status", ["pending", "rejected", "suspended"])
def test_request_to_unapproved_organization_is_refused(client, session, status):
    alice = member(session)
    other = create_organization(session, status=status)
    session.commit()
    token = logged_in(client, alice)
    response = client.post("/requests/new", data={"to": other.id, "message": "hi", "csrf_token": token})
    assert response.status_code == 404  # as for an id that does not exist: nothing tells them apart
    assert other.name not in response.text
    assert session.scalar(select(MeetingRequest)) is None


def test_request_to_unknown_organization_is_404(client, session):
    alice = member(session)
    session.commit()
    token = logged_in(client, alice)
    assert client.post("/requests/new", data={"to": 999999, "message": "hi", "csrf_token": token}).status_code == 404


def test_request_from_unapproved_member_is_refused(client, session):
    pending = create_user(session, create_organization(session, status="pending"))
    bob = member(session)
    session.commit()
    login(client, pending)
    token = csrf_token(client, "/")
    assert client.get(f"/requests/new?to={bob.organization_id}").status_code == 403
    response = client.post("/requests/new", data={"to": bob.organization_id, "message": "hi", "csrf_token": token})
    assert response.status_code == 403
    assert client.get("/requests/sent").status_code == 403


def test_second_open_request_for_pair_is_refused_either_direction(client, session, settings):
    alice, bob = member(session), member(session)
    make_request(session, settings, alice, bob)
    session.commit()
    for sender, recipient in ((alice, bob), (bob, alice)):
        client.cookies.clear()
        token = logged_in(client, sender)
        response = client.post("/requests/new", data={"to": recipient.organization_id, "message": "again",
                                                      "csrf_token": token})
        assert response.status_code == 409
        assert "already an open request" in response.text
    assert len(session.scalars(select(MeetingRequest)).all()) == 1


def test_new_request_allowed_after_previous_is_answered(session, settings):
    alice, bob = member(session), member(session)
    first = make_request(session, settings, alice, bob)
    requests.decline_meeting(session, settings, bob, first.id)
    second = make_request(session, settings, bob, alice)
    assert second.status == "pending" and second.id != first.id


def test_request_without_csrf_is_refused(client, session):
    alice, bob = member(session), member(session)
    session.commit()
    login(client, alice)
    response = client.post("/requests/new", data={"to": bob.organization_id, "message": "hi"})
    assert response.status_code == 403
    assert session.scalar(select(MeetingRequest)) is None


@HTMX
def test_accept_swaps_row_or_redirects_to_match(client, session, settings, htmx):
    alice, bob = member(session), member(session)
    req = make_request(session, settings, alice, bob)
    session.commit()
    token = logged_in(client, bob)
    response = client.post(f"/requests/{req.id}/accept", data={"csrf_token": token}, headers=headers(htmx),
                           follow_redirects=False)
    if htmx:
        assert response.status_code == 200
        row = soup(response).find(id=f"request-{req.id}")
        assert row is not None and row.find(attrs={"data-status": "accepted"}) is not None
        assert row.find("a", href=f"/matches/{req.id}") is not None
    else:
        assert response.status_code == 303 and response.headers["location"] == f"/matches/{req.id}"
    assert _events(session, req.id)[-1] == ("pending", "accepted", bob.id)


@HTMX
def test_decline_with_reason_records_it(client, session, settings, htmx):
    alice, bob = member(session), member(session)
    req = make_request(session, settings, alice, bob)
    session.commit()
    token = logged_in(client, bob)
    response = client.post(f"/requests/{req.id}/decline", data={"csrf_token": token, "reason": "Not our field",
                                                                "next": "/requests/received"},
                           headers=headers(htmx), follow_redirects=False)
    assert response.status_code == (200 if htmx else 303)
    session.expire_all()
    assert session.get(MeetingRequest, req.id).decline_reason == "Not our field"
    assert _events(session, req.id)[-1] == ("pending", "declined", bob.id)


@HTMX
def test_cancel_by_requester(client, session, settings, htmx):
    alice, bob = member(session), member(session)
    req = make_request(session, settings, alice, bob)
    session.commit()
    token = logged_in(client, alice)
    response = client.post(f"/requests/{req.id}/cancel", data={"csrf_token": token}, headers=headers(htmx),
                           follow_redirects=False)
    assert response.status_code == (200 if htmx else 303)
    assert _events(session, req.id)[-1] == ("pending", "cancelled", alice.id)
    assert session.get(MeetingRequest, req.id).open_pair_key is None


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_requester_cannot_answer_own_request(client, session, settings, action):
    alice, bob = member(session), member(session)
    req = make_request(session, settings, alice, bob)
    session.commit()
    token = logged_in(client, alice)
    assert client.post(f"/requests/{req.id}/{action}", data={"csrf_token": token}).status_code == 403


def test_recipient_cannot_cancel(client, session, settings):
    alice, bob = member(session), member(session)
    req = make_request(session, settings, alice, bob)
    session.commit()
    token = logged_in(client, bob)
    assert client.post(f"/requests/{req.id}/cancel", data={"csrf_token": token}).status_code == 403


@pytest.mark.parametrize("action", ["accept", "decline", "cancel"])
def test_answered_request_cannot_change_again(client, session, settings, action):
    alice, bob = member(session), member(session)
    req = make_match(session, settings, alice, bob)
    session.commit()
    token = logged_in(client, alice if action == "cancel" else bob)
    response = client.post(f"/requests/{req.id}/{action}", data={"csrf_token": token})
    assert response.status_code == 409
    htmx = client.post(f"/requests/{req.id}/{action}", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert htmx.status_code == 409 and soup(htmx).find(id=f"request-{req.id}").find(role="alert") is not None


def test_accept_after_expiry_date_is_refused(client, session, settings):
    alice, bob = member(session), member(session)
    req = make_request(session, settings, alice, bob)
    age_request(session, req, 15)
    session.commit()
    token = logged_in(client, bob)
    response = client.post(f"/requests/{req.id}/accept", data={"csrf_token": token})
    assert response.status_code == 409 and "expired" in response.text


@pytest.mark.parametrize("method, path", [
    ("get", "/requests/{id}"), ("post", "/requests/{id}/accept"), ("post", "/requests/{id}/decline"),
    ("post", "/requests/{id}/cancel"),
])
def test_other_member_cannot_see_or_change_request(client, session, settings, method, path):
    alice, bob, eve = member(session), member(session), member(session)
    req = make_request(session, settings, alice, bob)
    session.commit()
    token = logged_in(client, eve)
    url = path.format(id=req.id)
    response = client.get(url) if method == "get" else client.post(url, data={"csrf_token": token})
    assert response.status_code == 404
    session.expire_all()
    assert session.get(MeetingRequest, req.id).status == "pending"


@pytest.mark.parametrize("action", ["accept", "decline", "cancel"])
def test_transition_without_csrf_is_refused(client, session, settings, action):
    alice, bob = member(session), member(session)
    req = make_request(session, settings, alice, bob)
    session.commit()
    logged_in(client, alice if action == "cancel" else bob)
    assert client.post(f"/requests/{req.id}/{action}", data={}).status_code == 403
    session.expire_all()
    assert session.get(MeetingRequest, req.id).status == "pending"


def test_organizer_can_see_request_but_not_answer(client, session, settings):
    alice, bob = member(session), member(session)
    organizer = create_user(session, None, role="organizer")
    req = make_request(session, settings, alice, bob)
    session.commit()
    token = logged_in(client, organizer)
    assert client.get(f"/requests/{req.id}").status_code == 200
    assert client.post(f"/requests/{req.id}/accept", data={"csrf_token": token}).status_code == 403


def test_request_detail_shows_history(client, session, settings):
    alice, bob = member(session), member(session)
    req = make_request(session, settings, alice, bob)
    requests.decline_meeting(session, settings, bob, req.id, "Busy")
    session.commit()
    logged_in(client, alice)
    history = soup(client.get(f"/requests/{req.id}")).find(id="request-history")
    assert [li["data-to"] for li in history.find_all("li")] == ["pending", "declined"]


def test_request_button_macro(app, session):
    alice, bob = member(session), member(session)
    template = app.state.renderer.env.from_string(
        '{% from "requests/_request_button.html" import request_button %}{{ request_button(org, user) }}')
    html_other = template.render({"user": alice, "org": bob.organization})
    html_own = template.render({"user": alice, "org": alice.organization})
    form = BeautifulSoup(html_other, "html.parser").find("form")
    assert form["action"] == "/requests/new" and form.find("input", {"name": "to"})["value"] == str(bob.organization_id)
    assert form.find("button").get_text(strip=True) == "Request meeting"
    assert BeautifulSoup(html_own, "html.parser").find("form") is None


def test_feedback_pairs_labels_outcomes(session, settings):
    alice, bob, carol, dave, erin = (member(session) for _ in range(5))
    make_match(session, settings, alice, bob)
    declined = make_request(session, settings, alice, carol)
    requests.decline_meeting(session, settings, carol, declined.id)
    cancelled = make_request(session, settings, alice, dave)
    requests.cancel_meeting(session, settings, alice, cancelled.id)
    expired = make_request(session, settings, erin, alice)
    age_request(session, expired, 15)
    requests.expire_due_requests(session, settings)
    make_request(session, settings, bob, carol)
    a, b, c, e = alice.organization_id, bob.organization_id, carol.organization_id, erin.organization_id
    assert requests.feedback_pairs(session) == [(a, b, 1), (a, c, 0), (e, a, 0)]


@HTMX
def test_request_page_shows_its_message_once_in_full(client, session, settings, htmx):
    alice, bob = member(session), member(session)
    long_message = "We make efficient chillers. " * 30  # longer than the 400 characters a list row shows
    req = make_request(session, settings, alice, bob, message=long_message.strip())
    session.commit()
    logged_in(client, bob)
    page = soup(client.get(f"/requests/{req.id}"))
    shown = [p.get_text() for p in page.find(id="main").find_all("p") if "efficient chillers" in p.get_text()]
    assert shown == [long_message.strip()]
    # Declining from the request page keeps the full message: in the swapped row, or back on the page.
    token = csrf_token(client, f"/requests/{req.id}")
    form = page.find("form", action=f"/requests/{req.id}/decline")
    data = {field["name"]: field.get("value", "") for field in form.find_all("input")} | {"csrf_token": token}
    response = client.post(f"/requests/{req.id}/decline", data=data, headers=headers(htmx), follow_redirects=True)
    row = soup(response).find(id=f"request-{req.id}")
    assert row["class"][-1] == "status-declined"
    assert row.find(class_="request-message").get_text() == long_message.strip()
