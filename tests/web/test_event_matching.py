"""Matchmaking at an event: participants ranked for a confirmed participant, their states, event-tied requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import EventMeeting, MeetingRequest, User
from models.base import utcnow
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from tests.web.timetable_support import create_event, event_match, participant, register
from tests.web.matching_support import embed, make_market, member_of
from tests.web.requests_support import HTMX, headers, logged_in, make_match, make_request, member, soup
from web.services import requests


@pytest.fixture
def seminar(session, session_factory, embedder):
    """The hand-made market at a seminar: the textile plant, the chiller maker, the bank and a brewery attend;
    the waste and solar firms do not (the solar firm only has a pending registration)."""
    orgs = make_market(session)
    event = create_event(session)
    for name in ("textile", "chiller", "bank", "other_host"):
        register(session, event, orgs[name])
        member_of(session, orgs[name])  # a registered organization has someone who registered it
    register(session, event, orgs["solar"], status="pending")
    user = session.scalars(select(User).where(User.organization_id == orgs["textile"].id)).one()
    session.commit()
    embed(session_factory, embedder)
    return event, orgs, user


def _rows(response):
    return soup(response).select("#participants li.participant")


def _names(response):
    return [row.select_one("h3 a").get_text(strip=True) for row in _rows(response)]


@HTMX
def test_participants_ranked_among_event_participants_only(client, seminar, htmx):
    event, orgs, user = seminar
    login(client, user)
    response = client.get(f"/events/{event.id}/participants", headers=headers(htmx))
    assert response.status_code == 200
    page = soup(response)
    assert (page.select_one("h1") is None) == htmx
    names = _names(response)
    # Kansai Waste Power and Rising Sun Solar would be recommended elsewhere but are not confirmed here.
    assert names[0] == "Nippon Chiller Works"
    assert "Kansai Waste Power" not in names and "Rising Sun Solar" not in names
    assert "Siam Textile Dyeing" not in names  # never oneself
    first = _rows(response)[0]
    assert first.select_one("meter") is not None
    assert any("chiller" in li.get_text().lower() for li in first.select(".match-reasons li"))
    # The other host is on the same side: listed after the ranked ones, marked, without a score.
    brewery = page.find(id=f"participant-{orgs['other_host'].id}")
    assert brewery.select_one("meter") is None
    assert brewery.select_one(".unranked-note")["data-unranked"] == "same_side"
    assert names.index("Hanoi Brewery") > names.index("Tokyo Green Bank")


def test_participants_without_vectors_come_last_marked(client, session, seminar):
    event, orgs, user = seminar
    newcomer = create_organization(session, name="Aaa Newcomer Cooling", kind="japanese_company", country="JP",
                                   offers=["Chillers"])
    register(session, event, newcomer)
    session.commit()  # registered after the embedding ran: no vectors yet
    login(client, user)
    response = client.get(f"/events/{event.id}/participants")
    rows = _rows(response)
    ranked = [i for i, row in enumerate(rows) if row.select_one("meter") is not None]
    position = _names(response).index("Aaa Newcomer Cooling")  # alphabetically first...
    assert ranked and position > max(ranked)  # ...yet after every ranked participant
    row = soup(response).find(id=f"participant-{newcomer.id}")
    assert row.select_one(".unranked-note")["data-unranked"] == "preparing"
    assert row.select_one("form#event-request-%d" % newcomer.id) is not None  # can still be asked


def test_participants_listed_by_name_while_viewer_profile_is_prepared(client, session, seminar):
    event, orgs, _user = seminar
    late = create_organization(session, name="Late Host", kind="partner_company", country="TH",
                               description="A rice mill that signed up an hour ago.")
    register(session, event, late)
    viewer = create_user(session, late)
    session.commit()
    login(client, viewer)
    response = client.get(f"/events/{event.id}/participants")
    assert response.status_code == 200
    page = soup(response)
    assert "still being prepared" in page.select_one("#participants .flash").get_text()
    assert _names(response) == sorted(_names(response), key=str.casefold)
    assert {row.select_one(".unranked-note")["data-unranked"] for row in _rows(response)} == {"preparing"}


def test_participant_rows_show_state_with_each_organization(client, session, settings, seminar):
    event, orgs, user = seminar
    chiller = member_of(session, orgs["chiller"])
    bank = member_of(session, orgs["bank"])
    brewery = member_of(session, orgs["other_host"])
    make_request(session, settings, user, bank, event_id=event.id)  # requested by us
    make_request(session, settings, brewery, user)  # requested by them, not tied to the event
    meeting = event_match(session, settings, event, chiller, user)
    session.commit()
    login(client, user)
    page = soup(client.get(f"/events/{event.id}/participants"))

    def state(org):
        return page.find(id=f"participant-{org.id}").select_one(".participant-state")

    assert state(orgs["chiller"])["data-state"] == "accepted"
    assert "Waiting for the timetable" in state(orgs["chiller"]).get_text()
    assert state(orgs["bank"])["data-state"] == "requested_by_us"
    assert state(orgs["other_host"])["data-state"] == "requested_by_them"
    assert "not tied to this event" in state(orgs["other_host"]).get_text()
    assert state(orgs["bank"]).find("form") is None

    # Published placements are shown with the time in the event's zone and the table.
    starts = event.starts_at + timedelta(minutes=40)
    meeting.starts_at = meeting.published_starts_at = starts
    meeting.table_number = meeting.published_table_number = 2
    meeting.published_at = utcnow()
    session.commit()
    page = soup(client.get(f"/events/{event.id}/participants"))
    text = state(orgs["chiller"]).get_text(" ", strip=True)
    assert state(orgs["chiller"])["data-state"] == "scheduled"
    assert "10:40–11:00 JST" in text and "Table 2" in text


def test_participant_without_request_offers_request_at_event(client, session, seminar):
    event, orgs, user = seminar
    login(client, user)
    row = soup(client.get(f"/events/{event.id}/participants")).find(id=f"participant-{orgs['chiller'].id}")
    form = row.select_one(f"form#event-request-{orgs['chiller'].id}")
    assert form["action"] == "/requests/new" and form["method"] == "get"
    assert {i["name"]: i["value"] for i in form.select("input")} == {"to": str(orgs["chiller"].id),
                                                                     "event_id": str(event.id)}
    assert "Request a meeting at this event" in form.get_text()
    page = soup(client.get(f"/requests/new?to={orgs['chiller'].id}&event_id={event.id}"))
    assert "JCM Seminar Bangkok" in page.select_one("#request-event").get_text()
    assert page.select_one("#request-event input[name=event_id]")["value"] == str(event.id)


def test_participants_filter_by_name_and_kind(client, seminar):
    event, _orgs, user = seminar
    login(client, user)
    assert _names(client.get(f"/events/{event.id}/participants?q=bank")) == ["Tokyo Green Bank"]
    assert _names(client.get(f"/events/{event.id}/participants?kind=partner_company",
                             headers=headers(True))) == ["Hanoi Brewery"]


def test_organizer_sees_all_participants_by_name_with_meeting_counts(client, session, settings, seminar):
    event, orgs, user = seminar
    event_match(session, settings, event, member_of(session, orgs["chiller"]), user)
    organizer = create_user(session, None, role="organizer")
    session.commit()
    login(client, organizer)
    response = client.get(f"/events/{event.id}/participants")
    assert response.status_code == 200
    assert _names(response) == ["Hanoi Brewery", "Nippon Chiller Works", "Siam Textile Dyeing", "Tokyo Green Bank"]
    row = soup(response).find(id=f"participant-{orgs['chiller'].id}")
    assert "1 meeting at this event" in row.get_text() and row.find("form") is None


def test_participants_page_authorization(client, session, seminar):
    event, orgs, _user = seminar
    path = f"/events/{event.id}/participants"
    anonymous = client.get(path, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")

    outsider = member_of(session, orgs["waste"])  # approved member, not registered
    waiting = member_of(session, orgs["solar"])  # registration pending
    unapproved = create_user(session, create_organization(session, status="pending"))
    session.commit()
    for who, text in ((outsider, "Register your organization"), (waiting, "waiting for the organizers"),
                      (unapproved, "approved organization")):
        client.cookies.clear()
        login(client, who)
        response = client.get(path)
        assert response.status_code == 403 and text in response.text


def test_participants_of_draft_or_unknown_event_is_404_for_members(client, session, seminar):
    event, _orgs, user = seminar
    draft = create_event(session, status="draft", published_at=None)
    register(session, draft, user.organization)
    session.commit()
    login(client, user)
    assert client.get(f"/events/{draft.id}/participants").status_code == 404
    assert client.get("/events/999999/participants").status_code == 404


# --- Requests tied to an event -------------------------------------------------------------------------------


@pytest.fixture
def pair(session):
    """Two confirmed participants of a published event."""
    event = create_event(session)
    alice = participant(session, event, "Alpha")
    bob = participant(session, event, "Beta")
    session.commit()
    return event, alice, bob


def _send(client, token, to, event_id, message="Meet at the seminar?"):
    return client.post("/requests/new", data={"to": to, "message": message, "topics": "chillers",
                                              "event_id": event_id, "csrf_token": token}, follow_redirects=False)


def test_event_request_is_sent_and_tied_to_the_event(client, session, pair):
    event, alice, bob = pair
    token = logged_in(client, alice)
    response = _send(client, token, bob.organization_id, event.id)
    assert response.status_code == 303
    req = session.scalar(select(MeetingRequest))
    assert req.event_id == event.id and req.status == "pending"


@pytest.mark.parametrize("case, text", [
    ("draft", "There is no such event."),
    ("unknown", "There is no such event."),
    ("over", "is over"),
    ("sender_pending", "still waiting for approval"),
    ("sender_unregistered", "not registered for"),
    ("recipient_withdrawn", "is not a confirmed participant"),
    ("recipient_rejected", "is not a confirmed participant"),
])
def test_event_request_refused_with_message_beside_event(client, session, case, text):
    event = create_event(session)
    status = {"sender_pending": "pending"}.get(case, "approved")
    alice = member(session, "Alpha") if case == "sender_unregistered" else participant(session, event, "Alpha", status)
    bob = participant(session, event, "Beta", {"recipient_withdrawn": "withdrawn",
                                               "recipient_rejected": "rejected"}.get(case, "approved"))
    event_id = event.id
    if case == "draft":
        event.status = "draft"
    elif case == "unknown":
        event_id = 999999
    elif case == "over":
        event.starts_at -= timedelta(days=30)
        event.ends_at -= timedelta(days=30)
    session.commit()
    token = logged_in(client, alice)
    response = _send(client, token, bob.organization_id, event_id, message="Typed with care")
    assert response.status_code == 422
    page = soup(response)
    assert text in page.select_one("#e-event_id").get_text()
    assert page.select_one("textarea[name=message]").get_text() == "Typed with care"
    assert page.select_one("input[name=topics]")["value"] == "chillers"
    # The sender may keep the event or send an ordinary request instead.
    assert sorted(i["value"] for i in page.select("#request-event input[name=event_id]")) == ["", str(event_id)]
    assert session.scalar(select(MeetingRequest)) is None
    # The form says it before anything is typed, too.
    form = soup(client.get(f"/requests/new?to={bob.organization_id}&event_id={event_id}"))
    assert text in form.select_one("#e-event_id").get_text()


def test_event_request_refused_when_pair_already_meets_there(client, session, settings, pair):
    event, alice, bob = pair
    event_match(session, settings, event, alice, bob)
    session.commit()
    token = logged_in(client, bob)
    response = _send(client, token, alice.organization_id, event.id)
    assert response.status_code == 422
    assert "already have a meeting with Alpha" in soup(response).select_one("#e-event_id").get_text()


def test_refused_event_request_can_be_sent_without_the_event(client, session, pair):
    event, alice, _bob = pair
    carol = member(session, "Gamma")  # not registered
    session.commit()
    token = logged_in(client, alice)
    assert _send(client, token, carol.organization_id, event.id).status_code == 422
    response = _send(client, token, carol.organization_id, "")
    assert response.status_code == 303
    assert session.scalar(select(MeetingRequest)).event_id is None


def test_bad_message_and_bad_event_are_both_reported(client, session, pair):
    event, alice, _bob = pair
    carol = member(session, "Gamma")
    session.commit()
    token = logged_in(client, alice)
    page = soup(_send(client, token, carol.organization_id, event.id, message=""))
    assert page.select_one("#e-message") is not None and page.select_one("#e-event_id") is not None


def test_accepting_event_request_creates_unplaced_event_meeting(session, settings, pair):
    event, alice, bob = pair
    req = make_request(session, settings, alice, bob, event_id=event.id)
    assert session.scalar(select(EventMeeting)) is None
    requests.accept_meeting(session, settings, bob, req.id)
    meeting = session.scalar(select(EventMeeting))
    assert (meeting.event_id, meeting.request_id) == (event.id, req.id)
    assert meeting.starts_at is None and meeting.table_number is None and not meeting.pinned
    assert meeting.unplaced_reason == "" and not meeting.is_published and meeting.sequence == 0


def test_accepting_ordinary_request_creates_no_event_meeting(session, settings, pair):
    _event, alice, bob = pair
    make_match(session, settings, alice, bob)
    assert session.scalar(select(EventMeeting)) is None


def test_accepting_after_event_is_over_creates_no_event_meeting(session, settings, pair):
    event, alice, bob = pair
    req = make_request(session, settings, alice, bob, event_id=event.id)
    event.starts_at -= timedelta(days=30)
    event.ends_at -= timedelta(days=30)
    session.flush()
    assert requests.accept_meeting(session, settings, bob, req.id).status == "accepted"
    assert session.scalar(select(EventMeeting)) is None


def test_accept_through_page_creates_event_meeting(client, session, settings, pair):
    event, alice, bob = pair
    req = make_request(session, settings, alice, bob, event_id=event.id)
    session.commit()
    token = logged_in(client, bob)
    response = client.post(f"/requests/{req.id}/accept", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert session.scalar(select(EventMeeting).where(EventMeeting.request_id == req.id)) is not None
    # The requester's participant row now says the meeting waits for the timetable.
    client.cookies.clear()
    login(client, alice)
    row = soup(client.get(f"/events/{event.id}/participants")).find(id=f"participant-{bob.organization_id}")
    assert row.select_one(".participant-state")["data-state"] == "accepted"
    assert csrf_token(client, f"/events/{event.id}/participants")


def test_event_request_through_api_is_refused_with_field(client, session, pair):
    event, alice, _bob = pair
    carol = member(session, "Gamma")  # not registered
    session.commit()
    login(client, alice)
    token = client.get("/api/v1/me").json()["csrf_token"]
    response = client.post("/api/v1/requests", headers={"X-CSRF-Token": token},
                           json={"to_organization_id": carol.organization_id, "message": "Hello",
                                 "event_id": event.id})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["fields"]["event_id"] == "Gamma is not a confirmed participant of JCM Seminar Bangkok."
    assert session.scalar(select(MeetingRequest)) is None
