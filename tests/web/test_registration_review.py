"""The organizer's side of registrations: the list with counts, approve and decline (htmx and plain posts),
the participants CSV with its formula guard, and authorization per registration endpoint."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from models import Event, EventRegistration, Notification, OutboxEmail
from tests.conftest import csrf_token
from tests.factories import login
from tests.web.events_support import make_event, organizer, register
from tests.web.requests_support import HTMX, headers, member, soup


def _token(client):
    return csrf_token(client, "/events")


def _registration(session, event, user):
    session.expire_all()
    return session.scalar(select(EventRegistration).where(EventRegistration.event_id == event.id,
                                                          EventRegistration.organization_id == user.organization_id))


def _places(session, event):
    session.expire_all()
    return session.get(Event, event.id).places_taken


def _kinds(session, user):
    return sorted(session.scalars(select(Notification.kind).where(Notification.user_id == user.id)))


# --- the organizer's review -------------------------------------------------------------------------

@pytest.fixture
def review_setup(session, settings):
    boss = organizer(session)
    event = make_event(session, by=boss, approval="manual", capacity="3")
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    reg_a, reg_b = register(session, settings, alice, event), register(session, settings, bob, event)
    session.commit()
    return boss, event, alice, bob, reg_a, reg_b


@HTMX
def test_review_lists_with_counts_and_filter(client, session, review_setup, htmx):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    login(client, boss)
    page = soup(client.get(f"/events/{event.id}/registrations", headers=headers(htmx)))
    tabs = {a["data-status"]: a.find(class_="count").get_text() for a in page.select("#registration-tabs a")}
    assert tabs == {"all": "2", "pending": "2", "approved": "0", "rejected": "0", "withdrawn": "0"}
    assert [h.get_text(strip=True) for h in page.select(".registration-row h3")] == ["Alpha", "Beta"]
    empty = soup(client.get(f"/events/{event.id}/registrations?status=approved", headers=headers(htmx)))
    assert empty.select(".registration-row") == [] and empty.find(class_="empty-state") is not None


@HTMX
def test_approve_notifies_the_organization(client, session, settings, review_setup, htmx):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    login(client, boss)
    response = client.post(f"/events/{event.id}/registrations/{reg_a.id}/approve", headers=headers(htmx),
                           data={"csrf_token": _token(client), "status": "pending"}, follow_redirects=False)
    if htmx:
        assert response.status_code == 200
        row = soup(response).find(id=f"registration-{reg_a.id}")
        assert row.find(attrs={"data-status": "approved"}) is not None
        assert soup(response).find(id="registration-tabs")["hx-swap-oob"] == "true"
    else:
        assert response.status_code == 303
        assert response.headers["location"] == f"/events/{event.id}/registrations?status=pending"
    assert _registration(session, event, alice).status == "approved" and _places(session, event) == 2
    assert _kinds(session, alice) == ["event_registration_approved"]
    assert session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == alice.email)) is not None


@HTMX
def test_reject_requires_a_reason(client, session, review_setup, htmx):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    login(client, boss)
    response = client.post(f"/events/{event.id}/registrations/{reg_a.id}/reject", headers=headers(htmx),
                           data={"csrf_token": _token(client), "reason": "  "})
    assert response.status_code == 422
    row = soup(response).find(id=f"registration-{reg_a.id}")
    assert "Give a reason" in row.find(id=f"reason-error-{reg_a.id}").get_text()
    assert _registration(session, event, alice).status == "pending" and _places(session, event) == 2


@HTMX
def test_reject_frees_the_place_and_shows_the_reason_to_the_member(client, session, review_setup, htmx):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    login(client, boss)
    response = client.post(f"/events/{event.id}/registrations/{reg_a.id}/reject", headers=headers(htmx),
                           data={"csrf_token": _token(client), "reason": "Outside the seminar's sectors"},
                           follow_redirects=False)
    assert response.status_code == (200 if htmx else 303)
    reg = _registration(session, event, alice)
    assert (reg.status, reg.status_reason) == ("rejected", "Outside the seminar's sectors")
    assert _places(session, event) == 1
    assert _kinds(session, alice) == ["event_registration_rejected"]
    mail = session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == alice.email))
    assert "Outside the seminar's sectors" in mail.body
    client.cookies.clear()
    login(client, alice)
    page = soup(client.get(f"/events/{event.id}/registration"))
    assert "Outside the seminar's sectors" in page.find(id="rejection-reason").get_text()
    # Deciding twice is refused in place.
    client.cookies.clear()
    login(client, boss)
    again = client.post(f"/events/{event.id}/registrations/{reg_a.id}/reject", headers=headers(htmx),
                        data={"csrf_token": _token(client), "reason": "again"})
    assert again.status_code == 409 and "already Declined" in again.text


def test_approving_a_declined_registration_needs_a_free_place(client, session, settings, review_setup):
    from web.services import registration_review

    boss, event, alice, bob, reg_a, reg_b = review_setup
    registration_review.reject(session, settings, event, reg_a.id, "By mistake")
    register(session, settings, member(session), event)
    register(session, settings, member(session), event)  # 3 of 3 places held again
    session.commit()
    login(client, boss)
    response = client.post(f"/events/{event.id}/registrations/{reg_a.id}/approve",
                           data={"csrf_token": _token(client)})
    assert response.status_code == 409 and "raise the capacity" in response.text
    assert _registration(session, event, alice).status == "rejected" and _places(session, event) == 3


# --- CSV ----------------------------------------------------------------------------------------------

def test_participants_csv_lists_attendees_and_guards_formulas(client, session, settings):
    boss = organizer(session)
    event = make_event(session, by=boss)
    evil = member(session, "=HYPERLINK(\"http://x\")")
    register(session, settings, evil, event, [{"name": "+Mallory", "title": "@boss", "email": ""},
                                              {"name": "Ann", "title": "CEO", "email": "ann@example.com"}])
    session.commit()
    login(client, boss)
    response = client.get(f"/events/{event.id}/participants.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["organization", "kind", "country", "registration_status", "registered_at (Asia/Bangkok)",
                       "attendee_name", "attendee_job_title", "attendee_email"]
    assert rows[1][:4] == ["'=HYPERLINK(\"http://x\")", "Japanese company", "Japan", "Registered"]
    assert rows[1][5:] == ["'+Mallory", "'@boss", ""]
    assert rows[2][5:] == ["Ann", "CEO", "ann@example.com"]
    assert len(rows) == 3


# --- authorization per endpoint ---------------------------------------------------------------------

MEMBER_POSTS = ["/events/{id}/attendees", "/events/{id}/availability", "/events/{id}/withdraw"]
ORGANIZER_GETS = ["/events/{id}/registrations", "/events/{id}/participants.csv"]
ORGANIZER_POSTS = ["/events/{id}/registrations/{reg}/approve", "/events/{id}/registrations/{reg}/reject"]


def test_visitors_are_sent_to_login_everywhere(client, session, review_setup):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    token = _token(client)
    for path in ["/events/{id}/register", "/events/{id}/registration", *ORGANIZER_GETS]:
        response = client.get(path.format(id=event.id, reg=reg_a.id), follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), path
    for path in ["/events/{id}/register", *MEMBER_POSTS, *ORGANIZER_POSTS]:
        response = client.post(path.format(id=event.id, reg=reg_a.id), data={"csrf_token": token},
                               follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path


def test_another_member_cannot_touch_a_registration(client, session, review_setup):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    carol = member(session, "Gamma")
    session.commit()
    login(client, carol)
    token = _token(client)
    assert client.get(f"/events/{event.id}/registration").status_code == 404
    for path in MEMBER_POSTS:
        assert client.post(path.format(id=event.id), data={"csrf_token": token}).status_code == 404, path
    for path in ORGANIZER_GETS:
        assert client.get(path.format(id=event.id)).status_code == 403, path
    for path in ORGANIZER_POSTS:
        response = client.post(path.format(id=event.id, reg=reg_a.id), data={"csrf_token": token, "reason": "x"})
        assert response.status_code == 403, path
    assert _registration(session, event, alice).status == "pending"


def test_owner_cannot_review_its_own_registration(client, session, review_setup):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    login(client, alice)
    token = _token(client)
    assert client.get(f"/events/{event.id}/registration").status_code == 200
    for path in ORGANIZER_POSTS:
        assert client.post(path.format(id=event.id, reg=reg_a.id),
                           data={"csrf_token": token, "reason": "x"}).status_code == 403
    assert client.get(f"/events/{event.id}/participants.csv").status_code == 403


def test_organizer_registration_of_another_event_is_404(client, session, settings, review_setup):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    other = make_event(session, by=boss)
    session.commit()
    login(client, boss)
    response = client.post(f"/events/{other.id}/registrations/{reg_a.id}/approve", data={"csrf_token": _token(client)})
    assert response.status_code == 404
    assert client.get(f"/events/{event.id}/registration").status_code == 404  # organizers have no registration


def test_csrf_is_required_for_registration_posts(client, session, review_setup):
    boss, event, alice, bob, reg_a, reg_b = review_setup
    login(client, alice)
    assert client.post(f"/events/{event.id}/withdraw", data={}).status_code == 403
    assert _registration(session, event, alice).status == "pending"
