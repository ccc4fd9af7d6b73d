"""Registrations: register with attendees, every refusal, editing attendees, withdrawal.

The organizer's review, the CSV and authorization per endpoint are in test_registration_review.py; availability in
test_availability.py; the last-place races in test_registration_races.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import (
    Event,
    EventAttendee,
    EventMeeting,
    EventMeetingSeat,
    EventRegistration,
    EventUnavailableSlot,
    Notification,
    OutboxEmail,
)
from models.base import utcnow
from tests.factories import create_organization, create_user, login
from tests.web.events_support import events_csrf_token as _token
from tests.web.events_support import make_event, organizer, register, shift
from tests.web.requests_support import make_match, member, soup
from web.services import events, registrations


def _people(*names, email="a@example.com"):
    return {"attendee_name": list(names), "attendee_title": ["Engineer"] * len(names),
            "attendee_email": [email] * len(names)}


def _post_register(client, event, data):
    return client.post(f"/events/{event.id}/register", data=data | {"csrf_token": _token(client)},
                       follow_redirects=False)


def _registration(session, event, user):
    session.expire_all()
    return session.scalar(select(EventRegistration).where(EventRegistration.event_id == event.id,
                                                          EventRegistration.organization_id == user.organization_id))


def _places(session, event):
    session.expire_all()
    return session.get(Event, event.id).places_taken


def _kinds(session, user):
    return sorted(session.scalars(select(Notification.kind).where(Notification.user_id == user.id)))


# --- registering ----------------------------------------------------------------------------------

def test_register_with_auto_approval_confirms_at_once(client, session):
    boss = organizer(session)
    event = make_event(session, by=boss)
    alice = member(session, "Siam Solar")
    colleague = create_user(session, alice.organization)
    session.commit()
    login(client, alice)
    form = soup(client.get(f"/events/{event.id}/register"))
    assert form.find("input", {"name": "attendee_name"})["value"] == alice.full_name  # the user is suggested
    response = _post_register(client, event, _people("Somchai P.", "Aiko T.", email=""))
    assert response.status_code == 303 and response.headers["location"] == f"/events/{event.id}/registration"
    reg = _registration(session, event, alice)
    assert reg.status == "approved" and reg.decided_at is not None and reg.registered_by_user_id == alice.id
    assert [(a.full_name, a.job_title, a.email) for a in reg.attendees] == [("Somchai P.", "Engineer", ""),
                                                                            ("Aiko T.", "Engineer", "")]
    assert _places(session, event) == 1
    assert _kinds(session, alice) == _kinds(session, colleague) == ["event_registration_approved"]
    assert _kinds(session, boss) == []
    mail = session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == alice.email))
    assert mail.subject == "Registration confirmed: JCM Seminar in Thailand"
    assert "Somchai P., Engineer" in mail.body and f"/events/{event.id}/registration" in mail.body
    page = soup(client.get(f"/events/{event.id}/registration"))
    assert page.find(id="registration-status")["data-status"] == "approved"


def test_register_with_manual_approval_is_pending_and_tells_every_organizer(client, session):
    boss, other_boss = organizer(session), organizer(session)
    event = make_event(session, by=boss, approval="manual")
    alice = member(session, "Siam Solar")
    session.commit()
    login(client, alice)
    assert _post_register(client, event, _people("Somchai P.")).status_code == 303
    reg = _registration(session, event, alice)
    assert reg.status == "pending" and reg.decided_at is None and _places(session, event) == 1
    for user in (boss, other_boss):
        assert _kinds(session, user) == ["event_registration_new"]
        mail = session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == user.email))
        assert mail.subject == "New registration for JCM Seminar in Thailand: Siam Solar"
        assert f"/events/{event.id}/registrations" in mail.body and "1 person will attend" in mail.body
    assert _kinds(session, alice) == []
    note = session.scalar(select(Notification).where(Notification.user_id == boss.id))
    assert (note.event_id, note.organization_id) == (event.id, alice.organization_id)


@pytest.mark.parametrize("data, field, text", [
    ({"attendee_name": [""], "attendee_title": [""], "attendee_email": [""]}, "attendees", "at least one person"),
    ({"attendee_name": [""], "attendee_title": ["CEO"], "attendee_email": [""]}, "attendee-0-name", "full name"),
    ({"attendee_name": ["Aiko"], "attendee_title": [""], "attendee_email": ["not-an-email"]}, "attendee-0-email",
     "valid email"),
    ({"attendee_name": [f"P{i}" for i in range(11)], "attendee_title": [""] * 11, "attendee_email": [""] * 11},
     "attendees", "at most 10"),
])
def test_register_refuses_bad_attendees_and_keeps_them(client, session, data, field, text):
    event = make_event(session)
    alice = member(session)
    session.commit()
    login(client, alice)
    response = _post_register(client, event, data)
    assert response.status_code == 422
    page = soup(response)
    assert text in page.find(id=f"e-{field}").get_text()
    assert [i["value"] for i in page.select("input[name=attendee_name]")] == data["attendee_name"]
    assert session.scalar(select(EventRegistration)) is None and _places(session, event) == 0


def test_attendee_rows_add_and_remove_without_javascript(client, session):
    event = make_event(session)
    alice = member(session)
    session.commit()
    login(client, alice)
    added = _post_register(client, event, _people("Aiko") | {"list_add": "attendees"})
    assert [i["value"] for i in soup(added).select("input[name=attendee_name]")] == ["Aiko", ""]
    removed = _post_register(client, event, _people("Aiko", "Ken") | {"list_remove": "attendees:0"})
    assert [i["value"] for i in soup(removed).select("input[name=attendee_name]")] == ["Ken"]
    assert session.scalar(select(EventRegistration)) is None


def test_register_refused_when_full(client, session, settings):
    event = make_event(session, capacity="1")
    register(session, settings, member(session), event)
    alice = member(session)
    session.commit()
    login(client, alice)
    assert "every place is taken" in soup(client.get(f"/events/{event.id}")).find(id="closed-reason").get_text()
    response = _post_register(client, event, _people("Aiko"))
    assert response.status_code == 409
    page = soup(response)
    assert "full" in page.find(id="register-refusal").get_text()
    assert [i["value"] for i in page.select("input[name=attendee_name]")] == ["Aiko"]  # kept
    assert _registration(session, event, alice) is None and _places(session, event) == 1


def test_register_refused_after_deadline(client, session):
    event = make_event(session)
    event.registration_deadline = utcnow() - timedelta(minutes=1)
    alice = member(session)
    session.commit()
    login(client, alice)
    response = _post_register(client, event, _people("Aiko"))
    assert response.status_code == 409 and "deadline has passed" in response.text
    assert client.get(f"/events/{event.id}/register").status_code == 409
    assert _registration(session, event, alice) is None and _places(session, event) == 0


def test_register_refused_when_event_is_over(client, session):
    event = make_event(session)
    shift(session, event, -60)
    alice = member(session)
    session.commit()
    login(client, alice)
    response = _post_register(client, event, _people("Aiko"))
    assert response.status_code == 409 and "event is over" in response.text
    assert "event is over" in client.get(f"/events/{event.id}").text


def test_register_for_draft_is_unknown_to_members_and_refused_for_organizers(client, session):
    event = make_event(session, publish=False)
    alice = member(session)
    boss = create_user(session, create_organization(session), role="organizer")
    session.commit()
    login(client, alice)
    assert _post_register(client, event, _people("Aiko")).status_code == 404
    client.cookies.clear()
    login(client, boss)
    response = _post_register(client, event, _people("Aiko"))
    assert response.status_code == 409 and "not published" in response.text
    assert session.scalar(select(EventRegistration)) is None


def test_register_twice_shows_the_existing_registration(client, session, settings):
    event = make_event(session)
    alice = member(session)
    register(session, settings, alice, event)
    session.commit()
    login(client, alice)
    response = client.get(f"/events/{event.id}/register", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/events/{event.id}/registration"
    response = _post_register(client, event, _people("Aiko"))
    assert response.status_code == 409 and "already registered" in response.text
    assert soup(response).find("a", href=f"/events/{event.id}/registration") is not None
    assert _places(session, event) == 1 and session.scalar(select(func.count(EventRegistration.id))) == 1


def test_unapproved_organization_cannot_register(client, session):
    event = make_event(session)
    pending = create_user(session, create_organization(session, status="pending"))
    session.commit()
    login(client, pending)
    assert client.get(f"/events/{event.id}/register").status_code == 403
    assert _post_register(client, event, _people("Aiko")).status_code == 403
    assert session.scalar(select(EventRegistration)) is None


def test_declined_organization_cannot_register_again(client, session, settings):
    from web.services import registration_review

    event = make_event(session, approval="manual")
    alice = member(session)
    reg = register(session, settings, alice, event)
    registration_review.reject(session, settings, event, reg.id, "Not a JCM sector")
    session.commit()
    login(client, alice)
    response = _post_register(client, event, _people("Aiko"))
    assert response.status_code == 409 and "declined" in response.text
    assert "Not a JCM sector" in response.text


def test_attendees_can_be_edited(client, session, settings):
    event = make_event(session)
    alice = member(session)
    register(session, settings, alice, event)
    session.commit()
    login(client, alice)
    response = client.post(f"/events/{event.id}/attendees", headers={"HX-Request": "true"},
                           data=_people("Ken", "Mai", email="x@example.com") | {"csrf_token": _token(client)})
    assert response.status_code == 200 and soup(response).find(id="attendees") is not None
    session.expire_all()
    assert session.scalars(select(EventAttendee.full_name).order_by(EventAttendee.id)).all() == ["Ken", "Mai"]
    bad = client.post(f"/events/{event.id}/attendees", data=_people("", email="") | {"csrf_token": _token(client)})
    assert bad.status_code == 422
    assert session.scalars(select(EventAttendee.full_name).order_by(EventAttendee.id)).all() == ["Ken", "Mai"]


# --- withdrawal -------------------------------------------------------------------------------------

def _placed_meeting(session, settings, event, a, b, slot_index, table, published):
    req = make_match(session, settings, a, b)
    start = events.slots_of(event)[slot_index].starts_at
    meeting = EventMeeting(event_id=event.id, request_id=req.id, starts_at=start, table_number=table,
                           published_starts_at=start if published else None,
                           published_table_number=table if published else None, sequence=1 if published else 0)
    session.add(meeting)
    session.flush()
    for org_id in (a.organization_id, b.organization_id):
        session.add(EventMeetingSeat(meeting_id=meeting.id, event_id=event.id, organization_id=org_id, starts_at=start))
    session.flush()
    return meeting


def test_withdraw_frees_the_place_and_takes_meetings_off_the_timetable(client, session, settings):
    event = make_event(session)
    alice, bob, carol, dave = (member(session, name) for name in ("Alpha", "Beta", "Gamma", "Delta"))
    for user in (alice, bob, carol, dave):
        register(session, settings, user, event)
    published = _placed_meeting(session, settings, event, alice, bob, 0, 1, True)
    working = _placed_meeting(session, settings, event, carol, alice, 1, 2, False)
    untouched = _placed_meeting(session, settings, event, carol, dave, 2, 1, True)
    session.commit()
    login(client, alice)
    response = client.post(f"/events/{event.id}/withdraw", data={"csrf_token": _token(client)}, follow_redirects=False)
    assert response.status_code == 303
    reg = _registration(session, event, alice)
    assert reg.status == "withdrawn" and reg.withdrawn_at is not None and _places(session, event) == 3
    for meeting in (published, working):
        meeting = session.get(EventMeeting, meeting.id)
        assert (meeting.starts_at, meeting.table_number, meeting.unplaced_reason) == (None, None, "withdrawn")
        assert meeting.seats == []
    kept = session.get(EventMeeting, untouched.id)
    assert kept.starts_at is not None and len(kept.seats) == 2
    # Only the published meeting was known to the other side: Beta is told, Gamma (working copy) is not.
    assert _kinds(session, bob).count("event_meeting_cancelled") == 1
    assert "event_meeting_cancelled" not in _kinds(session, carol) + _kinds(session, dave)
    note = session.scalar(select(Notification).where(Notification.user_id == bob.id,
                                                     Notification.kind == "event_meeting_cancelled"))
    assert note.dedupe_key == f"event_meeting_cancelled:{published.id}:1:user:{bob.id}"
    subjects = session.scalars(select(OutboxEmail.subject).where(OutboxEmail.to_address == bob.email)).all()
    assert "Off the timetable: your meeting with Alpha at JCM Seminar in Thailand" in subjects
    # A second withdrawal changes nothing and frees no second place.
    again = client.post(f"/events/{event.id}/withdraw", data={"csrf_token": _token(client)})
    assert again.status_code == 409 and _places(session, event) == 3


def test_register_again_after_withdrawal_reuses_the_row(client, session, settings):
    event = make_event(session)
    alice = member(session)
    first = register(session, settings, alice, event)
    session.add(EventUnavailableSlot(registration_id=first.id, starts_at=events.slots_of(event)[0].starts_at))
    registrations.withdraw(session, settings, alice, event.id)
    session.commit()
    login(client, alice)
    page = soup(client.get(f"/events/{event.id}"))
    assert page.find(id="register-button").get_text(strip=True) == "Register again"
    assert _post_register(client, event, _people("Aiko")).status_code == 303
    reg = _registration(session, event, alice)
    assert reg.id == first.id and reg.status == "approved" and reg.withdrawn_at is None
    assert [a.full_name for a in reg.attendees] == ["Aiko"] and reg.unavailable_slots == []
    assert _places(session, event) == 1
