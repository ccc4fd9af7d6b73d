"""JSON API v1, a member's registration: register, attendees, withdrawal and availability; refusals,
authorization, CSRF and parity with the pages. The organizer's side is in test_api_registration_review.py."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from models import EventMeeting, EventRegistration, EventUnavailableSlot, Notification, User
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from tests.web.agenda_support import publish_meeting
from tests.web.api_support import (
    PEOPLE,
    anonymous_headers,
    api_login,
    error_of,
    kinds,
    mails,
    places,
    registration_of,
)
from tests.web.events_support import make_event, organizer, register, shift
from tests.web.requests_support import make_match, member
from web.services import events, registration_review, registrations

# --- registering -----------------------------------------------------------------------------------

def test_register_with_auto_approval_and_read_it_back(client, session):
    boss = organizer(session)
    event = make_event(session, by=boss)
    alice = member(session, "Siam Solar")
    colleague = create_user(session, alice.organization)
    session.commit()
    h = api_login(client, alice)
    response = client.post(f"/api/v1/events/{event.id}/registration", headers=h,
                           json={"attendees": PEOPLE + [{"full_name": "Aiko T."}]})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["status"], body["organization"]["name"], body["unavailable_slots"]) == ("approved", "Siam Solar", 0)
    assert body["attendees"] == PEOPLE + [{"full_name": "Aiko T.", "job_title": "", "email": ""}]
    assert client.get(f"/api/v1/events/{event.id}/registration").json() == body
    detail = client.get(f"/api/v1/events/{event.id}").json()
    assert detail["my_registration"]["status"] == "approved" and detail["places_left"] == 39
    reg = registration_of(session, event, alice)
    assert reg.registered_by_user_id == alice.id and places(session, event) == 1
    assert kinds(session, alice) == kinds(session, colleague) == ["event_registration_approved"]
    assert kinds(session, boss) == []
    assert [m.subject for m in mails(session, alice)] == ["Registration confirmed: JCM Seminar in Thailand"]


def test_register_through_the_api_tells_organizers_as_the_page_does(client, session):
    """Siam Solar registers on the page, Thai Wind through the API: the same notifications and emails."""
    boss, other_boss = organizer(session), organizer(session)
    event = make_event(session, by=boss, approval="manual")
    by_page, by_api = member(session, "Siam Solar"), member(session, "Thai Wind")
    session.commit()
    login(client, by_page)
    page = client.post(f"/events/{event.id}/register", follow_redirects=False, data={
        "attendee_name": "Somchai P.", "attendee_title": "Engineer", "attendee_email": "somchai@example.com",
        "csrf_token": csrf_token(client, "/events")})
    assert page.status_code == 303
    h = api_login(client, by_api)
    api = client.post(f"/api/v1/events/{event.id}/registration", headers=h, json={"attendees": PEOPLE})
    assert api.status_code == 201 and api.json()["status"] == "pending"
    assert (registration_of(session, event, by_page).status == registration_of(session, event, by_api).status
            == "pending")
    assert places(session, event) == 2
    for user in (boss, other_boss):
        notes = session.scalars(select(Notification).where(Notification.user_id == user.id)
                                .order_by(Notification.id)).all()
        assert [(n.kind, n.event_id, n.organization_id) for n in notes] == [
            ("event_registration_new", event.id, by_page.organization_id),
            ("event_registration_new", event.id, by_api.organization_id)]
        first, second = mails(session, user)
        assert first.subject.replace("Siam Solar", "ORG") == second.subject.replace("Thai Wind", "ORG")
        # The same email but for the name and the places held (one more after the second registration).
        assert "Places held: 1 of 40" in first.body and "Places held: 2 of 40" in second.body
        assert (first.body.replace("Siam Solar", "ORG").replace("held: 1", "held: N")
                == second.body.replace("Thai Wind", "ORG").replace("held: 2", "held: N"))
    assert kinds(session, by_page) == kinds(session, by_api) == []


@pytest.mark.parametrize("attendees, field, text", [
    ([], "attendees", "at least one person"),
    ([{"full_name": "  "}], "attendees", "at least one person"),
    ([{"full_name": "", "job_title": "CEO"}], "attendees.0.full_name", "full name"),
    ([{"full_name": "Aiko"}, {"full_name": "Ken", "email": "not-an-email"}], "attendees.1.email", "valid email"),
    ([{"full_name": "x" * 201}], "attendees.0.full_name", "200 characters"),
    ([{"full_name": f"P{i}"} for i in range(11)], "attendees", "at most 10"),
    ([{"name": "Aiko"}], "attendees.0.full_name", "required"),
])
def test_register_refuses_bad_attendees_and_holds_no_place(client, session, attendees, field, text):
    event = make_event(session)
    alice = member(session)
    session.commit()
    h = api_login(client, alice)
    response = client.post(f"/api/v1/events/{event.id}/registration", headers=h, json={"attendees": attendees})
    error = error_of(response, 422, "validation_failed")
    assert text in error["fields"][field].lower() or text in error["fields"][field], error
    assert registration_of(session, event, alice) is None and places(session, event) == 0


@pytest.mark.parametrize("case, status, code", [
    ("twice", 409, "already_registered"),
    ("full", 409, "event_full"),
    ("deadline", 409, "deadline_passed"),
    ("over", 409, "event_over"),
    ("declined", 409, "registration_rejected"),
    ("draft", 404, "not_found"),
    ("unknown", 404, "not_found"),
])
def test_register_refusals_change_nothing(client, session, settings, case, status, code):
    boss = organizer(session)
    event = make_event(session, by=boss, capacity="1" if case == "full" else "5",
                       days_ahead=2 if case == "deadline" else 30, publish=case != "draft")
    alice = member(session)
    if case == "full":
        register(session, settings, member(session), event)
    if case in ("twice", "declined"):
        reg = register(session, settings, alice, event)
        if case == "declined":
            registration_review.reject(session, settings, event, reg.id, "Not a JCM sector")
    if case == "over":
        shift(session, event, -60)
    session.commit()
    before = (places(session, event), session.scalar(select(func.count(EventRegistration.id))))
    h = api_login(client, alice)
    event_id = 999999 if case == "unknown" else event.id
    error_of(client.post(f"/api/v1/events/{event_id}/registration", headers=h, json={"attendees": PEOPLE}),
             status, code)
    assert (places(session, event), session.scalar(select(func.count(EventRegistration.id)))) == before


def test_register_refuses_organizers_without_organization_and_unapproved_members(client, session):
    event = make_event(session)
    boss = organizer(session)
    waiting = create_user(session, create_organization(session, status="pending"))
    session.commit()
    url = f"/api/v1/events/{event.id}/registration"
    error_of(client.post(url, headers=api_login(client, boss), json={"attendees": PEOPLE}), 403, "no_organization")
    error_of(client.post(url, headers=api_login(client, waiting), json={"attendees": PEOPLE}), 403, "not_approved")
    error_of(client.post(url, headers=anonymous_headers(client), json={"attendees": PEOPLE}), 401, "not_authenticated")
    assert places(session, event) == 0


def test_last_place_goes_to_the_first_and_the_second_gets_409(client, session, settings):
    event = make_event(session, capacity="1")
    alice, bob = member(session), member(session)
    session.commit()
    url = f"/api/v1/events/{event.id}/registration"
    assert client.post(url, headers=api_login(client, alice), json={"attendees": PEOPLE}).status_code == 201
    error_of(client.post(url, headers=api_login(client, bob), json={"attendees": PEOPLE}), 409, "event_full")
    assert places(session, event) == 1 and registration_of(session, event, bob) is None
    assert client.get(f"/api/v1/events/{event.id}").json()["registration_closed_reason"] == "event_full"


def test_a_registration_racing_for_the_last_place_waits_and_gets_409(client, session, session_factory, settings):
    """Another request holds the last place in an open transaction: the API call waits for it, then answers 409."""
    event = make_event(session, capacity="1")
    alice, bob = member(session), member(session)
    session.commit()
    h = api_login(client, bob)
    holder = session_factory()
    result: dict = {}
    try:
        registrations.register(holder, settings, holder.get(User, alice.id), event.id,
                               [{"name": "Aiko", "title": "", "email": ""}])
        call = threading.Thread(target=lambda: result.update(response=client.post(
            f"/api/v1/events/{event.id}/registration", headers=h, json={"attendees": PEOPLE})))
        call.start()
        call.join(timeout=0.5)
        assert call.is_alive(), "the API call should wait for the transaction holding the place"
        holder.commit()
        call.join(timeout=30)
    finally:
        holder.close()
    error_of(result["response"], 409, "event_full")
    assert places(session, event) == 1 and registration_of(session, event, bob) is None


# --- attendees and withdrawal ---------------------------------------------------------------------------

def test_put_attendees_replaces_them_and_refusals_keep_the_old_ones(client, session, settings):
    event = make_event(session)
    alice = member(session)
    register(session, settings, alice, event)
    session.commit()
    h = api_login(client, alice)
    url = f"/api/v1/events/{event.id}/registration/attendees"
    saved = client.put(url, headers=h, json={"attendees": [{"full_name": "Ken"}, {"full_name": "Mai"}]})
    assert saved.status_code == 200 and [a["full_name"] for a in saved.json()["attendees"]] == ["Ken", "Mai"]
    bad = client.put(url, headers=h, json={"attendees": [{"full_name": "Ken", "email": "ken@"}]})
    assert "attendees.0.email" in error_of(bad, 422, "validation_failed")["fields"]
    assert [a.full_name for a in registration_of(session, event, alice).attendees] == ["Ken", "Mai"]
    client.post(f"/api/v1/events/{event.id}/registration/withdraw", headers=h)
    error_of(client.put(url, headers=h, json={"attendees": PEOPLE}), 409, "registration_inactive")


def test_withdraw_frees_the_place_and_tells_the_other_side_of_a_published_meeting(client, session, settings):
    event = make_event(session)
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    for user in (alice, bob):
        register(session, settings, user, event)
    meeting = publish_meeting(session, event, make_match(session, settings, alice, bob),
                              events.slots_of(event)[0].starts_at, table=1)
    session.commit()
    h = api_login(client, alice)
    response = client.post(f"/api/v1/events/{event.id}/registration/withdraw", headers=h)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "withdrawn" and response.json()["withdrawn_at"]
    assert places(session, event) == 1
    stored = session.get(EventMeeting, meeting.id)
    assert (stored.starts_at, stored.unplaced_reason) == (None, "withdrawn")
    assert kinds(session, bob).count("event_meeting_cancelled") == 1
    assert "Off the timetable: your meeting with Alpha at JCM Seminar in Thailand" in [
        m.subject for m in mails(session, bob)]
    error_of(client.post(f"/api/v1/events/{event.id}/registration/withdraw", headers=h), 409,
             "registration_inactive")
    assert places(session, event) == 1
    again = client.post(f"/api/v1/events/{event.id}/registration", headers=h, json={"attendees": PEOPLE})
    assert again.status_code == 201 and again.json()["id"] == response.json()["id"]
    assert again.json()["status"] == "approved" and places(session, event) == 2


def test_own_registration_endpoints_are_404_without_a_registration(client, session):
    event = make_event(session)
    alice = member(session)
    session.commit()
    h = api_login(client, alice)
    for method, path, payload in OWN_ENDPOINTS:
        if path.endswith("/registration") and method == "post":
            continue  # registering creates it
        url = path.format(id=event.id)
        error_of(client.request(method.upper(), url, headers=h, json=payload), 404, "not_found")


# --- availability -----------------------------------------------------------------------------------

def test_availability_lists_every_slot_and_saves_the_available_ones(client, session, settings):
    event = make_event(session)
    alice = member(session)
    reg = register(session, settings, alice, event)
    session.commit()
    h = api_login(client, alice)
    url = f"/api/v1/events/{event.id}/availability"
    first = client.get(url).json()
    assert first["registration_id"] == reg.id and first["time_zone"] == "Asia/Bangkok"
    assert len(first["slots"]) == 11 and all(slot["available"] for slot in first["slots"])
    # The first slot by its UTC value, the second by its local value with the event's offset.
    chosen = [first["slots"][0]["starts_at"], first["slots"][1]["starts_local"]]
    saved = client.put(url, headers=h, json={"available": chosen})
    assert saved.status_code == 200, saved.text
    assert [slot["available"] for slot in saved.json()["slots"]] == [True, True] + [False] * 9
    assert client.get(url).json() == saved.json()
    assert client.get(f"/api/v1/events/{event.id}/registration").json()["unavailable_slots"] == 9
    none = client.put(url, headers=h, json={"available": []}).json()
    assert not any(slot["available"] for slot in none["slots"])


@pytest.mark.parametrize("bad", ["2020-01-01T00:00:00Z", "not a time", "{first_naive}", "{first_plus_minute}"])
def test_availability_outside_the_event_is_refused_and_nothing_stored(client, session, settings, bad):
    event = make_event(session)
    alice = member(session)
    reg = register(session, settings, alice, event)
    first = events.slots_of(event)[0].starts_at
    session.add(EventUnavailableSlot(registration_id=reg.id, starts_at=events.slots_of(event)[3].starts_at))
    session.commit()
    h = api_login(client, alice)
    value = bad.format(first_naive=first.replace(tzinfo=None).isoformat(),
                       first_plus_minute=first.replace(minute=first.minute + 1).isoformat())
    response = client.put(f"/api/v1/events/{event.id}/availability", headers=h,
                          json={"available": [first.isoformat(), value]})
    error = error_of(response, 422, "validation_failed")
    assert "not one of this event's meeting slots" in error["fields"]["available"]
    session.expire_all()
    stored = session.scalars(select(EventUnavailableSlot.starts_at)
                             .where(EventUnavailableSlot.registration_id == reg.id)).all()
    assert stored == [events.slots_of(event)[3].starts_at]


def test_availability_refuses_a_malformed_body(client, session, settings):
    event = make_event(session)
    alice = member(session)
    register(session, settings, alice, event)
    session.commit()
    h = api_login(client, alice)
    url = f"/api/v1/events/{event.id}/availability"
    for payload in ({}, {"available": "all"}, {"unavailable": []}, {"available": [1]}):
        error_of(client.put(url, headers=h, json=payload), 422, "validation_failed")
    assert all(slot["available"] for slot in client.get(url).json()["slots"])


# --- who may do what -----------------------------------------------------------------------------------

OWN_ENDPOINTS = [
    ("post", "/api/v1/events/{id}/registration", {"attendees": PEOPLE}),
    ("get", "/api/v1/events/{id}/registration", None),
    ("put", "/api/v1/events/{id}/registration/attendees", {"attendees": PEOPLE}),
    ("post", "/api/v1/events/{id}/registration/withdraw", None),
    ("get", "/api/v1/events/{id}/availability", None),
    ("put", "/api/v1/events/{id}/availability", {"available": []}),
]


@pytest.fixture
def two_pending(session, settings):
    """Alpha and Beta registered for an event with manual approval (both pending)."""
    event = make_event(session, approval="manual")
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    reg_a, reg_b = register(session, settings, alice, event), register(session, settings, bob, event)
    session.commit()
    return event, alice, bob, reg_a, reg_b


@pytest.mark.parametrize("method, path, payload", OWN_ENDPOINTS)
def test_visitors_get_401(client, session, two_pending, method, path, payload):
    event, alice, bob, reg_a, reg_b = two_pending
    response = client.request(method.upper(), path.format(id=event.id), headers=anonymous_headers(client),
                              json=payload)
    error_of(response, 401, "not_authenticated")
    assert registration_of(session, event, alice).status == "pending" and places(session, event) == 2


def test_another_member_only_ever_reaches_its_own_registration(client, session, two_pending):
    """The member's endpoints take no registration id: Bob's calls act on Beta's registration, never Alpha's."""
    event, alice, bob, reg_a, reg_b = two_pending
    h = api_login(client, bob)
    assert client.get(f"/api/v1/events/{event.id}/registration").json()["id"] == reg_b.id
    client.put(f"/api/v1/events/{event.id}/availability", headers=h, json={"available": []})
    client.post(f"/api/v1/events/{event.id}/registration/withdraw", headers=h)
    alpha = registration_of(session, event, alice)
    assert (alpha.status, alpha.unavailable_slots) == ("pending", [])
    assert registration_of(session, event, bob).status == "withdrawn"


@pytest.mark.parametrize("method, path, payload", [e for e in OWN_ENDPOINTS if e[0] != "get"])
def test_writes_need_the_csrf_header(client, session, two_pending, method, path, payload):
    event, alice, bob, reg_a, reg_b = two_pending
    api_login(client, alice)
    error_of(client.request(method.upper(), path.format(id=event.id), json=payload), 403, "csrf_failed")
    reg = registration_of(session, event, alice)
    assert (reg.status, [a.full_name for a in reg.attendees], reg.unavailable_slots) == (
        "pending", [alice.full_name], [])
    assert places(session, event) == 2
