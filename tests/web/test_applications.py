"""Applications: organizers hear of each sign-up, applicants hear each decision, the Organizer link counts the queue."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from models import Notification, OutboxEmail, User
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from web import i18n

SIGNUP = {"full_name": "Aiko Tanaka", "email": "aiko@example.com", "password": "long enough pw",
          "password_confirm": "long enough pw", "organization_name": "Tanaka Chillers", "kind": "japanese_company",
          "country": "JP", "language": "en", "time_zone": "Asia/Tokyo"}
FOOTER = "JCM Matchmaker: partners for Joint Crediting Mechanism projects."


def _notes(session, user) -> list[Notification]:
    session.expire_all()
    return list(session.scalars(select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)))


def _emails(session, address: str) -> list[OutboxEmail]:
    return list(session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == address).order_by(OutboxEmail.id)))


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def _sign_up_and_confirm(client, session) -> None:
    """Sign up through the form and open the emailed confirmation link, as the applicant does."""
    token = csrf_token(client, "/signup")
    assert client.post("/signup", data=SIGNUP | {"csrf_token": token}, follow_redirects=False).status_code == 303
    [mail] = _emails(session, SIGNUP["email"])
    path = re.search(r"http://testserver(/signup/confirm/\S+)", mail.body).group(1)
    response = client.post(path, data={"csrf_token": csrf_token(client, path)}, follow_redirects=False)
    assert response.status_code == 303


@pytest.fixture
def organizers(session):
    english = create_user(session, role="organizer", organization=None, email="boss@example.com")
    japanese = create_user(session, role="organizer", organization=None, email="bucho@example.com", language="ja")
    create_user(session, role="organizer", organization=None, email="retired@example.com", is_active=False)
    session.commit()
    return english, japanese


def test_unconfirmed_signup_tells_no_organizer(client, session, organizers):
    # Anyone can type any address: organizers hear of an application once its address is confirmed.
    token = csrf_token(client, "/signup")
    assert client.post("/signup", data=SIGNUP | {"csrf_token": token}, follow_redirects=False).status_code == 303
    assert all(_notes(session, organizer) == [] for organizer in organizers)


def test_confirmed_signup_tells_every_active_organizer_in_their_language(client, session, organizers):
    english, japanese = organizers
    _sign_up_and_confirm(client, session)
    org_id = session.scalar(select(User.organization_id).where(User.email == "aiko@example.com"))
    for organizer in organizers:
        [note] = _notes(session, organizer)
        assert (note.kind, note.organization_id) == ("organization_applied", org_id)
    [mail] = _emails(session, english.email)
    assert mail.subject == "New organization to review: Tanaka Chillers"
    assert "Aiko Tanaka <aiko@example.com>" in mail.body and "http://testserver/organizer/applications" in mail.body
    [mail_ja] = _emails(session, japanese.email)
    with i18n.use_language("ja"):
        footer_ja = i18n.gettext(FOOTER)
    assert mail_ja.language == "ja" and footer_ja != FOOTER and footer_ja in mail_ja.body
    assert _emails(session, "retired@example.com") == []


def test_organizer_sees_the_new_application_in_notifications(client, session, organizers):
    _sign_up_and_confirm(client, session)
    client.cookies.clear()
    login(client, organizers[0])
    item = _soup(client.get("/notifications")).find(class_="notification")
    assert "Tanaka Chillers signed up and waits for your review." in item.get_text(" ", strip=True)
    assert item.find("a", href="/organizer/applications") is not None


@pytest.fixture
def applicant(session):
    org = create_organization(session, status="pending", name="Hanoi Biogas", kind="partner_company", country="VN")
    user = create_user(session, organization=org, email="applicant@example.com")
    colleague = create_user(session, organization=org, email="colleague@example.com", language="ja")
    session.commit()
    return user, colleague


def _review(client, org_id, headers=None, **data):
    token = csrf_token(client, "/organizer/applications")
    return client.post(f"/organizer/applications/{org_id}/review", data={"csrf_token": token, **data},
                       headers=headers or {}, follow_redirects=False)


@pytest.mark.parametrize("decision, reason, kind, subject", [
    ("approved", "", "organization_approved", "Welcome: Hanoi Biogas is approved on JCM Matchmaker"),
    ("rejected", "We could not verify the company.", "organization_rejected",
     "Your application for Hanoi Biogas was not approved"),
])
def test_decision_is_told_to_every_member_of_the_organization(client, session, organizers, applicant,
                                                              decision, reason, kind, subject):
    user, colleague = applicant
    login(client, organizers[0])
    assert _review(client, user.organization_id, decision=decision, reason=reason).status_code == 303
    for person in applicant:
        assert [note.kind for note in _notes(session, person)] == [kind]
    [mail] = _emails(session, user.email)
    assert mail.subject == subject and "http://testserver/profile" in mail.body
    if reason:
        assert reason in mail.body
    [mail_ja] = _emails(session, colleague.email)
    assert mail_ja.language == "ja"


def test_suspension_and_reinstatement_are_told_with_the_reason(client, session, organizers):
    org = create_organization(session, name="Mekong Solar")
    member = create_user(session, organization=org)
    session.commit()
    login(client, organizers[0])
    _review(client, org.id, decision="suspended", reason="Complaints about spam requests.")
    _review(client, org.id, decision="approved")
    assert [note.kind for note in _notes(session, member)] == ["organization_suspended", "organization_approved"]
    suspended, reinstated = _emails(session, member.email)
    assert "Complaints about spam requests." in suspended.body
    assert reinstated.subject == "Welcome: Mekong Solar is approved on JCM Matchmaker"


def test_applicant_reads_the_decision_in_app(client, session, organizers, applicant):
    user, _colleague = applicant
    login(client, organizers[0])
    _review(client, user.organization_id, decision="rejected", reason="Not a company.")
    client.cookies.clear()
    login(client, user)
    item = _soup(client.get("/notifications")).find(class_="notification")
    assert "The application of Hanoi Biogas was rejected." in item.get_text(" ", strip=True)
    assert item.find("a", href="/profile") is not None


def test_failed_review_tells_nobody(client, session, organizers, applicant):
    user, _colleague = applicant
    login(client, organizers[0])
    assert _review(client, user.organization_id, decision="rejected", reason="").status_code == 422
    assert _notes(session, user) == [] and _emails(session, user.email) == []


def _badge(response):
    return _soup(response).find(id="nav-pending-count")


def test_organizer_link_counts_applications_waiting(client, session, organizers, applicant):
    create_organization(session, status="pending", name="Second applicant")
    session.commit()
    login(client, organizers[0])
    badge = _badge(client.get("/technologies"))
    assert badge.get_text(strip=True) == "2" and not badge.has_attr("hidden")
    assert badge.parent["id"] == "nav-organizer"


def test_members_and_visitors_have_no_organizer_badge(client, session, applicant):
    assert _badge(client.get("/technologies")) is None
    approved = create_user(session)
    session.commit()
    login(client, approved)
    assert _badge(client.get("/technologies")) is None


def test_htmx_decision_updates_the_badge_out_of_band(client, session, organizers, applicant):
    user, _colleague = applicant
    login(client, organizers[0])
    response = _review(client, user.organization_id, headers={"HX-Request": "true"}, decision="approved")
    badge = _badge(response)
    assert badge["hx-swap-oob"] == "true" and badge.get_text(strip=True) == "0" and badge.has_attr("hidden")
