"""Invitations: requests to organizations nobody answers for, organizer invites, claiming with the emailed link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Invitation, MeetingRequest, OutboxEmail, User
from models.base import utcnow
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from tests.web.requests_support import HTMX, headers, logged_in, make_request, member, soup
from web.security import token_digest
from web.services import invitations

LINK_RE = re.compile(r"http://testserver/invitations/([A-Za-z0-9_-]+)")
CLAIM = {"full_name": "Tran Thi Mai", "password": "a long secret phrase", "password_confirm": "a long secret phrase",
         "language": "en", "time_zone": "Asia/Ho_Chi_Minh"}


def unclaimed(session, **overrides):
    """An approved organization without any account (as imported or demo organizations are)."""
    values = {"name": "Da Nang Cement", "kind": "partner_company", "country": "VN", "contact_name": "Tran Thi Mai",
              "contact_email": "mai@dananggroup.example"}
    return create_organization(session, **(values | overrides))


def invitation_mails(session, address):
    return list(session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == address).order_by(OutboxEmail.id)))


def token_from(mail) -> str:
    return LINK_RE.search(mail.body).group(1)


def send_request(client, token, org_id, message="We supply waste heat recovery for cement kilns."):
    return client.post("/requests/new", data={"to": org_id, "message": message, "csrf_token": token},
                       follow_redirects=False)


# --- a request to an organization nobody answers for -------------------------------------------

def test_request_to_unclaimed_organization_invites_its_contact_once(client, session, settings):
    alice = member(session, "Kurobe Heat Recovery")
    target = unclaimed(session)
    session.commit()
    token = logged_in(client, alice)
    response = send_request(client, token, target.id)
    assert response.status_code == 303
    req = session.scalar(select(MeetingRequest))
    assert (req.status, req.recipient_org_id) == ("pending", target.id)
    [invitation] = session.scalars(select(Invitation)).all()
    assert (invitation.reason, invitation.request_id, invitation.email) == ("request", req.id, target.contact_email)
    [mail] = invitation_mails(session, target.contact_email)
    assert mail.subject == "Kurobe Heat Recovery would like to meet Da Nang Cement on JCM Matchmaker"
    assert "We supply waste heat recovery for cement kilns." in mail.body and mail.sensitive
    link_token = token_from(mail)
    assert invitation.token_hash == token_digest(link_token) and link_token not in invitation.token_hash
    # The requester is told, on the page the form leads to.
    note = soup(client.get(response.headers["location"])).find(id="invitation-note")
    assert "not on the platform yet" in note.get_text() and target.contact_email in note.get_text()


def test_second_request_within_the_period_sends_no_second_invitation(client, session, settings):
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    target = unclaimed(session)
    make_request_unclaimed(session, settings, alice, target)
    session.commit()
    token = logged_in(client, bob)
    note = soup(client.get(f"/requests/new?to={target.id}")).find(id="invitation-note")
    assert "was invited by email on" in note.get_text()
    assert send_request(client, token, target.id).status_code == 303
    assert len(invitation_mails(session, target.contact_email)) == 1


def make_request_unclaimed(session, settings, sender, target):
    from web.services import requests

    return requests.request_meeting(session, settings, sender, target.id, "Hello from us.")


def test_request_after_the_period_invites_again(session, settings):
    alice, bob = member(session), member(session)
    target = unclaimed(session)
    make_request_unclaimed(session, settings, alice, target)
    first = session.scalar(select(Invitation))
    first.created_at = utcnow() - timedelta(days=settings.invitation_resend_days, minutes=1)
    session.flush()
    make_request_unclaimed(session, settings, bob, target)
    assert len(session.scalars(select(Invitation)).all()) == 2
    assert len(invitation_mails(session, target.contact_email)) == 2


def test_request_to_claimed_organization_invites_nobody(session, settings):
    alice, bob = member(session), member(session)
    make_request(session, settings, alice, bob)
    assert session.scalars(select(Invitation)).all() == []


@HTMX
def test_unclaimed_organization_without_email_cannot_be_requested_and_says_why(client, session, htmx):
    alice = member(session)
    target = unclaimed(session, contact_email="")
    session.commit()
    token = logged_in(client, alice)
    form = client.get(f"/requests/new?to={target.id}", headers=headers(htmx))
    assert form.status_code == 409
    assert "no email address to invite it" in soup(form).find(id="request-refusal").get_text()
    assert send_request(client, token, target.id).status_code == 409
    assert session.scalar(select(MeetingRequest)) is None
    profile = soup(client.get(f"/organizations/{target.id}", headers=headers(htmx)))
    button = profile.find(id=f"request-button-{target.id}")
    assert button.find("button").has_attr("disabled")
    assert "no email address to invite it" in button.get_text()


def test_api_refuses_a_request_nobody_could_answer(client, session):
    alice = member(session)
    target = unclaimed(session, contact_email="")
    session.commit()
    token = logged_in(client, alice)
    response = client.post("/api/v1/requests", json={"to_organization_id": target.id, "message": "Hello"},
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 409 and response.json()["error"]["code"] == "recipient_unreachable"


@HTMX
def test_directory_and_profile_mark_organizations_not_on_the_platform(client, session, htmx):
    alice = member(session, "Alpha")
    target = unclaimed(session)
    session.commit()
    logged_in(client, alice)
    cards = soup(client.get("/directory", headers=headers(htmx))).find_all("article", class_="org-card")
    marked = {card.h3.a.get_text(): card.find(class_="badge-unclaimed") is not None for card in cards}
    assert marked == {"Alpha": False, "Da Nang Cement": True}
    profile = soup(client.get(f"/organizations/{target.id}"))
    assert profile.find(class_="badge-unclaimed") is not None
    assert "your request invites them by email" in profile.find(id=f"request-button-{target.id}").get_text()
    form = soup(client.get(f"/requests/new?to={target.id}"))
    assert "we email its contact person an invitation" in form.find(id="invitation-note").get_text()


# --- claiming ------------------------------------------------------------------------------------

@pytest.fixture
def invited(session, settings):
    """A request to an unclaimed organization, and the token of the invitation it sent."""
    alice = member(session, "Kurobe Heat Recovery")
    target = unclaimed(session)
    req = make_request_unclaimed(session, settings, alice, target)
    session.commit()
    return target, req, token_from(invitation_mails(session, target.contact_email)[0])


def test_claim_creates_a_member_logs_in_and_leads_to_the_request(client, session, invited):
    target, req, link = invited
    page = soup(client.get(f"/invitations/{link}"))
    assert target.contact_email in page.find(id="f-email").get_text()
    assert page.find("input", {"name": "full_name"})["value"] == "Tran Thi Mai"
    assert page.find("select", {"name": "time_zone"}).find("option", selected=True)["value"] == "Asia/Ho_Chi_Minh"
    token = csrf_token(client, f"/invitations/{link}")
    response = client.post(f"/invitations/{link}", data=CLAIM | {"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/requests/received"
    user = session.scalar(select(User).where(User.email == target.contact_email))
    assert user.organization_id == target.id and user.role == "member" and user.full_name == "Tran Thi Mai"
    invitation = session.scalar(select(Invitation))
    assert invitation.used_at is not None and invitation.used_by_user_id == user.id
    received = client.get("/requests/received")
    assert soup(received).find(id=f"request-{req.id}") is not None  # logged in as the new member
    assert not invitations.is_unclaimed(session, target.id)


def test_claim_link_works_once(client, session, invited):
    target, _req, link = invited
    token = csrf_token(client, f"/invitations/{link}")
    client.post(f"/invitations/{link}", data=CLAIM | {"csrf_token": token})
    client.cookies.clear()
    again = client.get(f"/invitations/{link}")
    assert again.status_code == 400 and "expired or was already used" in again.text
    token = csrf_token(client, "/")
    second = client.post(f"/invitations/{link}", data=CLAIM | {"full_name": "Somebody else", "csrf_token": token})
    assert second.status_code == 400
    assert len(session.scalars(select(User).where(User.organization_id == target.id)).all()) == 1


def test_claim_with_bad_input_keeps_what_was_typed_and_spends_nothing(client, session, invited):
    _target, _req, link = invited
    token = csrf_token(client, f"/invitations/{link}")
    response = client.post(f"/invitations/{link}", data=CLAIM | {"password_confirm": "", "full_name": "Mai T.",
                                                                "csrf_token": token})
    assert response.status_code == 422
    page = soup(response)
    assert page.find(id="e-password_confirm") is not None
    assert page.find("input", {"name": "full_name"})["value"] == "Mai T."
    assert session.scalar(select(Invitation)).used_at is None
    assert session.scalar(select(User).where(User.full_name == "Mai T.")) is None


def test_claim_refuses_short_password_like_sign_up(client, session, invited):
    _target, _req, link = invited
    token = csrf_token(client, f"/invitations/{link}")
    response = client.post(f"/invitations/{link}", data=CLAIM | {"password": "short", "password_confirm": "short",
                                                                "csrf_token": token})
    assert response.status_code == 422 and soup(response).find(id="e-password") is not None


def test_expired_link_is_refused(client, session, invited):
    _target, _req, link = invited
    invitation = session.scalar(select(Invitation))
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert client.get(f"/invitations/{link}").status_code == 400


def test_claim_when_the_address_already_has_an_account_is_refused(client, session, invited):
    target, _req, link = invited
    create_user(session, email=target.contact_email)
    session.commit()
    token = csrf_token(client, f"/invitations/{link}")
    response = client.post(f"/invitations/{link}", data=CLAIM | {"csrf_token": token})
    assert response.status_code == 422 and "already exists" in soup(response).find(id="e-email").get_text()
    assert session.scalar(select(Invitation)).used_at is None


def test_link_is_spent_by_one_conditional_update_even_from_a_stale_copy(session, settings, invited):
    target, _req, link = invited
    first = invitations.find_invitation(session, link)
    assert invitations.spend_invitation(session, first) is True
    # The loaded row still says "unused" (as it would in a concurrent request): the UPDATE's condition decides.
    assert first.used_at is None
    assert invitations.spend_invitation(session, first) is False
    session.commit()
    with pytest.raises(invitations.InvitationSpent):
        invitations.claim_invitation(session, link, CLAIM)
    session.rollback()
    assert session.scalar(select(User).where(User.email == target.contact_email)) is None


# --- organizers invite ---------------------------------------------------------------------------

@pytest.fixture
def organizer(session):
    user = create_user(session, role="organizer", organization=None, email="boss@example.com")
    session.commit()
    return user


@HTMX
def test_organizer_invites_a_contact_and_sees_when(client, session, organizer, htmx):
    target = unclaimed(session, contact_email="", country="JP", kind="japanese_company", name="Imported Co")
    session.commit()
    login(client, organizer)
    page = soup(client.get(f"/organizations/{target.id}"))
    panel = page.find(id=f"invite-{target.id}")
    token = csrf_token(client, f"/organizations/{target.id}")
    response = client.post(f"/organizer/organizations/{target.id}/invite", headers=headers(htmx),
                           data={"email": "Ceo@Imported.example", "next": f"/organizations/{target.id}",
                                 "csrf_token": token}, follow_redirects=True)
    assert panel is not None and response.status_code == 200
    invitation = session.scalar(select(Invitation))
    assert (invitation.email, invitation.reason, invitation.invited_by_user_id) == (
        "ceo@imported.example", "organizer", organizer.id)
    session.expire_all()
    assert target.contact_email == "ceo@imported.example"  # an organization without one keeps this address
    [mail] = invitation_mails(session, "ceo@imported.example")
    assert mail.language == "ja" and LINK_RE.search(mail.body)
    shown = soup(response).find(id=f"invite-{target.id}")
    assert "ceo@imported.example" in shown.get_text() and "Send a new invitation" in shown.get_text()


@HTMX
def test_organizer_invite_with_bad_email_keeps_it_and_sends_nothing(client, session, organizer, htmx):
    target = unclaimed(session)
    session.commit()
    login(client, organizer)
    token = csrf_token(client, f"/organizations/{target.id}")
    response = client.post(f"/organizer/organizations/{target.id}/invite", headers=headers(htmx),
                           data={"email": "not an address", "csrf_token": token})
    assert response.status_code == 422
    field = soup(response).find("input", {"name": "email"})
    assert field["value"] == "not an address" and field["aria-invalid"] == "true"
    assert session.scalar(select(Invitation)) is None


def test_organizer_cannot_invite_an_organization_already_on_the_platform(client, session, organizer):
    claimed = member(session)
    session.commit()
    login(client, organizer)
    token = csrf_token(client, "/organizer/applications")
    response = client.post(f"/organizer/organizations/{claimed.organization_id}/invite",
                           data={"email": "x@example.com", "csrf_token": token})
    assert response.status_code == 409 and session.scalar(select(Invitation)) is None


def test_only_organizers_invite(client, session):
    target = unclaimed(session)
    alice = member(session)
    session.commit()
    anonymous = client.post(f"/organizer/organizations/{target.id}/invite",
                            data={"email": "x@example.com", "csrf_token": csrf_token(client)}, follow_redirects=False)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
    token = logged_in(client, alice)
    refused = client.post(f"/organizer/organizations/{target.id}/invite", data={"email": "x@example.com",
                                                                                "csrf_token": token})
    assert refused.status_code == 403
    no_csrf = client.post(f"/organizer/organizations/{target.id}/invite", data={"email": "x@example.com"})
    assert no_csrf.status_code == 403
    assert session.scalar(select(Invitation)) is None


def test_applications_page_offers_to_invite_organizations_without_accounts(client, session, organizer):
    target = unclaimed(session)
    member(session)
    session.commit()
    login(client, organizer)
    page = soup(client.get("/organizer/applications?status=approved"))
    panels = page.select(".invite")
    assert [panel["id"] for panel in panels] == [f"invite-{target.id}"]


def test_api_tells_the_requester_that_the_recipient_is_not_on_the_platform(client, session):
    alice, bob = member(session), member(session)
    target = unclaimed(session)
    session.commit()
    token = logged_in(client, alice)
    created = client.post("/api/v1/requests", json={"to_organization_id": target.id, "message": "Hello"},
                          headers={"X-CSRF-Token": token})
    assert created.status_code == 201 and created.json()["recipient_on_platform"] is False
    assert len(invitation_mails(session, target.contact_email)) == 1
    client.post("/api/v1/requests", json={"to_organization_id": bob.organization_id, "message": "Hello"},
                headers={"X-CSRF-Token": token})
    listed = {row["recipient"]["id"]: row["recipient_on_platform"]
              for row in client.get("/api/v1/requests?box=sent").json()}
    assert listed == {target.id: False, bob.organization_id: True}
    assert client.get(f"/api/v1/requests/{created.json()['id']}").json()["recipient_on_platform"] is False
