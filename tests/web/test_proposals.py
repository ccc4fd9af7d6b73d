"""Meetings outside events: propose, confirm, decline, withdraw, cancel; conflicts and authorization."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from sqlalchemy import select

from models import MeetingProposal, Notification, OutboxEmail, User
from tests.conftest import csrf_token
from tests.factories import create_user, login
from tests.web.agenda_support import TOKYO, at, confirmed_meeting, matched_pair, option, propose
from tests.web.requests_support import HTMX, headers, logged_in, make_match, make_request, member, soup
from web.errors import Forbidden
from web.services import proposals


def _form(token: str, *options: dict[str, str], message: str = "Let us meet.") -> dict[str, str]:
    data = {"csrf_token": token, "message": message}
    for n, values in enumerate(options, start=1):
        data |= {f"{name}_{n}": value for name, value in values.items()}
    return data


def _notes(session, kind: str) -> list[Notification]:
    session.expire_all()
    return list(session.scalars(select(Notification).where(Notification.kind == kind)))


@HTMX
def test_propose_stores_options_in_the_proposers_zone_and_notifies(client, session, settings, htmx):
    alice, bob, req = matched_pair(session, settings)
    session.commit()
    token = logged_in(client, alice)
    first, second = at(TOKYO, 3, 10), at(TOKYO, 4, 15, 30)
    response = client.post(f"/matches/{req.id}/proposals", headers=headers(htmx), follow_redirects=False,
                           data=_form(token, option(first, 45), option(second, 60, online_url="https://meet.example.com/j")))
    proposal = session.scalar(select(MeetingProposal))
    assert (proposal.status, proposal.active_key, proposal.time_zone) == ("open", req.id, TOKYO)
    assert [(o.starts_at, o.ends_at - o.starts_at) for o in proposal.options] == [
        (first.astimezone(timezone.utc), timedelta(minutes=45)), (second.astimezone(timezone.utc), timedelta(hours=1))]
    assert proposal.options[1].online_url == "https://meet.example.com/j"
    assert proposal.message == "Let us meet." and proposal.proposed_by_user_id == alice.id
    if htmx:
        assert response.status_code == 200
        panel = soup(response).find(id="meeting")
        assert panel is not None and panel.find("form", action=f"/matches/{req.id}/proposals/{proposal.id}/withdraw")
    else:
        assert response.status_code == 303 and response.headers["location"] == f"/matches/{req.id}#meeting"
    assert [n.user_id for n in _notes(session, "meeting_proposed")] == [bob.id]
    email = session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == bob.email,
                                                     OutboxEmail.subject.contains("proposed")))
    assert "Alpha Energy proposed times" in email.body and "https://meet.example.com/j" in email.body


@HTMX
def test_propose_with_bad_input_keeps_everything_typed(client, session, settings, htmx):
    alice, _bob, req = matched_pair(session, settings)
    session.commit()
    token = logged_in(client, alice)
    good = option(at(TOKYO, 3, 10), location="Our office")
    bad = option(at(TOKYO, 4, 16), online_url="zoom meeting") | {"location": ""}
    response = client.post(f"/matches/{req.id}/proposals", headers=headers(htmx),
                           data=_form(token, good, bad, message="Two ideas"))
    assert response.status_code == 422
    page = soup(response)
    assert page.find(id="e-online_url_2") is not None
    assert page.find(id="e-date_1") is None
    assert page.find("input", {"name": "date_1"})["value"] == good["date"]
    assert page.find("input", {"name": "location_1"})["value"] == "Our office"
    assert page.find("input", {"name": "online_url_2"})["value"] == "zoom meeting"
    assert page.find("input", {"name": "start_2"})["value"] == "16:00"
    assert page.find("textarea", {"name": "message"}).get_text() == "Two ideas"
    assert page.find("details", class_="propose").has_attr("open")
    assert session.scalar(select(MeetingProposal)) is None


def test_propose_with_duration_keeps_the_chosen_duration_on_error(client, session, settings):
    alice, _bob, req = matched_pair(session, settings)
    session.commit()
    token = logged_in(client, alice)
    raw = option(at(TOKYO, 3, 10), 90, use_end=False) | {"location": ""}
    response = client.post(f"/matches/{req.id}/proposals", data=_form(token, raw))
    assert response.status_code == 422
    selected = soup(response).find("select", {"name": "duration_1"}).find("option", selected=True)
    assert selected["value"] == "90"


@pytest.mark.parametrize("second_side", ["same", "other"])
def test_second_live_proposal_is_refused_with_409(client, session, settings, second_side):
    alice, bob, req = matched_pair(session, settings)
    propose(session, settings, alice, req, at(TOKYO, 3, 10))
    session.commit()
    token = logged_in(client, alice if second_side == "same" else bob)
    response = client.post(f"/matches/{req.id}/proposals", data=_form(token, option(at(TOKYO, 5, 10))))
    assert response.status_code == 409
    assert "already a proposal" in soup(response).find(id="proposal-error").get_text()
    assert len(session.scalars(select(MeetingProposal)).all()) == 1


def test_two_proposals_at_once_only_one_lands(session_factory, settings):
    with session_factory() as session:
        alice, bob, req = matched_pair(session, settings)
        session.commit()
        ids = (alice.id, bob.id, req.id)
    # Both processes have loaded their user before either writes; no check in Python can see the other's row,
    # the unique active_key decides.
    with session_factory() as first, session_factory() as second:
        a, b = first.get(User, ids[0]), second.get(User, ids[1])
        proposals.propose_meeting(first, settings, a, ids[2], [option(at(TOKYO, 3, 10))])
        first.commit()
        with pytest.raises(proposals.ProposalConflict):
            proposals.propose_meeting(second, settings, b, ids[2], [option(at(TOKYO, 4, 10))])
        second.rollback()
    with session_factory() as session:
        assert [p.proposed_by_org_id for p in session.scalars(select(MeetingProposal))] == [a.organization_id]


def test_a_proposal_needs_an_accepted_match(client, session, settings):
    alice, bob = member(session), member(session)
    req = make_request(session, settings, alice, bob)
    session.commit()
    token = logged_in(client, alice)
    response = client.post(f"/matches/{req.id}/proposals", data=_form(token, option(at(TOKYO, 3, 10))))
    assert response.status_code == 404


# --- answering ----------------------------------------------------------------------------------------------------

@HTMX
def test_confirm_one_time_puts_the_meeting_in_both_agendas(client, session, settings, htmx):
    alice, bob, req = matched_pair(session, settings)
    proposal = propose(session, settings, alice, req, at(TOKYO, 3, 10), at(TOKYO, 4, 11))
    chosen = proposal.options[1]
    session.commit()
    token = logged_in(client, bob)
    response = client.post(f"/matches/{req.id}/proposals/{proposal.id}/confirm", headers=headers(htmx),
                           data={"csrf_token": token, "option_id": chosen.id}, follow_redirects=False)
    assert response.status_code == (200 if htmx else 303)
    session.expire_all()
    proposal = session.get(MeetingProposal, proposal.id)
    assert (proposal.status, proposal.confirmed_option_id, proposal.active_key) == ("confirmed", chosen.id, req.id)
    assert [n.user_id for n in _notes(session, "meeting_confirmed")] == [alice.id]
    for user in (bob, alice):
        client.cookies.clear()
        login(client, user)
        item = soup(client.get("/agenda")).find(id=f"agenda-meeting-{proposal.id}")
        assert item is not None and "Head office, Tokyo" in item.get_text()


def test_confirm_without_choosing_says_so(client, session, settings):
    alice, bob, req = matched_pair(session, settings)
    proposal = propose(session, settings, alice, req, at(TOKYO, 3, 10), at(TOKYO, 4, 11))
    session.commit()
    token = logged_in(client, bob)
    response = client.post(f"/matches/{req.id}/proposals/{proposal.id}/confirm", data={"csrf_token": token},
                           headers=headers(True))
    assert response.status_code == 422
    page = soup(response)
    assert page.find(id="e-option_id") is not None and page.find(id="proposal-error") is None
    assert session.get(MeetingProposal, proposal.id).status == "open"


def test_confirm_a_time_that_has_passed_is_refused(session, settings):
    alice, bob, req = matched_pair(session, settings)
    proposal = propose(session, settings, alice, req, at(TOKYO, 3, 10))
    with pytest.raises(proposals.ProposalConflict, match="passed"):
        proposals.confirm_proposal(session, settings, bob, req.id, proposal.id, proposal.options[0].id,
                                   now=proposal.options[0].starts_at + timedelta(minutes=1))


@HTMX
def test_decline_frees_the_match_for_new_times(client, session, settings, htmx):
    alice, bob, req = matched_pair(session, settings)
    proposal = propose(session, settings, alice, req, at(TOKYO, 3, 10))
    session.commit()
    token = logged_in(client, bob)
    response = client.post(f"/matches/{req.id}/proposals/{proposal.id}/decline", headers=headers(htmx),
                           data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == (200 if htmx else 303)
    session.expire_all()
    assert (session.get(MeetingProposal, proposal.id).status, session.get(MeetingProposal, proposal.id).active_key) == (
        "declined", None)
    assert [n.user_id for n in _notes(session, "meeting_cancelled")] == [alice.id]
    email = session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == alice.email,
                                                     OutboxEmail.subject.contains("cancelled")))
    assert "declined the meeting times you proposed" in email.body
    response = client.post(f"/matches/{req.id}/proposals", data=_form(token, option(at(TOKYO, 6, 10))),
                           follow_redirects=False)
    assert response.status_code == 303


@HTMX
def test_withdraw_by_the_proposer(client, session, settings, htmx):
    alice, bob, req = matched_pair(session, settings)
    proposal = propose(session, settings, alice, req, at(TOKYO, 3, 10))
    session.commit()
    token = logged_in(client, alice)
    response = client.post(f"/matches/{req.id}/proposals/{proposal.id}/withdraw", headers=headers(htmx),
                           data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == (200 if htmx else 303)
    session.expire_all()
    assert session.get(MeetingProposal, proposal.id).status == "withdrawn"
    assert [n.user_id for n in _notes(session, "meeting_cancelled")] == [bob.id]
    if htmx:
        assert soup(response).find("form", action=f"/matches/{req.id}/proposals") is not None


def test_each_side_may_only_do_its_own_part(session, settings):
    alice, bob, req = matched_pair(session, settings)
    proposal = propose(session, settings, alice, req, at(TOKYO, 3, 10))
    with pytest.raises(Forbidden):
        proposals.confirm_proposal(session, settings, alice, req.id, proposal.id, proposal.options[0].id)
    with pytest.raises(Forbidden):
        proposals.decline_proposal(session, settings, alice, req.id, proposal.id)
    with pytest.raises(Forbidden):
        proposals.withdraw_proposal(session, settings, bob, req.id, proposal.id)
    assert session.get(MeetingProposal, proposal.id).status == "open"


@HTMX
def test_answering_an_answered_proposal_is_409_in_place(client, session, settings, htmx):
    alice, bob, req = matched_pair(session, settings)
    proposal = propose(session, settings, alice, req, at(TOKYO, 3, 10))
    option_id = proposal.options[0].id
    session.commit()
    token = logged_in(client, bob)
    proposals.withdraw_proposal(session, settings, alice, req.id, proposal.id)  # while bob's page is open
    session.commit()
    response = client.post(f"/matches/{req.id}/proposals/{proposal.id}/confirm", headers=headers(htmx),
                           data={"csrf_token": token, "option_id": option_id})
    assert response.status_code == 409
    assert "no longer open" in soup(response).find(id="proposal-error").get_text()
    assert session.get(MeetingProposal, proposal.id).status == "withdrawn"


@pytest.mark.parametrize("canceller", ["proposer", "other"])
def test_either_side_cancels_a_confirmed_meeting(client, session, settings, canceller):
    alice, bob, req = matched_pair(session, settings)
    proposal = confirmed_meeting(session, settings, alice, bob, req, at(TOKYO, 3, 10))
    session.commit()
    actor, other = (alice, bob) if canceller == "proposer" else (bob, alice)
    token = logged_in(client, actor)
    response = client.post(f"/matches/{req.id}/proposals/{proposal.id}/cancel", data={"csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    session.expire_all()
    proposal = session.get(MeetingProposal, proposal.id)
    assert (proposal.status, proposal.active_key, proposal.sequence) == ("cancelled", None, 1)
    assert [n.user_id for n in _notes(session, "meeting_cancelled")] == [other.id]
    assert soup(client.get("/agenda")).find(id=f"agenda-meeting-{proposal.id}") is None


def test_a_meeting_that_has_started_cannot_be_cancelled(session, settings):
    alice, bob, req = matched_pair(session, settings)
    proposal = confirmed_meeting(session, settings, alice, bob, req, at(TOKYO, 3, 10))
    with pytest.raises(proposals.ProposalConflict, match="started"):
        proposals.cancel_confirmed_meeting(session, settings, bob, req.id, proposal.id,
                                           now=proposal.options[0].starts_at + timedelta(minutes=5))


def test_after_a_meeting_has_taken_place_a_follow_up_can_be_proposed(session, settings):
    alice, bob, req = matched_pair(session, settings)
    proposal = confirmed_meeting(session, settings, alice, bob, req, at(TOKYO, 3, 10))
    later = proposal.options[0].ends_at + timedelta(minutes=1)
    follow_up = proposals.propose_meeting(session, settings, bob, req.id, [option(at(TOKYO, 9, 10))], now=later)
    session.expire_all()
    assert (session.get(MeetingProposal, proposal.id).status, session.get(MeetingProposal, proposal.id).active_key) == (
        "confirmed", None)
    assert follow_up.active_key == req.id


# --- the match page and who may act -------------------------------------------------------------------------------

def test_match_page_shows_the_panel_to_each_side(client, session, settings):
    alice, bob, req = matched_pair(session, settings)
    proposal = propose(session, settings, alice, req, at(TOKYO, 3, 10), at(TOKYO, 4, 11))
    session.commit()
    login(client, bob)
    panel = soup(client.get(f"/matches/{req.id}")).find(id="meeting")
    assert len(panel.find_all("input", {"name": "option_id"})) == 2
    assert panel.find("form", action=f"/matches/{req.id}/proposals/{proposal.id}/decline") is not None
    client.cookies.clear()
    login(client, alice)
    panel = soup(client.get(f"/matches/{req.id}")).find(id="meeting")
    assert panel.find("input", {"name": "option_id"}) is None
    assert panel.find("form", action=f"/matches/{req.id}/proposals/{proposal.id}/withdraw") is not None


def test_match_page_without_a_proposal_offers_the_form(client, session, settings):
    alice, _bob, req = matched_pair(session, settings)
    session.commit()
    login(client, alice)
    panel = soup(client.get(f"/matches/{req.id}")).find(id="meeting")
    form = panel.find("form", action=f"/matches/{req.id}/proposals")
    assert form is not None and form.find("input", {"name": "csrf_token"})["value"]
    assert TOKYO in panel.get_text()  # the zone the times are read in


def _scenario(session, settings):
    alice, bob, req = matched_pair(session, settings)
    proposal = propose(session, settings, alice, req, at(TOKYO, 3, 10))
    stranger = member(session, "Gamma")
    organizer = create_user(session, None, role="organizer")
    session.commit()
    return alice, bob, req, proposal, stranger, organizer


ACTIONS = ["proposals", "proposals/{p}/confirm", "proposals/{p}/decline", "proposals/{p}/withdraw",
           "proposals/{p}/cancel"]


@pytest.mark.parametrize("action", ACTIONS)
def test_anonymous_visitors_are_sent_to_log_in(client, session, settings, action):
    _a, _b, req, proposal, *_ = _scenario(session, settings)
    token = csrf_token(client, "/login")
    response = client.post(f"/matches/{req.id}/" + action.format(p=proposal.id), data={"csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert client.get(f"/matches/{req.id}/meeting", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("action", ACTIONS)
def test_another_member_cannot_see_or_act(client, session, settings, action):
    _a, _b, req, proposal, stranger, _o = _scenario(session, settings)
    token = logged_in(client, stranger)
    response = client.post(f"/matches/{req.id}/" + action.format(p=proposal.id),
                           data=_form(token, option(at(TOKYO, 5, 10))) | {"option_id": proposal.options[0].id})
    assert response.status_code == 404
    assert client.get(f"/matches/{req.id}/meeting").status_code == 404
    session.expire_all()
    assert [p.status for p in session.scalars(select(MeetingProposal))] == ["open"]


@pytest.mark.parametrize("action", ACTIONS)
def test_an_organizer_sees_the_meeting_but_cannot_act(client, session, settings, action):
    _a, _b, req, proposal, _s, organizer = _scenario(session, settings)
    token = logged_in(client, organizer)
    response = client.post(f"/matches/{req.id}/" + action.format(p=proposal.id),
                           data=_form(token, option(at(TOKYO, 5, 10))) | {"option_id": proposal.options[0].id})
    assert response.status_code == 403
    page = client.get(f"/matches/{req.id}/meeting")
    assert page.status_code == 200
    assert soup(page).find(id="meeting").find("form") is None
    session.expire_all()
    assert [p.status for p in session.scalars(select(MeetingProposal))] == ["open"]


def test_proposal_of_another_match_is_404(client, session, settings):
    alice, bob, req = matched_pair(session, settings)
    carol = member(session, "Carol")
    other_req = make_match(session, settings, alice, carol)
    proposal = propose(session, settings, alice, other_req, at(TOKYO, 3, 10))
    session.commit()
    token = logged_in(client, bob)
    response = client.post(f"/matches/{req.id}/proposals/{proposal.id}/decline", data={"csrf_token": token})
    assert response.status_code == 404


def test_proposal_posts_need_the_csrf_token(client, session, settings):
    alice, _bob, req = matched_pair(session, settings)
    session.commit()
    login(client, alice)
    response = client.post(f"/matches/{req.id}/proposals", data=_form("", option(at(TOKYO, 3, 10))))
    assert response.status_code == 403
    assert session.scalar(select(MeetingProposal)) is None


def test_times_show_in_the_meetings_zone_and_the_viewers(client, session, settings):
    alice, bob, req = matched_pair(session, settings, time_zone="America/Santiago")
    propose(session, settings, alice, req, at(TOKYO, 3, 10))
    session.commit()
    login(client, bob)
    panel = soup(client.get(f"/matches/{req.id}")).find(id="meeting")
    own, viewer = panel.find(class_="when-own").get_text(" ", strip=True), panel.find(class_="when-viewer").get_text()
    assert "10:00 AM JST" in own and TOKYO in own
    assert "10:00 PM -03" in viewer  # the evening before in Santiago (summer time, UTC-3)
